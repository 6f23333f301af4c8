"""People and companies keep the API contract every exposed entity keeps."""

import pytest

from rapport.core.api.testing import EntityApiContract
from rapport.testing.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db


class TestPersonApi(EntityApiContract):
    entity_key = "person"

    def make(self, actor):
        return PersonFactory(actor=actor, tags=["t"], phones=[{"number": "+380441234567"}])

    def valid_body(self):
        return {"first_name": "Iryna", "emails": [{"address": "iryna@example.com"}]}


class TestCompanyApi(EntityApiContract):
    entity_key = "company"

    def make(self, actor):
        return CompanyFactory(actor=actor, tags=["t"])

    def valid_body(self):
        return {"name": "Contract Ltd", "domains": ["contract.example"]}

"""People and companies get every guarantee of the entity kit."""

import pytest

from rapport.testing.factories import CompanyFactory, PersonFactory
from rapport.testing.kit import EntityKitTests

pytestmark = pytest.mark.django_db


class TestPersonKit(EntityKitTests):
    entity_key = "person"
    factory = PersonFactory


class TestCompanyKit(EntityKitTests):
    entity_key = "company"
    factory = CompanyFactory

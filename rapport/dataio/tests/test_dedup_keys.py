"""Stored match keys: written by single and bulk services, refreshed by reindex."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from rapport.contacts import services
from rapport.contacts.models import Company, Person
from rapport.core.matching import company_match_key, person_match_key
from rapport.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db


def test_single_and_bulk_writes_store_the_key(alice):
    one = PersonFactory(actor=alice, first_name="Олександр", last_name="Шевченко", emails=[])
    [two] = services.person_bulk_create(
        actor=alice, rows=[{"first_name": "Sasha", "last_name": "Shevchenko"}]
    )
    [acme] = services.company_bulk_create(actor=alice, rows=[{"name": "Acme GmbH"}])
    one.refresh_from_db()
    two.refresh_from_db()
    assert one.match_key == two.match_key == person_match_key("Oleksandr", "Shevchenko")
    assert Company.objects.get(pk=acme.pk).match_key == company_match_key("ACME LLC")


def test_update_recomputes_the_key(alice):
    record = PersonFactory(actor=alice, first_name="Anna", last_name="Lis")
    services.person_update(actor=alice, person=record, data={"last_name": "Nowak"})
    record.refresh_from_db()
    assert record.match_key == person_match_key("Anna", "Nowak")


def test_reindex_refreshes_stale_keys(alice):
    record = PersonFactory(actor=alice, first_name="Bill", last_name="Gates")
    Person.objects.filter(pk=record.pk).update(match_key="stale")
    call_command("reindex", verbosity=0)
    record.refresh_from_db()
    assert record.match_key == person_match_key("William", "Gates")

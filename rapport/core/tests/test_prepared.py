"""`prepared.fetch`: a queryset compiled once per key and database, run again with one
value changed, answers exactly what the ORM answers; scopes never share a plan."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Prefetch
from django.test import Client
from django.test.utils import CaptureQueriesContext

from rapport.contacts.models import Consent, EmailAddress, Person
from rapport.core import customfields, permissions, prepared, services
from rapport.core.models import CustomFieldDefinition
from rapport.testing.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def _page_query(mark):
    return (
        Person.objects.filter(pk=mark)
        .select_related("company", "owner", "team")
        .prefetch_related(Prefetch("emails", queryset=EmailAddress.objects.order_by("address")))
    )


def test_the_same_rows_as_the_orm_with_joined_and_prefetched_rows(alice):
    company = CompanyFactory(actor=alice, name="Acme")
    one = PersonFactory(
        actor=alice,
        company=company,
        emails=[{"address": "z@example.com"}, {"address": "a@example.com"}],
        custom_fields={},
        addresses=[{"city": "Львів"}],
    )
    two = PersonFactory(actor=alice)
    for record in (one, two, one):
        [got] = prepared.fetch(Person, "test-page", _page_query, record.pk)
        [want] = list(_page_query(record.pk))
        assert _fields(got) == _fields(want)  # datetimes, JSON and booleans converted alike
        assert got._state.adding is False and got._state.db == "default"
        for name in ("company", "owner", "team"):
            joined, expected = getattr(got, name), getattr(want, name)
            assert (joined is None) == (expected is None)
            if expected is not None:
                assert _fields(joined) == _fields(expected)
        assert [e.address for e in got.emails.all()] == [e.address for e in want.emails.all()]
    assert prepared.fetch(Person, "test-page", _page_query, 10**9) == []
    with CaptureQueriesContext(connection) as queries:  # no integer column holds it
        assert prepared.fetch(Person, "test-page", _page_query, 2**63) == []
    assert len(queries) == 0


def test_compiled_once_then_one_statement_per_call(alice, monkeypatch):
    record = PersonFactory(actor=alice)
    built = []

    def build(mark):
        built.append(mark)
        return Consent.objects.filter(person_id=mark)

    Consent.objects.create(person=record, channel="email", purpose="news")
    for _ in range(3):
        with CaptureQueriesContext(connection) as queries:
            rows = prepared.fetch(Consent, "test-consents", build, record.pk)
        assert [c.purpose for c in rows] == ["news"]
        assert len(queries) == 1
    assert built == [prepared.MARK]


def test_a_queryset_that_matches_nothing_runs_no_statement(alice):
    with CaptureQueriesContext(connection) as queries:
        assert prepared.fetch(Person, "test-none", lambda mark: Person.objects.none(), 1) == []
    assert len(queries) == 0


def test_a_value_must_have_its_place_and_a_place_its_value(alice):
    record = PersonFactory(actor=alice)
    with pytest.raises(TypeError):  # the mark turned into something else: no place for it
        prepared.fetch(Person, "test-no-place", lambda mark: Person.objects.all(), record.pk)
    with pytest.raises(TypeError):
        prepared.fetch(Person, "test-unfilled", lambda mark: Person.objects.filter(pk=mark))


def test_only_plain_instances_of_the_model_asked_for():
    with pytest.raises(TypeError):
        prepared.fetch(Person, "test-values", lambda mark: Person.objects.values("id"), 1)
    with pytest.raises(TypeError):
        prepared.fetch(Person, "test-other", lambda mark: Consent.objects.all(), 1)


def test_each_scope_has_its_own_plan(alice, carol):
    """alice (team A) and carol (team B) ask the record page in turn: each sees her own
    team's person and gets 404 for the other's, whoever asked first."""
    mine, theirs = PersonFactory(actor=alice), PersonFactory(actor=carol)
    assert permissions.scope_q(alice, "person", "view") != permissions.scope_q(
        carol, "person", "view"
    )
    web_a, web_c = Client(), Client()
    web_a.force_login(alice)
    web_c.force_login(carol)
    for _ in range(2):
        assert web_a.get(f"/people/{mine.pk}/").status_code == 200
        assert web_c.get(f"/people/{mine.pk}/").status_code == 404
        assert web_c.get(f"/people/{theirs.pk}/").status_code == 200
        assert web_a.get(f"/people/{theirs.pk}/").status_code == 404


def test_a_trashed_record_page_answers_404(alice):
    record = PersonFactory(actor=alice)
    web = Client()
    web.force_login(alice)
    assert web.get(f"/people/{record.pk}/").status_code == 200
    services.trash(actor=alice, obj=record)
    assert web.get(f"/people/{record.pk}/").status_code == 404


def test_custom_field_definitions_are_read_fresh_each_time(admin):
    assert customfields.definitions("person") == []
    CustomFieldDefinition.objects.create(entity="person", slug="shoe", label="Shoe size")
    assert [d.slug for d in customfields.definitions("person")] == ["shoe"]
    CustomFieldDefinition.objects.create(entity="company", slug="vat", label="VAT")
    assert [d.slug for d in customfields.definitions("company")] == ["vat"]
    assert [d.slug for d in customfields.definitions("person")] == ["shoe"]

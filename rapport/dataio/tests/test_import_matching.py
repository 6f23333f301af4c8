"""Matching and the duplicate strategy: what exists (within the importer's scope) and
what repeats inside one file is skipped, updated or created again as the user chose."""

from __future__ import annotations

import pytest

from rapport.contacts.models import Person
from rapport.contacts.services import employment_add
from rapport.dataio.models import ExternalKey
from rapport.dataio.suppression import suppress
from rapport.dataio.tests.importhelpers import import_rows, outcomes
from rapport.testing.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db

HEAD = ["First name", "Last name", "Email", "Phone", "Company", "Position", "ID"]


@pytest.mark.parametrize(
    ("strategy", "outcome", "people"),
    [("skip", "skipped", 1), ("update", "updated", 1), ("create", "created", 2)],
)
def test_strategy_decides_what_happens_to_a_match(alice, strategy, outcome, people):
    existing = PersonFactory(
        actor=alice, first_name="Ann", last_name="Lee", emails=[{"address": "ann@example.com"}]
    )
    job = import_rows(
        alice,
        [HEAD, ["Anna", "Lee", "ANN@example.com", "+380671234567", "", "", ""]],
        strategy=strategy,
    )
    row = job.rows.get()
    assert row.outcome == outcome
    assert Person.objects.count() == people
    existing.refresh_from_db()
    if strategy == "update":
        assert existing.first_name == "Anna" and existing.primary_phone == "+380671234567"
        assert [e.address for e in existing.emails.all()] == ["ann@example.com"]
        assert row.before["record"]["first_name"] == "Ann"
        assert row.version_after == existing.version == 2
    if strategy == "skip":
        assert row.object_id == existing.pk and "email" in row.reason


@pytest.mark.parametrize(
    ("match_on", "cells"),
    [
        (["phone"], ["Zed", "", "", "067 123 45 67", "", "", ""]),
        (["name_company"], ["ann", "LEE", "", "", "Acme", "", ""]),
        (["external_id"], ["Zed", "", "", "", "", "", "CRM-7"]),
    ],
)
def test_matching_on_phone_name_and_company_and_external_id(alice, match_on, cells):
    acme = CompanyFactory(actor=alice, name="Acme")
    ann = PersonFactory(
        actor=alice, first_name="Ann", last_name="Lee", phones=[{"number": "+380671234567"}]
    )
    employment_add(actor=alice, person=ann, company=acme)
    ExternalKey.objects.create(entity="person", object_id=ann.pk, key="CRM-7")
    alice.phone_region = "UA"
    alice.save()
    job = import_rows(alice, [HEAD, cells], match_on=match_on)
    assert outcomes(job) == [(1, "skipped")]
    assert job.rows.get().object_id == ann.pk


def test_matching_never_sees_other_teams_records(alice, carol):
    theirs = PersonFactory(actor=carol, first_name="Ann", emails=[{"address": "ann@example.com"}])
    job = import_rows(
        alice, [HEAD, ["Ann", "", "ann@example.com", "", "", "", ""]], strategy="update"
    )
    assert outcomes(job) == [(1, "created")]
    theirs.refresh_from_db()
    assert theirs.version == 1


def test_update_of_a_visible_record_the_importer_may_not_change_is_rejected(alice, bob):
    PersonFactory(actor=bob, first_name="Ann", emails=[{"address": "ann@example.com"}])
    job = import_rows(
        alice, [HEAD, ["Anna", "", "ann@example.com", "", "", "", ""]], strategy="update"
    )
    assert outcomes(job) == [(1, "rejected")]
    assert "may not change" in job.rows.get().reason


@pytest.mark.parametrize(
    ("strategy", "expected", "people"),
    [
        ("skip", ["created", "skipped", "created"], 2),
        ("update", ["created", "updated", "created"], 2),
        ("create", ["created", "created", "created"], 3),
    ],
)
def test_duplicate_rows_within_one_file_follow_the_strategy(alice, strategy, expected, people):
    job = import_rows(
        alice,
        [
            HEAD,
            ["Ann", "Lee", "ann@example.com", "", "", "", ""],
            ["Anna", "Lee", "ann@example.com", "+380671234567", "", "", ""],
            ["Bob", "", "bob@example.com", "", "", "", ""],
        ],
        strategy=strategy,
    )
    assert [o for _n, o in outcomes(job)] == expected
    assert Person.objects.count() == people
    if strategy == "update":
        ann = Person.objects.get(last_name="Lee")
        assert (ann.first_name, ann.primary_phone) == ("Anna", "+380671234567")
    if strategy == "skip":
        assert job.rows.get(number=2).reason == "Same email as row 1 of this file."


def test_suppressed_people_are_reported_not_recreated(alice):
    suppress(emails=["gone@example.com"], phones=["+380671234567"])
    job = import_rows(
        alice,
        [
            HEAD,
            ["Gone", "", "GONE@example.com", "", "", "", ""],
            ["Also", "", "", "+380671234567", "", "", ""],
            ["Kept", "", "kept@example.com", "", "", "", ""],
        ],
    )
    assert outcomes(job) == [(1, "rejected"), (2, "rejected"), (3, "created")]
    assert job.rows.get(number=1).reason == "erased person; not re-created"
    assert not Person.objects.filter(first_name="Gone").exists()

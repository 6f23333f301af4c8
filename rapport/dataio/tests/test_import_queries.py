"""An import batch costs a fixed number of queries, however many rows it holds, and
its fast paths keep every rule: one audit row per person, the search entry, emails,
phones, duplicates by email skipped, the report and counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.contacts.models import EmailAddress, Person, PhoneNumber
from rapport.core import search
from rapport.core.models import AuditEvent
from rapport.dataio import import_runner, importing
from rapport.dataio.models import ImportJob, ImportRow
from rapport.dataio.tests.importhelpers import csv_bytes, upload
from rapport.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db(transaction=True)

HEAD = ["First name", "Last name", "Email", "Phone", "Company", "Position", "ID"]


def _rows(prefix: str, count: int) -> list[tuple[int, list[str]]]:
    rows = []
    for i in range(count):
        company = f"{prefix} Corp {i % 3}" if i % 2 else ""
        rows.append(
            (
                i + 2,
                [
                    f"Олена{i}",
                    f"{prefix}ko",
                    f"{prefix}.{i}@example.com",
                    f"+380 67 {1000000 + i:07d}",
                    company,
                    "Buyer" if company else "",
                    "",
                ],
            )
        )
    rows.append((count + 2, ["Taken", "Twin", "taken@example.com", "", "", "", ""]))
    rows.append((count + 3, ["", "", "not-an-email", "", "", "", ""]))
    return rows


def _job(actor) -> ImportJob:
    job = upload(actor, csv_bytes([HEAD, ["A", "B", "a@example.com", "", "", "", ""]]))
    job = importing.import_configure(actor=actor, job=job, strategy="skip")
    return importing.import_start(actor=actor, job=job, enqueue=False)


def _queries(actor, prefix: str, count: int) -> tuple[int, ImportJob]:
    job = _job(actor)
    with CaptureQueriesContext(connection) as captured:
        import_runner.run_batch(job, _rows(prefix, count))
    job.refresh_from_db()
    return len(captured.captured_queries), job


def test_a_batch_costs_the_same_queries_for_10_or_200_rows(alice):
    PersonFactory(actor=alice, emails=[{"address": "taken@example.com", "label": "work"}])
    small, small_job = _queries(alice, "small", 10)
    large, large_job = _queries(alice, "large", 200)
    assert small == large, (small, large)
    assert large < 60
    for job, count in ((small_job, 10), (large_job, 200)):
        assert (job.created_count, job.skipped_count, job.rejected_count) == (count, 1, 1)
        assert job.processed_rows == count + 2 == ImportRow.objects.filter(job=job).count()


def test_bulk_created_people_keep_audit_search_emails_and_phones(alice):
    _count, job = _queries(alice, "kept", 30)
    ids = list(
        ImportRow.objects.filter(job=job, outcome="created").values_list("object_id", flat=True)
    )
    assert len(ids) == 31  # "taken@example.com" is nobody's here: created too
    people = Person.objects.filter(pk__in=ids)
    assert people.count() == 31
    assert all(p.version == 1 and p.owner_id == alice.pk for p in people)
    audits = AuditEvent.objects.filter(object_type="person", object_id__in=ids, action="create")
    assert audits.count() == 31
    event = audits.get(object_id=people.get(primary_email="kept.7@example.com").pk)
    assert event.actor_id == alice.pk
    assert event.object_repr == "Олена7 keptko"
    assert event.changes["emails"] == [None, ["kept.7@example.com"]]
    assert event.changes["phones"] == [None, ["+380671000007"]]
    assert "middle_name" not in event.changes
    assert EmailAddress.objects.filter(person_id__in=ids, primary=True).count() == 31
    assert PhoneNumber.objects.filter(person_id__in=ids, number="+380671000007").count() == 1
    person = Person.objects.get(primary_email="kept.7@example.com")
    hits = search.search(alice, "kept.7@example")
    assert [h.id for h in hits] == [person.pk]
    assert [h.id for h in search.search(alice, "olena7")] == [person.pk]  # transliterated
    assert person.pk in {h.id for h in search.search(alice, "0671000007")}  # national form
    linked = Person.objects.get(primary_email="kept.1@example.com")
    assert linked.company.name == "kept Corp 1"
    assert [h.subtitle for h in search.search(alice, "kept.1@example")] == [
        "kept Corp 1 · kept.1@example.com"
    ]

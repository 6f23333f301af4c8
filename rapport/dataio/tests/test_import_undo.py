"""Undo of an import: created records to the trash, updated ones restored unless
edited since (then reported), refused after 30 days or before the run finished."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from rapport.contacts import services as contacts
from rapport.contacts.models import Company, Person
from rapport.core.models import AuditEvent
from rapport.dataio import importing
from rapport.dataio.models import ExternalKey, ImportJob
from rapport.dataio.tests.importhelpers import csv_bytes, import_rows, upload
from rapport.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db

HEAD = ["First name", "Last name", "Email", "Phone", "Company", "Tags", "ID"]


def test_undo_trashes_what_the_import_created_with_its_new_companies(alice):
    job = import_rows(
        alice,
        [
            HEAD,
            ["Ann", "Lee", "ann@example.com", "", "Acme", "vip", "X1"],
            ["Bob", "Ray", "bob@example.com", "", "Acme", "", ""],
        ],
    )
    assert Person.objects.count() == 2 and Company.objects.count() == 1
    job = importing.import_undo(actor=alice, job=job)
    assert job.status == ImportJob.Status.UNDONE and job.undone_at is not None
    assert job.undo_report == {"trashed": 3, "restored": 0, "conflict_count": 0, "conflicts": []}
    assert Person.objects.count() == 0 and Company.objects.count() == 0
    assert Person.all_objects.trashed().count() == 2  # restorable from the trash
    assert not ExternalKey.objects.exists()
    assert AuditEvent.objects.filter(action="delete", object_type="person").count() == 2
    event = AuditEvent.objects.get(action="import_undo", object_id=job.pk)
    assert event.extra["trashed"] == 3


def test_undo_restores_updated_records(alice):
    ann = PersonFactory(
        actor=alice,
        first_name="Ann",
        last_name="Lee",
        emails=[{"address": "ann@example.com", "label": "home"}],
        tags=["old"],
    )
    job = import_rows(
        alice,
        [
            HEAD,
            ["Anna", "", "ann@example.com; a2@example.com", "+380671234567", "Acme", "new", "X9"],
        ],
        strategy="update",
    )
    ann.refresh_from_db()
    assert (ann.first_name, ann.company.name) == ("Anna", "Acme")
    assert sorted(t.name for t in ann.tags.all()) == ["new", "old"]
    job = importing.import_undo(actor=alice, job=job)
    assert job.undo_report["restored"] == 1 and job.undo_report["conflict_count"] == 0
    ann.refresh_from_db()
    assert (ann.first_name, ann.last_name, ann.primary_phone) == ("Ann", "Lee", "")
    assert [(e.address, e.label) for e in ann.emails.all()] == [("ann@example.com", "home")]
    assert [t.name for t in ann.tags.all()] == ["old"]
    assert ann.company is None and not ann.employments.exists()
    assert Company.objects.count() == 0  # the company the import made went too
    assert not ExternalKey.objects.exists()


def test_records_edited_since_are_reported_not_overwritten(alice):
    ann = PersonFactory(actor=alice, first_name="Ann", emails=[{"address": "ann@example.com"}])
    job = import_rows(
        alice,
        [
            HEAD,
            ["Anna", "", "ann@example.com", "", "", "", ""],
            ["New", "", "new@example.com", "", "", "", ""],
        ],
        strategy="update",
    )
    contacts.person_update(actor=alice, person=ann, data={"notes": "called her"})
    created = Person.objects.get(first_name="New")
    contacts.person_update(actor=alice, person=created, data={"notes": "met him"})
    job = importing.import_undo(actor=alice, job=job)
    report = job.undo_report
    assert (report["trashed"], report["restored"], report["conflict_count"]) == (0, 0, 2)
    assert {c["row"] for c in report["conflicts"]} == {1, 2}
    assert all("changed since" in c["reason"] for c in report["conflicts"])
    ann.refresh_from_db()
    assert (ann.first_name, ann.notes) == ("Anna", "called her")
    assert Person.objects.filter(pk=created.pk).exists()


def test_undo_is_refused_after_thirty_days(alice):
    job = import_rows(alice, [HEAD, ["Ann", "", "", "", "", "", ""]])
    ImportJob.objects.filter(pk=job.pk).update(
        finished_at=timezone.now() - datetime.timedelta(days=31)
    )
    with pytest.raises(ValidationError) as exc:
        importing.import_undo(actor=alice, job=job)
    assert "30 days" in exc.value.message_dict["status"][0]
    assert Person.objects.count() == 1


def test_undo_needs_a_finished_import_and_its_user(alice, bob, admin):
    draft = upload(alice, csv_bytes([HEAD, ["Ann", "", "", "", "", "", ""]]))
    with pytest.raises(ValidationError):
        importing.import_undo(actor=alice, job=draft)
    job = import_rows(alice, [HEAD, ["Ann", "", "", "", "", "", ""]])
    with pytest.raises(PermissionDenied):
        importing.import_undo(actor=bob, job=job)
    assert AuditEvent.objects.filter(actor=bob, action="denied", object_type="import").exists()
    importing.import_undo(actor=admin, job=job)
    with pytest.raises(ValidationError):
        importing.import_undo(actor=alice, job=job)


def test_a_record_updated_by_several_rows_is_restored_to_before_the_import(alice):
    ann = PersonFactory(
        actor=alice, first_name="Ann", last_name="Lee", emails=[{"address": "ann@example.com"}]
    )
    job = import_rows(
        alice,
        [
            HEAD,
            ["Anna", "", "ann@example.com", "", "Acme", "", ""],
            ["Annie", "", "ann@example.com", "+380671234567", "Beta", "", "A7"],
        ],
        strategy="update",
    )
    assert [r.outcome for r in job.rows.all()] == ["updated", "updated"]
    job = importing.import_undo(actor=alice, job=job)
    assert job.undo_report["conflict_count"] == 0 and job.undo_report["restored"] == 1
    ann.refresh_from_db()
    assert (ann.first_name, ann.primary_phone, ann.company) == ("Ann", "", None)
    assert not ann.employments.exists() and not ExternalKey.objects.exists()
    assert Company.objects.count() == 0


def test_a_record_created_and_then_updated_by_the_same_file_is_trashed(alice):
    job = import_rows(
        alice,
        [
            HEAD,
            ["Ann", "", "ann@example.com", "", "", "", ""],
            ["Anna", "", "ann@example.com", "", "Acme", "", ""],
        ],
        strategy="update",
    )
    assert [r.outcome for r in job.rows.all()] == ["created", "updated"]
    job = importing.import_undo(actor=alice, job=job)
    assert job.undo_report["conflict_count"] == 0
    assert Person.objects.count() == 0 and Company.objects.count() == 0

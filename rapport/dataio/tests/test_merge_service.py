"""record_merge and merge_undo: values chosen per field, channels united, every related
row moved and put back, refusals (self, other type, permission, stale, already merged)."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError

from rapport.contacts import services
from rapport.contacts.models import Company, Employment, Person
from rapport.core import search
from rapport.core import services as core_services
from rapport.core.exceptions import ConflictError, FieldPermissionDenied, PermissionDenied
from rapport.core.models import AuditEvent
from rapport.dataio.merge_undo import MergeUndoRefused, merge_undo
from rapport.dataio.merging import record_merge
from rapport.dataio.models import ExternalKey, Merge
from rapport.testing.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db


def _pair(alice):
    survivor = services.person_create(
        actor=alice,
        data={
            "first_name": "Olena",
            "last_name": "Shevchenko",
            "emails": [{"address": "olena@a.example"}, {"address": "shared@x.example"}],
            "phones": [{"number": "+380671234567"}],
            "tags": ["vip"],
            "groups": ["Friends"],
            "websites": ["https://a.example"],
            "custom_fields": {},
        },
    )
    merged = services.person_create(
        actor=alice,
        data={
            "first_name": "Olena",
            "last_name": "Shevchenko-Bondar",
            "source": "fair",
            "emails": [{"address": "SHARED@x.example"}, {"address": "o.b@b.example"}],
            "phones": [{"number": "+380671234567"}, {"number": "+48601234567"}],
            "tags": ["vip", "fair"],
            "groups": ["Friends", "Business"],
            "websites": ["https://a.example", "https://b.example"],
        },
    )
    return survivor, merged


def test_merge_unites_channels_and_keeps_chosen_values(alice):
    survivor, merged = _pair(alice)
    merge = record_merge(
        actor=alice,
        entity="person",
        survivor=survivor,
        merged=merged,
        choices={"last_name": "merged"},
    )
    person = Person.objects.get(pk=survivor.pk)
    assert person.last_name == "Shevchenko-Bondar"  # chosen
    assert person.first_name == "Olena"
    assert person.source == "fair"  # the survivor's was blank
    emails = list(person.emails.order_by("position", "id"))
    assert [e.address for e in emails] == ["olena@a.example", "shared@x.example", "o.b@b.example"]
    assert [e.primary for e in emails] == [True, False, False]
    assert person.primary_email == "olena@a.example"
    assert [p.number for p in person.phones.order_by("position")] == [
        "+380671234567",
        "+48601234567",
    ]
    assert sorted(t.name for t in person.tags.all()) == ["fair", "vip"]
    assert sorted(g.name for g in person.groups.all()) == ["Business", "Friends"]
    assert person.websites == ["https://a.example", "https://b.example"]
    assert person.version == 2

    tomb = Person.all_objects.get(pk=merged.pk)
    assert tomb.merged_into == survivor.pk and tomb.deleted_at is not None
    assert not Person.objects.filter(pk=merged.pk).exists()
    assert merged.pk not in Person.all_objects.trashed().values_list("pk", flat=True)
    assert merge.moved["contacts.emailaddress.person"]["ids"]
    assert len(merge.moved["contacts.emailaddress.person"]["dropped"]) == 1
    event = AuditEvent.objects.get(action="merge", object_type="person", object_id=survivor.pk)
    assert event.extra["merged_id"] == merged.pk
    assert event.changes["last_name"] == ["Shevchenko", "Shevchenko-Bondar"]
    # The merged record's history now belongs to the survivor, marked with its origin.
    create = AuditEvent.objects.get(action="create", extra__merged_from=merged.pk)
    assert create.object_id == survivor.pk


def test_search_finds_the_survivor_by_the_merged_email_and_not_the_tombstone(
    alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        survivor, merged = _pair(alice)
    with django_capture_on_commit_callbacks(execute=True):
        record_merge(actor=alice, entity="person", survivor=survivor, merged=merged)
    hits = {(h.entity, h.id) for h in search.search(alice, "o.b@b.example")}
    assert ("person", survivor.pk) in hits and ("person", merged.pk) not in hits


def test_undo_puts_everything_back(alice):
    survivor, merged = _pair(alice)
    before = {
        "emails": sorted(Person.objects.get(pk=merged.pk).emails.values_list("id", "address")),
        "tags": sorted(Person.objects.get(pk=merged.pk).tags.values_list("name", flat=True)),
    }
    merge = record_merge(actor=alice, entity="person", survivor=survivor, merged=merged, choices={})
    merge_undo(actor=alice, merge=merge)
    back = Person.objects.get(pk=merged.pk)
    assert back.merged_into is None and back.deleted_at is None
    assert sorted(back.emails.values_list("id", "address")) == before["emails"]
    assert sorted(back.tags.values_list("name", flat=True)) == before["tags"]
    kept = Person.objects.get(pk=survivor.pk)
    assert [e.address for e in kept.emails.all()] == ["olena@a.example", "shared@x.example"]
    assert kept.source == "" and kept.version == 3
    assert Merge.objects.get(pk=merge.pk).undone_at is not None
    assert AuditEvent.objects.filter(action="create", object_id=merged.pk).exists()
    assert not AuditEvent.objects.filter(extra__has_key="merged_from").exists()
    with pytest.raises(MergeUndoRefused):
        merge_undo(actor=alice, merge=merge)


def test_undo_is_refused_once_the_survivor_changed(alice):
    survivor, merged = _pair(alice)
    merge = record_merge(actor=alice, entity="person", survivor=survivor, merged=merged)
    services.person_update(actor=alice, person=survivor, data={"notes": "called"})
    with pytest.raises(MergeUndoRefused) as exc:
        merge_undo(actor=alice, merge=merge)
    assert "changed after the merge" in exc.value.reason
    assert Person.all_objects.get(pk=merged.pk).merged_into == survivor.pk


def test_self_merge_is_refused_naming_the_field(alice):
    person = PersonFactory(actor=alice)
    with pytest.raises(ValidationError) as exc:
        record_merge(actor=alice, entity="person", survivor=person, merged=person)
    assert "merged_id" in exc.value.message_dict
    assert not Merge.objects.exists()


def test_records_of_other_types_are_refused(alice):
    person, company = PersonFactory(actor=alice), CompanyFactory(actor=alice)
    with pytest.raises(ValidationError) as exc:
        record_merge(actor=alice, entity="person", survivor=person, merged=company)
    assert "merged_id" in exc.value.message_dict


def test_merge_needs_change_on_both_and_denial_is_audited(alice, bob):
    mine, theirs = PersonFactory(actor=alice), PersonFactory(actor=bob)
    with pytest.raises(PermissionDenied):
        record_merge(actor=alice, entity="person", survivor=mine, merged=theirs)
    assert Person.objects.filter(pk=theirs.pk).exists()
    assert AuditEvent.objects.filter(action="denied", actor=alice, object_id=theirs.pk).exists()


def test_stale_version_is_refused(alice):
    survivor, merged = _pair(alice)
    with pytest.raises(ConflictError):
        record_merge(
            actor=alice, entity="person", survivor=survivor, merged=merged, merged_version=7
        )
    assert Person.objects.filter(pk=merged.pk).exists()


def test_already_merged_record_is_refused(alice):
    a, b, c = (PersonFactory(actor=alice) for _ in range(3))
    record_merge(actor=alice, entity="person", survivor=a, merged=b)
    with pytest.raises(ValidationError) as exc:
        record_merge(actor=alice, entity="person", survivor=c, merged=b)
    assert "merged_id" in exc.value.message_dict


def test_unknown_choice_and_personal_choice_without_permission(alice, admin):
    survivor, merged = _pair(alice)
    with pytest.raises(ValidationError) as exc:
        record_merge(
            actor=alice,
            entity="person",
            survivor=survivor,
            merged=merged,
            choices={"nope": "merged", "first_name": "both"},
        )
    assert set(exc.value.message_dict) == {"choices.nope", "choices.first_name"}
    with pytest.raises(FieldPermissionDenied):
        record_merge(
            actor=alice,
            entity="person",
            survivor=survivor,
            merged=merged,
            choices={"birthday": "merged"},
        )


def test_restore_refuses_a_tombstone(alice):
    a, b = PersonFactory(actor=alice), PersonFactory(actor=alice)
    record_merge(actor=alice, entity="person", survivor=a, merged=b)
    with pytest.raises(core_services.MergedRecordError) as exc:
        core_services.restore(actor=alice, obj=Person.all_objects.get(pk=b.pk))
    assert exc.value.survivor_id == a.pk


def test_company_merge_moves_people_employments_and_subsidiaries(alice):
    keep = CompanyFactory(actor=alice, name="Acme")
    gone = CompanyFactory(actor=alice, name="ACME Ltd", industry="Rockets")
    child = CompanyFactory(actor=alice, name="Acme Child", parent=gone)
    person = PersonFactory(actor=alice)
    services.employment_add(
        actor=alice, person=person, company=gone, title="CTO", start_date=datetime.date(2020, 1, 1)
    )
    ExternalKey.objects.create(entity="company", object_id=gone.pk, key="crm-17")
    merge = record_merge(actor=alice, entity="company", survivor=keep, merged=gone)
    person.refresh_from_db()
    assert person.company_id == keep.pk and person.job_title == "CTO"
    assert Employment.objects.get(person=person).company_id == keep.pk
    assert Company.objects.get(pk=child.pk).parent_id == keep.pk
    assert Company.objects.get(pk=keep.pk).industry == "Rockets"
    assert ExternalKey.objects.get(key="crm-17").object_id == keep.pk
    assert set(Company.objects.get(pk=keep.pk).domains) == {
        *keep.domains,
        *gone.domains,
    }
    merge_undo(actor=alice, merge=merge)
    person.refresh_from_db()
    assert person.company_id == gone.pk
    assert Company.objects.get(pk=child.pk).parent_id == gone.pk
    assert ExternalKey.objects.get(key="crm-17").object_id == gone.pk
    assert Company.objects.get(pk=keep.pk).industry == ""


def test_a_company_pointing_at_the_merged_one_as_parent_does_not_become_its_own(alice):
    parent = CompanyFactory(actor=alice, name="Parent")
    child = CompanyFactory(actor=alice, name="Child", parent=parent)
    record_merge(actor=alice, entity="company", survivor=child, merged=parent)
    assert Company.objects.get(pk=child.pk).parent_id is None

"""Property test over generated people: a merge moves every related row of the merged
record to the survivor and loses none (a duplicate channel or link is united, never
dropped without trace), and undo brings the database back to its state before the merge."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rapport.contacts import services
from rapport.contacts.models import Company, Consent, EmailAddress, Employment, Person, PhoneNumber
from rapport.core import audit
from rapport.core.models import AuditEvent, CustomFieldDefinition
from rapport.dataio.merge_undo import merge_undo
from rapport.dataio.merging import record_merge
from rapport.dataio.models import ExternalKey, ImportJob, ImportRow, Merge

pytestmark = pytest.mark.django_db

PROPERTY_SETTINGS = settings(
    max_examples=200 if os.environ.get("HYPOTHESIS_PROFILE") == "deep" else 15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

EMAILS = ["ann@x.example", "ANN@x.example", "bob@y.example", "cy@z.example", "di@z.example"]
PHONES = ["+380671234567", "+48601234567", "+12025550123", "+380441234567"]
TAGS = ["vip", "lead", "VIP", "partner"]
GROUPS = ["Friends", "Work", "Family"]
WEBSITES = ["https://a.example", "https://b.example", "https://c.example"]
NAMES = ["", "Ann", "Anna", "Hanna"]
SCALARS = ["first_name", "last_name", "source", "notes"]

person_data = st.fixed_dictionaries(
    {
        "first_name": st.sampled_from(NAMES[1:]),
        "last_name": st.sampled_from(NAMES),
        "source": st.sampled_from(["", "fair", "web"]),
        "notes": st.sampled_from(["", "met twice"]),
        "emails": st.lists(st.sampled_from(EMAILS), max_size=3),
        "phones": st.lists(st.sampled_from(PHONES), max_size=3),
        "tags": st.lists(st.sampled_from(TAGS), max_size=3),
        "groups": st.lists(st.sampled_from(GROUPS), max_size=2),
        "websites": st.lists(st.sampled_from(WEBSITES), max_size=2, unique=True),
        "custom_fields": st.fixed_dictionaries(
            {}, optional={"colour": st.sampled_from(["red", "blue"])}
        ),
    }
)
extras = st.fixed_dictionaries(
    {
        "employments": st.lists(
            st.tuples(st.integers(0, 1), st.sampled_from(["", "CTO"])), max_size=2
        ),
        "consents": st.lists(st.sampled_from(["email", "sms"]), max_size=2),
        "audit": st.integers(0, 2),
        "keys": st.lists(st.sampled_from(["k1", "k2"]), max_size=2),
        "import_rows": st.integers(0, 1),
    }
)


def _make(actor, data, extra, companies, job):
    body = {
        **data,
        "emails": [{"address": a} for a in data["emails"]],
        "phones": [{"number": n} for n in data["phones"]],
    }
    person = services.person_create(actor=actor, data=body)
    for index, title in extra["employments"]:
        services.employment_add(actor=actor, person=person, company=companies[index], title=title)
    for channel in extra["consents"]:
        services.consent_record(actor=actor, person=person, channel=channel, purpose="news")
    for n in range(extra["audit"]):
        audit.record(audit.Action.UPDATE, actor=actor, obj=person, changes={"n": [n, n + 1]})
    for key in extra["keys"]:
        ExternalKey.objects.create(entity="person", object_id=person.pk, key=key)
    for _ in range(extra["import_rows"]):
        number = ImportRow.objects.filter(job=job).count() + 1
        ImportRow.objects.create(job=job, number=number, outcome="created", object_id=person.pk)
    return Person.objects.get(pk=person.pk)


THROUGH = [Person.tags.through, Person.groups.through]
CHILD_MODELS = [EmailAddress, PhoneNumber, Employment, Consent, ExternalKey, *THROUGH]
PERSON_NOISE = {"version", "updated_at", "updated_by"}


def dump(audit_ids) -> dict:
    """Every related table, rows sorted, plus the people themselves (minus version
    bookkeeping) and the audit rows that existed before."""
    tables = {
        m._meta.label: sorted(map(repr, m.objects.values_list()))
        for m in [*CHILD_MODELS, ImportRow]
    }
    people = Person.all_objects.order_by("pk").values()
    tables["people"] = [{k: v for k, v in p.items() if k not in PERSON_NOISE} for p in people]
    tables["audit"] = sorted(map(repr, AuditEvent.objects.filter(pk__in=audit_ids).values_list()))
    return tables


def _owned(person_id) -> dict:
    return {
        "emails": {
            e.lower()
            for e in EmailAddress.objects.filter(person_id=person_id).values_list(
                "address", flat=True
            )
        },
        "phones": set(
            PhoneNumber.objects.filter(person_id=person_id).values_list("number", flat=True)
        ),
        "tags": set(
            Person.tags.through.objects.filter(person_id=person_id).values_list(
                "tag__name", flat=True
            )
        ),
        "groups": set(
            Person.groups.through.objects.filter(person_id=person_id).values_list(
                "contactgroup__name", flat=True
            )
        ),
    }


@PROPERTY_SETTINGS
@given(
    left=person_data,
    right=person_data,
    bystander=person_data,
    left_extra=extras,
    right_extra=extras,
    picks=st.lists(
        st.tuples(
            st.sampled_from(SCALARS + ["custom_fields.colour"]),
            st.sampled_from(["survivor", "merged"]),
        ),
        max_size=4,
    ),
)
def test_merge_keeps_every_row_and_undo_restores_everything(
    alice, left, right, bystander, left_extra, right_extra, picks
):
    Merge.objects.all().delete()
    Person.all_objects.all().delete()
    Company.all_objects.all().delete()
    AuditEvent.objects.all().delete()
    ExternalKey.objects.all().delete()
    ImportJob.objects.all().delete()
    CustomFieldDefinition.objects.get_or_create(
        entity="person", slug="colour", defaults={"label": "Colour", "kind": "text"}
    )
    companies = [Company.objects.create(name=f"C{i}", sort_key=f"c{i}") for i in range(2)]
    job = ImportJob.objects.create(user=alice, entity="person", filename="x.csv", format="csv")
    survivor = _make(alice, left, left_extra, companies, job)
    merged = _make(alice, right, right_extra, companies, job)
    _make(alice, bystander, left_extra, companies, job)

    before_audit = set(AuditEvent.objects.values_list("pk", flat=True))
    merged_audit = set(AuditEvent.objects.filter(object_id=merged.pk).values_list("pk", flat=True))
    before = dump(before_audit)
    counts_before = {m: m.objects.count() for m in CHILD_MODELS}
    owned_before = (_owned(survivor.pk), _owned(merged.pk))
    choices = dict(picks)
    if "colour" not in (survivor.custom_fields or {}) | (merged.custom_fields or {}):
        choices.pop("custom_fields.colour", None)

    merge = record_merge(
        actor=alice, entity="person", survivor=survivor, merged=merged, choices=choices
    )
    # Import reports keep the id the import wrote (it now redirects to the survivor).
    assert dump(before_audit)[ImportRow._meta.label] == before[ImportRow._meta.label]

    # Nothing points at the merged record any more, and nothing was lost: every row is
    # either on the survivor or was a duplicate of one of its rows (kept in the record).
    for model in CHILD_MODELS:
        field = "object_id" if model is ExternalKey else "person_id"
        assert not model.objects.filter(**{field: merged.pk}).exists(), model
        dropped = sum(
            len(entry.get("dropped", []))
            for label, entry in merge.moved.items()
            if label.startswith(model._meta.label_lower + ".")
        )
        assert model.objects.count() + dropped == counts_before[model], model
    assert set(
        AuditEvent.objects.filter(pk__in=merged_audit).values_list("object_id", flat=True)
    ) <= {survivor.pk}
    united = _owned(survivor.pk)
    for key in ("emails", "phones", "tags", "groups"):
        expected = owned_before[0][key] | owned_before[1][key]
        if key == "tags":
            assert {t.lower() for t in united[key]} == {t.lower() for t in expected}
        else:
            assert united[key] == expected, key
    kept = Person.objects.get(pk=survivor.pk)
    assert set(kept.websites) == set(left["websites"]) | set(right["websites"])
    for name in SCALARS:
        mine, theirs = getattr(survivor, name), getattr(merged, name)
        pick = choices.get(name) or ("merged" if mine == "" and theirs != "" else "survivor")
        assert getattr(kept, name) == (theirs if pick == "merged" else mine), name
    assert Person.all_objects.get(pk=merged.pk).merged_into == survivor.pk

    merge_undo(actor=alice, merge=merge)
    assert dump(before_audit) == before

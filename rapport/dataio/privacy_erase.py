"""Erasure: anonymise one person everywhere Rapport keeps a copy of them.

The record (and its id) stays, so deals, activities and other aggregates keep their
links; what identifies the person goes: personal fields, channels, tags and groups, the
photo, free-text mentions in related rows, values in audit rows, import rows and merge
snapshots, the search entry. Emails and phones go onto the suppression list (hashes
only) so a later import or form does not silently re-create them.
"""

from __future__ import annotations

import json

from django.core.files.storage import default_storage
from django.db import models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from rapport.contacts.models import Consent, Employment, Person
from rapport.core import audit, search
from rapport.core.exceptions import ValidationError
from rapport.core.models import AuditEvent, IdempotencyRecord, TrackedModel
from rapport.core.registry import registry
from rapport.core.services import deny, lock_for_update, service, stamp
from rapport.core.text import fold
from rapport.dataio import suppression
from rapport.dataio.models import (
    DuplicateCluster,
    DuplicatePair,
    ExternalKey,
    ImportJob,
    ImportRow,
    Merge,
)
from rapport.dataio.privacy import may_erase, person_ids, related_rows
from rapport.dataio.privacy_redact import Needles, blank, mentioning, scrub

MAX_REASON = 500
BLANKED = {
    "prefix": "",
    "first_name": "",
    "middle_name": "",
    "suffix": "",
    "primary_email": "",
    "primary_phone": "",
    "job_title": "",
    "addresses": [],
    "websites": [],
    "social_profiles": [],
    "birthday": None,
    "gender": "",
    "family_status": "",
    "income_band": "",
    "language": "",
    "time_zone": "",
    "source": "",
    "notes": "",
    "custom_fields": {},
    "match_key": "",
}


def erased_name(pk: int) -> str:
    return pgettext("name of an erased person", "Erased person #%(id)s") % {"id": pk}


def _text_fields(model: type[models.Model]) -> list[str]:
    return [
        f.attname
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField | models.TextField | models.JSONField)
        and not f.choices
        and not f.primary_key
    ]


def _scrub_rows(queryset, fields: list[str], pattern) -> list[models.Model]:
    """Rewrite the given text/JSON columns of each row; returns the rows that changed."""
    changed = []
    for obj in queryset:
        updates = {}
        for name in fields:
            value = getattr(obj, name)
            new = scrub(value, pattern)
            if new != value:
                updates[name] = new
        if updates:
            if isinstance(obj, TrackedModel):  # an edit open elsewhere must not undo this
                updates["version"] = models.F("version") + 1
            type(obj)._base_manager.filter(pk=obj.pk).update(**updates)
            changed.append(obj)
    return changed


def _anonymise(person: Person, *, actor) -> None:
    photo = person.photo.name if person.photo else ""
    for name, value in BLANKED.items():
        setattr(person, name, value)
    person.last_name = erased_name(person.pk)
    person.sort_key = fold(person.last_name)[:320]
    person.photo = ""
    stamp(person, actor=actor, creating=False)
    person.save()
    person.emails.all().delete()
    person.phones.all().delete()
    person.tags.clear()
    person.groups.clear()
    Employment.objects.filter(person=person).update(title="", department="")
    Consent.objects.filter(person=person).update(source="")
    if photo:
        transaction.on_commit(lambda: default_storage.delete(photo))


def _redact_history(ids: list[int], needles: Needles) -> int:
    """The person's own audit rows lose every value (the field names, actions, times and
    actors stay); rows about anything else lose the strong needles they mention."""
    count = 0
    own_pattern = needles.pattern()
    own = AuditEvent.objects.filter(object_type="person", object_id__in=ids)
    pks = list(own.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(pks), 500):  # no open cursor on the table being written
        for event in AuditEvent.objects.filter(pk__in=pks[start : start + 500]):
            AuditEvent.objects.filter(pk=event.pk).update(
                changes=blank(event.changes),
                extra=scrub(event.extra, own_pattern),
                object_repr=erased_name(event.object_id),
            )
            count += 1
    others = mentioning(
        AuditEvent.objects.exclude(object_type="person", object_id__in=ids),
        needles,
        text=["object_repr"],
        json=["changes", "extra"],
    )
    count += len(
        _scrub_rows(others, ["object_repr", "changes", "extra"], needles.pattern(strong_only=True))
    )
    return count


def _redact_related(ids: list[int], needles: Needles) -> list[models.Model]:
    """Free-text mentions in rows of other models pointing at the person, and the audit
    values of those rows (when they are entities)."""
    pattern = needles.pattern()
    touched: list[models.Model] = []
    for model, queryset in related_rows(ids):
        fields = _text_fields(model)
        if fields:
            touched += _scrub_rows(queryset, fields, pattern)
        entity = registry.for_model(model)
        if entity is not None:
            row_ids = list(queryset.values_list("pk", flat=True))
            events = AuditEvent.objects.filter(object_type=entity.key, object_id__in=row_ids)
            _scrub_rows(events, ["object_repr", "changes", "extra"], pattern)
            touched += list(queryset)
    return touched


def _redact_dataio(ids: list[int], needles: Needles) -> None:
    """Import rows, merge snapshots, external ids and duplicate proposals of the person."""
    pattern = needles.pattern()
    job_ids = set()
    for row in ImportRow.objects.filter(job__entity="person", object_id__in=ids):
        ImportRow.objects.filter(pk=row.pk).update(
            values=blank(row.values), before=blank(row.before), reason=scrub(row.reason, pattern)
        )
        job_ids.add(row.job_id)
    others = mentioning(
        ImportRow.objects.exclude(job__entity="person", object_id__in=ids),
        needles,
        text=["reason"],
        json=["values", "before"],
    )
    job_ids.update(
        row.job_id for row in _scrub_rows(others, ["reason", "values", "before"], pattern)
    )
    _drop_import_files(job_ids)
    own_merges = Merge.objects.filter(entity="person").filter(
        models.Q(survivor_id__in=ids) | models.Q(merged_id__in=ids)
    )
    for merge in own_merges:
        Merge.objects.filter(pk=merge.pk).update(
            survivor_before=blank(merge.survivor_before),
            merged_before=blank(merge.merged_before),
            choices=scrub(merge.choices, pattern),
            moved=blank(merge.moved),  # ids stay (numbers); dropped rows' values go
        )
    other_merges = mentioning(
        Merge.objects.exclude(pk__in=own_merges.values("pk")),
        needles,
        text=[],
        json=["choices", "survivor_before", "merged_before", "moved"],
    )
    _scrub_rows(other_merges, ["choices", "survivor_before", "merged_before", "moved"], pattern)
    ExternalKey.objects.filter(entity="person", object_id__in=ids).delete()
    # Proposals to merge the anonymous record are moot; the next scan re-proposes the
    # other members of its clusters among themselves.
    pairs = DuplicatePair.objects.filter(entity="person").filter(
        models.Q(left_id__in=ids) | models.Q(right_id__in=ids)
    )
    DuplicateCluster.objects.filter(
        pk__in=list(pairs.values_list("cluster_id", flat=True))
    ).delete()


def _drop_import_files(job_ids: set[int]) -> None:
    """The uploaded files of finished imports that held the person: their report rows
    are what undo and the report need; a running or resumable import keeps its file."""
    finished = ImportJob.objects.filter(
        pk__in=job_ids, status__in=[ImportJob.Status.DONE, ImportJob.Status.UNDONE]
    ).exclude(file="")
    names = list(finished.values_list("file", flat=True))
    finished.update(file="")
    for name in names:
        transaction.on_commit(lambda name=name: default_storage.delete(name))


def _drop_replays(needles: Needles) -> None:
    """Stored API answers (kept a day for `Idempotency-Key` replays) that show the person:
    forgetting one only means a retry with that key runs again."""
    pattern = needles.pattern()
    if pattern is None:
        return
    doomed = []
    for pk, response in IdempotencyRecord.objects.exclude(response=None).values_list(
        "pk", "response"
    ):
        text = bytes(response).decode("utf-8", "replace")
        try:
            text += json.dumps(json.loads(text), ensure_ascii=False)
        except ValueError:
            pass
        if pattern.search(text):
            doomed.append(pk)
    IdempotencyRecord.objects.filter(pk__in=doomed).delete()


def _compact_search_index() -> None:
    search.backend().compact()


@service
def person_erase(*, actor, person: Person, reason: str) -> Person:
    """Anonymise a person and every copy of their data; irreversible, administrators only.

    Returns the anonymous record. The ERASE audit row keeps who, when, why (with any
    mention of the person removed from the reason) and how much, never a personal value.
    """
    person = lock_for_update(Person, person.pk)
    if not may_erase(actor, person):
        raise deny(
            _("Only administrators may erase personal data."),
            actor=actor,
            obj=person,
            extra={"action": "erase"},
        )
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise ValidationError({"reason": [_("Say why the personal data is erased.")]})
    if len(reason) > MAX_REASON:
        raise ValidationError(
            {"reason": [_("Enter at most %(max)s characters.") % {"max": MAX_REASON}]}
        )
    ids = person_ids(person)
    people = list(Person.all_objects.filter(pk__in=ids).prefetch_related("emails", "phones"))
    needles = Needles.of(people)
    needles.add_history(AuditEvent.objects.filter(object_type="person", object_id__in=ids))
    emails = {e.address for p in people for e in p.emails.all()}
    phones = {n.number for p in people for n in p.phones.all()}
    related = _redact_related(ids, needles)
    for model in (Employment, Consent):  # kept rows: their free text may still mention them
        _scrub_rows(model.objects.filter(person_id__in=ids), _text_fields(model), needles.pattern())
    for record in people:
        _anonymise(record, actor=actor)
    history = _redact_history(ids, needles)
    _redact_dataio(ids, needles)
    _drop_replays(needles)
    new = suppression.suppress(emails=emails, phones=phones)
    for record in people:
        audit.record(
            audit.Action.ERASE,
            actor=actor,
            obj=record,
            object_repr=erased_name(record.pk),
            extra={
                "reason": scrub(reason, needles.pattern()),
                "records": ids,
                "suppressed": {"emails": len(emails), "phones": len(phones), "new": new},
                "history_rows": history,
                "related_rows": len(related),
            },
        )
    search.index_on_commit([*people, *related])
    transaction.on_commit(_compact_search_index)
    return Person.all_objects.get(pk=person.pk)

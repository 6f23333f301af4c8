"""Undoing an import within 30 days: what it created goes to the trash (restorable),
what it updated gets its earlier values back — unless someone changed the record
since, which the undo report lists instead of overwriting their work."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from rapport.contacts import services as contacts
from rapport.contacts.models import Company, Person
from rapport.core import audit, permissions, search
from rapport.core.exceptions import ConflictError, PermissionDenied
from rapport.core.services import deny, service
from rapport.dataio import import_snapshots as snapshots
from rapport.dataio.models import ExternalKey, ImportJob, ImportRow

UNDO_DAYS = 30
CHUNK = 500
MAX_LISTED = 1000


def _may_undo(actor, job: ImportJob) -> bool:
    from rapport.accounts.services import is_administrator

    return job.user_id == getattr(actor, "pk", None) or is_administrator(actor)


@service
def import_undo(*, actor, job: ImportJob) -> ImportJob:
    """Trash what the import created and restore what it updated; conflicts reported."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if not _may_undo(actor, job):
        raise deny("import_undo", actor=actor, object_type="import", object_id=job.pk)
    if job.status != ImportJob.Status.DONE:
        raise ValidationError({"status": [_("Only a finished import can be undone.")]})
    finished = job.finished_at or job.created_at
    if finished < timezone.now() - datetime.timedelta(days=UNDO_DAYS):
        raise ValidationError(
            {
                "status": [
                    _(
                        "An import can be undone within %(days)s days; this one finished on "
                        "%(date)s."
                    )
                    % {"days": UNDO_DAYS, "date": formats.date_format(finished.date())}
                ]
            }
        )
    report = _Report()
    model = Person if job.entity == "person" else Company
    latest, created_ids = _versions(job)
    created = ImportRow.objects.filter(job=job, outcome=ImportRow.Outcome.CREATED).order_by(
        "number"
    )
    for chunk in _chunks(created.values_list("number", "object_id", "version_after", "before")):
        _trash_created(actor, job.entity, model, chunk, latest, report)
    for group in _updated_groups(job, created_ids, report, actor):
        _restore_updated(actor, job.entity, model, group, report)
    job.status = ImportJob.Status.UNDONE
    job.undone_at = timezone.now()
    job.undo_report = report.as_json()
    job.save(update_fields=["status", "undone_at", "undo_report"])
    audit.record(
        audit.Action.IMPORT_UNDO,
        actor=actor,
        object_type="import",
        object_id=job.pk,
        object_repr=job.filename,
        extra={k: v for k, v in job.undo_report.items() if k != "conflicts"},
    )
    return job


def _versions(job: ImportJob) -> tuple[dict[int, int], set[int]]:
    """Per record the version the import left it at (a record can be created and then
    updated by a later row of the same file), and which records it created."""
    latest: dict[int, int] = {}
    created: set[int] = set()
    rows = ImportRow.objects.filter(
        job=job, outcome__in=[ImportRow.Outcome.CREATED, ImportRow.Outcome.UPDATED]
    ).values_list("object_id", "outcome", "version_after")
    for object_id, outcome, version in rows.iterator(chunk_size=2000):
        if version is not None and version > latest.get(object_id, 0):
            latest[object_id] = version
        if outcome == ImportRow.Outcome.CREATED:
            created.add(object_id)
    return latest, created


@dataclass
class _Group:
    """All the updates the import made to one record, undone together: the first row's
    snapshot is the record before the import, the last row's version what it left."""

    number: int
    object_id: int
    record: dict
    version_after: int | None
    employments: list[int] = field(default_factory=list)
    companies: list[int] = field(default_factory=list)
    external_keys: list[str] = field(default_factory=list)

    def add(self, before: dict, version_after) -> None:
        self.version_after = version_after
        self.employments += before.get("employments", [])
        self.companies += before.get("companies", [])
        if before.get("external_key"):
            self.external_keys.append(before["external_key"])


def _updated_groups(job: ImportJob, created_ids: set[int], report, actor):
    rows = (
        ImportRow.objects.filter(job=job, outcome=ImportRow.Outcome.UPDATED)
        .order_by("object_id", "number")
        .values_list("number", "object_id", "before", "version_after")
    )
    group = None
    for number, object_id, before, version_after in rows.iterator(chunk_size=CHUNK):
        before = before or {}
        if object_id in created_ids:  # created by this import: it goes to the trash
            companies = before.get("companies", [])
            report.trashed += _bulk_trash(actor, Company, _unchanged_companies(actor, companies))
            continue
        if group is None or group.object_id != object_id:
            if group is not None:
                yield group
            group = _Group(number, object_id, before.get("record", {}), version_after)
        group.add(before, version_after)
    if group is not None:
        yield group


class _Report:
    def __init__(self) -> None:
        self.trashed = 0
        self.restored = 0
        self.conflicts: list[dict] = []
        self.conflict_count = 0

    def conflict(self, number: int, object_id: int, reason: str) -> None:
        self.conflict_count += 1
        if len(self.conflicts) < MAX_LISTED:
            self.conflicts.append({"row": number, "id": object_id, "reason": reason})

    def as_json(self) -> dict:
        return {
            "trashed": self.trashed,
            "restored": self.restored,
            "conflict_count": self.conflict_count,
            "conflicts": self.conflicts,
        }


def _chunks(rows):
    chunk = []
    for row in rows.iterator(chunk_size=CHUNK):
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _trash_created(actor, entity: str, model, chunk, latest: dict, report: _Report) -> None:
    """Trash in bulk (one UPDATE, bulk audit rows, one index batch) what is unchanged."""
    wanted = {
        object_id: (number, latest.get(object_id, version))
        for number, object_id, version, _b in chunk
    }
    companies = [c for *_r, before in chunk for c in (before or {}).get("companies", [])]
    objects = model.all_objects.in_bulk(list(wanted))
    ids = []
    for object_id, (number, version) in wanted.items():
        obj = objects.get(object_id)
        if obj is None or obj.deleted_at is not None:
            continue
        if obj.merged_into is not None:
            report.conflict(
                number, object_id, _("merged into #%(id)s since") % {"id": obj.merged_into}
            )
        elif version is not None and obj.version != version:
            report.conflict(number, object_id, _("changed since the import; kept"))
        elif not permissions.allows(actor, entity, "delete", obj):
            report.conflict(number, object_id, _("you may not delete it"))
        else:
            ids.append(object_id)
    report.trashed += _bulk_trash(actor, model, ids)
    if companies:
        report.trashed += _bulk_trash(actor, Company, _unchanged_companies(actor, companies))
    ExternalKey.objects.filter(entity=entity, object_id__in=ids).delete()


def _unchanged_companies(actor, ids: list[int]) -> list[int]:
    return [
        c.pk
        for c in Company.objects.filter(pk__in=ids, version=1, merged_into__isnull=True)
        if permissions.allows(actor, "company", "delete", c)
    ]


def _bulk_trash(actor, model, ids: list[int]) -> int:
    if not ids:
        return 0
    now = timezone.now()
    by = actor if getattr(actor, "pk", None) else None
    model.all_objects.filter(pk__in=ids, deleted_at__isnull=True).update(
        deleted_at=now, deleted_by=by, updated_at=now, updated_by=by, version=F("version") + 1
    )
    objects = list(model.all_objects.filter(pk__in=ids))
    audit.record_many(
        audit.build(audit.Action.DELETE, actor=actor, obj=obj, extra={"via": "import_undo"})
        for obj in objects
    )
    search.index_on_commit(objects)
    return len(objects)


def _restore_updated(actor, entity: str, model, group: _Group, report: _Report) -> None:
    number, object_id = group.number, group.object_id
    obj = model.all_objects.filter(pk=object_id).first()
    if obj is None or obj.deleted_at is not None:
        report.conflict(number, object_id, _("no longer there (in the trash or merged)"))
        return
    if obj.version != group.version_after:
        report.conflict(number, object_id, _("changed since the import; not restored"))
        return
    update = contacts.person_update if entity == "person" else contacts.company_update
    try:
        with transaction.atomic():
            if entity == "person" and group.employments:
                for employment in obj.employments.filter(pk__in=group.employments):
                    contacts.employment_remove(actor=actor, employment=employment)
            data = snapshots.restore_data(group.record, snapshots.snapshot(entity, obj))
            if data:
                update(
                    actor=actor, data=data, expected_version=group.version_after, **{entity: obj}
                )
    except ConflictError:
        report.conflict(number, object_id, _("changed since the import; not restored"))
        return
    except PermissionDenied:
        report.conflict(number, object_id, _("you may not change it"))
        return
    except ValidationError as exc:
        report.conflict(number, object_id, " ".join(exc.messages))
        return
    if group.external_keys:
        ExternalKey.objects.filter(
            entity=entity, object_id=object_id, key__in=group.external_keys
        ).delete()
    if group.companies:
        report.trashed += _bulk_trash(actor, Company, _unchanged_companies(actor, group.companies))
    report.restored += 1

"""Exports of any entity list: the same filters, ordering and columns as the list page.

Rows are the user's `restrict("view")` ∩ `restrict("export")` ∩ the FilterSet, read in
keyset chunks with the entity's prefetches, so memory and queries per row stay flat
however many rows there are. Small exports (at most `DIRECT_LIMIT` rows, by a capped
count) are written at once; larger ones become an `ExportJob` run by a task after
commit. Every finished export leaves one EXPORT audit row (format, rows, filters,
columns); a refused one leaves a denial row.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import tempfile
import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import QueryDict
from django.tasks import task
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from rapport.core import audit, keyset, listing, permissions
from rapport.core.api.lists import filterset_for
from rapport.core.exceptions import PermissionDenied
from rapport.core.registry import Column, Entity, registry
from rapport.core.scheduler import jobs
from rapport.core.selectors import capped_count
from rapport.core.services import deny, service
from rapport.dataio.export_writers import TABLE_FORMATS, WRITERS
from rapport.dataio.models import ExportJob

logger = logging.getLogger("rapport.dataio")

DIRECT_LIMIT = 2000  # rows an export may have and still be written inside the request
CHUNK_SIZE = 500
RETENTION = datetime.timedelta(days=7)
FORMATS = ("csv", "xlsx", "vcard", "json")
VCARD_ENTITIES = frozenset({"person"})


class ExportQueryError(Exception):
    """The export's query names an unknown entity, format, filter, ordering or column;
    `errors` are {"field", "message", "code"} as the API's problem details list them."""

    def __init__(self, errors: Sequence[Mapping[str, str]]):
        self.errors = [dict(e) for e in errors]
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in self.errors))

    @property
    def messages(self) -> list[str]:
        return [f"{e['field']}: {e['message']}" for e in self.errors]


def _error(field: str, message: str, code: str = "invalid") -> dict[str, str]:
    return {"field": field, "message": str(message), "code": code}


@dataclass(frozen=True)
class ExportSpec:
    """A checked export query: what to read and how to write it."""

    entity: type[Entity]
    fmt: str
    filters: dict[str, list[str]]
    ordering: keyset.Ordering
    columns: list[Column]


def formats_for(entity: type[Entity]) -> list[str]:
    return [f for f in FORMATS if f != "vcard" or entity.key in VCARD_ENTITIES]


def filters_from_query(params: QueryDict) -> dict[str, list[str]]:
    """The filter part of a list page's query string (not ordering, columns, cursor …)."""
    from rapport.core.filters import RESERVED

    return {k: params.getlist(k) for k in params if k not in RESERVED}


def _as_querydict(filters: Mapping[str, Any]) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, values in filters.items():
        items = values if isinstance(values, list | tuple) else [values]
        query.setlist(str(key), [str(v) for v in items])
    return query


def parse_export(
    user,
    entity: type[Entity],
    *,
    fmt: str,
    filters: Mapping[str, Any],
    ordering: str | None = None,
    columns: Sequence[str] | None = None,
    strict_columns: bool = True,
) -> ExportSpec:
    """Check an export query the way the list checks its own; raise ExportQueryError
    naming every parameter at fault. Personal columns and orderings exist only for
    readers with the personal-data permission."""
    errors: list[dict[str, str]] = []
    if fmt not in formats_for(entity):
        errors.append(_error("format", _("Choose one of: %s.") % ", ".join(formats_for(entity))))
    query = _as_querydict(filters)
    filterset = filterset_for(entity)(query, entity.model.objects.none(), user=user)
    for key in sorted(filterset.unknown_keys()):
        errors.append(_error(key, _("Unknown filter."), "unknown"))
    if not filterset.is_valid():
        for name, messages in filterset.errors.items():
            errors.extend(_error(name, m) for m in messages)
    elif not errors:
        try:
            filterset.qs  # noqa: B018 - method filters check their values as they build
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.extend(_error(name, m) for m in messages)
    try:
        parsed = keyset.parse_ordering(
            ordering, listing.allowed_orderings(entity, user), entity.default_ordering
        )
    except KeyError as exc:
        errors.append(_error("ordering", _("Cannot sort by “%s”.") % exc.args[0], "unknown"))
        parsed = None
    available = {c.key: c for c in listing.columns_for(entity, user)}
    keys = [k for value in (columns or []) for k in str(value).split(",") if k.strip()]
    keys = [k.strip() for k in keys]
    unknown = [k for k in keys if k not in available]
    if unknown and strict_columns:
        errors.append(_error("columns", _("Unknown column: %s.") % ", ".join(unknown), "unknown"))
    chosen = [available[k] for k in keys if k in available]
    if not chosen:
        chosen = [available[k] for k in entity.default_columns if k in available]
    if errors:
        raise ExportQueryError(errors)
    clean = {k: query.getlist(k) for k in query}
    return ExportSpec(entity, fmt, clean, parsed, chosen)


def rows_queryset(spec: ExportSpec, user) -> QuerySet:
    """The rows this user may both see and export, filtered as the list filters them."""
    model = spec.entity.model
    base = model.objects.restrict(user, "view").restrict(user, "export")
    filterset = filterset_for(spec.entity)(_as_querydict(spec.filters), base, user=user)
    if not filterset.is_valid():
        raise ExportQueryError([_error(k, " ".join(v)) for k, v in filterset.errors.items()])
    try:
        return filterset.qs
    except ValidationError as exc:
        raise ExportQueryError(
            [_error(k, " ".join(v)) for k, v in exc.message_dict.items()]
        ) from exc


def iter_objects(spec: ExportSpec, user, *, chunk_size: int | None = None) -> Iterator[Any]:
    """Every exported record in the list's order, one keyset chunk at a time (a few
    queries per chunk, whatever the chunk holds)."""
    size = chunk_size or CHUNK_SIZE
    ordering = spec.ordering
    keys = {f"_k{i}": F(name) for i, (name, _desc) in enumerate(ordering.fields)}
    qs = spec.entity.export_queryset(rows_queryset(spec, user), spec.fmt)
    qs = qs.annotate(**keys).order_by(*ordering.order_by())
    after: list[Any] | None = None
    while True:
        page = qs if after is None else qs.filter(keyset.after_q(ordering, after))
        chunk = list(page[:size])
        yield from chunk
        if len(chunk) < size:
            return
        after = [getattr(chunk[-1], k) for k in keys]


def _record(spec: ExportSpec, obj, user) -> dict[str, Any]:
    item = spec.entity.serialize(obj, user)
    if spec.fmt == "vcard":
        company = getattr(obj, "company", None)
        item["company_name"] = company.name if company is not None else ""
    return item


def write_export(spec: ExportSpec, user, stream) -> int:
    """Write the whole export to a binary stream; returns the number of records."""
    writer_class = WRITERS[spec.fmt]
    title = str(spec.entity.verbose_name_plural).capitalize()
    count = 0
    if spec.fmt in TABLE_FORMATS:
        headers = [_("ID"), *(str(c.label) for c in spec.columns)]
        writer = writer_class(stream, headers=headers, title=title)
        for obj in iter_objects(spec, user):
            writer.write(
                [obj.pk, *(spec.entity.export_value(obj, c.key, user) for c in spec.columns)]
            )
            count += 1
    else:
        writer = writer_class(stream, title=title)
        for obj in iter_objects(spec, user):
            writer.write(_record(spec, obj, user))
            count += 1
    writer.close()
    return count


def filename_for(job: ExportJob, entity: type[Entity]) -> str:
    moment = timezone.localtime(job.created_at)
    return f"{entity.url_base}-{moment:%Y%m%d-%H%M}.{WRITERS[job.format].extension}"


def content_type_for(job: ExportJob) -> str:
    return WRITERS[job.format].content_type


def _spec_for(job: ExportJob) -> ExportSpec:
    entity = registry.get(job.entity)
    if entity is None:
        raise ExportQueryError([_error("entity", _("There is no such kind of record."))])
    return parse_export(
        job.user,
        entity,
        fmt=job.format,
        filters=job.params.get("filters", {}),
        ordering=job.params.get("ordering"),
        columns=job.columns,
        strict_columns=False,
    )


def _write_job(job: ExportJob) -> ExportJob:
    """Write the job's file, then mark it done with its audit row in one short
    transaction (a long export never holds SQLite's write lock)."""
    user = job.user
    if not permissions.can(user, job.entity, "export"):
        raise deny("export", actor=user, object_type=job.entity, extra={"action": "export"})
    spec = _spec_for(job)
    with tempfile.TemporaryFile() as tmp:
        rows = write_export(spec, user, tmp)
        tmp.seek(0)
        job.filename = filename_for(job, spec.entity)
        job.file.save(job.filename, File(tmp), save=False)
    with transaction.atomic():
        job.row_count = rows
        job.status = ExportJob.Status.DONE
        job.finished_at = timezone.now()
        job.error = ""
        job.save(update_fields=["file", "filename", "row_count", "status", "finished_at", "error"])
        audit.record(
            audit.Action.EXPORT,
            actor=user,
            object_type=spec.entity.key,
            object_repr=job.filename,
            extra={
                "format": spec.fmt,
                "rows": rows,
                "filters": spec.filters,
                "ordering": spec.ordering.key,
                "columns": [c.key for c in spec.columns] if spec.fmt in TABLE_FORMATS else [],
                "job": job.pk,
            },
        )
    return job


@service
def export_start(
    *,
    actor,
    entity_key: str,
    fmt: str,
    filters: Mapping[str, Any],
    ordering: str | None = None,
    columns: Sequence[str] | None = None,
    strict_columns: bool = True,
) -> ExportJob:
    """Start an export: written at once when small, queued as a task when large.

    Refuses (audited) a user without the export permission on the entity and raises
    ExportQueryError for an unknown format, filter, ordering or column.
    """
    entity = registry.get(entity_key)
    if entity is None:
        raise ExportQueryError([_error("entity", _("There is no such kind of record."))])
    if not permissions.can(actor, entity.key, "export"):
        raise deny("export", actor=actor, object_type=entity.key, extra={"action": "export"})
    spec = parse_export(
        actor,
        entity,
        fmt=fmt,
        filters=filters,
        ordering=ordering,
        columns=columns,
        strict_columns=strict_columns,
    )
    job = ExportJob.objects.create(
        user=actor,
        entity=entity.key,
        format=spec.fmt,
        params={"filters": spec.filters, "ordering": spec.ordering.key},
        columns=[c.key for c in spec.columns],
    )
    if capped_count(rows_queryset(spec, actor), DIRECT_LIMIT).capped:
        transaction.on_commit(lambda: run_export_job.enqueue(job.pk))
        return job
    return _write_job(job)


@contextlib.contextmanager
def user_locale(user) -> Iterator[None]:
    """The user's language and time zone, for work done outside their request."""
    language = user.language if user.language in dict(settings.LANGUAGES) else None
    try:
        zone = zoneinfo.ZoneInfo(user.time_zone) if user.time_zone else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = None
    with translation.override(language or settings.LANGUAGE_CODE):
        with timezone.override(zone or timezone.get_default_timezone()):
            yield


def export_job_run(*, job_id: int) -> str | None:
    """Run a queued export (idempotent: a finished job is left alone, a job whose
    worker died is written again from the start). Returns the job's status."""
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status == ExportJob.Status.DONE:
            return job.status if job else None
        job.status = ExportJob.Status.RUNNING
        job.save(update_fields=["status"])
    job = ExportJob.objects.select_related("user").get(pk=job_id)
    try:
        with user_locale(job.user):
            _write_job(job)
    except Exception as exc:  # noqa: BLE001 - the job must end in a state the user sees
        logger.exception("export %s failed", job_id)
        message = (
            "; ".join(exc.messages)
            if isinstance(exc, ExportQueryError)
            else _("You may no longer export these records.")
            if isinstance(exc, PermissionDenied)
            else _("The export failed; it has been logged.")
        )
        ExportJob.objects.filter(pk=job_id).update(
            status=ExportJob.Status.FAILED, error=message, finished_at=timezone.now()
        )
        return ExportJob.Status.FAILED
    return ExportJob.Status.DONE


@task()
def run_export_job(job_id: int) -> str | None:
    return export_job_run(job_id=job_id)


def exports_recent(user, *, limit: int = 50) -> list[ExportJob]:
    """The user's own recent exports, newest first."""
    return list(ExportJob.objects.filter(user=user).order_by("-created_at", "-id")[:limit])


def export_job_for(user, job_id: int) -> ExportJob | None:
    """One of the user's own export jobs; anyone else's does not exist for them."""
    return ExportJob.objects.filter(pk=job_id, user=user).first()


def exports_prune_expired(*, now: datetime.datetime | None = None) -> int:
    """Delete export files (and their jobs) older than the retention period; the audit
    rows stay."""
    cutoff = (now or timezone.now()) - RETENTION
    count = 0
    for job in ExportJob.objects.filter(created_at__lt=cutoff).order_by("pk").iterator():
        if job.file:
            job.file.delete(save=False)
        job.delete()
        count += 1
    return count


@task()
def prune_exports() -> int:
    return exports_prune_expired()


jobs.register("prune_exports", datetime.timedelta(hours=6), prune_exports)

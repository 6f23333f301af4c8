"""The import run: the file streamed in batches, each batch one transaction.

A batch builds its records, refuses suppressed (erased) people, matches what already
exists among the records the importer may view, applies the duplicate strategy,
creates the rest through the bulk services (a row they refuse is rejected alone and
the others are retried), links people to companies by name, and writes one ImportRow
per row with the job's counters. A crash rolls the batch back whole; the next run
starts after the last recorded row, so no row is lost or counted twice.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from rapport.core import audit, context, customfields
from rapport.core.bulk import bulk_cursor, copy_rows
from rapport.dataio import readers
from rapport.dataio.import_batch import Batch, Outcome
from rapport.dataio.models import ImportJob, ImportRow

logger = logging.getLogger("rapport.imports")

BATCH_SIZE = 1000
RUNNABLE = (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING, ImportJob.Status.FAILED)
COUNTERS = {
    ImportRow.Outcome.CREATED: "created_count",
    ImportRow.Outcome.UPDATED: "updated_count",
    ImportRow.Outcome.SKIPPED: "skipped_count",
    ImportRow.Outcome.REJECTED: "rejected_count",
}


def import_run(job_id: int, *, progress: Callable[[ImportJob], None] | None = None) -> ImportJob:
    """Run (or resume) an import to the end; safe to call again after a crash.
    `progress` (the CLI's) is called with the job after every batch."""
    job = _claim(job_id)
    if job is None:
        return ImportJob.objects.get(pk=job_id)
    token = context.bind(context.RequestContext(via="task"))
    try:
        with translation.override(job.user.language or settings.LANGUAGE_CODE):
            _run(job, progress)
    except Exception as exc:
        logger.exception("import %s failed", job_id)
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.FAILED, error=_failure_text(exc)[:2000]
        )
        raise
    finally:
        context.reset(token)
    return ImportJob.objects.get(pk=job_id)


def _failure_text(exc: Exception) -> str:
    messages = getattr(exc, "messages", None)
    if messages:
        return " ".join(str(m) for m in messages)
    return _("The import stopped unexpectedly; start it again to continue.")


def _claim(job_id: int) -> ImportJob | None:
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().select_related("user").get(pk=job_id)
        if job.status not in RUNNABLE:
            return None
        job.status = ImportJob.Status.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.error = ""
        job.save(update_fields=["status", "started_at", "error"])
    return job


def _run(job: ImportJob, progress) -> None:
    from rapport.dataio.importing import local_path

    with local_path(job) as path:
        sniffed = readers.sniff(
            path, job.filename, encoding=job.encoding, delimiter=job.delimiter, sheet=job.sheet
        )
        if job.total_rows is None:
            job.total_rows = sum(1 for _row in readers.iter_rows(path, sniffed))
            ImportJob.objects.filter(pk=job.pk).update(total_rows=job.total_rows)
        last = ImportRow.objects.filter(job=job).aggregate(last=Max("number"))["last"] or 0
        batch: list[tuple[int, list[str]]] = []
        for number, cells in readers.iter_rows(path, sniffed):
            if number <= last:
                continue
            batch.append((number, cells))
            if len(batch) >= BATCH_SIZE:
                _step(job, batch, progress)
                batch = []
        if batch:
            _step(job, batch, progress)
    _finish(job)


def _step(job: ImportJob, batch: list[tuple[int, list[str]]], progress) -> None:
    run_batch(job, batch)
    if progress is not None:
        progress(ImportJob.objects.get(pk=job.pk))


def run_batch(job: ImportJob, rows: list[tuple[int, list[str]]]) -> None:
    """One transaction: the rows' records and their report lines, or nothing."""
    with transaction.atomic(), customfields.cached_definitions():
        outcomes = Batch(job, job.user).process(rows)
        write_rows(job, outcomes)


def write_rows(job: ImportJob, outcomes: list[Outcome]) -> None:
    """One parameterised INSERT run for the batch's report lines: bulk_create compiles
    every value through the ORM, which cost more than the whole matching step."""
    _insert_rows(job.pk, outcomes)
    counts = Counter(row.outcome for row in outcomes)
    ImportJob.objects.filter(pk=job.pk).update(
        processed_rows=F("processed_rows") + len(outcomes),
        **{field: F(field) + counts.get(outcome, 0) for outcome, field in COUNTERS.items()},
    )


_COLUMNS = ("job", "number", "outcome", "reason", "values", "object_id", "before", "version_after")


def _insert_rows(job_id: int, outcomes: list[Outcome]) -> None:
    if not outcomes:
        return
    meta = ImportRow._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in _COLUMNS)
    table = quote(meta.db_table)
    params = [
        (
            job_id,
            o.number,
            o.outcome,
            o.reason,
            json.dumps(o.values, ensure_ascii=False),
            o.object_id,
            None if o.before is None else json.dumps(o.before, ensure_ascii=False),
            o.version_after,
        )
        for o in outcomes
    ]
    with bulk_cursor(connection) as cursor:
        if connection.vendor == "postgresql":  # JSON as text, which COPY reads as jsonb
            copy_rows(cursor, f"COPY {table} ({columns}) FROM STDIN", params)
            return
        marks = ", ".join(["%s"] * len(_COLUMNS))
        # Identifiers come from model metadata; every value is a query parameter.
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
        cursor.executemany(sql, params)


def _finish(job: ImportJob) -> None:
    """Counters recomputed from the rows themselves, so they add up whatever happened."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        counts = dict(
            ImportRow.objects.filter(job=job).values_list("outcome").annotate(n=Count("id"))
        )
        for outcome, field in COUNTERS.items():
            setattr(job, field, counts.get(outcome, 0))
        job.processed_rows = sum(counts.values())
        job.total_rows = job.processed_rows
        job.status = ImportJob.Status.DONE
        job.finished_at = timezone.now()
        job.save()
        audit.record(
            audit.Action.IMPORT,
            actor=job.user,
            object_type="import",
            object_id=job.pk,
            object_repr=job.filename,
            extra={
                "entity": job.entity,
                "rows": job.processed_rows,
                "created": job.created_count,
                "updated": job.updated_count,
                "skipped": job.skipped_count,
                "rejected": job.rejected_count,
            },
        )

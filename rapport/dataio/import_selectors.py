"""Reads the import pages and the imports API share: the user's job (404 for anyone
else's), progress, the paged per-row report and its CSV download."""

from __future__ import annotations

import datetime
import io
import tempfile
from dataclasses import dataclass

from django.http import FileResponse, Http404
from django.utils import timezone
from django.utils.text import get_valid_filename

from rapport.core import keyset
from rapport.core.registry import registry
from rapport.dataio.models import ImportJob, ImportRow

UNDO_WINDOW = datetime.timedelta(days=30)
ACTIVE = (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)
REPORT_ORDER = keyset.Ordering("number", (("number", False), ("id", False)))
OUTCOMES = tuple(ImportRow.Outcome.values)


def job_for(user, pk) -> ImportJob:
    """The user's own import (any import for an administrator); 404 otherwise, exactly
    as if it did not exist."""
    from rapport.dataio.importing import imports_for

    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    job = imports_for(user).filter(pk=pk).first() if 0 < pk < 2**63 else None
    if job is None:
        raise Http404
    return job


def is_active(job: ImportJob) -> bool:
    return job.status in ACTIVE


def percent(job: ImportJob) -> int | None:
    """How far the run is, 0–100; None while the number of rows is not known yet."""
    if job.status in (ImportJob.Status.DONE, ImportJob.Status.UNDONE):
        return 100
    if not job.total_rows:
        return 0 if job.status == ImportJob.Status.DRAFT else None
    return min(100, job.processed_rows * 100 // job.total_rows)


def undo_deadline(job: ImportJob) -> datetime.datetime | None:
    return job.finished_at + UNDO_WINDOW if job.finished_at else None


def may_undo(job: ImportJob) -> bool:
    """The Undo button's condition; the service judges again when it is pressed."""
    deadline = undo_deadline(job)
    return (
        job.status == ImportJob.Status.DONE and deadline is not None and (timezone.now() < deadline)
    )


def record_url(job: ImportJob, object_id: int | None) -> str:
    """The page of a record the import created or updated ("" when there is none)."""
    from django.urls import NoReverseMatch, reverse

    entity = registry.get(job.entity)
    if object_id is None or entity is None:
        return ""
    try:
        return reverse(f"{entity.url_base}:detail", args=[object_id])
    except NoReverseMatch:
        return ""


@dataclass
class ReportPage:
    rows: list[ImportRow]
    next_cursor: str | None
    has_previous: bool


def report_page(job: ImportJob, *, outcome: str = "", cursor: str | None = None, limit=50):
    """One page of the per-row report in file order, optionally one outcome only.

    Raises keyset.CursorError for a cursor made for another query and ValueError for an
    unknown outcome (the callers name the parameter)."""
    if outcome and outcome not in OUTCOMES:
        raise ValueError(outcome)
    rows = ImportRow.objects.filter(job=job)
    if outcome:
        rows = rows.filter(outcome=outcome)
    page = keyset.paginate(
        rows,
        ordering=REPORT_ORDER,
        filters={"job": job.pk, "outcome": outcome},
        cursor=cursor or None,
        limit=limit,
    )
    return ReportPage(page.items, page.next_cursor, page.has_previous)


def report_filename(job: ImportJob) -> str:
    stem = job.filename.rsplit(".", 1)[0] if job.filename else "import"
    return get_valid_filename(f"{stem}-report-{job.pk}.csv") or f"import-report-{job.pk}.csv"


def report_csv_response(job: ImportJob) -> FileResponse:
    """The whole report as a CSV download, spooled through a temporary file so memory
    stays flat however many rows the file had."""
    from rapport.dataio.importing import write_report_csv

    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
    write_report_csv(job, text)
    text.flush()
    raw = text.detach()
    raw.seek(0)
    response = FileResponse(
        raw, as_attachment=True, filename=report_filename(job), content_type="text/csv"
    )
    response["Content-Type"] = "text/csv; charset=utf-8"
    return response

"""Shapes of `/api/v1/imports`: the job, its configuration, the preview and the report
rows, and how a job and a row are rendered."""

from __future__ import annotations

import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rapport.core.api.schemas import WriteSchema
from rapport.dataio import import_selectors as sel
from rapport.dataio.models import ImportJob, ImportRow

# --- schemas -------------------------------------------------------------------------------


class MappingEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    column: int = Field(description="Index of the column in the file, from 0.")
    header: str = ""
    target: str = Field(description='Field the column fills ("" = not imported).')


class Counts(BaseModel):
    created: int
    updated: int
    skipped: int
    rejected: int


class ImportOut(BaseModel):
    id: int
    entity: str
    filename: str
    size: int
    format: str
    encoding: str
    delimiter: str
    sheet: str
    source: str = Field(description="Recognised origin: google, outlook, linkedin, vcard …")
    headers: list[str]
    mapping: list[MappingEntry]
    strategy: Literal["skip", "update", "create"]
    match_on: list[str]
    status: Literal["draft", "queued", "running", "done", "failed", "undone"]
    total_rows: int | None
    processed_rows: int
    progress: int | None = Field(description="Percent done; null while the row count is unknown.")
    counts: Counts
    error: str
    undo_report: dict[str, Any]
    undo_until: datetime.datetime | None
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    undone_at: datetime.datetime | None


class MappingIn(WriteSchema):
    column: int = Field(ge=0)
    header: str = ""
    target: str = Field(max_length=120)


class ImportConfigure(WriteSchema):
    """Every key is optional: what is sent changes, the rest stays (drafts only)."""

    mapping: list[MappingIn] | None = None
    encoding: str | None = Field(None, max_length=40)
    delimiter: str | None = Field(None, max_length=4)
    sheet: str | None = Field(None, max_length=100)
    strategy: Literal["skip", "update", "create"] | None = None
    match_on: list[str] | None = None


class PreviewRowOut(BaseModel):
    number: int
    cells: list[str]
    errors: dict[str, str] = Field(description="Column index → what is wrong with that cell.")


class PreviewOut(BaseModel):
    headers: list[str]
    rows: list[PreviewRowOut]


class ReportRowOut(BaseModel):
    number: int
    outcome: Literal["created", "updated", "skipped", "rejected"]
    reason: str
    object_id: int | None
    values: list[str]


# --- rendering -----------------------------------------------------------------------------


def job_json(job: ImportJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "entity": job.entity,
        "filename": job.filename,
        "size": job.size,
        "format": job.format,
        "encoding": job.encoding,
        "delimiter": job.delimiter,
        "sheet": job.sheet,
        "source": job.source,
        "headers": list(job.headers or []),
        "mapping": list(job.mapping or []),
        "strategy": job.strategy,
        "match_on": list(job.match_on or []),
        "status": job.status,
        "total_rows": job.total_rows,
        "processed_rows": job.processed_rows,
        "progress": sel.percent(job),
        "counts": {
            "created": job.created_count,
            "updated": job.updated_count,
            "skipped": job.skipped_count,
            "rejected": job.rejected_count,
        },
        "error": job.error,
        "undo_report": job.undo_report or {},
        "undo_until": sel.undo_deadline(job) if job.status == ImportJob.Status.DONE else None,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "undone_at": job.undone_at,
    }


def row_json(row: ImportRow) -> dict[str, Any]:
    return {
        "number": row.number,
        "outcome": row.outcome,
        "reason": row.reason,
        "object_id": row.object_id,
        "values": [str(v) for v in (row.values or [])],
    }

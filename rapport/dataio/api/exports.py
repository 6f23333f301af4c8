"""`/api/v1/exports`: start an export of any list, follow it, download its file.

`POST /exports` takes the list's query as JSON ({entity, format, filters, ordering,
columns}); a small export is written at once (201, status "done", with its file URL),
a large one is queued (202). A job is visible only to the user who started it.
"""

from __future__ import annotations

import datetime
from typing import Literal

from django.http import FileResponse, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router
from pydantic import BaseModel, Field

from rapport.core.api.body import read_body
from rapport.core.api.crud import json_response
from rapport.core.api.idempotency import idempotent
from rapport.core.api.problems import PROBLEM_CONTENT_TYPE, Problem, problem_response
from rapport.core.api.schemas import MAX_ID, WriteSchema
from rapport.core.exceptions import PermissionDenied
from rapport.dataio import exporting
from rapport.dataio.models import ExportJob

BASE = "/api/v1/exports"


class ExportIn(WriteSchema):
    entity: str = Field(max_length=50, description="Registry key of the records: person, company …")
    format: Literal["csv", "xlsx", "vcard", "json"]
    filters: dict[str, list[str | int] | str | int] = Field(
        default_factory=dict,
        description="The list's filters, as its query parameters: {key: [values]} (OR within "
        "a key, AND across keys).",
    )
    ordering: str | None = Field(None, max_length=200, description="As the list's `ordering`.")
    columns: list[str] | None = Field(
        None, max_length=50, description="Column keys for CSV/XLSX; the list's default if empty."
    )


class ExportJobOut(BaseModel):
    id: int
    entity: str
    format: str
    status: Literal["queued", "running", "done", "failed"]
    row_count: int
    filename: str
    error: str
    created_at: datetime.datetime
    finished_at: datetime.datetime | None
    url: str
    file_url: str | None = Field(description="Download address once the status is done.")


def _out(job: ExportJob) -> dict:
    ready = job.status == ExportJob.Status.DONE and bool(job.file)
    return {
        "id": job.pk,
        "entity": job.entity,
        "format": job.format,
        "status": job.status,
        "row_count": job.row_count,
        "filename": job.filename,
        "error": job.error,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "url": f"{BASE}/{job.pk}",
        "file_url": f"{BASE}/{job.pk}/file" if ready else None,
    }


def _not_found() -> Problem:
    return Problem(404, _("There is no such export, or it is not yours."))


def _own_job(request, job_id: int) -> ExportJob:
    job = exporting.export_job_for(request.auth, job_id) if job_id <= MAX_ID else None
    if job is None:
        raise _not_found()
    return job


def _start(request) -> HttpResponse:
    data = read_body(request, ExportIn)
    try:
        job = exporting.export_start(
            actor=request.auth,
            entity_key=data["entity"],
            fmt=data["format"],
            filters=data.get("filters") or {},
            ordering=data.get("ordering"),
            columns=data.get("columns"),
        )
    except exporting.ExportQueryError as exc:
        entity_unknown = any(e["field"] == "entity" for e in exc.errors)
        if entity_unknown or any(e["field"] == "format" for e in exc.errors):
            raise Problem(422, _("Some fields are not valid."), errors=exc.errors) from exc
        raise Problem(400, _("The query is not valid."), errors=exc.errors) from exc
    status = 201 if job.status == ExportJob.Status.DONE else 202
    return json_response(_out(job), status, location=f"{BASE}/{job.pk}")


def router() -> Router:
    api_router = Router(tags=["Exports"])

    @api_router.post(
        "",
        response={201: ExportJobOut, 202: ExportJobOut},
        operation_id="export_create",
        summary="Export a list (small: written now; large: queued)",
        openapi_extra={"x-rapport": {"body": ExportIn, "idempotent": True, "location": True}},
    )
    def export_create(request):
        return idempotent(request, lambda: _start(request), _problem_of)

    @api_router.get(
        "/{int:id}",
        response={200: ExportJobOut},
        operation_id="export_get",
        summary="An export job's status",
    )
    def export_get(request, id: int):  # noqa: A002 - the path parameter is "id"
        return json_response(_out(_own_job(request, id)))

    @api_router.get(
        "/{int:id}/file",
        response={200: None},
        operation_id="export_file",
        summary="Download a finished export",
        openapi_extra={
            "responses": {
                "200": {
                    "description": "The export file.",
                    "content": {
                        "text/csv": {"schema": {"type": "string"}},
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                            "schema": {"type": "string", "format": "binary"}
                        },
                        "text/vcard": {"schema": {"type": "string"}},
                        "application/json": {"schema": {"type": "array", "items": {}}},
                    },
                },
                "409": {
                    "description": "The export is not ready yet (or failed).",
                    "content": {
                        PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
                    },
                },
            }
        },
    )
    def export_file(request, id: int):  # noqa: A002
        job = _own_job(request, id)
        if job.status != ExportJob.Status.DONE or not job.file:
            raise Problem(
                409,
                _("The export is not ready (status: %(status)s).") % {"status": job.status},
            )
        return FileResponse(
            job.file.open("rb"),
            as_attachment=True,
            filename=job.filename,
            content_type=exporting.content_type_for(job),
        )

    return api_router


def _problem_of(exc: Exception) -> HttpResponse:
    """The answer to a refused POST, stored so that a retry with the same key replays it."""
    if isinstance(exc, Problem):
        return exc.response()
    if isinstance(exc, PermissionDenied):
        return problem_response(403, _("You may not export these records."))
    raise exc

"""`/api/v1/imports`: the import wizard for scripts — upload, mapping, preview, start,
status, per-row report (JSON and CSV) and undo.

Endpoints parse, call the import services and render, like the entity CRUD routers:
a job belongs to its uploader (administrators see all) and answers 404 to anyone else;
uploading needs the add permission on the record type (403).
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Router

from rapport.core import keyset
from rapport.core import services as core_services
from rapport.core.api.body import read_body
from rapport.core.api.crud import json_response
from rapport.core.api.idempotency import idempotent
from rapport.core.api.lists import parse_limit
from rapport.core.api.problems import Problem, field_error
from rapport.core.api.schemas import page_schema
from rapport.core.registry import registry
from rapport.dataio import forms_imports
from rapport.dataio import import_selectors as sel
from rapport.dataio.api.import_schemas import (
    ImportConfigure,
    ImportOut,
    PreviewOut,
    ReportRowOut,
    job_json,
    row_json,
)

LIST_ORDER = keyset.Ordering("-created_at", (("created_at", True), ("id", True)))
PREVIEW_MAX = 200


def _bad(field: str, message: str, code: str = "invalid") -> Problem:
    return Problem(400, _("The query is not valid."), errors=[field_error(field, message, code)])


def _only(params, allowed: tuple[str, ...]) -> None:
    for key in params:
        if key not in allowed:
            raise _bad(key, _("Unknown query parameter."), "unknown")


def _on_error(request):
    def handle(exc):
        from rapport.api_urls import api

        return api.on_exception(request, exc)

    return handle


def _engine():
    from rapport.dataio import importing

    return importing


def _upload(request) -> HttpResponse:
    """Parse the multipart body (415 otherwise), check the add permission, upload."""
    if not (request.content_type or "").lower().startswith("multipart/form-data"):
        raise Problem(415, _("Send the file as multipart/form-data with “entity” and “file”."))
    entity_key = (request.POST.get("entity") or "").strip()
    entity = registry.get(entity_key)
    if entity is None or not forms_imports.importable(entity_key):
        message = (
            _("Name the record type to import, such as “person”.")
            if not entity_key
            else _("Records of this type cannot be imported.")
        )
        code = "required" if not entity_key else "invalid"
        raise Problem(
            422, _("Some fields are not valid."), errors=[field_error("entity", message, code)]
        )
    core_services.require_add(request.auth, entity.key)
    upload = request.FILES.get("file")
    if upload is None:
        raise Problem(
            422,
            _("Some fields are not valid."),
            errors=[field_error("file", _("Attach the file to import."), "required")],
        )
    job = _engine().import_upload(actor=request.auth, entity=entity.key, upload=upload)
    return json_response(job_json(job), 201, location=f"{request.path.rstrip('/')}/{job.pk}")


# --- the router ----------------------------------------------------------------------------


def router() -> Router:
    router = Router(tags=["Imports"])

    @router.post(
        "",
        response={201: ImportOut},
        operation_id="import_upload",
        summary="Upload a file to import (CSV, XLSX or vCard)",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["entity", "file"],
                            "properties": {
                                "entity": {"type": "string", "examples": ["person", "company"]},
                                "file": {"type": "string", "format": "binary"},
                            },
                        }
                    }
                },
            },
            "x-rapport": {"idempotent": True, "location": True},
        },
    )
    def import_upload(request):
        return idempotent(request, lambda: _upload(request), _on_error(request))

    @router.get(
        "",
        response={200: page_schema(ImportOut)},
        operation_id="import_list",
        summary="Your imports, newest first",
        openapi_extra={
            "parameters": [
                {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}},
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
                },
            ]
        },
    )
    def import_list(request):
        _only(request.GET, ("cursor", "limit"))
        limit = parse_limit(request.GET.get("limit"))
        try:
            page = keyset.paginate(
                _engine().imports_for(request.auth),
                ordering=LIST_ORDER,
                filters={},
                cursor=request.GET.get("cursor") or None,
                limit=limit,
            )
        except keyset.CursorError as exc:
            raise _bad("cursor", _("The cursor is not valid for this query.")) from exc
        return json_response(
            {"items": [job_json(job) for job in page.items], "next_cursor": page.next_cursor}
        )

    @router.get(
        "/{int:id}",
        response={200: ImportOut},
        operation_id="import_get",
        summary="An import's status, counts and progress",
    )
    def import_get(request, id: int):  # noqa: A002 - the path parameter is "id"
        return json_response(job_json(sel.job_for(request.auth, id)))

    @router.put(
        "/{int:id}/mapping",
        response={200: ImportOut},
        operation_id="import_configure",
        summary="Set the column mapping, reading options and duplicate strategy",
        openapi_extra={"x-rapport": {"body": ImportConfigure}},
    )
    def import_configure(request, id: int):  # noqa: A002
        job = sel.job_for(request.auth, id)
        data = read_body(request, ImportConfigure)
        job = _engine().import_configure(actor=request.auth, job=job, **data)
        return json_response(job_json(job))

    @router.get(
        "/{int:id}/preview",
        response={200: PreviewOut},
        operation_id="import_preview",
        summary="The first rows as they will be imported, with every invalid cell",
        openapi_extra={
            "parameters": [
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": PREVIEW_MAX},
                }
            ]
        },
    )
    def import_preview(request, id: int):  # noqa: A002
        job = sel.job_for(request.auth, id)
        _only(request.GET, ("limit",))
        raw = (request.GET.get("limit") or "20").strip()
        if not raw.isdigit() or not 1 <= int(raw) <= PREVIEW_MAX:
            raise _bad("limit", _("Enter a whole number from 1 to %(max)s.") % {"max": PREVIEW_MAX})
        preview = _engine().import_preview(actor=request.auth, job=job, limit=int(raw))
        rows = [
            {
                "number": row.number,
                "cells": list(row.cells),
                "errors": {str(k): str(v) for k, v in (row.errors or {}).items()},
            }
            for row in preview.rows
        ]
        return json_response({"headers": list(preview.headers), "rows": rows})

    @router.post(
        "/{int:id}/start",
        response={202: ImportOut},
        operation_id="import_start",
        summary="Run the import in the background",
        openapi_extra={"x-rapport": {"idempotent": True}},
    )
    def import_start(request, id: int):  # noqa: A002
        def run():
            job = _engine().import_start(actor=request.auth, job=sel.job_for(request.auth, id))
            return json_response(job_json(job), 202, location=request.path.rsplit("/", 1)[0])

        return idempotent(request, run, _on_error(request))

    @router.get(
        "/{int:id}/report",
        response={200: page_schema(ReportRowOut)},
        operation_id="import_report",
        summary="What happened to every row, in file order",
        openapi_extra={
            "parameters": [
                {
                    "name": "outcome",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": list(sel.OUTCOMES)},
                },
                {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}},
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
                },
            ]
        },
    )
    def import_report(request, id: int):  # noqa: A002
        job = sel.job_for(request.auth, id)
        _only(request.GET, ("outcome", "cursor", "limit"))
        limit = parse_limit(request.GET.get("limit"))
        outcome = request.GET.get("outcome", "")
        try:
            page = sel.report_page(
                job, outcome=outcome, cursor=request.GET.get("cursor"), limit=limit
            )
        except ValueError as exc:
            if isinstance(exc, keyset.CursorError):
                raise _bad("cursor", _("The cursor is not valid for this query.")) from exc
            choices = ", ".join(sel.OUTCOMES)
            raise _bad("outcome", _("Enter one of: %(expected)s.") % {"expected": choices}) from exc
        return json_response(
            {"items": [row_json(row) for row in page.rows], "next_cursor": page.next_cursor}
        )

    @router.get(
        "/{int:id}/report.csv",
        response={200: None},
        operation_id="import_report_csv",
        summary="The whole report as CSV (the original values under the file's headers)",
        openapi_extra={
            "responses": {
                "200": {
                    "description": "CSV",
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                }
            }
        },
    )
    def import_report_csv(request, id: int):  # noqa: A002
        return sel.report_csv_response(sel.job_for(request.auth, id))

    @router.post(
        "/{int:id}/undo",
        response={200: ImportOut},
        operation_id="import_undo",
        summary="Undo an import (within 30 days)",
        openapi_extra={"x-rapport": {"idempotent": True}},
    )
    def import_undo(request, id: int):  # noqa: A002
        def run():
            job = _engine().import_undo(actor=request.auth, job=sel.job_for(request.auth, id))
            return json_response(job_json(job))

        return idempotent(request, run, _on_error(request))

    return router

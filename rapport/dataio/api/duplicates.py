"""`/api/v1/duplicates`: clusters, scans, dismissals and the on-entry check.

Endpoints parse, call the duplicates services and selectors, and render; scoping,
permissions and validation live there. Members a caller may not view are left out of
clusters (a cluster with fewer than two visible members is not listed).
"""

from __future__ import annotations

import datetime
from typing import Any, Literal

from django.utils.translation import gettext as _
from ninja import Router
from pydantic import BaseModel, Field

from rapport.core import keyset, permissions
from rapport.core.api.body import read_body
from rapport.core.api.crud import json_response
from rapport.core.api.idempotency import idempotent
from rapport.core.api.lists import parse_limit
from rapport.core.api.problems import Problem, field_error
from rapport.core.api.schemas import Id, WriteSchema, page_schema
from rapport.core.registry import registry
from rapport.dataio.dedup import candidates, scoring, selectors, services
from rapport.dataio.models import DuplicateScan

EntityKey = Literal["person", "company"]


class ReasonOut(BaseModel):
    code: str = Field(description="email, phone, domain, company, name or address")
    score: int | None = Field(None, description="For `name`: the similarity in percent.")
    text: str = Field(description="The reason in the caller's language.")


class MemberOut(BaseModel):
    id: int
    label: str


class PairOut(BaseModel):
    left_id: int
    right_id: int
    score: float
    reasons: list[ReasonOut]


class ClusterOut(BaseModel):
    id: int
    entity: str
    score: float
    members: list[MemberOut]
    reasons: list[ReasonOut]
    pairs: list[PairOut]


class ScanOut(BaseModel):
    id: int
    entity: str
    status: str
    records: int
    comparisons: int
    pairs: int
    clusters: int
    error: str
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None


class ScanIn(WriteSchema):
    entity: EntityKey


class DismissIn(WriteSchema):
    entity: EntityKey
    left_id: Id
    right_id: Id


class DismissalOut(BaseModel):
    entity: str
    left_id: int
    right_id: int
    created_at: datetime.datetime


class CheckIn(WriteSchema):
    entity: EntityKey
    data: dict[str, Any] = Field(
        description="The record about to be created, in the shape of its create body "
        "(first_name, last_name, emails, phones, company — or name, domains, phones)."
    )
    exclude_id: Id | None = Field(None, description="The record being edited, if any.")


class MatchOut(BaseModel):
    id: int
    label: str
    score: float
    reasons: list[ReasonOut]
    merge_url: str | None


class CheckOut(BaseModel):
    items: list[MatchOut]


def _reasons(reasons) -> list[dict]:
    return [
        {"code": r.get("code"), "score": r.get("score"), "text": scoring.reason_text(r)}
        for r in reasons
    ]


def _scan(scan: DuplicateScan) -> dict[str, Any]:
    return {
        "id": scan.pk,
        "entity": scan.entity,
        "status": scan.status,
        "records": scan.records,
        "comparisons": scan.comparisons,
        "pairs": scan.pairs,
        "clusters": scan.clusters,
        "error": scan.error,
        "created_at": scan.created_at,
        "started_at": scan.started_at,
        "finished_at": scan.finished_at,
    }


def _entity_param(params, allowed: set[str]) -> str:
    for key in params:
        if key not in allowed:
            raise Problem(
                400,
                _("The query is not valid."),
                errors=[field_error(key, _("Unknown query parameter."), "unknown")],
            )
    entity = params.get("entity", "person")
    if entity not in services.ENTITIES:
        message = _("Choose “person” or “company”.")
        raise Problem(400, message, errors=[field_error("entity", message)])
    return entity


ENTITY_PARAM = {
    "name": "entity",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": ["person", "company"], "default": "person"},
}
PAGE_PARAMS = [
    ENTITY_PARAM,
    {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}},
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
    },
]


def _once(request, run):
    """The Idempotency-Key the document declares for these POSTs: a retry replays."""
    from rapport.api_urls import api  # routers keep no link to the NinjaAPI mounting them

    return idempotent(request, run, lambda exc: api.on_exception(request, exc))


def router() -> Router:
    router = Router(tags=["Duplicates"])

    @router.get(
        "",
        response={200: page_schema(ClusterOut)},
        operation_id="duplicate_list",
        summary="Duplicate clusters of the latest scan, best first",
        openapi_extra={"parameters": PAGE_PARAMS},
    )
    def duplicate_list(request):
        entity = _entity_param(request.GET, {"entity", "cursor", "limit"})
        limit = parse_limit(request.GET.get("limit"))
        try:
            clusters, next_cursor = selectors.clusters_for(
                request.auth, entity, cursor=request.GET.get("cursor") or None, limit=limit
            )
        except keyset.CursorError as exc:
            message = _("The cursor is not valid for this query; start again without it.")
            raise Problem(400, message, errors=[field_error("cursor", message, "invalid")]) from exc
        items = [
            {
                "id": view.cluster.pk,
                "entity": entity,
                "score": round(view.cluster.score, 4),
                "members": [{"id": obj.pk, "label": str(obj)} for obj in view.members],
                "reasons": _reasons(scoring.merge_reasons(p.reasons for p in view.pairs)),
                "pairs": [
                    {
                        "left_id": p.left.pk,
                        "right_id": p.right.pk,
                        "score": round(p.score, 4),
                        "reasons": _reasons(p.reasons),
                    }
                    for p in view.pairs
                ],
            }
            for view in clusters
        ]
        return json_response({"items": items, "next_cursor": next_cursor})

    @router.post(
        "/scan",
        response={202: ScanOut},
        operation_id="duplicate_scan",
        summary="Start a duplicate scan (or get the one already running)",
        openapi_extra={"x-rapport": {"body": ScanIn, "idempotent": True}},
    )
    def duplicate_scan(request):
        def run():
            data = read_body(request, ScanIn)
            scan = services.duplicate_scan_start(actor=request.auth, entity=data["entity"])
            return json_response(_scan(scan), 202)

        return _once(request, run)

    @router.get(
        "/scans/latest",
        response={200: ScanOut},
        operation_id="duplicate_scan_latest",
        summary="The latest duplicate scan of an entity",
        openapi_extra={"parameters": [ENTITY_PARAM]},
    )
    def duplicate_scan_latest(request):
        entity = _entity_param(request.GET, {"entity"})
        if not permissions.can(request.auth, entity, "view"):
            raise Problem(404, _("There is nothing here."))
        scan = selectors.latest_scan(entity)
        if scan is None:
            raise Problem(404, _("No scan has run yet."))
        return json_response(_scan(scan))

    @router.post(
        "/dismiss",
        response={200: DismissalOut},
        operation_id="duplicate_dismiss",
        summary="Mark two records as not duplicates",
        openapi_extra={"x-rapport": {"body": DismissIn, "idempotent": True}},
    )
    def duplicate_dismiss(request):
        def run():
            data = read_body(request, DismissIn)
            dismissal = services.duplicate_dismiss(actor=request.auth, **data)
            return json_response(
                {
                    "entity": dismissal.entity,
                    "left_id": dismissal.left_id,
                    "right_id": dismissal.right_id,
                    "created_at": dismissal.created_at,
                }
            )

        return _once(request, run)

    @router.post(
        "/check",
        response={200: CheckOut},
        operation_id="duplicate_check",
        summary="Likely duplicates of a record about to be created or changed",
        openapi_extra={"x-rapport": {"body": CheckIn}},
    )
    def duplicate_check(request):
        data = read_body(request, CheckIn)
        entity = registry.get(data["entity"])
        exclude = data.get("exclude_id")
        instance = None
        if exclude is not None:
            instance = (
                entity.model.objects.restrict(request.auth, "view").filter(pk=exclude).first()
            )
            if instance is None:
                raise Problem(404, _("There is no such record, or you may not see it."))
        matches = candidates.likely_duplicates(
            entity.key, request.auth, data["data"], exclude_pk=exclude, instance=instance
        )
        return json_response(
            {
                "items": [
                    {
                        "id": m.obj.pk,
                        "label": str(m.obj),
                        "score": round(m.score, 4),
                        "reasons": _reasons(m.reasons),
                        "merge_url": m.merge_url,
                    }
                    for m in matches
                ]
            }
        )

    return router

"""`/api/v1/merges`: merge two records, list and read merges, undo one.

Records the user may not view answer 404, records they may not change 403; a self-merge
is a 422 naming `merged_id`; stale versions 412; an undo that is no longer safe 409.
"""

from __future__ import annotations

import datetime
from typing import Any, Literal

from django.utils.translation import gettext as _
from ninja import Router
from pydantic import BaseModel, Field

from rapport.core import keyset
from rapport.core.api.body import read_body
from rapport.core.api.crud import json_response
from rapport.core.api.idempotency import idempotent
from rapport.core.api.lists import parse_limit
from rapport.core.api.problems import Problem, field_error
from rapport.core.api.schemas import MAX_ID, Id, WriteSchema, page_schema
from rapport.core.registry import registry
from rapport.dataio.merge_undo import MergeUndoRefused, merge_undo, merges_visible_to
from rapport.dataio.merging import moved_counts, record_merge
from rapport.dataio.models import Merge

NEWEST_FIRST = keyset.Ordering("-at", (("at", True), ("id", True)))
LIST_PARAMS = ("entity", "survivor_id", "merged_id", "cursor", "limit")


class MergeIn(WriteSchema):
    entity: str = Field(description='Record type, e.g. "person" or "company".')
    survivor_id: Id
    merged_id: Id
    choices: dict[str, Literal["survivor", "merged"]] = Field(
        default_factory=dict,
        description='Per field (or "custom_fields.<key>"): whose value survives. '
        "Unnamed fields keep the survivor's value unless it is blank.",
    )
    survivor_version: int | None = Field(None, description="Version you read; stale → 412.")
    merged_version: int | None = Field(None, description="Version you read; stale → 412.")


class MergeOut(BaseModel):
    id: int
    entity: str
    survivor_id: int
    merged_id: int
    actor: int | None
    choices: dict[str, str]
    moved: dict[str, int] = Field(description="Rows moved (or united) per relation.")
    at: datetime.datetime
    undone_at: datetime.datetime | None
    undone_by: int | None


def serialize(merge: Merge) -> dict[str, Any]:
    return {
        "id": merge.pk,
        "entity": merge.entity,
        "survivor_id": merge.survivor_id,
        "merged_id": merge.merged_id,
        "actor": merge.actor_id,
        "choices": merge.choices,
        "moved": moved_counts(merge.moved),
        "at": merge.at,
        "undone_at": merge.undone_at,
        "undone_by": merge.undone_by_id,
    }


def _not_found() -> Problem:
    return Problem(404, _("There is no such record, or you may not see it."))


def _bad(field: str, message: str, code: str = "invalid") -> Problem:
    return Problem(400, _("The query is not valid."), errors=[field_error(field, message, code)])


def router() -> Router:
    api_router = Router(tags=["Merges"])

    def once(request, run):
        from rapport.api_urls import api  # routers keep no link to the NinjaAPI mounting them

        return idempotent(request, run, lambda exc: api.on_exception(request, exc))

    @api_router.post(
        "",
        response={201: MergeOut},
        operation_id="merge_create",
        summary="Merge one record into another",
        openapi_extra={"x-rapport": {"body": MergeIn, "idempotent": True, "location": True}},
    )
    def create_merge(request):
        def run():
            data = read_body(request, MergeIn)
            entity = registry.get(data["entity"])
            if entity is None:
                raise Problem(
                    422,
                    _("Some fields are not valid."),
                    errors=[field_error("entity", _("There is no such record type."), "unknown")],
                )
            if data["survivor_id"] == data["merged_id"]:
                message = _("A record cannot be merged with itself.")
                raise Problem(422, message, errors=[field_error("merged_id", message, "self")])
            visible = entity.model.objects.restrict(request.auth, "view")
            survivor = visible.filter(pk=data["survivor_id"]).first()
            merged = visible.filter(pk=data["merged_id"]).first()
            if survivor is None or merged is None:
                raise _not_found()
            merge = record_merge(
                actor=request.auth,
                entity=entity.key,
                survivor=survivor,
                merged=merged,
                choices=data.get("choices") or {},
                survivor_version=data.get("survivor_version"),
                merged_version=data.get("merged_version"),
            )
            location = f"{request.path.rstrip('/')}/{merge.pk}"
            return json_response(serialize(merge), 201, location=location)

        return once(request, run)

    @api_router.get(
        "",
        response={200: page_schema(MergeOut)},
        operation_id="merge_list",
        summary="Merges of records you may view, newest first",
    )
    def list_merges(
        request,
        entity: str | None = None,
        survivor_id: int | None = None,
        merged_id: int | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ):
        params = request.GET
        for key in params:
            if key not in LIST_PARAMS:
                raise _bad(key, _("Unknown query parameter."), "unknown")
        merges = merges_visible_to(request.auth)
        filters: dict[str, Any] = {}
        if entity:
            if registry.get(entity) is None:
                raise _bad("entity", _("There is no such record type."))
            filters["entity"] = entity
        for name, value in (("survivor_id", survivor_id), ("merged_id", merged_id)):
            if value is not None:
                if not 1 <= value <= MAX_ID:
                    raise _bad(name, _("Enter the record's id."))
                filters[name] = value
        try:
            page = keyset.paginate(
                merges.filter(**filters),
                ordering=NEWEST_FIRST,
                filters=filters,
                cursor=cursor or None,
                limit=parse_limit(params.get("limit")),
            )
        except keyset.CursorError as exc:
            raise _bad("cursor", _("The cursor is not valid for this query.")) from exc
        return json_response(
            {"items": [serialize(m) for m in page.items], "next_cursor": page.next_cursor}
        )

    def visible_merge(request, merge_id: int) -> Merge:
        merge = None
        if merge_id <= MAX_ID:
            merge = merges_visible_to(request.auth).filter(pk=merge_id).first()
        if merge is None:
            raise _not_found()
        return merge

    @api_router.get(
        "/{int:merge_id}",
        response={200: MergeOut},
        operation_id="merge_get",
        summary="One merge",
    )
    def get_merge(request, merge_id: int):
        return json_response(serialize(visible_merge(request, merge_id)))

    @api_router.post(
        "/{int:merge_id}/undo",
        response={200: MergeOut},
        operation_id="merge_undo",
        summary="Undo a merge: the merged record and every moved row come back",
        openapi_extra={"x-rapport": {"idempotent": True}},
    )
    def undo_merge(request, merge_id: int):
        def run():
            merge = visible_merge(request, merge_id)
            try:
                merge_undo(actor=request.auth, merge=merge)
            except MergeUndoRefused as exc:
                raise Problem(409, exc.reason, kind="merge-undo-refused") from exc
            merge.refresh_from_db()
            return json_response(serialize(merge))

        return once(request, run)

    return api_router

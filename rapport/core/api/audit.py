"""`GET /audit?object_type=person&object_id=ID`: one record's history, newest first.

Only for records the user may view (trashed ones included, so a restore can be judged);
personal-data values are left out for readers without that permission.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from ninja import Router

from rapport.core import keyset
from rapport.core.api.crud import json_response
from rapport.core.api.lists import parse_limit
from rapport.core.api.problems import Problem, field_error
from rapport.core.api.schemas import MAX_ID, AuditEventOut, page_schema
from rapport.core.audit import visible_changes
from rapport.core.models import AuditEvent
from rapport.core.registry import registry

PARAMS = ("object_type", "object_id", "cursor", "limit")
NEWEST_FIRST = keyset.Ordering("-at", (("at", True), ("id", True)))


def _bad(field: str, message: str, code: str = "invalid") -> Problem:
    return Problem(400, _("The query is not valid."), errors=[field_error(field, message, code)])


def audit_router() -> Router:
    router = Router(tags=["Audit"])

    @router.get(
        "",
        response={200: page_schema(AuditEventOut)},
        operation_id="audit_list",
        summary="History of one record",
        openapi_extra={"x-rapport": {"audit": True}},
    )
    def audit_list(request):
        params = request.GET
        user = request.auth
        for key in params:
            if key not in PARAMS:
                raise _bad(key, _("Unknown query parameter."), "unknown")
        entity = registry.get(params.get("object_type", ""))
        if entity is None:
            raise _bad("object_type", _("Name a record type, such as “person”."))
        raw_id = params.get("object_id", "").strip()
        if not raw_id.isdigit() or not 1 <= int(raw_id) <= MAX_ID:
            raise _bad("object_id", _("Enter the record's id."))
        object_id = int(raw_id)
        limit = parse_limit(params.get("limit"))
        if not entity.model.all_objects.restrict(user, "view").filter(pk=object_id).exists():
            raise Problem(404, _("There is no such record, or you may not see it."))
        events = AuditEvent.objects.filter(object_type=entity.key, object_id=object_id)
        try:
            page = keyset.paginate(
                events,
                ordering=NEWEST_FIRST,
                filters={"object_type": entity.key, "object_id": object_id},
                cursor=params.get("cursor") or None,
                limit=limit,
            )
        except keyset.CursorError as exc:
            raise _bad("cursor", _("The cursor is not valid for this query.")) from exc
        items = [
            {
                "id": event.pk,
                "at": event.at,
                "action": event.action,
                "actor": event.actor_id,
                "actor_label": event.actor_label,
                "changes": visible_changes(event, user),
                "via": event.via,
                "request_id": event.request_id,
            }
            for event in page.items
        ]
        return json_response({"items": items, "next_cursor": page.next_cursor})

    return router


def audit_parameters() -> list[dict]:
    return [
        {
            "name": "object_type",
            "in": "query",
            "required": True,
            "schema": {"type": "string", "enum": sorted(e.key for e in registry)},
        },
        {
            "name": "object_id",
            "in": "query",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        },
        {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}},
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
        },
    ]

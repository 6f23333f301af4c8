"""CRUD for every entity of the kit, from one declaration.

An app's `api.py` calls `expose(SomeEntity, output=..., create=...)`; `entity_router`
turns that into list, create, detail, patch, delete (to trash) and restore endpoints.
Endpoints only parse, call the entity's services and render: permissions, validation,
versions and audit rows belong to the services. A service may leave what it just wrote
as `_written_relations` (a prefetch cache of the detail relations) on the instance it
returns; the answer is then rendered from it instead of reading the record back.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Router
from pydantic import BaseModel

from rapport.core import permissions
from rapport.core import services as core_services
from rapport.core.api.body import read_body
from rapport.core.api.idempotency import idempotent
from rapport.core.api.lists import list_page
from rapport.core.api.problems import Problem, field_error
from rapport.core.api.schemas import MAX_ID, page_schema
from rapport.core.models import RowStatements
from rapport.core.querysets import LiveManager
from rapport.core.registry import Entity, registry

# Fields no client writes, whatever the entity.
BASE_READ_ONLY = frozenset(
    {
        "id",
        "version",
        "created_at",
        "updated_at",
        "deleted_at",
        "created_by",
        "updated_by",
        "deleted_by",
        "sort_key",
    }
)


@dataclass(frozen=True)
class ApiSpec:
    """What the API needs beyond the entity declaration: its schemas and which body
    fields are ids of other entities (resolved to objects the user may view)."""

    entity: type[Entity]
    output: type[BaseModel]
    create: type[BaseModel]
    update: type[BaseModel]
    references: Mapping[str, str] = field(default_factory=dict)

    @property
    def read_only(self) -> frozenset[str]:
        shown = set(self.output.model_fields) | BASE_READ_ONLY
        return frozenset(shown - set(self.update.model_fields) - set(self.create.model_fields))


specs: dict[str, ApiSpec] = {}


def expose(
    entity: type[Entity],
    *,
    output: type[BaseModel],
    create: type[BaseModel],
    update: type[BaseModel] | None = None,
    references: Mapping[str, str] | None = None,
) -> ApiSpec:
    """Declare an entity's API shapes; `update` (PATCH) defaults to `create`."""
    spec = ApiSpec(entity, output, create, update or create, dict(references or {}))
    specs[entity.key] = spec
    return spec


# --- helpers the endpoints share ---------------------------------------------------------


def json_response(
    data: Any, status: int = 200, *, version: int | None = None, location: str | None = None
) -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False),
        status=status,
        content_type="application/json",
    )
    if version is not None:
        response["ETag"] = f'"{version}"'
    if location:
        response["Location"] = location
    return response


def expected_version(request, obj) -> int | None:
    """The version an `If-Match` header asks for (None when absent or `*`); a header
    that names no current strong ETag is stale (412)."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    versions = []
    for tag in header.split(","):
        tag = tag.strip()
        if len(tag) >= 3 and tag[0] == tag[-1] == '"' and tag[1:-1].isdigit():
            versions.append(int(tag[1:-1]))
    if obj.version in versions:
        return obj.version
    raise Problem(
        412,
        _("The record changed since you read it (now version %(current)s).")
        % {"current": obj.version},
        extra={"current_version": obj.version},
    )


def resolve_references(spec: ApiSpec, data: dict[str, Any], user) -> dict[str, Any]:
    """Turn owner/team/entity ids into objects; an id that does not exist (or that the
    user may not see) is a 422 naming the field. Only the references sent are looked up."""
    sent = [
        name for name in {"owner": 0, "team": 0, **spec.references} if data.get(name) is not None
    ]
    if not sent:
        return data
    from rapport.accounts.models import Team, User

    errors = []
    result = dict(data)
    for name in sent:
        target = registry.get(spec.references[name]) if name in spec.references else None
        if target is not None:
            queryset = target.model.objects.restrict(user, "view")
            message = _("There is no such %(thing)s.") % {"thing": target.verbose_name}
        elif name == "owner":
            queryset, message = User.objects.filter(is_active=True), _("There is no such user.")
        elif name == "team":
            queryset, message = Team.objects.all(), _("There is no such team.")
        else:
            continue
        found = queryset.filter(pk=result[name]).first()
        if found is None:
            errors.append(field_error(name, message, "does_not_exist"))
        result[name] = found
    if errors:
        raise Problem(422, _("Some fields are not valid."), errors=errors)
    return result


def _object_kwarg(service) -> str:
    """Update services name their object (`person=`, `company=`); find that keyword."""
    names = [
        name
        for name, param in inspect.signature(service).parameters.items()
        if param.kind is param.KEYWORD_ONLY and name not in {"actor", "data", "expected_version"}
    ]
    return "obj" if "obj" in names else names[0]


def _prefetch_names(queryset) -> frozenset[str]:
    """The relation names a queryset prefetches (its lookups' cache names)."""
    names = set()
    for lookup in queryset._prefetch_related_lookups:
        names.add(getattr(lookup, "prefetch_to", lookup).split("__")[0])
    return frozenset(names)


def _not_found() -> Problem:
    return Problem(404, _("There is no such record, or you may not see it."))


def _merged_problem(survivor_id: int) -> Problem:
    return Problem(
        409,
        _("This record was merged into record %(id)s; write to that one instead.")
        % {"id": survivor_id},
        kind="merged",
        extra={"survivor_id": survivor_id},
    )


# --- the router --------------------------------------------------------------------------


def entity_router(spec: ApiSpec, api) -> Router:
    entity = spec.entity
    model = entity.model
    read_only = spec.read_only
    update_kwarg = _object_kwarg(entity.update_service)
    trash_service = getattr(entity, "delete_service", None) or core_services.trash
    restore_service = getattr(entity, "restore_service", None) or core_services.restore
    label = str(entity.verbose_name)
    router = Router(tags=[str(entity.verbose_name_plural).capitalize()])

    # `objects` is the live manager (the trash is hidden): a row read by id can stand in.
    by_row = isinstance(model.objects, LiveManager)
    detail_prefetches = _prefetch_names(entity.detail_queryset(model.all_objects.none()))

    def render(request, obj, status: int = 200, location: str | None = None) -> HttpResponse:
        written = obj.__dict__.pop("_written_relations", None) or {}
        if detail_prefetches and all(name in written for name in detail_prefetches):
            fresh = obj  # the service left every relation the answer shows in memory
            fresh._prefetched_objects_cache = written
        else:
            fresh = entity.detail_queryset(model.all_objects.filter(pk=obj.pk)).get()
        return json_response(
            entity.serialize(fresh, request.auth), status, version=fresh.version, location=location
        )

    def survivor_of(request, pk: int) -> int | None:
        """The visible survivor of a merged record's id (None: answer 404 as usual)."""
        survivor = core_services.merged_survivor_id(model, pk) if pk <= MAX_ID else None
        visible_ids = model.objects.restrict(request.auth, "view")
        return survivor if survivor and visible_ids.filter(pk=survivor).exists() else None

    def visible(request, pk: int, *, detail: bool = True):
        """The record if visible (404 otherwise). `detail=True` (GET) reads what the
        answer shows as the record page does (`Entity.shown_record`).
        `detail=False` reads only its row, for writes whose service re-reads it under a
        lock anyway: by id, with a statement compiled once, and judged by
        `permissions.allows`, the Python twin of `restrict()` (tests prove they agree)."""
        if pk > MAX_ID:
            raise _not_found()
        if detail:
            obj = entity.shown_record(request.auth, pk)
        elif not by_row:
            obj = model.objects.restrict(request.auth, "view").filter(pk=pk).first()
        else:
            obj = RowStatements.of(model).read(pk, live=True)
            if obj is not None and not permissions.allows(request.auth, entity.key, "view", obj):
                obj = None
        if obj is None:
            survivor = survivor_of(request, pk) if request.method != "GET" else None
            raise _merged_problem(survivor) if survivor else _not_found()
        return obj

    def body(request, schema) -> dict[str, Any]:
        return resolve_references(
            spec, read_body(request, schema, read_only=read_only), request.auth
        )

    def once(request, run) -> HttpResponse:
        return idempotent(request, run, lambda exc: api.on_exception(request, exc))

    meta = {"entity": entity.key}

    @router.get(
        "",
        response={200: page_schema(spec.output)},
        operation_id=f"{entity.key}_list",
        summary=f"List {entity.verbose_name_plural}",
        url_name=f"{entity.url_base}-list",
        openapi_extra={"x-rapport": {**meta, "list": True}},
    )
    def list_records(request):
        user = request.auth
        result = list_page(entity, user, request.GET, model.objects.restrict(user, "view"))
        return json_response(
            {
                "items": entity.api_list_items(result.items, user),
                "next_cursor": result.next_cursor,
            }
        )

    @router.post(
        "",
        response={201: spec.output},
        operation_id=f"{entity.key}_create",
        summary=f"Create a {label}",
        openapi_extra={
            "x-rapport": {
                **meta,
                "body": spec.create,
                "idempotent": True,
                "etag": True,
                "location": True,
            }
        },
    )
    def create_record(request):
        def run():
            core_services.require_add(request.auth, entity.key)  # 403 before judging the body
            obj = entity.create_service(actor=request.auth, data=body(request, spec.create))
            location = f"{request.path.rstrip('/')}/{obj.pk}"
            return render(request, obj, 201, location=location)

        return once(request, run)

    @router.get(
        "/{int:id}",
        response={200: spec.output, 308: None},
        operation_id=f"{entity.key}_get",
        summary=f"Get a {label}",
        url_name=f"{entity.url_base}-detail",
        openapi_extra={"x-rapport": {**meta, "etag": True}},
    )
    def get_record(request, id: int):  # noqa: A002 - the path parameter is "id"
        try:
            obj = visible(request, id)
        except Problem:
            survivor = survivor_of(request, id)
            if survivor is None:
                raise
            response = HttpResponse(status=308)  # a merged record's id: to the survivor
            response["Location"] = f"{request.path.rstrip('/').rsplit('/', 1)[0]}/{survivor}"
            return response
        return json_response(entity.serialize(obj, request.auth), version=obj.version)

    @router.patch(
        "/{int:id}",
        response={200: spec.output},
        operation_id=f"{entity.key}_update",
        summary=f"Change a {label} (JSON merge patch)",
        openapi_extra={
            "x-rapport": {
                **meta,
                "body": spec.update,
                "if_match": True,
                "etag": True,
                "patch": True,
            }
        },
    )
    def update_record(request, id: int):  # noqa: A002
        obj = visible(request, id, detail=False)
        core_services.require(request.auth, "change", obj)
        expected = expected_version(request, obj)
        data = body(request, spec.update)
        obj = entity.update_service(
            actor=request.auth, data=data, expected_version=expected, **{update_kwarg: obj}
        )
        return render(request, obj)

    @router.delete(
        "/{int:id}",
        response={204: None},
        operation_id=f"{entity.key}_delete",
        summary=f"Move a {label} to the trash",
        openapi_extra={"x-rapport": {**meta, "if_match": True}},
    )
    def delete_record(request, id: int):  # noqa: A002
        obj = visible(request, id, detail=False)
        core_services.require(request.auth, "delete", obj)
        trash_service(actor=request.auth, obj=obj, expected_version=expected_version(request, obj))
        return HttpResponse(status=204)

    @router.post(
        "/{int:id}/restore",
        response={200: spec.output},
        operation_id=f"{entity.key}_restore",
        summary=f"Restore a {label} from the trash",
        openapi_extra={"x-rapport": {**meta, "idempotent": True, "etag": True}},
    )
    def restore_record(request, id: int):  # noqa: A002
        def run():
            obj = None
            if id <= MAX_ID:
                obj = model.all_objects.restrict(request.auth, "view").filter(pk=id).first()
            if obj is None or obj.merged_into is not None:
                survivor = survivor_of(request, id)
                raise _merged_problem(survivor) if survivor else _not_found()
            return render(request, restore_service(actor=request.auth, obj=obj))

        return once(request, run)

    return router

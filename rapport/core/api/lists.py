"""API lists: the entity's FilterSet, an allow-listed ordering and keyset pages.

The same FilterSet serves the UI, so a filter means the same thing everywhere; unknown
keys, bad values, unknown orderings and foreign cursors are 400s naming the parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from rapport.core import keyset, permissions
from rapport.core.api.problems import Problem, errors_from_django, field_error
from rapport.core.api.schemas import MAX_ID
from rapport.core.filters import EntityFilterSet, is_id_filter
from rapport.core.models import CustomFieldDefinition

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass
class ListResult:
    items: list
    next_cursor: str | None


def allowed_orderings(entity, user) -> dict[str, list[str]]:
    """The entity's orderings, minus those over personal fields the user may not see."""
    if permissions.has_field_permission(user, permissions.PERSONAL_DATA):
        return dict(entity.orderings)
    hidden = set(entity.personal_fields)
    return {k: v for k, v in entity.orderings.items() if not hidden & set(v)}


def parse_limit(raw: str | None) -> int:
    if raw in (None, ""):
        return DEFAULT_LIMIT
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_LIMIT:
        message = _("Enter a whole number from 1 to %(max)s.") % {"max": MAX_LIMIT}
        raise Problem(400, message, errors=[field_error("limit", message)])
    return int(text)


def _bad_query(errors: list[dict[str, Any]]) -> Problem:
    return Problem(400, _("The query is not valid."), errors=errors)


@cache
def filterset_for(entity) -> type[EntityFilterSet]:
    """The entity's FilterSet, or the shared filters (owner, team, tag, dates) when it
    declares none."""
    if entity.filterset_class is not None:
        return entity.filterset_class
    meta = type("Meta", (), {"model": entity.model, "fields": []})
    name = f"{entity.model.__name__}FilterSet"
    return type(name, (EntityFilterSet,), {"Meta": meta, "entity_key": entity.key})


def list_page(entity, user, params, queryset) -> ListResult:
    """One page of `queryset` (already restricted) filtered and ordered by `params`."""
    filterset = filterset_for(entity)(params, queryset, user=user, given_only=True)
    unknown = filterset.unknown_keys()
    if unknown:
        raise _bad_query(
            [field_error(k, _("Unknown query parameter."), "unknown") for k in unknown]
        )
    limit = parse_limit(params.get("limit"))
    try:
        ordering = keyset.parse_ordering(
            params.get("ordering"), allowed_orderings(entity, user), entity.default_ordering
        )
    except KeyError as exc:
        message = _("Unknown ordering “%(key)s”.") % {"key": exc.args[0]}
        raise _bad_query([field_error("ordering", message, "unknown")]) from exc
    if not filterset.is_valid():
        raise _bad_query(
            [
                field_error(name, message, "invalid")
                for name, messages in filterset.errors.items()
                for message in messages
            ]
        )
    filters = {key: params.getlist(key) for key in params}
    try:
        filtered = filterset.qs
        with filterset.planned():
            page = keyset.paginate(
                entity.api_list_queryset(filtered),
                ordering=ordering,
                filters=filters,
                cursor=params.get("cursor") or None,
                limit=limit,
                fetch=entity.api_list_fetch,
            )
    except ValidationError as exc:
        raise _bad_query(errors_from_django(exc)) from exc
    except keyset.CursorError as exc:
        message = _("The cursor is not valid for this query; start again without it.")
        raise _bad_query([field_error("cursor", message, "invalid")]) from exc
    return ListResult(page.items, page.next_cursor)


# --- OpenAPI ---------------------------------------------------------------------------


def _filter_schema(flt) -> dict[str, Any]:
    if isinstance(flt, django_filters.MultipleChoiceFilter):
        choices = [str(value) for value, _label in flt.extra.get("choices", [])]
        item: dict[str, Any] = {"type": "string"}
        if choices:
            item["enum"] = choices
        return {"type": "array", "items": item}
    if isinstance(flt, django_filters.BaseInFilter):
        return {"type": "array", "items": {"type": "string"}}
    if is_id_filter(flt):
        return {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    if isinstance(flt, django_filters.NumberFilter):
        return {"type": "number"}
    if isinstance(flt, django_filters.BooleanFilter):
        return {"type": "boolean"}
    return {"type": "string"}


def query_parameters(entity) -> list[dict[str, Any]]:
    """Every FilterSet filter (custom-field ones as defined right now) plus ordering, cursor
    and limit, as OpenAPI parameters."""
    params: list[dict[str, Any]] = []
    filterset_class = filterset_for(entity)
    for name, flt in filterset_class.base_filters.items():
        schema = _filter_schema(flt)
        param: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": False,
            "schema": schema,
            "description": str(flt.label or name),
        }
        if schema.get("type") == "array":
            param.update(style="form", explode=True)
        params.append(param)
    key = getattr(filterset_class, "entity_key", "") or entity.key
    for definition in CustomFieldDefinition.objects.filter(entity=key):  # one filter per row
        params.append(
            {
                "name": f"cf_{definition.slug}",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": definition.label,
            }
        )
    orderings = sorted(entity.orderings)
    params += [
        {
            "name": "ordering",
            "in": "query",
            "required": False,
            "schema": {
                "type": "string",
                # Empty means the default ordering (list forms send `ordering=`).
                "pattern": r"^(-?("
                + "|".join(orderings)
                + r")(,-?("
                + "|".join(orderings)
                + r"))*)?$",
                "default": entity.default_ordering,
            },
            "description": "Comma-separated keys, '-' for descending: " + ", ".join(orderings),
        },
        {
            "name": "cursor",
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": "next_cursor of the previous page (same filters and ordering).",
        },
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_LIMIT,
                "default": DEFAULT_LIMIT,
            },
        },
    ]
    return params

"""What an entity list page shows, computed from the request's query parameters.

Parsing the query (filters, ordering, columns, cursor) lives here so the list view
stays a thin parse → select → render. Every read starts from `restrict(user, "view")`;
bad input (unknown filter keys, invalid values, a foreign cursor) becomes a message
on the page instead of an error page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections, router
from django.db.models import Count, Window
from django.http import QueryDict
from django.utils.translation import gettext as _

from rapport.core import keyset, permissions, rawvalues
from rapport.core.models import SavedView
from rapport.core.registry import Column, Entity
from rapport.core.selectors import COUNT_CAP, CappedCount, capped_count

PAGE_SIZE = 50


@dataclass
class ListPage:
    entity: type[Entity]
    rows: list
    next_cursor: str | None
    has_previous: bool
    count: CappedCount
    columns: list[Column]
    all_columns: list[Column]
    ordering: str
    sortable: dict[str, str]
    filterset: Any
    errors: list[str] = field(default_factory=list)
    field_errors: dict[str, list[str]] = field(default_factory=dict)


def columns_for(entity: type[Entity], user) -> list[Column]:
    """Columns this user may pick: personal ones only with the personal_data permission."""
    personal = permissions.has_field_permission(user, permissions.PERSONAL_DATA)
    return [c for c in entity.columns if personal or not c.personal]


def allowed_orderings(entity: type[Entity], user) -> dict[str, list[str]]:
    """Orderings minus those on personal columns the user may not see (sorting leaks)."""
    hidden = {c.order for c in entity.columns if c.personal and c.order}
    if permissions.has_field_permission(user, permissions.PERSONAL_DATA):
        hidden = set()
    return {k: v for k, v in entity.orderings.items() if k not in hidden}


def chosen_columns(entity: type[Entity], user, params: QueryDict) -> list[Column]:
    available = {c.key: c for c in columns_for(entity, user)}
    raw = [part for value in params.getlist("columns") for part in value.split(",") if part]
    keys = [k for k in raw if k in available] or entity.default_columns
    return [available[k] for k in keys if k in available]


def filter_params(params: QueryDict) -> dict[str, list[str]]:
    """The parameters a cursor is bound to (filters and ordering, not the page)."""
    return {k: params.getlist(k) for k in params if k not in {"cursor", "columns"}}


def entity_list(entity: type[Entity], user, params: QueryDict, *, limit: int = PAGE_SIZE):
    """One page of the entity's list as this user may see it, with any input errors."""
    errors: list[str] = []
    field_errors: dict[str, list[str]] = {}
    base = entity.model.objects.restrict(user, "view")
    filterset = entity.filterset_class(params, base, user=user, given_only=True)
    unknown = filterset.unknown_keys()
    if unknown:
        errors.append(_("Unknown filter: %s.") % ", ".join(sorted(unknown)))
    qs = base.none()
    if filterset.is_valid():
        try:
            qs = filterset.qs
        except ValidationError as exc:
            field_errors.update(exc.message_dict)
    else:
        field_errors.update({k: list(v) for k, v in filterset.errors.items()})
    orderings = allowed_orderings(entity, user)
    try:
        ordering = keyset.parse_ordering(params.get("ordering"), orderings, entity.default_ordering)
    except KeyError as exc:
        errors.append(_("Cannot sort by “%s”.") % exc.args[0])
        ordering = keyset.parse_ordering(None, orderings, entity.default_ordering)
    columns = chosen_columns(entity, user, params)
    column_keys = frozenset(c.key for c in columns)
    listed = entity.list_page_queryset(qs, column_keys)
    cursor = params.get("cursor") or None
    bound = filter_params(params)
    counted = cursor is None and _counts_with_page(listed, ordering, limit)
    with filterset.planned():
        if counted:
            page, count = _counted_first_page(entity, user, qs, column_keys, ordering, bound, limit)
        else:
            try:
                page = keyset.paginate(
                    listed, ordering=ordering, filters=bound, cursor=cursor, limit=limit
                )
            except keyset.CursorError:
                errors.append(_("That page link has expired; showing the first page."))
                page = keyset.paginate(
                    listed, ordering=ordering, filters=bound, cursor=None, limit=limit
                )
            count = _count(filterset, qs, known=not field_errors)
    return ListPage(
        entity=entity,
        rows=entity.list_page_rows(page.items, column_keys),
        next_cursor=page.next_cursor,
        has_previous=page.has_previous,
        count=count,
        columns=columns,
        all_columns=columns_for(entity, user),
        ordering=ordering.key,
        sortable={c.key: c.order for c in entity.columns if c.order in orderings},
        filterset=filterset,
        errors=errors,
        field_errors=field_errors,
    )


# every row of a first page that reads all of its filter's matches anyway carries their
# number (decision 0050)
PAGE_TOTAL = "page_total_"


def _counts_with_page(listed, ordering, limit: int) -> bool:
    """Whether the first page's statement reads every row the list holds anyway (its
    text filter lists the matches: `search.lists_every_match`), so it can count them too.
    A page that walks its order's index stops at the page and is counted apart."""
    from rapport.core import search

    page = listed.order_by(*ordering.order_by(listed.model))[: limit + 1]
    return search.lists_every_match(page)


def _counted_first_page(entity, user, qs, column_keys, ordering, bound, limit: int):
    """A first page that reads every match anyway (`_counts_with_page`): the matches'
    ids in order and their number (`COUNT(*) OVER ()`) from one statement, then the
    columns shown for the page's rows alone.

    Sorting the matches with every shown column, the company and owner joined to each,
    cost as much again as sorting their ids: 10.6 against 6.4 ms for 2,541 matches of
    "amo" at 1M people on SQLite (decision 0052). The second statement reads 50 rows by
    primary key, through `restrict()` like every read."""
    ordered = qs.annotate(**{PAGE_TOTAL: Window(Count("pk"))}).values("pk", PAGE_TOTAL)
    page = keyset.paginate(ordered, ordering=ordering, filters=bound, cursor=None, limit=limit)
    ids = [item["pk"] for item in page.items]
    total = page.items[0][PAGE_TOTAL] if page.items else 0
    shown = entity.model.objects.restrict(user, "view").filter(pk__in=ids)
    rows = {_row_pk(row): row for row in entity.list_page_queryset(shown, column_keys)}
    page.items = [rows[pk] for pk in ids if pk in rows]
    if total > COUNT_CAP:
        return page, CappedCount(COUNT_CAP, True, total)
    return page, CappedCount(total, False)


def _row_pk(row) -> Any:
    """A row as the entity reads it for a page: values (a dict) or a model instance."""
    return row["id"] if isinstance(row, dict) else row.pk


def _count(filterset, qs, *, known: bool) -> CappedCount:
    """The list's capped count, taken from the filter set when it counts the same rows
    more cheaply (the text filter alone, decision 0047; a created range on SQLite,
    decision 0033)."""
    rows = filterset.known_count(COUNT_CAP) if known else None
    if rows is None:
        return capped_count(qs, COUNT_CAP, estimate=True)
    return CappedCount(min(rows, COUNT_CAP), rows > COUNT_CAP)


_VIEW_FIELDS = ["id", "name", "user_id", "shared", "params", "columns"]


def saved_views(entity: type[Entity], user) -> list[SavedView]:
    """The user's own saved views and those others shared, for the picker: one
    fixed-shape statement every list page makes (decision 0034)."""
    db = router.db_for_read(SavedView)
    table = connections[db].ops.quote_name(SavedView._meta.db_table)
    sql = (
        f"SELECT id, name, user_id, shared, params, columns FROM {table} "  # noqa: S608  # nosec B608 # the table from the model, values as parameters
        "WHERE entity = %s AND (user_id = %s OR shared = %s) ORDER BY name, id"
    )
    with connections[db].cursor() as cursor:
        cursor.execute(sql, [entity.key, user.pk, True])
        rows = cursor.fetchall()
    return [
        SavedView.from_db(
            db,
            _VIEW_FIELDS,
            [
                pk,
                name,
                owner,
                bool(shared),
                rawvalues.json_column(params),
                rawvalues.json_column(columns),
            ],
        )
        for pk, name, owner, shared, params, columns in rows
    ]

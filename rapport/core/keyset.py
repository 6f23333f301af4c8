"""Keyset pagination shared by UI lists, API lists and exports.

An ordering is a list of (field, descending) pairs ending in the primary key, so
every row has one place. NULLs always sort last, on both engines, so SQLite and
PostgreSQL page identically. The cursor is signed and bound to the ordering and
filters it was made for: a tampered cursor or one reused with other filters is
refused instead of returning the wrong rows.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db.models import F, Q, QuerySet

_SALT = "rapport.keyset"


class CursorError(ValueError):
    """The cursor is malformed, tampered with, or belongs to another query."""


@dataclass(frozen=True)
class Ordering:
    """A parsed, allow-listed ordering: the public key string and model field pairs."""

    key: str
    fields: tuple[tuple[str, bool], ...]  # (model field path, descending)

    def order_by(self, model=None) -> list:
        """ORDER BY terms; NULLS LAST only where the column can hold NULL (with `model`
        given), so a plain index on a NOT NULL column serves the order on both engines
        (SQLite cannot use one for "ASC NULLS LAST", PostgreSQL not for "DESC NULLS LAST")."""
        terms = []
        for name, desc in self.fields:
            nulls_last = True if model is None else can_be_null(model, name)
            if desc:
                terms.append(F(name).desc(nulls_last=True) if nulls_last else F(name).desc())
            else:
                terms.append(F(name).asc(nulls_last=True) if nulls_last else F(name).asc())
        return terms


def can_be_null(model, path: str) -> bool:
    """Whether the field at `path` ("company__sort_key") can be NULL in a row of `model`:
    a nullable column, or one reached through a nullable (LEFT JOINed) relation. Unknown
    paths (annotations) count as nullable."""
    opts = model._meta
    for part in path.split("__"):
        try:
            field = opts.pk if part == "pk" else opts.get_field(part)
        except Exception:  # noqa: BLE001 - an annotation or a transform: assume NULLs
            return True
        if getattr(field, "null", True) and not field.primary_key:
            return True
        if field.is_relation:
            if field.many_to_many or field.one_to_many or field.related_model is None:
                return True
            opts = field.related_model._meta
    return False


def parse_ordering(raw: str | None, allowed: Mapping[str, Sequence[str]], default: str) -> Ordering:
    """Turn "-created_at,name" into model fields using the entity's allow list.

    Raises KeyError naming the first unknown key. Tie-breaking "id" is appended once.
    """
    text = (raw or default).strip() or default
    pairs: list[tuple[str, bool]] = []
    seen: set[str] = set()
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        desc = part.startswith("-")
        name = part.lstrip("-+")
        if name not in allowed:
            raise KeyError(name)
        for model_field in allowed[name]:
            if model_field == "id":
                continue
            if model_field not in seen:
                seen.add(model_field)
                pairs.append((model_field, desc))
    tie_desc = pairs[0][1] if pairs else True
    pairs.append(("id", tie_desc))
    return Ordering(text, tuple(pairs))


def _encode(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"d": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"dec": str(value)}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "dt" in value:
            return datetime.datetime.fromisoformat(value["dt"])
        if "d" in value:
            return datetime.date.fromisoformat(value["d"])
        if "dec" in value:
            return decimal.Decimal(value["dec"])
        raise CursorError("bad cursor value")
    return value


def binding(ordering: Ordering, filters: Mapping[str, Any]) -> str:
    """A digest of the query a cursor belongs to."""
    items = sorted(
        (str(k), sorted(map(str, v)) if isinstance(v, list | tuple) else str(v))
        for k, v in filters.items()
        if k not in {"cursor", "limit"}
    )
    raw = json.dumps([ordering.key, items], ensure_ascii=True, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def make_cursor(values: Sequence[Any], bound: str) -> str:
    return signing.dumps({"b": bound, "v": [_encode(v) for v in values]}, salt=_SALT, compress=True)


def read_cursor(cursor: str, bound: str, width: int) -> list[Any]:
    try:
        data = signing.loads(cursor, salt=_SALT)
    except signing.BadSignature as exc:
        raise CursorError("The cursor is not valid.") from exc
    if not isinstance(data, dict) or data.get("b") != bound:
        raise CursorError("The cursor belongs to another query.")
    values = data.get("v")
    if not isinstance(values, list) or len(values) != width:
        raise CursorError("The cursor is not valid.")
    return [_decode(v) for v in values]


def after_q(ordering: Ordering, values: Sequence[Any], model=None) -> Q:
    """Rows strictly after `values` in `ordering` (NULLs last in both directions); with
    `model`, columns that cannot be NULL get no IS NULL branch."""
    result = Q(pk__in=[])
    equal = Q()
    for (name, desc), value in zip(ordering.fields, values, strict=True):
        if value is None:
            after = Q(pk__in=[])  # nothing sorts after NULL
            same = Q(**{f"{name}__isnull": True})
        else:
            after = Q(**{f"{name}__{'lt' if desc else 'gt'}": value})
            if model is None or can_be_null(model, name):
                after |= Q(**{f"{name}__isnull": True})
            same = Q(**{name: value})
        result |= equal & after
        equal &= same
    (lead, desc), first = ordering.fields[0], values[0]
    if first is not None and model is not None and not can_be_null(model, lead):
        # Redundant for the answer, but it gives the planner an index range to start
        # from: PostgreSQL otherwise reads the OR above from the start of the index
        # (page 200 of a million-row list took 10x page 1).
        result &= Q(**{f"{lead}__{'lte' if desc else 'gte'}": first})
    return result


@dataclass
class Page:
    items: list
    next_cursor: str | None
    has_previous: bool


def paginate(
    qs: QuerySet,
    *,
    ordering: Ordering,
    filters: Mapping[str, Any],
    cursor: str | None,
    limit: int,
    fetch: Callable[[QuerySet], list] = list,
) -> Page:
    """One page of `qs` after `cursor`, fetching limit + 1 rows to know if more follow
    (`fetch` runs the sliced queryset: `rawvalues.fetch` for a JSON list's raw cells)."""
    bound = binding(ordering, filters)
    keys = {f"_k{i}": F(name) for i, (name, _) in enumerate(ordering.fields)}
    qs = qs.annotate(**keys).order_by(*ordering.order_by(qs.model))
    if cursor:
        values = read_cursor(cursor, bound, len(ordering.fields))
        qs = qs.filter(after_q(ordering, values, qs.model))
    rows = fetch(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        # Model instances or, from a values() queryset (a list's fast path), dicts.
        values = (
            [last[k] for k in keys] if isinstance(last, dict) else [getattr(last, k) for k in keys]
        )
        next_cursor = make_cursor(values, bound)
    return Page(rows, next_cursor, bool(cursor))

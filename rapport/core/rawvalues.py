"""Values as the driver returns them, for lists that turn rows straight into JSON.

A values() queryset runs every cell through the ORM's converters: JSON columns are
parsed, SQLite's datetime text is parsed and made aware. A JSON list page then formats
them all back into text. `fetch` skips that for every column but the keyset ones (a
cursor carries typed values), and `json_datetime` / `json_column` give what
DjangoJSONEncoder would have written from the converted value (decision 0035). (SQLite's
driver already parses datetime columns, naive, in UTC: Django registers converters.)
"""

from __future__ import annotations

import json
from itertools import chain
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models.sql.constants import MULTI
from django.utils.dateparse import parse_datetime

_ENCODER = DjangoJSONEncoder()


def fetch(qs, *, typed_prefix: str = "_k") -> list[dict[str, Any]]:
    """The rows of a values() queryset as dicts of raw driver values; columns whose name
    starts with `typed_prefix` are converted as the ORM would."""
    query = qs.query
    compiler = query.get_compiler(qs.db)
    results = compiler.execute_sql(MULTI)
    names = [*query.extra_select, *query.values_select, *query.annotation_select]
    expressions = [s[0] for s in compiler.select[0 : compiler.col_count]]
    typed = {i for i, name in enumerate(names) if name.startswith(typed_prefix)}
    converters = {i: c for i, c in compiler.get_converters(expressions).items() if i in typed}
    rows = chain.from_iterable(results)
    if converters:
        rows = compiler.apply_converters(rows, converters)
    return [dict(zip(names, row, strict=True)) for row in rows]


def json_datetime(value: Any) -> str | None:
    """DjangoJSONEncoder's text for a raw datetime cell: stored in UTC, which SQLite's
    driver hands back naive (or as text where a column declares no type)."""
    if value is None:
        return None
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is None:
            raise ValueError(f"not a datetime: {value!r}")
        value = parsed
    text = value.isoformat()
    if value.tzinfo is not None:
        if not text.endswith("+00:00"):
            return _ENCODER.default(value)
        text = text[:-6]
    if value.microsecond:  # milliseconds, as DjangoJSONEncoder writes them
        text = text[:23]
    return f"{text}Z"


def json_date(value: Any) -> str | None:
    """A raw date cell (a date, or text where a column declares no type) as JSON text."""
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def json_column(text: Any) -> Any:
    """A raw JSON cell, parsed (the common empty ones without the parser)."""
    if text is None:
        return None
    if text == "[]":
        return []
    if text == "{}":
        return {}
    if not isinstance(text, str):  # a driver that already parsed it
        return text
    return json.loads(text)

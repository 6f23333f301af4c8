"""A canonical, engine-neutral text of everything a database holds.

Backups are trusted only if a restore gives back exactly what was there: this dump is
how tests (and an operator, through `canonical_digest`) compare two databases. Every
table of every installed model (many-to-many tables included) comes first, rows sorted
by primary key and values canonicalised (UTC ISO times, decimals as text, JSON with
sorted keys, bytes as hex); then every other table the database holds (the search
index), rows sorted by their text. Cache tables are left out: their content expires.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import hashlib
import json
import uuid
from collections.abc import Iterator
from typing import IO, Any

from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections


def canonical_value(value: Any) -> Any:
    """A JSON-ready value that reads the same whichever engine produced it."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC)
        return value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return str(value.total_seconds())
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b16encode(bytes(value)).decode()
    if isinstance(value, dict):
        return {str(k): canonical_value(v) for k, v in sorted(value.items(), key=lambda i: i[0])}
    if isinstance(value, list | tuple):
        return [canonical_value(item) for item in value]
    return str(value)


def _line(table: str, row: Any) -> str:
    return json.dumps([table, row], ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _models() -> list:
    seen, result = set(), []
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed or meta.db_table in seen:
            continue
        seen.add(meta.db_table)
        result.append(model)
    return sorted(result, key=lambda model: model._meta.db_table)


def _cache_tables() -> set[str]:
    tables = set()
    for config in settings.CACHES.values():
        if config.get("BACKEND", "").endswith("db.DatabaseCache"):
            tables.add(config["LOCATION"])
    return tables


def canonical_lines(using: str = DEFAULT_DB_ALIAS) -> Iterator[str]:
    """One JSON line per row: `["table", {...}]`, in a fixed order."""
    connection = connections[using]
    present = set(connection.introspection.table_names())
    covered = set()
    for model in _models():
        table = model._meta.db_table
        covered.add(table)
        if table not in present:
            continue
        fields = [field.attname for field in model._meta.concrete_fields]
        rows = model._base_manager.using(using).order_by("pk").values_list(*fields)
        for values in rows.iterator(chunk_size=2000):
            yield _line(table, dict(zip(fields, map(canonical_value, values), strict=True)))
    quote = connection.ops.quote_name
    for table in sorted(present - covered - _cache_tables()):
        with connection.cursor() as cursor:
            sql = f"SELECT * FROM {quote(table)}"  # noqa: S608  # nosec B608 # introspected
            cursor.execute(sql)
            names = [column[0] for column in cursor.description]
            lines = [
                _line(table, dict(zip(names, map(canonical_value, row), strict=True)))
                for row in cursor.fetchall()
            ]
        yield from sorted(lines)


def canonical_dump(stream: IO[bytes] | None = None, *, using: str = DEFAULT_DB_ALIAS) -> str:
    """Write the canonical lines to `stream` (when given); return their SHA-256."""
    digest = hashlib.sha256()
    for line in canonical_lines(using):
        data = (line + "\n").encode()
        digest.update(data)
        if stream is not None:
            stream.write(data)
    return digest.hexdigest()

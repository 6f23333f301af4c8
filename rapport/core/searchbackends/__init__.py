"""Storage engines of the global search index: FTS5 on SQLite, pg_trgm on PostgreSQL.

`rapport.core.search` is the only caller. Each engine owns the DDL of its tables and
the SQL of one match condition, so the search module itself never branches on the
database vendor. Both store the same rows: per record the entity key, object id,
title, subtitle, two folded prefix keys and the folded body.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from rapport.core.searchbackends.base import ENTRY_TABLE, SearchBackend, SearchQuery

__all__ = ["ENTRY_TABLE", "SearchBackend", "SearchQuery", "backend_for"]


def backend_for(connection) -> SearchBackend:
    """The engine for a database connection (raises for vendors we do not support)."""
    if connection.vendor == "sqlite":
        from rapport.core.searchbackends.sqlite import SqliteBackend

        return SqliteBackend(connection)
    if connection.vendor == "postgresql":
        from rapport.core.searchbackends.postgres import PostgresBackend

        return PostgresBackend(connection)
    raise ImproperlyConfigured(f"Search supports SQLite and PostgreSQL, not {connection.vendor!r}.")

"""Is the database file/cluster itself sound? Part of `rapport check` and of every restore.

SQLite: `PRAGMA integrity_check` (pages, indexes) and `PRAGMA foreign_key_check` (rows
pointing at missing rows — possible when a file was copied by hand mid-write).
PostgreSQL keeps its own pages and foreign keys, so the basic check is what a bad
restore breaks: every model table present and every id sequence ahead of the highest
id (a sequence left behind makes the next insert fail with a duplicate key).
"""

from __future__ import annotations

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Max
from django.utils.translation import gettext as _

MAX_LISTED = 5


def _model_tables() -> list:
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    ]


def _missing_tables(alias: str) -> list[str]:
    present = set(connections[alias].introspection.table_names())
    missing = sorted({m._meta.db_table for m in _model_tables()} - present)
    if not missing:
        return []
    return [
        _("%(count)d tables are missing (%(names)s).")
        % {"count": len(missing), "names": ", ".join(missing[:MAX_LISTED])}
    ]


def sqlite_problems(alias: str) -> list[str]:
    problems = []
    with connections[alias].cursor() as cursor:
        cursor.execute("PRAGMA integrity_check")
        results = [row[0] for row in cursor.fetchall()]
        if results != ["ok"]:
            problems.append(
                _("The database file is damaged: %(detail)s")
                % {"detail": "; ".join(results[:MAX_LISTED])}
            )
        cursor.execute("PRAGMA foreign_key_check")
        broken = cursor.fetchall()
    if broken:
        tables = sorted({row[0] for row in broken})
        problems.append(
            _("%(count)d rows point at rows that do not exist (in %(tables)s).")
            % {"count": len(broken), "tables": ", ".join(tables[:MAX_LISTED])}
        )
    return problems


def postgresql_problems(alias: str) -> list[str]:
    connection = connections[alias]
    present = set(connection.introspection.table_names())
    behind = []
    with connection.cursor() as cursor:
        for model in _model_tables():
            pk = model._meta.pk
            table = model._meta.db_table
            if table not in present or pk.get_internal_type() not in {
                "AutoField",
                "BigAutoField",
                "SmallAutoField",
            }:
                continue
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, pk.column])
            sequence = cursor.fetchone()[0]
            if not sequence:
                continue
            cursor.execute(
                "SELECT last_value, start_value FROM pg_sequences "
                "WHERE format('%%I.%%I', schemaname, sequencename) = %s",
                [sequence],
            )
            last_value, start_value = cursor.fetchone()
            highest = model._base_manager.using(alias).aggregate(top=Max("pk"))["top"]
            next_value = start_value if last_value is None else last_value + 1
            if highest is not None and next_value <= highest:
                behind.append(table)
    if not behind:
        return []
    return [
        _(
            "The id counters of %(count)d tables are behind their rows (%(names)s); "
            "new records would clash."
        )
        % {"count": len(behind), "names": ", ".join(behind[:MAX_LISTED])}
    ]


def integrity_problems(alias: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Plain-word descriptions of what is wrong; empty when the database is sound."""
    problems = _missing_tables(alias)
    vendor = connections[alias].vendor
    if vendor == "sqlite":
        problems += sqlite_problems(alias)
    elif vendor == "postgresql":
        problems += postgresql_problems(alias)
    return problems

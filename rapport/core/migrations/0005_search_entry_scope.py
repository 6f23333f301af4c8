"""Search entries carry their record's team and owner (decision 0040).

Search tests a user's scope on the entry first: on SQLite the title indexes hold the
two columns, so a walk leaves out what the scope hides from the index alone. Existing
entries are filled from their records here, so scoped users keep finding everything
right after the upgrade; the indexes that read them are rebuilt with the new columns
(SQLite: title and sort key; PostgreSQL: sort key).
"""

from django.db import migrations

TABLE = "core_search_entry"
COLUMNS = ("team_id", "owner_id")
# the indexes that gain the new columns, as they were before
OLD_INDEXES = {
    "sqlite": {
        "core_search_entry_title_key": "(title_key)",
        "core_search_entry_sort_title": "(sort_key, title_key)",
    },
    "postgresql": {"core_search_entry_sort_key": "(sort_key)"},
}


def _columns(connection) -> set[str] | None:
    with connection.cursor() as cursor:
        if TABLE not in connection.introspection.table_names(cursor):
            return None
        return {c.name for c in connection.introspection.get_table_description(cursor, TABLE)}


def _scoped_tables(connection) -> list[tuple[str, str, str]]:
    """(entity key, record table, its key column) of every entity in the index whose records have both
    columns; the others keep NULL (search then tests their scope on the record only)."""
    from rapport.core.registry import registry
    from rapport.core.search import copies_scope

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT entity FROM {TABLE}")  # noqa: S608  # nosec B608 # fixed identifiers
        keys = [row[0] for row in cursor.fetchall()]
    entities = [registry.get(key) for key in keys]
    opts = [(e.key, e.model._meta) for e in entities if e is not None and copies_scope(e)]
    return [(key, meta.db_table, meta.pk.column) for key, meta in opts]


def forwards(apps, schema_editor):
    from rapport.core.searchbackends import backend_for

    connection = schema_editor.connection
    present = _columns(connection)
    if present is None:
        return
    for column in COLUMNS:
        if column not in present:
            schema_editor.execute(f"ALTER TABLE {TABLE} ADD COLUMN {column} bigint NULL")
    quote = connection.ops.quote_name
    for key, table, pk in _scoped_tables(connection):
        schema_editor.execute(
            f"UPDATE {TABLE} SET team_id = r.team_id, owner_id = r.owner_id "  # noqa: S608  # nosec B608 # identifiers from code
            f"FROM {quote(table)} r WHERE {TABLE}.entity = %s AND r.{quote(pk)} = {TABLE}.object_id",
            [key],
        )
    for name in OLD_INDEXES[connection.vendor]:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    for statement in backend_for(connection).schema_statements():
        schema_editor.execute(statement)
    schema_editor.execute(f"ANALYZE {TABLE}")


def backwards(apps, schema_editor):
    connection = schema_editor.connection
    present = _columns(connection)
    if present is None:
        return
    for name, columns in OLD_INDEXES[connection.vendor].items():
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
        schema_editor.execute(f"CREATE INDEX {name} ON {TABLE} {columns}")
    for column in COLUMNS:
        if column in present:
            schema_editor.execute(f"ALTER TABLE {TABLE} DROP COLUMN {column}")


class Migration(migrations.Migration):
    dependencies = [("core", "0004_search_sort_title_index")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]

"""PostgreSQL's title index holds the entry id and its scope copy (decision 0044).

A walk of the title index then takes the entries in scope from the index alone (an
index-only scan) and reads only those, where an index scan read every entry it passed,
in scope or not. SQLite's title index has held these columns since 0005.
"""

from django.db import migrations

TABLE = "core_search_entry"
INDEX = "core_search_entry_title_key"


def _present(connection) -> bool:
    with connection.cursor() as cursor:
        return TABLE in connection.introspection.table_names(cursor)


def forwards(apps, schema_editor):
    from rapport.core.searchbackends import backend_for

    connection = schema_editor.connection
    if connection.vendor != "postgresql" or not _present(connection):
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")
    for statement in backend_for(connection).schema_statements():
        schema_editor.execute(statement)


def backwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or not _present(connection):
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")
    schema_editor.execute(f"CREATE INDEX {INDEX} ON {TABLE} (title_key)")


class Migration(migrations.Migration):
    dependencies = [("core", "0006_write_path_indexes")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]

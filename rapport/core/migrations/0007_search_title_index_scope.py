"""PostgreSQL's title index holds the entry id and its scope copy (decision 0044).

The title part of a search then takes the entries in scope and in the title range
from the index alone (an index-only scan, in order) and reads only those, where a plan
made without the values had ANDed two bitmaps and sorted every entry they held. SQLite's
title index has held these columns since 0005.
"""

from django.db import migrations

from rapport.core.migrations._entries import TABLE, postgres_with_entries

INDEX = "core_search_entry_title_key"


def forwards(apps, schema_editor):
    from rapport.core.searchbackends import backend_for

    if not postgres_with_entries(schema_editor.connection):
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")
    for statement in backend_for(schema_editor.connection).schema_statements():
        schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if not postgres_with_entries(schema_editor.connection):
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")
    schema_editor.execute(f"CREATE INDEX {INDEX} ON {TABLE} (title_key)")


class Migration(migrations.Migration):
    dependencies = [("core", "0006_write_path_indexes")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]

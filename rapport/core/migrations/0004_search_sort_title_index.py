"""SQLite: the sort-key index of the search entries carries the title key too.

Search ranks entries whose sort key starts with the query by title; with the title key
in the index those entries come out sorted without reading each entry (decision 0032).
PostgreSQL keeps its indexes: there the part is sorted from the entries themselves.
"""

from django.db import migrations

OLD = "core_search_entry_sort_key"
NEW = "core_search_entry_sort_title"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {NEW} ON core_search_entry (sort_key, title_key)"
    )
    schema_editor.execute(f"DROP INDEX IF EXISTS {OLD}")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {OLD} ON core_search_entry (sort_key)")
    schema_editor.execute(f"DROP INDEX IF EXISTS {NEW}")


class Migration(migrations.Migration):
    dependencies = [("core", "0003_dataio_audit_actions")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]

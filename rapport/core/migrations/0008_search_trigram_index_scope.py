"""PostgreSQL's trigram index holds the entry's scope copy too (decision 0051).

A GIN index over `(team_id, owner_id, body gin_trgm_ops)` (the btree_gin extension
indexes the two ids) answers "entries holding this substring in these teams or of this
owner" from the index, so a listing of a term's matches in a user's scope reads only
those entries, where the trigram index alone made it read and recheck every match and
drop the other teams' afterwards. Queries on the body alone read it as they read the
old index, which it replaces. SQLite's FTS5 index is unchanged.
"""

from django.db import migrations

from rapport.core.migrations._entries import TABLE, postgres_with_entries

OLD = "core_search_entry_trgm"
NEW = "core_search_entry_trgm_scope"


def forwards(apps, schema_editor):
    if not postgres_with_entries(schema_editor.connection):
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    schema_editor.execute(f"DROP INDEX IF EXISTS {OLD}")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {NEW} ON {TABLE} "
        "USING gin (team_id, owner_id, body gin_trgm_ops)"
    )
    schema_editor.execute(f"ANALYZE {TABLE}")


def backwards(apps, schema_editor):
    if not postgres_with_entries(schema_editor.connection):
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {NEW}")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {OLD} ON {TABLE} USING gin (body gin_trgm_ops)"
    )


class Migration(migrations.Migration):
    dependencies = [("core", "0007_search_title_index_scope")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]

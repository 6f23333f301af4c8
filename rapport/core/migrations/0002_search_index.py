"""The global search index: FTS5 trigram on SQLite, pg_trgm + full text on PostgreSQL.

The tables are not Django models (an FTS5 virtual table cannot be one), so the DDL
is vendor-conditional and lives with the engines in rapport.core.searchbackends;
every statement is IF NOT EXISTS, which lets `rapport migrate` re-run it safely.
"""

from django.db import migrations


def create_index(apps, schema_editor):
    from rapport.core.searchbackends import backend_for

    for statement in backend_for(schema_editor.connection).schema_statements():
        schema_editor.execute(statement)


def drop_index(apps, schema_editor):
    from rapport.core.searchbackends import backend_for

    for statement in backend_for(schema_editor.connection).drop_statements():
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]

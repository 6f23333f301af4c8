"""The audit actor's own index goes: `audit_actor_idx` (actor, -at) leads with the same
column (decision 0041). Dropped in place; SQLite would otherwise copy the table."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from rapport.core.schema_indexes import create_field_indexes, drop_field_indexes


def forwards(apps, schema_editor):
    drop_field_indexes(schema_editor, apps.get_model("core", "AuditEvent"), "actor")


def backwards(apps, schema_editor):
    create_field_indexes(schema_editor, apps.get_model("core", "AuditEvent"), "actor")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0005_search_entry_scope"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="auditevent",
                    name="actor",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="actor",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
    ]

"""Indexes that only cost writes go (decision 0041):

- owner and team of people and companies: each model's list indexes lead with them;
- match_key, email `normalized` and phone `number`: compared whole or by `IN`, never by
  `LIKE`, so they are indexed in Meta, which on PostgreSQL makes no `varchar_pattern_ops`
  twin.

Done in place: SQLite would copy each whole table to alter a field's `db_index`."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from rapport.core.schema_indexes import create_field_indexes, drop_field_indexes

DROPPED = [
    ("Company", "owner"),
    ("Company", "team"),
    ("Person", "owner"),
    ("Person", "team"),
    ("Company", "match_key"),
    ("EmailAddress", "normalized"),
    ("Person", "match_key"),
    ("PhoneNumber", "number"),
]
ADDED = [
    ("Company", models.Index(fields=["match_key"], name="company_match_key_idx")),
    ("EmailAddress", models.Index(fields=["normalized"], name="email_normalized_idx")),
    ("Person", models.Index(fields=["match_key"], name="person_match_key_idx")),
    ("PhoneNumber", models.Index(fields=["number"], name="phone_number_idx")),
]


def forwards(apps, schema_editor):
    for model_name, field_name in DROPPED:
        drop_field_indexes(schema_editor, apps.get_model("contacts", model_name), field_name)
    for model_name, index in ADDED:
        schema_editor.add_index(apps.get_model("contacts", model_name), index)


def backwards(apps, schema_editor):
    for model_name, index in ADDED:
        schema_editor.remove_index(apps.get_model("contacts", model_name), index)
    for model_name, field_name in DROPPED:
        create_field_indexes(schema_editor, apps.get_model("contacts", model_name), field_name)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_builtin_roles"),
        ("contacts", "0006_date_range_indexes"),
        ("core", "0006_write_path_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="company",
                    name="match_key",
                    field=models.CharField(default="", editable=False, max_length=100),
                ),
                migrations.AlterField(
                    model_name="company",
                    name="owner",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="owner",
                    ),
                ),
                migrations.AlterField(
                    model_name="company",
                    name="team",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.team",
                        verbose_name="team",
                    ),
                ),
                migrations.AlterField(
                    model_name="emailaddress",
                    name="normalized",
                    field=models.CharField(editable=False, max_length=254),
                ),
                migrations.AlterField(
                    model_name="person",
                    name="match_key",
                    field=models.CharField(default="", editable=False, max_length=100),
                ),
                migrations.AlterField(
                    model_name="person",
                    name="owner",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="owner",
                    ),
                ),
                migrations.AlterField(
                    model_name="person",
                    name="team",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.team",
                        verbose_name="team",
                    ),
                ),
                migrations.AlterField(
                    model_name="phonenumber",
                    name="number",
                    field=models.CharField(max_length=20, verbose_name="phone"),
                ),
                migrations.AddIndex(
                    model_name="company",
                    index=models.Index(fields=["match_key"], name="company_match_key_idx"),
                ),
                migrations.AddIndex(
                    model_name="emailaddress",
                    index=models.Index(fields=["normalized"], name="email_normalized_idx"),
                ),
                migrations.AddIndex(
                    model_name="person",
                    index=models.Index(fields=["match_key"], name="person_match_key_idx"),
                ),
                migrations.AddIndex(
                    model_name="phonenumber",
                    index=models.Index(fields=["number"], name="phone_number_idx"),
                ),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
    ]

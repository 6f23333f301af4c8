# The name indexes carry created_at and the created indexes deleted_at (decision 0033).

from django.db import migrations, models

from rapport.contacts.migrations._indexes import widened

WIDER = [
    models.Index(fields=["sort_key", "id", "created_at"], name="person_sort_idx"),
    models.Index(fields=["team", "sort_key", "id", "created_at"], name="person_team_sort_idx"),
    models.Index(fields=["owner", "sort_key", "id", "created_at"], name="person_owner_sort_idx"),
    models.Index(fields=["-created_at", "-id", "deleted_at"], name="person_created_idx"),
    models.Index(
        fields=["team", "-created_at", "-id", "deleted_at"], name="person_team_created_idx"
    ),
    models.Index(
        fields=["owner", "-created_at", "-id", "deleted_at"], name="person_owner_created_idx"
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0005_owner_sort_indexes"),
    ]

    operations = widened("person", WIDER)

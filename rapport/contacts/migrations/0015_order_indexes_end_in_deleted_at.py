# Every sortable person index ends in deleted_at (the created ones did already), so a
# walk that tests each row's search entry reads a row only once it matches (decision 0049).

from django.db import migrations, models

from rapport.contacts.migrations._indexes import widened

WIDER = [
    models.Index(fields=["sort_key", "id", "created_at", "deleted_at"], name="person_sort_idx"),
    models.Index(
        fields=["team", "sort_key", "id", "created_at", "deleted_at"], name="person_team_sort_idx"
    ),
    models.Index(
        fields=["owner", "sort_key", "id", "created_at", "deleted_at"],
        name="person_owner_sort_idx",
    ),
    models.Index(fields=["-updated_at", "-id", "deleted_at"], name="person_updated_idx"),
    models.Index(
        fields=["team", "-updated_at", "-id", "deleted_at"], name="person_team_updated_idx"
    ),
    models.Index(
        fields=["owner", "-updated_at", "-id", "deleted_at"], name="person_owner_updated_idx"
    ),
    models.Index(fields=["primary_email", "id", "deleted_at"], name="person_email_idx"),
    models.Index(
        fields=["team", "primary_email", "id", "deleted_at"], name="person_team_email_idx"
    ),
    models.Index(
        fields=["owner", "primary_email", "id", "deleted_at"], name="person_owner_email_idx"
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0014_company_industry_sort_index"),
    ]

    operations = widened("person", WIDER)

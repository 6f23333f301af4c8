"""The people list's language and source filters read an index (decision 0042): the
language itself, and the source lower-cased, as the filter compares it."""

from django.db import migrations, models
from django.db.models.functions import Lower


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0007_write_path_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="person",
            index=models.Index(fields=["language"], name="person_language_idx"),
        ),
        migrations.AddIndex(
            model_name="person",
            index=models.Index(Lower("source"), name="person_source_idx"),
        ),
    ]

"""The company list's industry filter reads an index of the industry lower-cased, as
the filter compares it (decision 0042)."""

from django.db import migrations, models
from django.db.models.functions import Lower


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0010_phone_tail_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="company",
            index=models.Index(Lower("industry"), name="company_industry_idx"),
        ),
    ]

"""Companies in (industry, id) order: the company list sorted by industry sorted every
company in scope on each page (99 ms for a team's 31,000 at 1M people); it now walks
this index and stops at a page."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0013_phone_tail4_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="company",
            index=models.Index(fields=["industry", "id"], name="company_industry_sort_idx"),
        ),
    ]

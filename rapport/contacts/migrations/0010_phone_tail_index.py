"""The last nine digits of every phone number, indexed: the people list's phone filter
ran `number LIKE '%…'` over every phone row (130 ms on SQLite at 1M people)."""

from django.db import migrations, models

import rapport.contacts.models


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0009_company_updated_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="phonenumber",
            index=models.Index(
                rapport.contacts.models.PhoneTail("number"), name="phone_tail_idx"
            ),
        ),
    ]

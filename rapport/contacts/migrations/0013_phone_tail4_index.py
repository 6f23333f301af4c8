"""The last four digits of every phone number, indexed: the people list's phone filter
read the whole phone table for a typed tail of four to eight digits (`LIKE '%…'`); it
now reads the numbers ending with the tail's last four and checks the rest."""

from django.db import migrations, models

import rapport.contacts.models


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0012_company_second_domain_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="phonenumber",
            index=models.Index(
                rapport.contacts.models.PhoneTail("number", 4), name="phone_tail4_idx"
            ),
        ),
    ]

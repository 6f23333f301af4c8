"""Fill the duplicate scan's match keys of people and companies created before them."""

from django.db import migrations

BATCH = 2000


def fill(apps, schema_editor):
    from rapport.core.matching import company_match_key, person_match_key

    for name, key_of, fields in (
        ("Person", lambda row: person_match_key(row[1], row[2]), ("first_name", "last_name")),
        ("Company", lambda row: company_match_key(row[1]), ("name",)),
    ):
        model = apps.get_model("contacts", name)
        rows = model._base_manager.order_by("pk").values_list("pk", *fields)
        changed = []
        for row in rows.iterator(chunk_size=BATCH):
            changed.append(model(pk=row[0], match_key=key_of(row)))
            if len(changed) >= BATCH:
                model._base_manager.bulk_update(changed, ["match_key"])
                changed = []
        if changed:
            model._base_manager.bulk_update(changed, ["match_key"])


class Migration(migrations.Migration):
    dependencies = [("contacts", "0002_merge_tombstone_match_key")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]

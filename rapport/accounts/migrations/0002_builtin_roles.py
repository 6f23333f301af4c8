from django.db import migrations


def load_roles(apps, schema_editor):
    from rapport.accounts.roles import ensure_builtin_roles

    ensure_builtin_roles(apps.get_model("accounts", "Role"))


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(load_roles, migrations.RunPython.noop)]

from django.db import migrations

GENESIS = "0" * 64


def create_head(apps, schema_editor):
    apps.get_model("core", "LedgerHead").objects.get_or_create(pk=1, defaults={"size": 0, "last_hash": GENESIS})


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(create_head, migrations.RunPython.noop)]

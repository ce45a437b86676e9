from django.db import migrations

AREAS = [
    ("air-force", "Air force"),
    ("iamd", "Integrated air and missile defence"),
    ("artillery", "Artillery"),
    ("armour", "Armour"),
    ("maritime", "Maritime"),
    ("it", "IT"),
    ("demining", "Demining"),
    ("drones", "Drones"),
    ("medical", "Medical"),
    ("humanitarian", "Humanitarian"),
    ("other", "Other"),
]


def add_areas(apps, schema_editor):
    CapabilityArea = apps.get_model("catalog", "CapabilityArea")
    for order, (code, name) in enumerate(AREAS, start=1):
        CapabilityArea.objects.get_or_create(code=code, defaults={"name": name, "order": order})


def remove_areas(apps, schema_editor):
    apps.get_model("catalog", "CapabilityArea").objects.filter(code__in=[code for code, _ in AREAS]).delete()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunPython(add_areas, remove_areas)]

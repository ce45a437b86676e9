from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("eum", "0002_unit_station")]

    operations = [
        migrations.AddIndex(
            model_name="serial",
            index=models.Index(
                fields=[
                    "owner",
                    "item_type",
                    "holder",
                    "handover_place",
                    "marking",
                    "status",
                    "status_on",
                    "handover_date",
                    "due_on",
                    "last_sighted_on",
                ],
                name="eum_serial_summary",
            ),
        ),
    ]

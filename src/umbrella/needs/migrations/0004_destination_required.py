"""The requirement's destination is now the place the previous migration mapped its text to."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("needs", "0003_destination_place")]

    operations = [
        migrations.RemoveField(model_name="requirement", name="destination"),
        migrations.RenameField(model_name="requirement", old_name="destination_place", new_name="destination"),
        migrations.AlterField(
            model_name="requirement",
            name="destination",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="requirements",
                to="places.place",
                verbose_name="destination",
            ),
        ),
    ]

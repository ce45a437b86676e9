"""A pledge's allowed destinations are now the links the previous migration made from its text."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("pledges", "0005_allowed_destination_places")]

    operations = [
        migrations.RemoveField(model_name="pledge", name="allowed_destinations"),
        migrations.AddField(
            model_name="pledge",
            name="allowed_destinations",
            field=models.ManyToManyField(
                blank=True,
                help_text=(
                    "A donor's condition: the places it may go to, one per line (or separated by ';'); a country or "
                    "region includes every place within it. Empty means anywhere."
                ),
                related_name="+",
                through="pledges.PledgeDestination",
                to="places.place",
                verbose_name="only to these destinations",
            ),
        ),
    ]

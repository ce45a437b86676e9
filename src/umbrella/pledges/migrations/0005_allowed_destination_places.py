"""A pledge's allowed destinations become links to places (PledgeDestination, ledgered one by one). Today's text
is mapped by code, name or alias (umbrella.places.legacy); text no place answers to stops the upgrade with a list
of it, never dropped. The text column goes in the next migration (PostgreSQL alters no table in the transaction
that wrote rows referring to it)."""

import django.db.models.deletion
from django.db import migrations, models

from umbrella.places import legacy


def _names(text: str) -> list[str]:
    names = (name.strip() for line in (text or "").splitlines() for name in line.split(";"))
    return list(dict.fromkeys(name for name in names if name))


def link_destinations(apps, schema_editor):
    Pledge = apps.get_model("pledges", "Pledge")
    PledgeDestination = apps.get_model("pledges", "PledgeDestination")
    Place = apps.get_model("places", "Place")
    restricted = list(Pledge.objects.exclude(allowed_destinations="").order_by("pk").values_list("pk", "allowed_destinations"))
    if not restricted:
        return
    legacy.add_packaged_places(Place, apps.get_model("orgs", "Organization"))
    used_by: dict[str, list[str]] = {}
    for pk, text in restricted:
        for name in _names(text):
            used_by.setdefault(name, []).append(f"pledge {pk}")
    found, unmapped = legacy.mapped(used_by, Place)
    legacy.refuse_unmapped(unmapped, used_by)
    for pk, text in restricted:
        for place_id in dict.fromkeys(found[name] for name in _names(text)):
            PledgeDestination.objects.create(pledge_id=pk, place_id=place_id)


def destinations_as_text(apps, schema_editor):
    Pledge = apps.get_model("pledges", "Pledge")
    PledgeDestination = apps.get_model("pledges", "PledgeDestination")
    names: dict[int, list[str]] = {}
    for link in PledgeDestination.objects.select_related("place").order_by("pk"):
        names.setdefault(link.pledge_id, []).append(link.place.code)
    for pk, codes in names.items():
        Pledge.objects.filter(pk=pk).update(allowed_destinations="\n".join(codes))


class Migration(migrations.Migration):
    dependencies = [
        ("pledges", "0004_delivery_follows_consignments"),
        ("places", "0001_initial"),
        ("needs", "0003_destination_place"),
    ]

    operations = [
        migrations.CreateModel(
            name="PledgeDestination",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "pledge",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="destination_links",
                        to="pledges.pledge",
                        verbose_name="pledge",
                    ),
                ),
                (
                    "place",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="places.place", verbose_name="place"
                    ),
                ),
            ],
            options={"verbose_name": "allowed destination", "verbose_name_plural": "allowed destinations", "ordering": ["id"]},
        ),
        migrations.RunPython(link_destinations, destinations_as_text),
    ]

"""A requirement's destination becomes a reference to a place. Today's text is mapped by code, name or alias
(umbrella.places.legacy); text no place answers to stops the upgrade with a list of it, never dropped.
The text column goes in the next migration: PostgreSQL does not alter a table in the transaction that wrote rows
referring to it (the places added here)."""

import django.db.models.deletion
from django.db import migrations, models

from umbrella.places import legacy


def map_destinations(apps, schema_editor):
    Requirement = apps.get_model("needs", "Requirement")
    Place = apps.get_model("places", "Place")
    Pledge = apps.get_model("pledges", "Pledge")
    if not Requirement.objects.exists() and not Pledge.objects.exclude(allowed_destinations="").exists():
        return  # a new database: the gazetteer comes in through its importer, with a ledger entry per place
    # Places the upgrade adds are taken into the ledger once after it (Place.ledgered_since).
    legacy.add_packaged_places(Place, apps.get_model("orgs", "Organization"))
    used_by: dict[str, list[str]] = {}
    for pk, text in Requirement.objects.order_by("pk").values_list("pk", "destination"):
        used_by.setdefault(text, []).append(f"requirement {pk}")
    found, unmapped = legacy.mapped(used_by, Place)
    legacy.refuse_unmapped(unmapped, used_by)
    for text, place_id in found.items():
        Requirement.objects.filter(destination=text).update(destination_place_id=place_id)


def destinations_as_text(apps, schema_editor):
    Requirement = apps.get_model("needs", "Requirement")
    for requirement in Requirement.objects.select_related("destination_place"):
        Requirement.objects.filter(pk=requirement.pk).update(destination=requirement.destination_place.name_en)


class Migration(migrations.Migration):
    dependencies = [
        ("needs", "0002_requirement_carried_from"),
        ("places", "0001_initial"),
        ("orgs", "0005_ledger_accounts_and_tokens"),
        ("pledges", "0003_closing_and_removal_reasons_source_authors"),
    ]

    operations = [
        migrations.AddField(
            model_name="requirement",
            name="destination_place",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="places.place"
            ),
        ),
        migrations.RunPython(map_destinations, destinations_as_text),
    ]

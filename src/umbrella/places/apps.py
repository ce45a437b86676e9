from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import pre_migrate

# The migrations that turn text destinations into places (they map the text, and refuse what they cannot map).
DESTINATION_UPGRADES = frozenset({("needs", "0003_destination_place"), ("pledges", "0005_allowed_destination_places")})


def check_destinations_first(sender, plan=None, using="default", **kwargs) -> None:
    """Before a migrate run applies anything: if it will turn text destinations into places, stop now on any text
    no place answers to (umbrella.places.legacy), so the run changes nothing rather than half of the upgrade."""
    if any((migration.app_label, migration.name) in DESTINATION_UPGRADES for migration, backwards in plan or () if not backwards):
        from umbrella.places import legacy

        legacy.check_before_upgrade(connections[using])


class PlacesConfig(AppConfig):
    name = "umbrella.places"
    label = "places"
    verbose_name = "Places"

    def ready(self) -> None:
        from umbrella.places import exports, importers  # noqa: F401  (registers the importer and exporter)

        # Sent once per installed app before a run; listening to this app's alone checks once.
        pre_migrate.connect(check_destinations_first, sender=self, dispatch_uid="umbrella.places.check_destinations_first")

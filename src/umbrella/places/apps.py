from django.apps import AppConfig


class PlacesConfig(AppConfig):
    name = "umbrella.places"
    label = "places"
    verbose_name = "Places"

    def ready(self) -> None:
        from umbrella.places import importers  # noqa: F401  (registers the importer)

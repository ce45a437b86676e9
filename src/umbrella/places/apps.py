from django.apps import AppConfig


class PlacesConfig(AppConfig):
    name = "umbrella.places"
    label = "places"
    verbose_name = "Places"

    def ready(self) -> None:
        from umbrella.places import exports, importers  # noqa: F401  (registers the importer and exporter)

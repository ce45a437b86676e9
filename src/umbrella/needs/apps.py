from django.apps import AppConfig


class NeedsConfig(AppConfig):
    name = "umbrella.needs"
    label = "needs"
    verbose_name = "Requirements"

    def ready(self) -> None:
        from umbrella.needs import exports, importers  # noqa: F401  (registers the importer and exporter)

from django.apps import AppConfig


class LogisticsConfig(AppConfig):
    name = "umbrella.logistics"
    label = "logistics"
    verbose_name = "Logistics"

    def ready(self) -> None:
        from umbrella.logistics import exports, importers  # noqa: F401  (registers the manifest importer and exporter)

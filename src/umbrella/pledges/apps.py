from django.apps import AppConfig


class PledgesConfig(AppConfig):
    name = "umbrella.pledges"
    label = "pledges"
    verbose_name = "Pledges"

    def ready(self) -> None:
        from umbrella.pledges import exports, importers  # noqa: F401  (registers the importer and exporter)

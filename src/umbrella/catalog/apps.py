from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "umbrella.catalog"
    label = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from umbrella.catalog import exports, importers  # noqa: F401  (registers the importer and exporter)

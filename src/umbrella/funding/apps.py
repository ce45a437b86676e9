from django.apps import AppConfig


class FundingConfig(AppConfig):
    name = "umbrella.funding"
    label = "funding"
    verbose_name = "Funding"

    def ready(self) -> None:
        from umbrella.funding import exports, importers  # noqa: F401  (registers the importers and exporters)

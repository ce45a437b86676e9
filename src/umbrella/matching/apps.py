from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "umbrella.matching"
    label = "matching"
    verbose_name = "Matching"

    def ready(self) -> None:
        from umbrella.matching import exports  # noqa: F401  (registers the allocations exporter)

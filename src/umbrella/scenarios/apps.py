from django.apps import AppConfig


class ScenariosConfig(AppConfig):
    name = "umbrella.scenarios"
    label = "scenarios"
    verbose_name = "Withdrawal scenarios"

    def ready(self) -> None:
        from umbrella.scenarios import exports  # noqa: F401  (registers the scenarios exporter)

from django.apps import AppConfig


class LogisticsConfig(AppConfig):
    name = "umbrella.logistics"
    label = "logistics"
    verbose_name = "Logistics"

from django.apps import AppConfig


class HistoryConfig(AppConfig):
    name = "umbrella.history"
    label = "history"
    verbose_name = "Historical allocations"

from django.apps import AppConfig


class TrackerConfig(AppConfig):
    name = "umbrella.tracker"
    label = "history"  # the label the tables and migrations were made under; renaming it would need a migration
    verbose_name = "Historical allocations"

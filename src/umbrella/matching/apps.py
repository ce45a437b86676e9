from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "umbrella.matching"
    label = "matching"
    verbose_name = "Matching"

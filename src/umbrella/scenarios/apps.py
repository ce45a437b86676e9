from django.apps import AppConfig


class ScenariosConfig(AppConfig):
    name = "umbrella.scenarios"
    label = "scenarios"
    verbose_name = "Withdrawal scenarios"

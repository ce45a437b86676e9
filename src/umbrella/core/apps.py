from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "umbrella.core"
    label = "core"
    verbose_name = "Core"

from django.apps import AppConfig


class UiConfig(AppConfig):
    name = "umbrella.ui"
    label = "ui"
    verbose_name = "Page kit"

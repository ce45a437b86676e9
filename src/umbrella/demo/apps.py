from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "umbrella.demo"
    label = "demo"
    verbose_name = "Demo"

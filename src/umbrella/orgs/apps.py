from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "umbrella.orgs"
    label = "orgs"
    verbose_name = "Organizations"

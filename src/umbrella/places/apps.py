from django.apps import AppConfig


class PlacesConfig(AppConfig):
    name = "umbrella.places"
    label = "places"
    verbose_name = "Places"

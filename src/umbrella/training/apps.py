from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "umbrella.training"
    label = "training"
    verbose_name = "Training and readiness"

from django.apps import AppConfig


class EumConfig(AppConfig):
    name = "umbrella.eum"
    label = "eum"
    verbose_name = "End-use monitoring"

    def ready(self) -> None:
        from umbrella.eum import importers  # noqa: F401  (registers the sightings importer)
        from umbrella.logistics.signals import consignment_handed_over

        consignment_handed_over.connect(_register_serials, dispatch_uid="eum-registers-handed-over-serials")


def _register_serials(sender, *, actor, consignment, **kwargs) -> None:
    from umbrella.eum.services import register_handed_over

    register_handed_over(actor=actor, consignment=consignment)

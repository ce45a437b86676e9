from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "umbrella.matching"
    label = "matching"
    verbose_name = "Matching"

    def ready(self) -> None:
        from umbrella.matching import exports  # noqa: F401  (registers the allocations exporter)
        from umbrella.needs.signals import revision_approved

        revision_approved.connect(_carry_allocations, dispatch_uid="matching-carries-allocations")


def _carry_allocations(sender, *, actor, approved, superseded, **kwargs) -> None:
    from umbrella.matching.services import carry_allocations

    carry_allocations(actor=actor, approved=approved)

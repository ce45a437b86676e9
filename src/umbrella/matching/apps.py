from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "umbrella.matching"
    label = "matching"
    verbose_name = "Matching"

    def ready(self) -> None:
        from umbrella.matching import exports  # noqa: F401  (registers the allocations exporter)
        from umbrella.needs.signals import revision_approved
        from umbrella.pledges.signals import pledge_closed

        revision_approved.connect(_carry_allocations, dispatch_uid="matching-carries-allocations")
        pledge_closed.connect(_release_closed_pledge, dispatch_uid="matching-releases-closed-pledges")


def _carry_allocations(sender, *, actor, approved, superseded, **kwargs) -> None:
    from umbrella.matching.services import carry_allocations

    carry_allocations(actor=actor, approved=approved)


def _release_closed_pledge(sender, *, actor, pledge, reason, **kwargs) -> None:
    from umbrella.matching.services import release_closed_pledge

    release_closed_pledge(actor=actor, pledge=pledge, reason=reason)

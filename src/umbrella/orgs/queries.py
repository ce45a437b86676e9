"""Reads about organizations and the actor behind a request."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from umbrella.core.access import DONOR_KINDS, Actor
from umbrella.orgs.models import Membership, Organization

SESSION_ORGANIZATION_KEY = "umbrella_organization_id"


def memberships_of(user) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("organization").order_by("organization__name")


def actor_for(user, organization_id: int | None = None, request_id: str | None = None) -> Actor:
    """The actor a signed-in user acts as: the chosen membership, else the first one, else no organization."""
    extra = {"request_id": request_id} if request_id else {}
    if user is None or not user.is_authenticated:
        return Actor(user=None, organization=None, role=None, **extra)
    memberships = list(memberships_of(user))
    chosen = next((m for m in memberships if m.organization_id == organization_id), None)
    chosen = chosen or (memberships[0] if memberships else None)
    if chosen is None:
        return Actor(user=user, organization=None, role=None, **extra)
    return Actor(user=user, organization=chosen.organization, role=chosen.role, **extra)


def donor_codes() -> list[str]:
    """Every donor's code: the organizations are a public directory, so a filter may name any of them."""
    return list(Organization.objects.filter(kind__in=DONOR_KINDS).values_list("code", flat=True))


def organizations_by_kind() -> dict[str, int]:
    rows = Organization.objects.values("kind").annotate(n=Count("id")).order_by("kind")
    return {row["kind"]: row["n"] for row in rows}

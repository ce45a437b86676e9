"""Counts per entity, for the operator (`umbrella stats`); not filtered by need-to-know."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Count

from umbrella.catalog.models import CapabilityArea, Compatibility, ItemType
from umbrella.core.models import ChangeRecord
from umbrella.needs.models import ListState, Requirement, RequirementList
from umbrella.orgs.models import GdpFigure, Membership, Organization
from umbrella.pledges.models import Pledge, PledgeSource


def _by(queryset, field: str) -> dict[str, int]:
    return {row[field]: row["n"] for row in queryset.values(field).annotate(n=Count("pk")).order_by(field)}


def entity_counts() -> dict:
    return {
        "organizations": {"total": Organization.objects.count(), "by_kind": _by(Organization.objects, "kind")},
        "users": get_user_model().objects.count(),
        "memberships": Membership.objects.count(),
        "gdp_figures": GdpFigure.objects.count(),
        "capability_areas": CapabilityArea.objects.count(),
        "item_types": {"total": ItemType.objects.count(), "by_capability_area": _by(ItemType.objects, "capability_area__code")},
        "compatibilities": {"total": Compatibility.objects.count(), "by_kind": _by(Compatibility.objects, "kind")},
        "requirement_lists": {"total": RequirementList.objects.count(), "by_state": _by(RequirementList.objects, "state")},
        "requirements": {
            "total": Requirement.objects.count(),
            "on_approved_lists": Requirement.objects.filter(requirement_list__state=ListState.APPROVED).count(),
        },
        "pledges": {"total": Pledge.objects.count(), "by_state": _by(Pledge.objects, "state")},
        "pledge_sources": PledgeSource.objects.count(),
        "ledger_entries": ChangeRecord.objects.count(),
    }

"""Saving a withdrawal scenario: coordination staff only; the one record written is the scenario itself."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from umbrella.core import services
from umbrella.core.access import Actor, OrganizationKind, Role, require_role
from umbrella.core.errors import Invalid
from umbrella.scenarios.analysis import analyse
from umbrella.scenarios.models import WithdrawalRole, WithdrawalScenario

PLANNERS = frozenset({OrganizationKind.COORDINATOR})


def require_planner(actor: Actor) -> None:
    require_role(actor, Role.EDITOR, kinds=PLANNERS, doing=_("Working on withdrawal scenarios"))


def save_scenario(
    *, actor: Actor, name: str, donors: list[str], as_of: dt.date, role: str = WithdrawalRole.PAYER
) -> WithdrawalScenario:
    require_planner(actor)
    if not name.strip():
        raise Invalid({"name": [_("Give the scenario a name.")]})
    results = analyse(actor=actor, donors=donors, as_of=as_of, role=role)
    with services.atomic():
        return services.create_record(
            actor=actor,
            obj=WithdrawalScenario(
                owner=services.acting_organization(actor),
                name=name.strip(),
                donors=results["donors"],
                as_of=as_of,
                role=results["role"],
                requirement_list_id=results["requirement_list"],
                results=results,
            ),
        )


def preview_scenario(*, actor: Actor, donors: list[str], as_of: dt.date, role: str = WithdrawalRole.PAYER) -> dict:
    """The same results without saving anything."""
    require_planner(actor)
    return analyse(actor=actor, donors=donors, as_of=as_of, role=role)

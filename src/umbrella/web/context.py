"""What the header of every page needs: who is acting, and which parts of the site are theirs to use.

A link appears when the person may do something there or has something to see there, decided by the same
checks the services run (`allowed`) and the same read rule (`visible_to`); read-only people get no link to
an empty page or to a form that would refuse them. Values are callables, so a page that draws no header
(an htmx partial) asks nothing of the database."""

from __future__ import annotations

from functools import cache

from umbrella.core import imports
from umbrella.core.access import Actor, allowed
from umbrella.matching import services as matching
from umbrella.matching.models import Allocation, MatchRun
from umbrella.scenarios import services as scenarios
from umbrella.scenarios.models import WithdrawalScenario


def may_import(actor: Actor) -> bool:
    """Whether any kind of record can be imported by this person (the import page offers only those)."""
    return actor.is_member and bool(imports.importers_for(actor))


def shows_matching(actor: Actor) -> bool:
    return actor.is_member and (allowed(matching.require_match_runner, actor) or MatchRun.objects.visible_to(actor).exists())


def shows_allocations(actor: Actor) -> bool:
    return actor.is_member and (
        allowed(matching.require_allocation_approver, actor) or Allocation.objects.visible_to(actor).exists()
    )


def shows_scenarios(actor: Actor) -> bool:
    return actor.is_member and (
        allowed(scenarios.require_planner, actor) or WithdrawalScenario.objects.visible_to(actor).exists()
    )


def navigation(request) -> dict:
    actor = getattr(request, "actor", None)
    if actor is None:
        return {"actor": None, "can_import": False, "shows_matching": False, "shows_allocations": False, "shows_scenarios": False}
    return {
        "actor": actor,
        "can_import": cache(lambda: may_import(actor)),
        "shows_matching": cache(lambda: shows_matching(actor)),
        "shows_allocations": cache(lambda: shows_allocations(actor)),
        "shows_scenarios": cache(lambda: shows_scenarios(actor)),
    }

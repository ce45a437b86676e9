"""A withdrawal scenario, computed from live data and writing none of it.

Choose donors and a date. Their undelivered pledges (accepted, allocated or shipped) and their funding from
that year on that is not yet disbursed drop out. The matching is solved twice, on everything and on what
remains, both planning again every allocation not yet shipped, so the difference is the donors' doing and
not an artefact of earlier choices. The money lost each year is what the remaining participants of that
year's floor would have to add, each at its GDP share among them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import Sum
from django.utils.translation import gettext as _

from umbrella.core.access import Actor
from umbrella.core.errors import Invalid
from umbrella.funding import fairshare
from umbrella.funding.models import Funding, FundingState
from umbrella.funding.queries import gdp_in_common_unit, participants_of
from umbrella.matching.inputs import UNDELIVERED_STATES
from umbrella.matching.market import Policy
from umbrella.matching.queries import reason_text, requirement_label
from umbrella.matching.solving import Computed, compute, latest_approved_list
from umbrella.orgs.models import Organization
from umbrella.pledges.models import Pledge

EPSILON = 1e-9
NOT_DISBURSED = (FundingState.PLEDGED, FundingState.COMMITTED)


def _covered(computed: Computed) -> dict[int, float]:
    return {r.pk: o.covered for r, o in zip(computed.rows.requirements, computed.explanation.requirements, strict=True)}


def _uncovered(before: Computed, after: Computed) -> list[dict]:
    was = _covered(before)
    out = []
    for requirement, outcome in zip(after.rows.requirements, after.explanation.requirements, strict=True):
        if outcome.covered < was.get(requirement.pk, 0.0) - EPSILON:
            out.append(
                {
                    "requirement": requirement.pk,
                    "label": requirement_label(requirement),
                    "priority": requirement.priority,
                    "area": requirement.item_type.capability_area.name,
                    "quantity": requirement.quantity,
                    "covered_before": was[requirement.pk],
                    "covered_after": outcome.covered,
                    "status_after": outcome.status,
                    "reason": outcome.reason,
                    "reason_text": reason_text(
                        outcome.reason, outcome.late_days, [requirement_label(after.rows.requirements[i]) for i in outcome.named]
                    ),
                }
            )
    return sorted(out, key=lambda u: (u["priority"], u["requirement"]))


def _lost_by_year(actor: Actor, donors: list[str], as_of: dt.date) -> dict[int, dict[str, str]]:
    lost: dict[int, dict[str, Decimal]] = defaultdict(lambda: {"funding_eur": Decimal(0), "in_kind_eur": Decimal(0)})
    funding = (
        Funding.objects.visible_to(actor)
        .filter(owner__code__in=donors, state__in=NOT_DISBURSED, year__gte=as_of.year)
        .values("year")
        .annotate(total=Sum("value_eur"))
    )
    for row in funding:
        lost[row["year"]]["funding_eur"] += Decimal(row["total"])
    for pledge in (
        Pledge.objects.visible_to(actor)
        .filter(owner__code__in=donors, state__in=UNDELIVERED_STATES)
        .only("value_eur", "available_from")
    ):
        lost[max(pledge.available_from.year, as_of.year)]["in_kind_eur"] += pledge.value_eur
    return {
        year: {
            **{k: str(v.quantize(Decimal("0.01"))) for k, v in parts.items()},
            "total_eur": str((parts["funding_eur"] + parts["in_kind_eur"]).quantize(Decimal("0.01"))),
        }
        for year, parts in sorted(lost.items())
    }


def _top_ups(actor: Actor, lost: dict[int, dict[str, str]], donors: list[str]) -> dict[int, list[dict]]:
    top_ups = {}
    for year, parts in lost.items():
        _floor, organizations, _exemptions, _configured = participants_of(actor, year)
        remaining = [o for o in organizations if o.code not in donors]
        gdp, _unit, _missing = gdp_in_common_unit(year, remaining)
        participants = [fairshare.Participant(o.code, o.name, gdp[o.code]) for o in remaining if o.code in gdp]
        if not participants or Decimal(parts["total_eur"]) <= 0:
            continue
        split = fairshare.targets(Decimal(parts["total_eur"]), participants)
        total_gdp = sum(p.gdp_eur for p in participants)
        top_ups[year] = sorted(
            (
                {"code": p.code, "name": p.name, "gdp_share": float(p.gdp_eur / total_gdp), "top_up_eur": str(split[p.code])}
                for p in participants
            ),
            key=lambda t: -Decimal(t["top_up_eur"]),
        )
    return top_ups


def analyse(*, actor: Actor, donors: list[str], as_of: dt.date) -> dict:
    known = set(Organization.objects.filter(code__in=donors).values_list("code", flat=True))
    unknown = sorted(set(donors) - known)
    if not donors or unknown:
        message = (
            _("No organization with the code %(codes)s.") % {"codes": ", ".join(unknown)}
            if unknown
            else _("Choose at least one donor.")
        )
        raise Invalid({"donors": [message]})
    requirement_list = latest_approved_list(actor)
    policy = Policy()
    before = compute(actor=actor, requirement_list=requirement_list, keep_approved=False, policy=policy)
    after = compute(
        actor=actor, requirement_list=requirement_list, keep_approved=False, policy=policy, withdrawn_donors=frozenset(donors)
    )
    uncovered = _uncovered(before, after)
    by_area: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for item in uncovered:
        by_area[item["area"]][str(item["priority"])] += 1
    lost = _lost_by_year(actor, donors, as_of)
    return {
        "donors": sorted(donors),
        "as_of": as_of.isoformat(),
        "requirement_list": requirement_list.pk,
        "requirement_list_label": str(requirement_list),
        "coverage_points_before": round(before.coverage_points, 3),
        "coverage_points_after": round(after.coverage_points, 3),
        "points_available": round(float(before.points.sum()), 3),
        "pledges_dropped": before.rows.market.offers - after.rows.market.offers,
        "allocations_dropped": len(before.rows.kept)
        + len(before.rows.replanned)
        - len(after.rows.kept)
        - len(after.rows.replanned),
        "uncovered": uncovered,
        "uncovered_by_area_priority": {area: dict(counts) for area, counts in sorted(by_area.items())},
        "lost_by_year": {str(year): parts for year, parts in lost.items()},
        "top_ups": {str(year): rows for year, rows in _top_ups(actor, lost, donors).items()},
    }

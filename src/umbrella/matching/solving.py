"""Matching's read pipeline: from the open market to a solved and explained result, in the form a run stores.

Nothing here writes: `services.run_match` stores what `compute` returns, and a withdrawal scenario calls
`compute` on its own to compare what-ifs without touching a run.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.utils.translation import gettext as _

from umbrella.core.access import Actor
from umbrella.core.errors import NotFound
from umbrella.matching import packages as kits
from umbrella.matching import reasons as why
from umbrella.matching.engine import Solution, solve
from umbrella.matching.inputs import MarketRows, open_market
from umbrella.matching.market import Candidates, Policy, candidate_arcs, greedy_flow, requirement_points
from umbrella.needs.models import ListState, RequirementList

QUANTUM = Decimal("0.001")
Progress = Callable[[str], None]


def _quantity(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(QUANTUM)


def latest_approved_list(actor: Actor) -> RequirementList:
    found = RequirementList.objects.visible_to(actor).filter(state=ListState.APPROVED).order_by("-approved_at", "-id").first()
    if found is None:
        raise NotFound(_("There is no approved requirement list to match against."))
    return found


@dataclass
class Computed:
    rows: MarketRows
    candidates: Candidates
    solution: Solution
    explanation: why.Explanation
    points: np.ndarray
    greedy_objective: float
    greedy_points: float
    seconds: dict
    packages: list[kits.IncompletePackage] = field(default_factory=list)

    @property
    def coverage_points(self) -> float:
        usable = self.candidates.usable
        return coverage_points(
            self.rows, self.points, self.candidates.requirement[usable], self.solution.flow * self.candidates.gain[usable]
        )


def compute(
    *,
    actor: Actor,
    requirement_list: RequirementList,
    keep_approved: bool,
    policy: Policy,
    progress: Progress = lambda stage: None,
    withdrawn_pledges: frozenset[int] = frozenset(),
) -> Computed:
    """Read the market and solve it; writes nothing (a withdrawal scenario calls this on its own)."""
    seconds, started = {}, time.perf_counter()
    progress("reading requirements, pledges and allocations")
    rows = open_market(
        actor=actor, requirement_list=requirement_list, keep_approved=keep_approved, withdrawn_pledges=withdrawn_pledges
    )
    seconds["read"] = time.perf_counter() - started
    progress("building candidate arcs")
    candidates = candidate_arcs(rows.market, policy)
    problem = kits.build_problem(rows.market, candidates, policy)
    seconds["build"] = time.perf_counter() - started - seconds["read"]
    progress(f"solving {len(problem.arc_cost):,} arcs")
    solution = solve(problem)
    greedy_flows = greedy_flow(problem, rows.market.requirement_priority)
    greedy = problem.objective_of(greedy_flows)
    seconds["solve"] = time.perf_counter() - started - seconds["read"] - seconds["build"]
    progress("explaining the outcome")
    points = requirement_points(rows.market, policy)
    explanation = why.explain(
        rows.market,
        candidates,
        solution.flow,
        original_quantity=rows.original_quantity,
        points=points,
        diversity=problem.diversity_active,
    )
    incomplete = kits.incomplete_packages(rows.market, candidates, solution.flow)
    return Computed(
        rows,
        candidates,
        solution,
        explanation,
        points,
        greedy,
        coverage_points(rows, points, problem.arc_requirement, greedy_flows * problem.arc_gain),
        {k: round(v, 3) for k, v in seconds.items()},
        incomplete,
    )


def coverage_points(rows: MarketRows, points: np.ndarray, arc_requirement: np.ndarray, covers: np.ndarray) -> float:
    """Points earned: each requirement's points times the share of it covered, approved allocations included."""
    delivered = np.bincount(arc_requirement, weights=covers, minlength=rows.market.requirements)
    covered = rows.original_quantity - rows.market.requirement_quantity + delivered
    return float(np.sum(points * np.minimum(covered / np.maximum(rows.original_quantity, 1e-12), 1.0)))


def proposals_of(computed: Computed, policy: Policy) -> list[dict]:
    rows, candidates, flow = computed.rows, computed.candidates, computed.solution.flow
    usable = candidates.usable
    share = computed.points / np.maximum(rows.original_quantity, 1e-12)
    out = []
    for position in np.flatnonzero(flow > why.EPSILON).tolist():
        arc = usable[position]
        o, r = int(candidates.offer[arc]), int(candidates.requirement[arc])
        covers = float(flow[position] * candidates.gain[arc])
        out.append(
            {
                "pledge": rows.pledges[o].pk,
                "requirement": rows.requirements[r].pk,
                "quantity": str(_quantity(flow[position])),
                "covers": str(_quantity(covers)),
                "substitute": bool(candidates.substitute[arc]),
                "late_days": int(candidates.late_days[arc]),
                "points": round(float(share[r] * covers), 6),
            }
        )
    return out


def _short_closed(computed: Computed) -> dict[int, list[int]]:
    """The pledges closed short among each requirement's kept allocations: what they did not deliver is missing."""
    short: dict[int, list[int]] = {}
    for allocation in computed.rows.kept:
        if allocation.pledge.closed_short:
            short.setdefault(allocation.requirement_id, []).append(allocation.pledge_id)
    return short


def requirement_outcomes_of(computed: Computed) -> list[dict]:
    ids = [r.pk for r in computed.rows.requirements]
    short = _short_closed(computed)
    outcomes = []
    for i, o in enumerate(computed.explanation.requirements):
        reason, named = o.reason, [ids[n] for n in o.named]
        if o.status != why.MET and ids[i] in short:  # a pledge meant for it was closed short: say so first
            reason, named = why.SHORT_DELIVERY, sorted(short[ids[i]])
        outcomes.append(
            {
                "requirement": ids[i],
                "covered": str(_quantity(o.covered)),
                "status": o.status,
                "reason": reason,
                "late_days": o.late_days,
                "named": named,
            }
        )
    return outcomes


def offer_outcomes_of(computed: Computed) -> list[dict]:
    return [
        {
            "pledge": computed.rows.pledges[i].pk,
            "left_over": str(_quantity(o.left_over)),
            "reason": o.reason,
            "late_days": o.late_days,
        }
        for i, o in enumerate(computed.explanation.offers)
        if o.reason
    ]


def suggestions_of(computed: Computed) -> list[dict]:
    rows = computed.rows
    item_type_at = {index: r.item_type for r, index in zip(rows.requirements, rows.market.requirement_type.tolist(), strict=True)}
    return [
        {
            "item_type": item_type_at[s.item_type].code,
            "item_name": item_type_at[s.item_type].name,
            "quantity": s.quantity,
            "points": round(s.points, 3),
            "requirements": [rows.requirements[r].pk for r in s.requirements],
            "available_by": dt.date.fromordinal(s.needed_by).isoformat(),
        }
        for s in computed.explanation.suggestions
    ]


def package_outcomes_of(computed: Computed) -> list[dict]:
    """Every package the run leaves incomplete (launchers without munitions, munitions without launchers), with
    the reason, in the form a run stores."""
    rows = computed.rows
    return [
        {
            "destination": rows.destination_ids[p.destination],
            "item_type": rows.type_ids[p.item_type],
            "missing": p.missing,
            "reason": p.reason,
            "late_days": p.late_days,
            "named": [rows.requirements[r].pk for r in p.named],
            "held": str(_quantity(p.held)),
            "proposed": str(_quantity(p.proposed)),
        }
        for p in sorted(computed.packages, key=lambda p: (rows.destination_ids[p.destination], rows.type_ids[p.item_type]))
    ]

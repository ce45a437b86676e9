"""Why each requirement is (partly) unmet, why each offer is left over, and which extra pledges would help.

Pure (numpy only). Works on a `Market`, its `Candidates` and the engine's flow over the usable candidates.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from umbrella.matching.market import TOO_LATE, USABLE, Candidates, Market

EPSILON = 1e-9
MAX_NAMED = 5

# Requirement outcomes
MET, PARTLY_MET, UNMET = "met", "partly_met", "unmet"
# Reasons (for requirements and offers)
NO_COMPATIBLE_OFFER = "no_compatible_offer"
TAKEN_BY_HIGHER_PRIORITY = "taken_by_higher_priority"
TAKEN_BY_OTHER_REQUIREMENTS = "taken_by_other_requirements"
SUPPLY_EXHAUSTED = "supply_exhausted"  # every compatible unit already goes to this very requirement
AVAILABLE_TOO_LATE = "available_too_late"
EXCLUDED_BY_DONOR_CONDITION = "excluded_by_donor_condition"
INDIVISIBLE_UNITS = "indivisible_units"
FLEET_DIVERSITY = "fleet_diversity"
DELIVERED_LATE = "delivered_late"
NO_OPEN_REQUIREMENT = "no_open_requirement"
REQUIREMENTS_ALREADY_MET = "requirements_already_met"
SHORT_DELIVERY = "short_delivery"  # an allocated pledge was closed short; `named` holds those pledges


@dataclass
class RequirementOutcome:
    covered: float  # in the requirement's units, approved allocations included
    status: str
    reason: str  # "" when met on time
    late_days: int  # for available_too_late: how late the earliest candidate is; for delivered_late: the latest arc used
    named: list[int]  # requirements that took the supply (for the taken_by_* reasons), highest priority first


@dataclass
class OfferOutcome:
    left_over: float
    reason: str  # "" when fully used
    late_days: int


@dataclass
class Suggestion:
    item_type: int
    quantity: float
    points: float
    requirements: list[int]
    needed_by: int  # the earliest needed-by day among them


@dataclass
class Explanation:
    requirements: list[RequirementOutcome]
    offers: list[OfferOutcome]
    suggestions: list[Suggestion]


def _by_index(keys: np.ndarray, size: int) -> list[np.ndarray]:
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], np.arange(size + 1))
    return [order[bounds[i] : bounds[i + 1]] for i in range(size)]


class _Context:
    def __init__(
        self, market: Market, candidates: Candidates, flow: np.ndarray, original_quantity: np.ndarray, diversity: bool
    ) -> None:
        self.market, self.candidates, self.diversity = market, candidates, diversity
        self.arc_flow = np.zeros(len(candidates.offer))
        self.arc_flow[candidates.usable] = flow
        self.original = original_quantity
        delivered = np.bincount(candidates.requirement, weights=self.arc_flow * candidates.gain, minlength=market.requirements)
        self.requirement_left = market.requirement_quantity - delivered
        self.offer_left = market.offer_quantity - np.bincount(candidates.offer, weights=self.arc_flow, minlength=market.offers)
        self.of_requirement = _by_index(candidates.requirement, market.requirements)
        self.of_offer = _by_index(candidates.offer, market.offers)
        self.takers = self._takers()

    def _takers(self) -> dict[int, set[int]]:
        takers: dict[int, set[int]] = defaultdict(set)
        used = np.flatnonzero(self.arc_flow > EPSILON)
        for offer, requirement in zip(
            self.candidates.offer[used].tolist(), self.candidates.requirement[used].tolist(), strict=True
        ):
            takers[offer].add(requirement)
        for offer, requirement in zip(self.market.fixed_offer.tolist(), self.market.fixed_requirement.tolist(), strict=True):
            takers[offer].add(requirement)
        return takers

    def offer_exhausted(self, offer: int) -> bool:
        left = self.offer_left[offer]
        return left < 1 - EPSILON if self.market.offer_integer[offer] else left <= EPSILON

    def leftover_reason(self) -> str:
        return FLEET_DIVERSITY if self.diversity else INDIVISIBLE_UNITS


def _unusable_reason(candidates: Candidates, arcs: np.ndarray) -> tuple[str, int]:
    late = arcs[candidates.status[arcs] == TOO_LATE]
    if len(late):
        return AVAILABLE_TOO_LATE, int(candidates.late_days[late].min())
    return EXCLUDED_BY_DONOR_CONDITION, 0


def _requirement_outcome(ctx: _Context, r: int) -> RequirementOutcome:
    market, candidates = ctx.market, ctx.candidates
    covered = float(ctx.original[r] - ctx.requirement_left[r])
    arcs = ctx.of_requirement[r]
    used = arcs[ctx.arc_flow[arcs] > EPSILON]
    late_used = int(candidates.late_days[used].max()) if len(used) else 0
    if ctx.requirement_left[r] <= EPSILON:
        return RequirementOutcome(covered, MET, DELIVERED_LATE if late_used else "", late_used, [])
    status = PARTLY_MET if covered > EPSILON else UNMET
    if not len(arcs):
        return RequirementOutcome(covered, status, NO_COMPATIBLE_OFFER, 0, [])
    usable = arcs[candidates.status[arcs] == USABLE]
    if not len(usable):
        reason, days = _unusable_reason(candidates, arcs)
        return RequirementOutcome(covered, status, reason, days, [])
    offers = np.unique(candidates.offer[usable])
    if not all(ctx.offer_exhausted(o) for o in offers.tolist()):
        return RequirementOutcome(covered, status, ctx.leftover_reason(), late_used, [])
    takers = sorted(
        {t for o in offers.tolist() for t in ctx.takers.get(o, ()) if t != r},
        key=lambda t: (market.requirement_priority[t], market.requirement_needed_by[t], t),
    )
    if not takers:
        return RequirementOutcome(covered, status, SUPPLY_EXHAUSTED, late_used, [])
    higher = all(market.requirement_priority[t] < market.requirement_priority[r] for t in takers)
    reason = TAKEN_BY_HIGHER_PRIORITY if higher else TAKEN_BY_OTHER_REQUIREMENTS
    return RequirementOutcome(covered, status, reason, late_used, takers[:MAX_NAMED])


def _offer_outcome(ctx: _Context, o: int) -> OfferOutcome:
    left = float(max(ctx.offer_left[o], 0.0))
    if ctx.offer_exhausted(o):
        return OfferOutcome(left, "", 0)
    arcs = ctx.of_offer[o]
    if not len(arcs):
        return OfferOutcome(left, NO_OPEN_REQUIREMENT, 0)
    usable = arcs[ctx.candidates.status[arcs] == USABLE]
    if not len(usable):
        reason, days = _unusable_reason(ctx.candidates, arcs)
        return OfferOutcome(left, reason, days)
    if np.all(ctx.requirement_left[ctx.candidates.requirement[usable]] <= EPSILON):
        return OfferOutcome(left, REQUIREMENTS_ALREADY_MET, 0)
    return OfferOutcome(left, ctx.leftover_reason(), 0)


def _suggestions(ctx: _Context, points: np.ndarray, limit: int) -> list[Suggestion]:
    """For the largest gaps: one pledge per item type asked for, of the missing quantity, on time. Its worth
    is the coverage points the gaps it fills would earn (it adds exactly that: the gaps are unmet demand)."""
    market = ctx.market
    gap = np.maximum(ctx.requirement_left, 0.0)
    open_gaps = np.flatnonzero(gap > EPSILON)
    by_type: dict[int, Suggestion] = {}
    for r in open_gaps.tolist():
        t = int(market.requirement_type[r])
        worth = float(points[r] * gap[r] / max(ctx.original[r], EPSILON))
        entry = by_type.setdefault(t, Suggestion(t, 0.0, 0.0, [], int(market.requirement_needed_by[r])))
        entry.quantity += float(gap[r])
        entry.points += worth
        entry.requirements.append(r)
        entry.needed_by = min(entry.needed_by, int(market.requirement_needed_by[r]))
    ranked = sorted(by_type.values(), key=lambda s: (-s.points, s.item_type))[:limit]
    for suggestion in ranked:
        suggestion.quantity = float(np.ceil(suggestion.quantity - EPSILON))
    return ranked


def explain(
    market: Market,
    candidates: Candidates,
    flow: np.ndarray,
    *,
    original_quantity: np.ndarray,
    points: np.ndarray,
    diversity: bool,
    suggestions: int = 10,
) -> Explanation:
    ctx = _Context(market, candidates, flow, original_quantity, diversity)
    return Explanation(
        requirements=[_requirement_outcome(ctx, r) for r in range(market.requirements)],
        offers=[_offer_outcome(ctx, o) for o in range(market.offers)],
        suggestions=_suggestions(ctx, points, suggestions),
    )

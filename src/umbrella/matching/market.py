"""From needs and offers to a matching problem: candidate arcs, their values, and why some are left out.

Pure (numpy only; no Django). `umbrella.matching.inputs` fills a `Market` from the database; the benchmarks
fill one from the demo generator. Every weight is in `Policy` and explained in docs/matching.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from umbrella.matching.engine import Problem
from umbrella.matching.transport import Legs, Routes, legs

USABLE, EXCLUDED_BY_CONDITION, TOO_LATE = 0, 1, 2
# The package bonus a run with `complete_packages` uses: see docs/matching.md ("Complete packages") for why.
COMPLETE_PACKAGE_POINTS = 1_000.0


@dataclass(frozen=True)
class Policy:
    """The objective's weights. Coverage points: covering the whole of a requirement of priority p earns
    `priority_points[p]`; part of it earns that share. Preferences are fractions of what an arc earns."""

    priority_points: dict[int, float] = field(default_factory=lambda: {1: 10_000.0, 2: 1_000.0, 3: 100.0, 4: 10.0, 5: 1.0})
    max_late_days: int = 180  # an offer available later than this after the needed-by date is no candidate
    late_fraction: float = 0.5  # share of an arc's value lost at max_late_days late (linear from 0 days)
    substitute_fraction: float = 0.1  # share lost when a substitute, not the item asked for, is delivered
    diversity_points: float = 0.0  # coverage points lost per extra type of system in one capability area at one destination
    package_points: float = 0.0  # coverage points earned per package (launchers with munitions) completed at a destination
    transport_fraction: float = 0.02  # share lost by an arc whose route is transport_reference_km or longer
    transport_reference_km: float = 3000.0

    def __post_init__(self) -> None:
        fractions = (self.late_fraction, self.substitute_fraction, self.transport_fraction)
        if self.max_late_days < 0 or not all(0 <= fraction < 1 for fraction in fractions):
            raise ValueError("max_late_days ≥ 0 and every fraction in [0, 1)")
        if sum(fractions) >= 1:
            raise ValueError("a late, far substitute must still be worth something: late + substitute + transport below 1")
        if self.transport_reference_km <= 0:
            raise ValueError("the transport reference distance must be positive")
        if self.diversity_points < 0:
            raise ValueError("diversity points must not be negative")
        if self.package_points < 0:
            raise ValueError("package points must not be negative")


@dataclass(frozen=True)
class Market:
    """What is still open: requirements (what is left to cover) and offers (what is left to give).

    Days are integers (days since any fixed date). Indices into item types, destinations and areas are the
    caller's. `fixed_*` are allocations already approved (in offer units), which the run keeps."""

    requirement_type: np.ndarray
    requirement_quantity: np.ndarray
    requirement_priority: np.ndarray
    requirement_needed_by: np.ndarray
    requirement_destination: np.ndarray
    requirement_area: np.ndarray
    requirement_substitutes: np.ndarray
    offer_type: np.ndarray
    offer_quantity: np.ndarray
    offer_available: np.ndarray
    offer_integer: np.ndarray
    offer_restricted: np.ndarray  # True: the donor allows only the destinations listed in allowed_*
    allowed_offer: np.ndarray
    allowed_destination: np.ndarray
    substitute_offered: np.ndarray  # item type offered …
    substitute_required: np.ndarray  # … stands in for this item type …
    substitute_ratio: np.ndarray  # … one offered unit covering this many required units
    offer_system: np.ndarray | None = None  # crew-served systems, the only kinds the fleet-diversity term counts (None: all)
    fixed_offer: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    fixed_requirement: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    fixed_quantity: np.ndarray = field(default_factory=lambda: np.zeros(0))
    routes: Routes | None = None  # where offers start and destinations lie; None: transport is not weighed
    # Packages (umbrella.matching.packages): crew-served system types and the munitions each fires …
    fires_system: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    fires_munition: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # … destinations lying within others (the gazetteer's hierarchy; each pair inner ⊂ outer, not itself) …
    nested_outer: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    nested_inner: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # … and what approved allocations the run keeps put where (item type offered, destination, units)
    held_destination: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    held_type: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    held_quantity: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def requirements(self) -> int:
        return len(self.requirement_type)

    @property
    def offers(self) -> int:
        return len(self.offer_type)


@dataclass(frozen=True)
class Candidates:
    """Every pairing the catalog allows, usable or not, with what the engine needs for the usable ones."""

    offer: np.ndarray
    requirement: np.ndarray
    gain: np.ndarray
    substitute: np.ndarray
    late_days: np.ndarray  # after the lead time: the day it would arrive, against the needed-by date
    status: np.ndarray  # USABLE, EXCLUDED_BY_CONDITION or TOO_LATE
    lead_days: np.ndarray  # days on the way from the pledge's origin through the best hub (0: unknown or unweighed)
    route_km: np.ndarray
    route_unknown: np.ndarray  # True where an origin or destination has no coordinates

    @property
    def usable(self) -> np.ndarray:
        return np.flatnonzero(self.status == USABLE)


def join_on_type(left_type: np.ndarray, right_type: np.ndarray, n_types: int) -> tuple[np.ndarray, np.ndarray]:
    """All (left, right) index pairs whose types are equal, without a Python loop."""
    if not len(left_type) or not len(right_type):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.argsort(right_type, kind="stable")
    counts = np.bincount(right_type, minlength=n_types)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    per_left = counts[left_type]
    total = int(per_left.sum())
    left = np.repeat(np.arange(len(left_type)), per_left)
    offsets = np.arange(total) - np.repeat(np.cumsum(per_left) - per_left, per_left)
    right = order[np.repeat(starts[left_type], per_left) + offsets]
    return left, right


def candidate_arcs(market: Market, policy: Policy) -> Candidates:
    n_types = (
        int(
            max(
                market.requirement_type.max(initial=-1),
                market.offer_type.max(initial=-1),
                market.substitute_offered.max(initial=-1),
                market.substitute_required.max(initial=-1),
            )
        )
        + 1
    )
    exact_req, exact_off = join_on_type(market.requirement_type, market.offer_type, n_types)
    # Substitutes: each requirement that accepts them is paired with each substitute for its type, then with offers.
    open_to_substitutes = np.flatnonzero(market.requirement_substitutes)
    pair_req_local, pair_sub = join_on_type(market.requirement_type[open_to_substitutes], market.substitute_required, n_types)
    pair_req = open_to_substitutes[pair_req_local]
    pair_index, sub_off = join_on_type(market.substitute_offered[pair_sub], market.offer_type, n_types)
    requirement = np.concatenate([exact_req, pair_req[pair_index]])
    offer = np.concatenate([exact_off, sub_off])
    gain = np.concatenate([np.ones(len(exact_req)), market.substitute_ratio[pair_sub[pair_index]]])
    substitute = np.concatenate([np.zeros(len(exact_req), dtype=bool), np.ones(len(pair_index), dtype=bool)])
    route = _route(market, offer, requirement)
    arrival = market.offer_available[offer] + route.lead_days
    late = np.maximum(arrival - market.requirement_needed_by[requirement], 0).astype(np.int64)
    status = np.full(len(offer), USABLE, dtype=np.int8)
    status[late > policy.max_late_days] = TOO_LATE
    status[_forbidden(market, offer, requirement)] = EXCLUDED_BY_CONDITION
    return Candidates(
        offer=offer,
        requirement=requirement,
        gain=gain,
        substitute=substitute,
        late_days=late,
        status=status,
        lead_days=route.lead_days,
        route_km=route.route_km,
        route_unknown=route.unknown,
    )


def _route(market: Market, offer: np.ndarray, requirement: np.ndarray) -> Legs:
    if market.routes is None:
        return Legs(
            lead_days=np.zeros(len(offer), dtype=np.int64), route_km=np.zeros(len(offer)), unknown=np.ones(len(offer), dtype=bool)
        )
    return legs(market.routes, offer, market.requirement_destination[requirement])


def _forbidden(market: Market, offer: np.ndarray, requirement: np.ndarray) -> np.ndarray:
    restricted = market.offer_restricted[offer]
    if not restricted.any():
        return restricted
    n_dest = int(max(market.requirement_destination.max(initial=0), market.allowed_destination.max(initial=0))) + 1
    allowed = market.allowed_offer.astype(np.int64) * n_dest + market.allowed_destination
    asked = offer[restricted].astype(np.int64) * n_dest + market.requirement_destination[requirement[restricted]]
    forbidden = np.zeros(len(offer), dtype=bool)
    forbidden[np.flatnonzero(restricted)] = ~np.isin(asked, allowed)
    return forbidden


def requirement_points(market: Market, policy: Policy) -> np.ndarray:
    """Each requirement's priority points: per unit in the objective, for the whole of it in coverage figures."""
    return (
        np.vectorize(policy.priority_points.__getitem__, otypes=[float])(market.requirement_priority)
        if market.requirements
        else np.zeros(0)
    )


def build_problem(market: Market, candidates: Candidates, policy: Policy) -> Problem:
    """The engine's problem over the usable candidates: priority-weighted demand, each unit of a requirement
    worth its priority's points. Only arcs into the same item type (or its substitutes) compete for a pledge,
    so units compete with like units; a factor of 10 between priorities puts higher priorities first."""
    arcs = candidates.usable
    weight = requirement_points(market, policy)
    requirement = candidates.requirement[arcs]
    earned = weight[requirement] * candidates.gain[arcs]
    late_share = (
        policy.late_fraction * np.minimum(candidates.late_days[arcs], policy.max_late_days) / max(policy.max_late_days, 1)
    )
    transport_share = policy.transport_fraction * np.minimum(candidates.route_km[arcs] / policy.transport_reference_km, 1.0)
    cost = earned * (late_share + policy.substitute_fraction * candidates.substitute[arcs] + transport_share)
    n_dest = int(market.requirement_destination.max(initial=0)) + 1
    group = market.requirement_area[requirement].astype(np.int64) * n_dest + market.requirement_destination[requirement]
    if market.offer_system is not None:  # ammunition, spares and supplies of many kinds make no "zoo"
        group = np.where(market.offer_system[candidates.offer[arcs]], group, -1)
    return Problem(
        requirement_quantity=market.requirement_quantity,
        requirement_weight=weight,
        offer_quantity=market.offer_quantity,
        offer_integer=market.offer_integer,
        arc_offer=candidates.offer[arcs],
        arc_requirement=requirement,
        arc_cost=cost,
        arc_gain=candidates.gain[arcs],
        arc_group=group,
        arc_kind=market.offer_type[candidates.offer[arcs]],
        diversity_penalty=policy.diversity_points,
    )


def greedy_flow(problem: Problem, priority: np.ndarray) -> np.ndarray:
    """The baseline a planner with a spreadsheet would reach: highest priority first (then the requirement
    worth most per unit), and for each requirement its best arcs first, as much as is left."""
    value = problem.arc_value
    arc_priority = priority[problem.arc_requirement]
    order = np.lexsort((-value, problem.arc_requirement, -problem.requirement_weight[problem.arc_requirement], arc_priority))
    offer_left = problem.offer_quantity.copy()
    requirement_left = problem.requirement_quantity.copy()
    flow = np.zeros(len(value))
    offers, requirements, gains = problem.arc_offer.tolist(), problem.arc_requirement.tolist(), problem.arc_gain.tolist()
    integer, values = problem.arc_integer.tolist(), value.tolist()
    for arc in order.tolist():
        if values[arc] <= 0:
            continue
        o, r = offers[arc], requirements[arc]
        amount = min(offer_left[o], requirement_left[r] / gains[arc])
        if integer[arc]:
            amount = float(np.floor(amount + 1e-9))
        if amount <= 0:
            continue
        flow[arc] = amount
        offer_left[o] -= amount
        requirement_left[r] -= amount * gains[arc]
    return flow

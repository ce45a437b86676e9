"""Complete packages at each destination: launchers beside the munitions they fire (pure, numpy only).

A *package* here is keyed by a destination and an item type that is part of some system's package:

* a crew-served system type that fires something (catalog `fires` links): its package at destination d is
  complete when some munition it fires is held or proposed at d or at a place d lies within or that lies within
  d (a depot at the oblast serves the sites in it; a site's stock serves the oblast's launchers);
* a munition some crew-served system fires: its package at d is complete when some system that fires it is
  held or proposed at d or at such a related place.

A key exists where its own item is present at exactly d (held or proposed, at least one unit); it is
*incomplete* when no partner item (munitions for a system, systems for a munition) is present at a related
place. "Held" is what the approved allocations the run keeps put there; "proposed" is the run's own flow.

`package_terms` gives the engine's package bonus (matching.engine.Problem) over the usable arcs;
`incomplete_packages` says, after the solve, which packages stay incomplete and why.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from umbrella.matching.engine import Problem
from umbrella.matching.market import TOO_LATE as ARC_TOO_LATE
from umbrella.matching.market import USABLE, Candidates, Market, Policy, join_on_type
from umbrella.matching.market import build_problem as plain_problem

ONE_UNIT = 1 - 1e-6  # a side needs at least one unit (HiGHS may leave 1 − 1e-7)
MAX_NAMED = 5

MISSING_MUNITIONS, MISSING_LAUNCHER = "munitions", "launcher"
# Why a package stays incomplete (for the missing side)
NOT_REQUESTED = "package_not_requested"  # the list asks for no partner item at or around the destination
NOT_OFFERED = "package_not_offered"  # asked for, but no accepted pledge offers one
TOO_LATE = "package_too_late"  # offered, but only too late
EXCLUDED = "package_excluded_by_donor_condition"  # offered, but the donors exclude the destination
SUPPLY_ELSEWHERE = "package_supply_elsewhere"  # asked for and offered, but the run gave the supply to others


@dataclass(frozen=True)
class Shape:
    n_types: int
    n_destinations: int
    partner_of: np.ndarray  # partner pairs: item type partner_of[i] …
    partner: np.ndarray  # … has partner item type partner[i] (systems ↔ the munitions they fire)
    related_from: np.ndarray  # destination pairs (both ways, each with itself): related_from[i] …
    related_to: np.ndarray  # … and related_to[i] lie one within the other
    systems: np.ndarray  # item types that are systems with a package (bool per type)

    def code(self, destination: np.ndarray, item_type: np.ndarray) -> np.ndarray:
        return destination.astype(np.int64) * self.n_types + item_type

    def split(self, code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return code // self.n_types, code % self.n_types


def shape_of(market: Market) -> Shape:
    n_types = (
        int(
            max(
                market.requirement_type.max(initial=-1),
                market.offer_type.max(initial=-1),
                market.fires_system.max(initial=-1),
                market.fires_munition.max(initial=-1),
                market.held_type.max(initial=-1),
            )
        )
        + 1
    )
    n_destinations = (
        int(
            max(
                market.requirement_destination.max(initial=-1),
                market.held_destination.max(initial=-1),
                market.nested_outer.max(initial=-1),
                market.nested_inner.max(initial=-1),
            )
        )
        + 1
    )
    own = np.arange(n_destinations)
    systems = np.zeros(max(n_types, 1), dtype=bool)
    systems[market.fires_system] = True
    return Shape(
        n_types=max(n_types, 1),
        n_destinations=max(n_destinations, 1),
        partner_of=np.concatenate([market.fires_system, market.fires_munition]).astype(np.int64),
        partner=np.concatenate([market.fires_munition, market.fires_system]).astype(np.int64),
        related_from=np.concatenate([own, market.nested_inner, market.nested_outer]).astype(np.int64),
        related_to=np.concatenate([own, market.nested_outer, market.nested_inner]).astype(np.int64),
        systems=systems,
    )


def own_codes(shape: Shape, destination: np.ndarray, item_type: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The package each entry (an item type at a destination) is itself part of: (entry index, key code)."""
    in_package = np.isin(item_type, shape.partner_of)
    entries = np.flatnonzero(in_package)
    return entries, shape.code(destination[entries], item_type[entries])


def partner_codes(shape: Shape, destination: np.ndarray, item_type: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The packages each entry completes as a partner: (entry index, key code), unique pairs. An entry of
    munitions M at d completes (d', S) for every system S firing M and every d' related to d; an entry of
    systems completes the packages of the munitions they fire the same way."""
    entry, pair = join_on_type(item_type.astype(np.int64), shape.partner_of, shape.n_types)
    if not len(entry):
        return entry, entry
    which, related = join_on_type(destination[entry].astype(np.int64), shape.related_from, shape.n_destinations)
    codes = shape.code(shape.related_to[related], shape.partner[pair[which]])
    unique = np.unique(np.column_stack([entry[which], codes]), axis=0)
    return unique[:, 0], unique[:, 1]


def _present(shape: Shape, destination: np.ndarray, item_type: np.ndarray, quantity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(destination, item type) pairs holding at least one unit in all."""
    codes, inverse = np.unique(shape.code(destination, item_type), return_inverse=True)
    total = np.bincount(inverse.ravel(), weights=quantity, minlength=len(codes))
    return shape.split(codes[total >= ONE_UNIT])


def _held(market: Market, shape: Shape) -> tuple[np.ndarray, np.ndarray]:
    return _present(shape, market.held_destination, market.held_type, market.held_quantity)


def package_terms(market: Market, candidates: Candidates, arcs: np.ndarray) -> dict:
    """The engine's package arrays over `arcs` (indices into the candidates, in the problem's arc order):
    memberships (arc position, package, side 0 = its own item, 1 = a partner) and which sides are held."""
    shape = shape_of(market)
    arc_destination = market.requirement_destination[candidates.requirement[arcs]]
    arc_type = market.offer_type[candidates.offer[arcs]]
    held_destination, held_type = _held(market, shape)
    arc_own, arc_own_code = own_codes(shape, arc_destination, arc_type)
    _, held_own_code = own_codes(shape, held_destination, held_type)
    keys = np.unique(np.concatenate([arc_own_code, held_own_code]))
    arc_partner, arc_partner_code = partner_codes(shape, arc_destination, arc_type)
    _, held_partner_code = partner_codes(shape, held_destination, held_type)
    held = np.column_stack([np.isin(keys, held_own_code), np.isin(keys, held_partner_code)])
    member_arc = np.concatenate([arc_own, arc_partner])
    member_code = np.concatenate([arc_own_code, arc_partner_code])
    member_side = np.concatenate([np.zeros(len(arc_own), dtype=np.int64), np.ones(len(arc_partner), dtype=np.int64)])
    found = np.isin(member_code, keys)
    return {
        "package_arc": member_arc[found],
        "package_of": np.searchsorted(keys, member_code[found]),
        "package_side": member_side[found],
        "package_held": held.reshape(-1, 2),
    }


def build_problem(market: Market, candidates: Candidates, policy: Policy) -> Problem:
    """The market's problem (umbrella.matching.market.build_problem) with the package bonus when the policy
    values complete packages (`package_points` > 0)."""
    problem = plain_problem(market, candidates, policy)
    if policy.package_points <= 0:
        return problem
    terms = package_terms(market, candidates, candidates.usable)
    return dataclasses.replace(problem, package_bonus=policy.package_points, **terms)


@dataclass
class IncompletePackage:
    destination: int
    item_type: int  # the system missing its munitions, or the munition missing its launchers
    missing: str  # MISSING_MUNITIONS or MISSING_LAUNCHER
    reason: str
    late_days: int
    named: list[int]  # requirements (indices) asking for the missing items at or around the destination
    held: float  # units of the item held there
    proposed: float  # units of the item the run proposes there
    arcs: list[int]  # candidate arcs (indices) whose flow the run proposes to it


def incomplete_packages(market: Market, candidates: Candidates, flow: np.ndarray) -> list[IncompletePackage]:
    """Every package left incomplete by the held allocations plus the run's flow (over the usable candidates),
    with the reason its missing side is missing."""
    shape = shape_of(market)
    if not len(shape.partner_of):
        return []
    usable = candidates.usable
    used = usable[flow > 1e-9]
    used_flow = flow[flow > 1e-9]
    arc_destination = market.requirement_destination[candidates.requirement[used]]
    arc_type = market.offer_type[candidates.offer[used]]
    destination = np.concatenate([market.held_destination, arc_destination]).astype(np.int64)
    item_type = np.concatenate([market.held_type, arc_type]).astype(np.int64)
    quantity = np.concatenate([market.held_quantity, used_flow])
    present_destination, present_type = _present(shape, destination, item_type, quantity)
    _, present_codes = own_codes(shape, present_destination, present_type)
    _, satisfied = partner_codes(shape, present_destination, present_type)
    incomplete = np.setdiff1d(present_codes, satisfied)
    if not len(incomplete):
        return []
    # Who asks for, and who could bring, the missing side of each incomplete package.
    req_entry, req_code = partner_codes(shape, market.requirement_destination, market.requirement_type)
    asking = np.isin(req_code, incomplete)
    arc_destination_all = market.requirement_destination[candidates.requirement]
    arc_entry, arc_code = partner_codes(shape, arc_destination_all, market.offer_type[candidates.offer])
    bringing = np.isin(arc_code, incomplete)
    asked_by = _grouped(req_code[asking], req_entry[asking])
    brought_by = _grouped(arc_code[bringing], arc_entry[bringing])
    own_entry, own_code = own_codes(shape, destination, item_type)
    held_count = len(market.held_destination)
    out = []
    for code in incomplete.tolist():
        mine = own_entry[own_code == code]
        held = float(quantity[mine[mine < held_count]].sum())
        proposed_entries = mine[mine >= held_count] - held_count
        d, t = (int(v) for v in shape.split(np.int64(code)))
        reason, days, named = _reason(market, candidates, asked_by.get(code), brought_by.get(code))
        out.append(
            IncompletePackage(
                destination=d,
                item_type=t,
                missing=MISSING_MUNITIONS if shape.systems[t] else MISSING_LAUNCHER,
                reason=reason,
                late_days=days,
                named=named,
                held=held,
                proposed=float(used_flow[proposed_entries].sum()),
                arcs=used[proposed_entries].tolist(),
            )
        )
    return out


def _grouped(codes: np.ndarray, entries: np.ndarray) -> dict[int, np.ndarray]:
    if not len(codes):
        return {}
    order = np.argsort(codes, kind="stable")
    keys, starts = np.unique(codes[order], return_index=True)
    return dict(zip(keys.tolist(), np.split(entries[order], starts[1:]), strict=True))


def _reason(
    market: Market, candidates: Candidates, asking: np.ndarray | None, arcs: np.ndarray | None
) -> tuple[str, int, list[int]]:
    """Why the missing side of one package is missing: nobody asks for it there, nobody offers it, it comes too
    late or the donors exclude the place, or the run gave the supply to other requirements (named: those at or
    around the destination that ask for it, most urgent first)."""
    requirements = set() if asking is None else set(asking.tolist())
    if arcs is not None:
        requirements |= set(candidates.requirement[arcs].tolist())
    if not requirements:
        return NOT_REQUESTED, 0, []
    named = sorted(requirements, key=lambda r: (market.requirement_priority[r], market.requirement_needed_by[r], r))[:MAX_NAMED]
    if arcs is None or not len(arcs):
        return NOT_OFFERED, 0, named
    status = candidates.status[arcs]
    if not np.any(status == USABLE):
        late = arcs[status == ARC_TOO_LATE]
        if len(late):
            return TOO_LATE, int(candidates.late_days[late].min()), named
        return EXCLUDED, 0, named
    return SUPPLY_ELSEWHERE, 0, named

"""The open market from the database: what the approved list still needs and what accepted pledges can give."""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.db.models import Q

from umbrella.catalog.models import Compatibility, CompatibilityKind
from umbrella.core.access import Actor
from umbrella.matching.market import Market
from umbrella.matching.models import Allocation, AllocationState
from umbrella.matching.transport import UNKNOWN, Routes
from umbrella.needs.models import Requirement, RequirementList
from umbrella.orgs.models import Organization
from umbrella.places.models import PATH_SEPARATOR, Place, PlaceKind
from umbrella.pledges.models import Pledge, PledgeDestination, PledgeState

OFFERED_STATES = (PledgeState.ACCEPTED, PledgeState.ALLOCATED)
UNDELIVERED_STATES = (PledgeState.ACCEPTED, PledgeState.ALLOCATED, PledgeState.SHIPPED, PledgeState.PARTLY_DELIVERED)


@dataclass
class MarketRows:
    """The rows behind each index of a Market, and its quantities before approved allocations."""

    market: Market
    requirements: list[Requirement]
    pledges: list[Pledge]
    original_quantity: np.ndarray
    kept: list[Allocation]  # approved allocations this run keeps fixed
    replanned: list[Allocation]  # approved allocations this run plans again (keep_approved off)
    destination_ids: list[int] = field(default_factory=list)  # the place behind each destination index
    type_ids: list[int] = field(default_factory=list)  # the item type behind each type index


class _Index(dict):
    def of(self, key) -> int:
        return self.setdefault(key, len(self))


def _kept_and_replanned(requirement_list: RequirementList, keep_approved: bool, withdrawn_pledges: frozenset[int]):
    relevant = (
        Allocation.objects.filter(
            Q(requirement__requirement_list=requirement_list) | Q(pledge__state__in=OFFERED_STATES),
            state=AllocationState.ACTIVE,
        )
        .select_related("pledge__owner", "pledge__item_type", "requirement")
        .order_by("id")
    )
    carried = set(Allocation.objects.carried().filter(pk__in=relevant.values("pk")).values_list("pk", flat=True))
    kept, replanned = [], []
    for allocation in relevant:
        if allocation.pledge_id in withdrawn_pledges and allocation.pledge.state in UNDELIVERED_STATES:
            allocation = _delivered_part(allocation)  # a what-if: the pledge stops, and what it has not delivered never arrives
            if allocation is None:
                continue
        movable = allocation.pledge.state == PledgeState.ALLOCATED and allocation.pk not in carried
        (replanned if movable and not keep_approved else kept).append(allocation)
    return kept, replanned


def _allowed_pairs(pledge_query, pledge_at: dict[int, int], destinations: _Index) -> tuple[set[int], list[tuple[int, int]]]:
    """The pledges whose donors name where they may go, and each (offer, destination) pair a condition allows.
    A condition follows the gazetteer: a pledge allowed to UA may go to every requirement's destination whose
    path runs through UA. Only the destinations the requirements name (in `destinations`) are expanded to."""
    links = list(
        PledgeDestination.objects.filter(pledge__in=pledge_query.values("pk")).values_list("pledge_id", "place_id", "place__path")
    )
    restricted = {pledge_id for pledge_id, _, _ in links}
    asked_paths = dict(Place.objects.filter(pk__in=list(destinations)).values_list("pk", "path"))
    within: dict[int, list[int]] = {}
    for _, place_id, path in links:
        if place_id not in within:
            prefix = path + PATH_SEPARATOR
            within[place_id] = [
                destinations[asked]
                for asked, asked_path in asked_paths.items()
                if asked_path == path or asked_path.startswith(prefix)
            ]
    pairs = [(pledge_at[pledge_id], d) for pledge_id, place_id, _ in links if pledge_id in pledge_at for d in within[place_id]]
    return restricted, pairs


def _routes(actor: Actor, pledges: list[Pledge], destinations: _Index) -> Routes:
    """Where each offer starts (its donor's country, when the gazetteer has it), where each destination and each
    hub lies, for the lead times the market judges lateness by (umbrella.matching.transport)."""
    places = Place.objects.visible_to(actor).filter(latitude__isnull=False)
    where = {
        pk: (float(lat), float(lon))
        for pk, lat, lon in places.filter(pk__in=list(destinations)).values_list("pk", "latitude", "longitude")
    }
    unknown = (np.nan, np.nan)
    destination_points = [where.get(place_id, unknown) for place_id in sorted(destinations, key=destinations.get)]
    hubs = list(places.filter(hub_capacity__isnull=False).values_list("latitude", "longitude", "hub_handling_days"))
    countries = _countries(places)
    iso3 = dict(Organization.objects.filter(pk__in={p.owner_id for p in pledges}).values_list("pk", "iso3"))
    origins = _Index()
    offer_origin = [origins.of(iso3[p.owner_id]) if (iso3[p.owner_id] or "").upper() in countries else UNKNOWN for p in pledges]
    origin_points = [countries[code.upper()] for code in sorted(origins, key=origins.get)]
    return Routes(
        origin_lat=np.array([lat for lat, _ in origin_points], dtype=float),
        origin_lon=np.array([lon for _, lon in origin_points], dtype=float),
        offer_origin=np.array(offer_origin, dtype=np.int64),
        destination_lat=np.array([lat for lat, _ in destination_points], dtype=float),
        destination_lon=np.array([lon for _, lon in destination_points], dtype=float),
        hub_lat=np.array([float(lat) for lat, _, _ in hubs]),
        hub_lon=np.array([float(lon) for _, lon, _ in hubs]),
        hub_handling_days=np.array([float(days or 0) for _, _, days in hubs]),
    )


def _nested(destinations: _Index) -> dict[str, np.ndarray]:
    """Which destinations lie within which (the gazetteer's paths): a package at a site is completed by what
    stands at its oblast, and the other way round."""
    paths = sorted(Place.objects.filter(pk__in=list(destinations)).values_list("path", "pk"))
    index = {path: destinations[pk] for path, pk in paths}
    outer, inner = [], []
    for path, pk in paths:
        parts = path.split(PATH_SEPARATOR)
        for depth in range(1, len(parts)):
            ancestor = PATH_SEPARATOR.join(parts[:depth])
            if ancestor in index:
                outer.append(index[ancestor])
                inner.append(destinations[pk])
    return {"nested_outer": np.array(outer, dtype=np.int64), "nested_inner": np.array(inner, dtype=np.int64)}


def _countries(places) -> dict[str, tuple[float, float]]:
    """Each country's point by its code and by every other name it goes by (its ISO alpha-3 code among them)."""
    found = {}
    for lat, lon, code, aliases in places.filter(kind=PlaceKind.COUNTRY).values_list("latitude", "longitude", "code", "aliases"):
        for name in [code, *re.split(r"[;\n]", aliases)]:
            if name.strip():
                found[name.strip().upper()] = (float(lat), float(lon))
    return found


def _delivered_part(allocation: Allocation) -> Allocation | None:
    """The share of an allocation its pledge has delivered (the pledge's received share; None when nothing
    arrived), as an unsaved copy: a what-if keeps what is already there."""
    pledge = allocation.pledge
    if not pledge.quantity_delivered:
        return None
    share = Decimal(pledge.quantity_delivered) / Decimal(pledge.quantity)
    part = copy.copy(allocation)
    part.quantity, part.covers = allocation.quantity * share, allocation.covers * share
    return part


def open_market(
    *, actor: Actor, requirement_list: RequirementList, keep_approved: bool, withdrawn_pledges: frozenset[int] = frozenset()
) -> MarketRows:
    """What is open now; with `withdrawn_pledges`, as if those pledges stopped (what they have not delivered gone).
    Which pledges a what-if withdraws, and why, is the caller's business (`umbrella.scenarios.analysis`)."""
    requirements = list(
        Requirement.objects.visible_to(actor)
        .filter(requirement_list=requirement_list)
        .select_related("item_type__capability_area")
        .order_by("id")
    )
    pledge_query = (
        Pledge.objects.visible_to(actor)
        .filter(state__in=OFFERED_STATES, quantity__isnull=False)  # an undisclosed quantity offers nothing to match yet
        .exclude(pk__in=withdrawn_pledges)
    )
    pledges = list(pledge_query.select_related("item_type").order_by("id"))
    kept, replanned = _kept_and_replanned(requirement_list, keep_approved, withdrawn_pledges)
    types, destinations, areas = _Index(), _Index(), _Index()
    requirement_at = {r.pk: i for i, r in enumerate(requirements)}
    pledge_at = {p.pk: i for i, p in enumerate(pledges)}
    covered, given = defaultdict(Decimal), defaultdict(Decimal)
    for allocation in kept:
        covered[allocation.requirement_id] += allocation.covers
        given[allocation.pledge_id] += allocation.quantity
    original = np.array([float(r.quantity) for r in requirements])
    requirement_destination = [destinations.of(r.destination_id) for r in requirements]
    restricted, allowed = _allowed_pairs(pledge_query, pledge_at, destinations)
    substitutes = list(
        Compatibility.objects.visible_to(actor)
        .filter(kind=CompatibilityKind.SUBSTITUTES_FOR)
        .values_list("source_id", "target_id", "ratio")
    )
    fixed = [a for a in kept if a.pledge_id in pledge_at and a.requirement_id in requirement_at]
    held_destination = [destinations.of(a.requirement.destination_id) for a in kept]
    fires = list(
        Compatibility.objects.visible_to(actor)
        .filter(kind=CompatibilityKind.FIRES, source__crew_size__gt=0)
        .values_list("source_id", "target_id")
    )
    market = Market(
        requirement_type=np.array([types.of(r.item_type_id) for r in requirements], dtype=np.int64),
        requirement_quantity=np.maximum(original - np.array([float(covered[r.pk]) for r in requirements]), 0.0),
        requirement_priority=np.array([r.priority for r in requirements], dtype=np.int64),
        requirement_needed_by=np.array([r.needed_by.toordinal() for r in requirements], dtype=np.int64),
        requirement_destination=np.array(requirement_destination, dtype=np.int64),
        requirement_area=np.array([areas.of(r.item_type.capability_area_id) for r in requirements], dtype=np.int64),
        requirement_substitutes=np.array([r.accept_substitutes for r in requirements], dtype=bool),
        offer_type=np.array([types.of(p.item_type_id) for p in pledges], dtype=np.int64),
        offer_quantity=np.maximum(np.array([float(p.quantity - given[p.pk]) for p in pledges]), 0.0),
        offer_available=np.array([p.available_from.toordinal() for p in pledges], dtype=np.int64),
        offer_integer=np.array([not p.item_type.bulk for p in pledges], dtype=bool),
        offer_restricted=np.array([p.pk in restricted for p in pledges], dtype=bool),
        offer_system=np.array([bool(p.item_type.crew_size) for p in pledges], dtype=bool),
        allowed_offer=np.array([o for o, _ in allowed], dtype=np.int64),
        allowed_destination=np.array([d for _, d in allowed], dtype=np.int64),
        substitute_offered=np.array([types.of(s) for s, _, _ in substitutes], dtype=np.int64),
        substitute_required=np.array([types.of(t) for _, t, _ in substitutes], dtype=np.int64),
        substitute_ratio=np.array([float(ratio) for _, _, ratio in substitutes]),
        fixed_offer=np.array([pledge_at[a.pledge_id] for a in fixed], dtype=np.int64),
        fixed_requirement=np.array([requirement_at[a.requirement_id] for a in fixed], dtype=np.int64),
        fixed_quantity=np.array([float(a.covers) for a in fixed]),
        fires_system=np.array([types.of(system) for system, _ in fires], dtype=np.int64),
        fires_munition=np.array([types.of(munition) for _, munition in fires], dtype=np.int64),
        held_destination=np.array(held_destination, dtype=np.int64),
        held_type=np.array([types.of(a.pledge.item_type_id) for a in kept], dtype=np.int64),
        held_quantity=np.array([float(a.quantity) for a in kept]),
        **_nested(destinations),
        routes=_routes(actor, pledges, destinations),
    )
    return MarketRows(
        market=market,
        requirements=requirements,
        pledges=pledges,
        original_quantity=original,
        kept=kept,
        replanned=replanned,
        destination_ids=sorted(destinations, key=destinations.get),
        type_ids=sorted(types, key=types.get),
    )

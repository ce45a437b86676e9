"""Consignment lists the pages and the API share, and what the requirements' coverage counts of them."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Case, F, IntegerField, Max, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from umbrella.core.access import Actor
from umbrella.core.ledger import entity_name
from umbrella.core.listing import Column, Filter, Listing, flag_filter
from umbrella.core.models import ChangeRecord
from umbrella.logistics.models import (
    NOT_YET_ARRIVED,
    ON_THE_WAY,
    Consignment,
    ConsignmentLine,
    ConsignmentState,
    Leg,
)
from umbrella.matching.models import Allocation, AllocationState
from umbrella.needs.models import ListState, Requirement
from umbrella.places.models import CapacityUnit, Place

LATE = gettext_lazy("late")
# Shipped, not handed over yet: what counts as in transit for a requirement.
TRAVELLING = frozenset({*ON_THE_WAY, ConsignmentState.ARRIVED, ConsignmentState.RECEIVED})


def late(actor: Actor) -> Q:
    """Consignments whose planned arrival (ETA) is past and that have not arrived (needs `eta` from `consignments`)."""
    return Q(state__in=NOT_YET_ARRIVED, eta__lt=timezone.localdate())


def consignments(actor: Actor) -> QuerySet[Consignment]:
    """The consignments the actor may see, with their ETA (the last leg's planned arrival), lines and legs."""
    return (
        Consignment.objects.visible_to(actor)
        .select_related("owner", "handover_place")
        .annotate(eta=Max("legs__planned_arrival"))
        .prefetch_related(
            Prefetch(
                "lines", ConsignmentLine.objects.visible_to(actor).select_related("allocation__pledge__item_type").order_by("id")
            ),
            Prefetch("legs", Leg.objects.visible_to(actor).select_related("from_place", "to_place").order_by("id")),
        )
    )


def is_late(consignment: Consignment) -> bool:
    eta = getattr(consignment, "eta", None)
    return consignment.state in NOT_YET_ARRIVED and eta is not None and eta < timezone.localdate()


def days_late(consignment: Consignment) -> int:
    """Days past its ETA: until today while it has not arrived, until its arrival once it has (0: on time)."""
    eta = getattr(consignment, "eta", None)
    if eta is None or consignment.state == ConsignmentState.CANCELLED:
        return 0
    if consignment.state in NOT_YET_ARRIVED:
        return max((timezone.localdate() - eta).days, 0)
    arrived = max((leg.actual_arrival for leg in consignment.legs.all() if leg.actual_arrival), default=None)
    return max((arrived - eta).days, 0) if arrived else 0


CONSIGNMENTS = Listing(
    columns=(
        Column(gettext_lazy("Consignment"), lambda o: o.reference, sort="reference", link=True),
        Column(gettext_lazy("Donor"), lambda o: o.owner.name, sort="owner__name"),
        Column(gettext_lazy("State"), lambda o: o.get_state_display(), sort="state"),
        Column(gettext_lazy("ETA"), lambda o: o.eta, sort="eta"),
        Column(gettext_lazy("Units"), lambda o: sum(line.quantity for line in o.lines.all()), numeric=True),
    ),
    filters=(
        Filter("state", gettext_lazy("State"), "state", lambda actor: ConsignmentState.choices),
        flag_filter("late", gettext_lazy("ETA passed, not arrived"), late),
    ),
    search=("reference", "owner__name"),
    default_sort="-id",
    flag=lambda o: LATE if is_late(o) else "",
    states={"state": ConsignmentState},
)


def requirement_flow(actor: Actor, requirement_ids) -> dict[int, dict[str, Decimal]]:
    """For each requirement (ids, or a queryset of them), in its own units: what was handed over, what is on its
    way (dispatched, at a hub, in transit, arrived or received but not yet handed over) and what is only
    allocated. Never more than its active allocations cover: each allocation's lines count at the share of it
    they ship, and no more than the allocation. Two queries, however many requirements."""
    active = Allocation.objects.visible_to(actor).filter(requirement_id__in=requirement_ids, state=AllocationState.ACTIVE)
    return _flow(actor, active, "requirement_id")


def _flow(actor: Actor, active: QuerySet[Allocation], key: str) -> dict[Any, dict[str, Decimal]]:
    """`requirement_flow` of these allocations, added up by the allocation's `key` (a field or a path)."""
    flow: dict[Any, dict[str, Decimal]] = defaultdict(_no_flow)
    allocations = list(active.values_list("pk", key, "quantity", "covers"))
    moved: dict[int, dict[str, Decimal]] = defaultdict(lambda: {"handed_over": Decimal(0), "in_transit": Decimal(0)})
    # A consignment the reader may not see counts as only allocated for it: never more than it may know.
    lines = (
        ConsignmentLine.objects.visible_to(actor)
        .filter(allocation__in=active.values("pk"))
        .values_list("allocation_id", "consignment__state", "quantity", "quantity_received")
    )
    for allocation_id, state, quantity, received in lines:
        if state == ConsignmentState.HANDED_OVER:
            moved[allocation_id]["handed_over"] += Decimal(min(received or 0, quantity))
        elif state in TRAVELLING:
            counted = quantity if state != ConsignmentState.RECEIVED else min(received or 0, quantity)
            moved[allocation_id]["in_transit"] += Decimal(counted)
    for pk, group, quantity, covers in allocations:
        if pk not in moved:  # nothing shipped yet: all of what it covers is only allocated
            flow[group]["allocated"] += covers
            continue
        ratio = covers / quantity if quantity else Decimal(0)
        handed = min(moved[pk]["handed_over"], quantity)
        on_the_way = min(moved[pk]["in_transit"], quantity - handed)
        row = flow[group]
        row["handed_over"] += handed * ratio
        row["in_transit"] += on_the_way * ratio
        row["allocated"] += (quantity - handed - on_the_way) * ratio
    return dict(flow)


def flow_by_priority(actor: Actor) -> dict[int, dict[str, Decimal]]:
    """What the approved requirements' allocations have brought, by priority: handed over, in transit, only allocated."""
    approved = Requirement.objects.visible_to(actor).filter(requirement_list__state=ListState.APPROVED)
    active = Allocation.objects.visible_to(actor).filter(requirement_id__in=approved.values("pk"), state=AllocationState.ACTIVE)
    return _flow(actor, active, "requirement__priority")


def _no_flow() -> dict[str, Decimal]:
    return {"handed_over": Decimal(0), "in_transit": Decimal(0), "allocated": Decimal(0)}


def handover_entry(consignment: Consignment, actor: Actor) -> ChangeRecord | None:
    """The ledger entry that records the consignment's handover (unit, place, day, officer's role): what a handover
    certificate shows with its inclusion proof, so any nation can check it was recorded and never changed."""
    return (
        ChangeRecord.objects.visible_to(actor)
        .filter(entity=entity_name(consignment), entity_id=str(consignment.pk), action="hand_over")
        .order_by("-sequence")
        .first()
    )


# The hub board -------------------------------------------------------------------------------------------------


def iso_week(day: dt.date) -> str:
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class WeekLoad:
    """One ISO week at one hub: the load its consignments' planned dates put on it, the load their actual dates
    did, and the hub's capacity for the week (in the hub's unit)."""

    week: str
    starts: dt.date
    planned: Decimal
    actual: Decimal
    capacity: int

    @property
    def planned_over(self) -> bool:
        return self.planned > self.capacity

    @property
    def actual_over(self) -> bool:
        return self.actual > self.capacity

    @property
    def over(self) -> bool:
        return self.planned_over or self.actual_over

    def as_dict(self) -> dict[str, Any]:
        return {
            "week": self.week,
            "starts": self.starts.isoformat(),
            "planned": str(self.planned),
            "actual": str(self.actual),
            "capacity": self.capacity,
            "planned_over": self.planned_over,
            "actual_over": self.actual_over,
        }


@dataclass(frozen=True)
class HubLoad:
    """A hub's weeks with any load, oldest first. `unweighed` counts consignments a hub counted in tonnes could
    not weigh (no weight given): they load it by nothing, so its tonnes are a floor, not the whole."""

    hub: Place
    unit: str
    capacity: int
    weeks: list[WeekLoad]
    unweighed: int = 0

    @property
    def over_weeks(self) -> int:
        return sum(1 for week in self.weeks if week.over)

    def as_dict(self) -> dict[str, Any]:
        return {
            "hub": self.hub.code,
            "name": self.hub.name_en,
            "unit": self.unit,
            "capacity": self.capacity,
            "handling_days": self.hub.hub_handling_days,
            "unweighed": self.unweighed,
            "weeks": [week.as_dict() for week in self.weeks],
        }


@dataclass(frozen=True)
class HubBoard:
    hubs: list[HubLoad]
    partial: bool  # some consignments through these hubs are not the reader's to see: the loads may be higher

    def as_dict(self) -> dict[str, Any]:
        return {"partial": self.partial, "hubs": [hub.as_dict() for hub in self.hubs]}


@dataclass
class _Visit:
    """One consignment at one hub: when it arrives there (or, starting there, leaves), planned and actual."""

    weight_kg: Decimal | None
    planned_arrival: dt.date | None = None
    actual_arrival: dt.date | None = None
    planned_departure: dt.date | None = None
    actual_departure: dt.date | None = None
    arrives: bool = False

    @property
    def planned(self) -> dt.date | None:
        return self.planned_arrival if self.arrives else self.planned_departure

    @property
    def actual(self) -> dt.date | None:
        return self.actual_arrival if self.arrives else self.actual_departure


def _hub_visits(actor: Actor, hub_ids) -> dict[tuple[int, int], _Visit]:
    """Each (hub, consignment) a live consignment's legs pass through, from one query over their legs."""
    legs = (
        Leg.objects.visible_to(actor)
        .exclude(consignment__state=ConsignmentState.CANCELLED)
        .filter(Q(from_place__in=hub_ids) | Q(to_place__in=hub_ids))
        .order_by("consignment_id", "id")
        .values_list(
            "consignment_id",
            "consignment__weight_kg",
            "from_place_id",
            "to_place_id",
            "planned_departure",
            "planned_arrival",
            "actual_departure",
            "actual_arrival",
        )
    )
    hubs = set(hub_ids)
    visits: dict[tuple[int, int], _Visit] = {}
    for consignment, weight, origin, destination, planned_out, planned_in, actual_out, actual_in in legs:
        if destination in hubs:
            visit = visits.setdefault((destination, consignment), _Visit(weight))
            visit.arrives, visit.planned_arrival, visit.actual_arrival = True, planned_in, actual_in
        if origin in hubs:
            visit = visits.setdefault((origin, consignment), _Visit(weight))
            visit.planned_departure, visit.actual_departure = planned_out, actual_out
    return visits


def hub_board(actor: Actor, *, since: dt.date | None = None, until: dt.date | None = None) -> HubBoard:
    """For each hub, the load per ISO week against its capacity. A consignment loads a hub in the week its leg
    arrives at the hub (or, when its way starts there, leaves it): planned load from planned dates, actual load
    from actual ones; one consignment, or its weight in tonnes, per the hub's unit. Every week from `since`
    to `until` (else from the first to the last week with load) is listed, empty ones included. Three queries,
    however many consignments."""
    hubs = list(Place.objects.visible_to(actor).filter(hub_capacity__isnull=False).order_by("code"))
    by_id = {hub.pk: hub for hub in hubs}
    loads: dict[int, dict[str, dict[str, Decimal]]] = {hub.pk: defaultdict(lambda: defaultdict(Decimal)) for hub in hubs}
    unweighed: dict[int, int] = defaultdict(int)
    for (hub_id, _consignment), visit in _hub_visits(actor, list(by_id)).items():
        hub = by_id[hub_id]
        in_tonnes = hub.hub_capacity_unit == CapacityUnit.TONNES
        if in_tonnes and visit.weight_kg is None:
            unweighed[hub_id] += 1
        amount = (visit.weight_kg or Decimal(0)) / 1000 if in_tonnes else Decimal(1)
        for kind, day in (("planned", visit.planned), ("actual", visit.actual)):
            if day is not None and (since is None or day >= since) and (until is None or day <= until):
                loads[hub_id][_week_start(day)][kind] += amount
    partial = (
        Leg.objects.hidden_from(actor)
        .exclude(consignment__state=ConsignmentState.CANCELLED)
        .filter(Q(from_place__in=list(by_id)) | Q(to_place__in=list(by_id)))
        .exists()
        if hubs
        else False
    )
    return HubBoard(
        hubs=[
            HubLoad(
                hub=hub,
                unit=hub.hub_capacity_unit,
                capacity=hub.hub_capacity,
                weeks=[
                    WeekLoad(
                        iso_week(starts),
                        starts,
                        loads[hub.pk][starts]["planned"],
                        loads[hub.pk][starts]["actual"],
                        hub.hub_capacity,
                    )
                    for starts in _weeks_shown(loads[hub.pk], since, until)
                ],
                unweighed=unweighed[hub.pk],
            )
            for hub in hubs
        ],
        partial=partial,
    )


MOST_WEEKS_SHOWN = 520  # ten years of weeks; a longer range lists only the weeks with load


def _weeks_shown(loads: dict[dt.date, dict[str, Decimal]], since: dt.date | None, until: dt.date | None) -> list[dt.date]:
    """Every week from the first to the last (the range asked for, else the weeks with load), empty ones
    included: a week without load is a fact the chart and the table should show, not skip."""
    loaded = sorted(loads)
    first = _week_start(since) if since else (loaded[0] if loaded else None)
    last = _week_start(until) if until else (loaded[-1] if loaded else None)
    if first is None or last is None or (last - first).days // 7 >= MOST_WEEKS_SHOWN:
        return loaded
    return [first + dt.timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]


def _week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


# What is coming --------------------------------------------------------------------------------------------------


def coming(actor: Actor) -> QuerySet[Consignment]:
    """Consignments not yet arrived, those whose ETA has passed first (the longest overdue first), then by ETA
    (none last)."""
    today = timezone.localdate()
    return (
        consignments(actor)
        .filter(state__in=NOT_YET_ARRIVED)
        .annotate(overdue=Case(When(eta__lt=today, then=Value(0)), default=Value(1), output_field=IntegerField()))
        .order_by("overdue", F("eta").asc(nulls_last=True), "id")
    )


def current_leg(consignment: Consignment) -> Leg | None:
    """Where the consignment is: the first of its legs (prefetched) it has not finished; the last when it has
    finished them all."""
    legs = list(consignment.legs.all())
    return next((leg for leg in legs if leg.actual_arrival is None), legs[-1] if legs else None)


def carries(consignment: Consignment) -> list[str]:
    return [f"{line.quantity} × {line.allocation.pledge.item_type.name}" for line in consignment.lines.all()]


def coming_rows(consignments_coming) -> list[dict[str, Any]]:
    """What the page, the API and the recipient's dashboard show of each consignment on its way."""
    return [{"consignment": c, "late": is_late(c), "leg": current_leg(c), "carries": carries(c)} for c in consignments_coming]


def final_destination(consignment: Consignment) -> Place | None:
    """Where a consignment's way ends: the last leg's "to" place (None without legs)."""
    legs = sorted(consignment.legs.all(), key=lambda leg: leg.pk)
    return legs[-1].to_place if legs else None


def destination_warnings(actor: Actor, consignment: Consignment) -> list[str]:
    """For each line whose requirement's destination is neither where the consignment ends nor a place around it
    (a region or country it lies in), a warning naming both: a consignment may go elsewhere (to a depot that
    forwards it), so this warns and never refuses. Lines whose allocation the reader may not see say nothing."""
    destination = final_destination(consignment)
    if destination is None:
        return []
    lines = sorted(consignment.lines.all(), key=lambda line: line.pk)
    allocations = {
        allocation.pk: allocation
        for allocation in Allocation.objects.visible_to(actor)
        .filter(pk__in={line.allocation_id for line in lines})
        .select_related("requirement__destination", "pledge__item_type")
    }
    warnings = []
    for number, line in enumerate(lines, start=1):
        allocation = allocations.get(line.allocation_id)
        if allocation is None:
            continue
        wanted = allocation.requirement.destination
        if not destination.within(wanted):
            warnings.append(destination_warning(number, allocation.pledge.item_type.name, wanted, destination))
    return warnings


def destination_warning(line: int | str, item: str, wanted: Place, destination: Place) -> str:
    return gettext(
        "Line %(line)s (%(item)s) is for a requirement whose destination is %(wanted)s, but this consignment ends at "
        "%(destination)s, which is not within it."
    ) % {"line": line, "item": item, "wanted": str(wanted), "destination": str(destination)}

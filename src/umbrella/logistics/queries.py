"""Consignment lists the pages and the API share, and what the requirements' coverage counts of them."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import Max, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy

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

LATE = gettext_lazy("late")


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
    flow: dict[int, dict[str, Decimal]] = defaultdict(
        lambda: {"handed_over": Decimal(0), "in_transit": Decimal(0), "allocated": Decimal(0)}
    )
    active = Allocation.objects.visible_to(actor).filter(requirement_id__in=requirement_ids, state=AllocationState.ACTIVE)
    allocations = list(active.values_list("pk", "requirement_id", "quantity", "covers"))
    moved: dict[int, dict[str, Decimal]] = defaultdict(lambda: {"handed_over": Decimal(0), "in_transit": Decimal(0)})
    # A consignment the reader may not see counts as only allocated for it: never more than it may know.
    lines = (
        ConsignmentLine.objects.visible_to(actor)
        .filter(allocation__in=active.values("pk"))
        .values_list("allocation_id", "consignment__state", "quantity", "quantity_received")
    )
    travelling = {*ON_THE_WAY, ConsignmentState.ARRIVED, ConsignmentState.RECEIVED}
    for allocation_id, state, quantity, received in lines:
        if state == ConsignmentState.HANDED_OVER:
            moved[allocation_id]["handed_over"] += Decimal(min(received or 0, quantity))
        elif state in travelling:
            counted = quantity if state != ConsignmentState.RECEIVED else min(received or 0, quantity)
            moved[allocation_id]["in_transit"] += Decimal(counted)
    for pk, requirement_id, quantity, covers in allocations:
        ratio = covers / quantity if quantity else Decimal(0)
        handed = min(moved[pk]["handed_over"], quantity)
        on_the_way = min(moved[pk]["in_transit"], quantity - handed)
        row = flow[requirement_id]
        row["handed_over"] += handed * ratio
        row["in_transit"] += on_the_way * ratio
        row["allocated"] += (quantity - handed - on_the_way) * ratio
    return dict(flow)


def flow_by_priority(actor: Actor) -> dict[int, dict[str, Decimal]]:
    """What the approved requirements' allocations have brought, by priority: handed over, in transit, only allocated."""
    approved = Requirement.objects.visible_to(actor).filter(requirement_list__state=ListState.APPROVED)
    priorities = dict(approved.values_list("pk", "priority"))
    totals: dict[int, dict[str, Decimal]] = defaultdict(
        lambda: {"handed_over": Decimal(0), "in_transit": Decimal(0), "allocated": Decimal(0)}
    )
    for requirement_id, parts in requirement_flow(actor, approved.values("pk")).items():
        for name, value in parts.items():
            totals[priorities[requirement_id]][name] += value
    return dict(totals)


def handover_entry(consignment: Consignment, actor: Actor) -> ChangeRecord | None:
    """The ledger entry that records the consignment's handover (unit, place, day, officer's role): what a handover
    certificate shows with its inclusion proof, so any nation can check it was recorded and never changed."""
    return (
        ChangeRecord.objects.visible_to(actor)
        .filter(entity=entity_name(consignment), entity_id=str(consignment.pk), action="hand_over")
        .order_by("-sequence")
        .first()
    )

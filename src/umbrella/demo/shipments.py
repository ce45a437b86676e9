"""The demo's consignments: the approved run's pledges on their way through real hubs, as the logistics staff
of each party record them — some still at a hub or on the road (a few of those late), some received in part,
some short or damaged, some handed over, with serial numbers for every sensitive item."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from umbrella.core.access import Actor
from umbrella.logistics import services as logistics
from umbrella.logistics.models import Consignment
from umbrella.matching.models import Allocation, AllocationState
from umbrella.places.models import Place, PlaceKind
from umbrella.pledges.models import Pledge, PledgeState

# The hubs goods for Ukraine pass through (docs: ../shared/reference/domain-facts.md), by the share of
# consignments each takes in the demo, and how each leg from the hub travels.
HUBS = (("EPRZ", 70, "road"), ("ROCND", 20, "rail"), ("LZKZ", 10, "road"))
RECEIVING_UNITS = (
    "Logistics base, Lviv",
    "Air-defence battalion (demo)",
    "Artillery brigade (demo)",
    "Mechanised brigade (demo)",
    "Medical battalion (demo)",
)
OFFICER_ROLES = ("Brigade logistics officer (S4)", "Battalion logistics officer", "Depot commander")
OVERSEAS = frozenset({"AUS", "CAN", "JPN", "KOR", "NZL", "USA"})
ROAD_DAYS = (5, 14)  # from the donor's country to the destination, planned


@dataclass
class Parties:
    recipient: Actor
    donor: Actor


class Shipments:
    STAGES = frozenset({"shipped", "delivered", "handed_over"})  # the demo's stages that move on consignments

    def __init__(self, rng: random.Random, today: dt.date, reader: Actor) -> None:
        self.random = rng
        self.today = today
        places = Place.objects.visible_to(reader)
        self.hubs = {place.code: place for place in places.filter(code__in=[code for code, _, _ in HUBS])}
        self.countries = _countries_by_iso3(places)
        self.consignments = 0
        self.serials_issued: dict[int, int] = {}  # per pledge, so that no two units share a serial

    def move(self, pledge: Pledge, stage: str, parties: Parties) -> None:
        """Take a pledge that the approved run allocated to `stage` (shipped, delivered or handed_over)."""
        whole = [(allocation, _whole_units(allocation.quantity)) for allocation in self._active(pledge, parties)]
        whole = [(allocation, units) for allocation, units in whole if units > 0]
        if not whole:
            return
        if stage == "shipped":
            self._on_the_way(pledge, whole, parties)
        elif stage == "delivered" and sum(units for _, units in whole) >= 2 and self.random.random() < 0.5:
            first, rest = _split(whole)
            self._received(pledge, first, parties, hand_over=False)
            if rest:  # allocations of one unit each have no second half
                self._on_the_way(pledge, rest, parties)
        else:
            self._received(pledge, whole, parties, hand_over=stage == "handed_over")
            self._perhaps_close_short(pledge, parties)

    def hand_over_half(self, pledge: Pledge, parties: Parties) -> None:
        """About half of each of the pledge's allocations received and handed over, the rest still on the way."""
        whole = [(allocation, _whole_units(allocation.quantity)) for allocation in self._active(pledge, parties)]
        first, rest = _split([(allocation, units) for allocation, units in whole if units > 0])
        if first:
            self._received(pledge, first, parties, hand_over=True)
        if rest:
            self._on_the_way(pledge, rest, parties)

    def _active(self, pledge: Pledge, parties: Parties) -> list[Allocation]:
        return list(
            Allocation.objects.visible_to(parties.donor)
            .filter(pledge=pledge, state=AllocationState.ACTIVE)
            .select_related("requirement__destination")
        )

    def _perhaps_close_short(self, pledge: Pledge, parties: Parties) -> None:
        """Half the donors whose goods arrived short and all handed over give up on the rest."""
        pledge.refresh_from_db()
        if pledge.state == PledgeState.PARTLY_DELIVERED and pledge.quantity_handed_over and self.random.random() < 0.5:
            logistics.close_pledge_short(
                actor=parties.donor,
                pledge_id=pledge.pk,
                expected_version=pledge.version,
                reason="What went missing in transit will not be replaced (demo).",
            )

    def _plan(self, pledge: Pledge, parts: list[tuple[Allocation, int]], parties: Parties, *, dispatched: dt.date, eta: dt.date):
        """Planned in two legs, from the donor's country to a hub and on to the destination, and dispatched."""
        hub_code, mode = self._hub()
        hub, destination = self.hubs[hub_code], parts[0][0].requirement.destination
        at_hub = dispatched + (eta - dispatched) // 2
        origin = self.countries.get(pledge.owner.iso3 or "")
        legs = [{"from_place": hub, "to_place": destination, "mode": mode, "planned_departure": at_hub, "planned_arrival": eta}]
        if origin is not None:
            to_hub = {
                "from_place": origin,
                "to_place": hub,
                "mode": _first_leg_mode(pledge.owner.iso3, hub),
                "planned_departure": dispatched,
                "planned_arrival": at_hub,
            }
            legs.insert(0, to_hub)
        self.consignments += 1
        consignment = logistics.create_consignment(
            actor=parties.donor,
            fields={
                "reference": f"{pledge.owner.code}-{pledge.pk:05d}-{self.consignments:04d}",
                "weight_kg": Decimal(self.random.randrange(800, 24_000)),
            },
            lines=[
                {"allocation": allocation.pk, "quantity": units, "serials": self._serials(pledge, units)}
                for allocation, units in parts
            ],
            legs=legs,
        )
        return self._step(consignment, "dispatch", parties.donor, dispatched), at_hub, origin is not None

    def _serials(self, pledge: Pledge, units: int) -> list[str]:
        if not pledge.item_type.sensitive:
            return []
        start = self.serials_issued.get(pledge.pk, 0)
        self.serials_issued[pledge.pk] = start + units
        return [f"{pledge.owner.code}-{pledge.pk:05d}-{number:05d}" for number in range(start + 1, start + units + 1)]

    def _hub(self) -> tuple[str, str]:
        codes, weights = zip(*[(code, weight) for code, weight, _ in HUBS if code in self.hubs], strict=True)
        code = self.random.choices(codes, weights=weights)[0]
        return code, next(mode for hub, _, mode in HUBS if hub == code)

    def _step(self, consignment: Consignment, step: str, actor: Actor, day: dt.date) -> Consignment:
        return logistics.advance_consignment(
            actor=actor, consignment_id=consignment.pk, step=step, expected_version=consignment.version, on=day
        )

    def _on_the_way(self, pledge: Pledge, parts: list[tuple[Allocation, int]], parties: Parties) -> None:
        for to_one_place in _by_destination(parts):
            self._one_on_the_way(pledge, to_one_place, parties)

    def _one_on_the_way(self, pledge: Pledge, parts: list[tuple[Allocation, int]], parties: Parties) -> None:
        """Dispatched lately and still moving, some still before the hub, some at it, some beyond it or arrived
        and waiting to be received; a third of them past their ETA (late, until they arrive)."""
        late = self.random.random() < 0.33
        dispatched = self.today - dt.timedelta(days=self.random.randrange(12, 30) if late else self.random.randrange(2, 8))
        eta = self.today - dt.timedelta(days=self.random.randrange(1, 5)) if late else self.today + dt.timedelta(days=9)
        consignment, at_hub, via_hub = self._plan(pledge, parts, parties, dispatched=dispatched, eta=max(eta, dispatched))
        if via_hub and at_hub <= self.today and self.random.random() < 0.7:
            consignment = self._step(consignment, "reach_hub", parties.donor, at_hub)
            leaving = at_hub + dt.timedelta(days=self._handling_days(consignment))
            if leaving <= self.today and self.random.random() < 0.6:
                consignment = self._step(consignment, "leave_hub", parties.donor, leaving)
                if self.random.random() < 0.4:  # at the destination, waiting for the recipient's receipt
                    self._step(consignment, "arrive", parties.recipient, max(leaving, self.today - dt.timedelta(days=1)))

    def _handling_days(self, consignment: Consignment) -> int:
        return consignment.legs.order_by("id").first().to_place.hub_handling_days or 0

    def _received(self, pledge: Pledge, parts: list[tuple[Allocation, int]], parties: Parties, *, hand_over: bool) -> None:
        for to_one_place in _by_destination(parts):
            self._one_received(pledge, to_one_place, parties, hand_over=hand_over)

    def _one_received(self, pledge: Pledge, parts: list[tuple[Allocation, int]], parties: Parties, *, hand_over: bool) -> None:
        dispatched = self.today - dt.timedelta(days=self.random.randrange(30, 120))
        eta = dispatched + dt.timedelta(days=self.random.randrange(*ROAD_DAYS))
        consignment, at_hub, via_hub = self._plan(pledge, parts, parties, dispatched=dispatched, eta=eta)
        if via_hub:
            consignment = self._step(consignment, "reach_hub", parties.donor, at_hub)
            consignment = self._step(consignment, "leave_hub", parties.donor, at_hub + dt.timedelta(days=1))
        arrived = eta + dt.timedelta(days=self.random.choice((0, 0, 0, 1, 3)))
        consignment = self._step(consignment, "arrive", parties.recipient, arrived)
        consignment = logistics.record_receipt(
            actor=parties.recipient,
            consignment_id=consignment.pk,
            expected_version=consignment.version,
            lines=[self._receipt(line) for line in consignment.lines.select_related("allocation__pledge__item_type")],
            received_on=arrived,
        )
        if hand_over:
            logistics.hand_over(
                actor=parties.recipient,
                consignment_id=consignment.pk,
                expected_version=consignment.version,
                unit=self.random.choice(RECEIVING_UNITS),
                place=parts[0][0].requirement.destination,
                date=arrived + dt.timedelta(days=self.random.randrange(1, 6)),
                officer_role=self.random.choice(OFFICER_ROLES),
            )

    def _receipt(self, line) -> dict:
        """Most lines arrive as shipped; about one in eight short, one in twelve with damage noted."""
        draw = self.random.random()
        entry = {"line": line.pk, "quantity_received": line.quantity, "serials": list(line.serials)}
        if draw < 0.125 and line.quantity >= 2:
            received = max(1, line.quantity * 3 // 4)
            entry.update(
                quantity_received=received,
                serials=list(line.serials[:received]) if line.serials else [],
                discrepancy="short",
                note=f"{line.quantity - received} missing on arrival; the donor is asked to trace them (demo).",
                evidence_reference=f"RCPT-{line.pk:06d}",
            )
        elif draw < 0.21:
            entry.update(
                discrepancy="damaged",
                note="Packaging damaged in transit; contents inspected at the hub and accepted (demo).",
                evidence_reference=f"INSP-{line.pk:06d}",
            )
        return entry


def _first_leg_mode(iso3: str, hub: Place) -> str:
    """Overseas donors fly to an airfield or ship to a port; European ones drive."""
    if iso3 not in OVERSEAS:
        return "road"
    return "sea" if hub.kind == PlaceKind.PORT else "air"


def _countries_by_iso3(places) -> dict[str, Place]:
    """The gazetteer names each country's ISO alpha-3 code among its other names (DEU for DE)."""
    found = {}
    for country in places.filter(kind=PlaceKind.COUNTRY):
        for alias in country.alias_list():
            if len(alias) == 3 and alias.isupper():
                found[alias] = country
    return found


def _by_destination(parts: list[tuple[Allocation, int]]) -> list[list[tuple[Allocation, int]]]:
    """A consignment per destination: a pledge allocated to several places ships to each on its own (one that
    ended at one of them would carry the others' lines elsewhere)."""
    groups: dict[int, list[tuple[Allocation, int]]] = {}
    for allocation, units in parts:
        groups.setdefault(allocation.requirement.destination_id, []).append((allocation, units))
    return list(groups.values())


def _whole_units(quantity: Decimal) -> int:
    return int(Decimal(quantity).to_integral_value(rounding=ROUND_FLOOR))


def _split(parts: list[tuple[Allocation, int]]) -> tuple[list[tuple[Allocation, int]], list[tuple[Allocation, int]]]:
    """About half of every allocation now, the rest later."""
    first = [(allocation, max(1, units // 2)) for allocation, units in parts]
    rest = [(allocation, units - sent) for (allocation, units), (_, sent) in zip(parts, first, strict=True) if units - sent > 0]
    return first, rest

"""The reads that feed readiness and crew sync, shared by the board, the training plan, the API and the commands.

Every table is read once (a fixed number of queries, whatever the number of rows) as plain rows, either from
today's tables (`Model.objects.visible_to(actor).values(...)`) or, for a past day, from the ledger
(`core.asof.rows_as_of`: each record as its last entry by the end of that day left it), and the same assembly
turns either into the engines' inputs. So readiness on a past day uses only what had been recorded by then: a
handover recorded the next day, even one dated that day, is not in it (docs/readiness.md).

- A system's destination is its requirement's destination (allocation → requirement.destination); a destination's
  readiness counts everything whose requirement destination lies inside it (a region counts its sites).
- Present: lines of consignments handed over (their received quantity, or the shipped one), by the day.
- In transit: lines of live consignments not handed over yet, due on the last leg's arrival (actual, else planned;
  the pledge's availability date when no leg has a date).
- Allocated: what of an active allocation no live consignment carries yet, due on the pledge's availability date.
- Munitions and spares on hand: handed-over quantities of the item types, the same way.
- Crews: people of the units stationed at the destination or inside it (Unit.station), qualified (graduated by the
  day) or qualifying (on a live course, from the day it ends).

Only coordination staff, the recipient and their auditors read it (`may_read`): readiness is built from
allocations and consignments a donor sees only in part, and a package figure built from part of them would be a
partial figure shown as whole.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.utils import timezone

from umbrella.catalog.models import CapabilityArea, Compatibility, CompatibilityKind, ItemType, PackageRule
from umbrella.core.access import COORDINATION_KINDS, Actor
from umbrella.core.asof import end_of_day, rows_as_of
from umbrella.eum.models import Unit
from umbrella.logistics.models import Consignment, ConsignmentLine, ConsignmentState, Leg
from umbrella.matching.models import Allocation, AllocationState
from umbrella.needs.models import Requirement
from umbrella.places.models import PATH_SEPARATOR, Place
from umbrella.pledges.models import Pledge
from umbrella.training import crew_sync
from umbrella.training.models import Course, CourseState, CourseType, Nomination, NominationState
from umbrella.training.readiness import Destination, Package, Rule, Zoo, fleet_zoo, readiness

FIELDS: dict[type, tuple[str, ...]] = {
    PackageRule: ("system_id", "crews_per_system", "rounds_per_day", "days_of_supply", "spare_kits_per_system"),
    ItemType: ("id", "code", "name", "crew_size", "capability_area_id"),
    Compatibility: ("source_id", "kind", "target_id", "ratio"),
    Pledge: ("id", "item_type_id", "available_from"),
    Allocation: ("id", "pledge_id", "requirement_id", "quantity", "state"),
    Requirement: ("id", "destination_id"),
    Consignment: ("id", "state", "handover_date"),
    ConsignmentLine: ("consignment_id", "allocation_id", "quantity", "quantity_received"),
    Leg: ("consignment_id", "planned_arrival", "actual_arrival"),
    Unit: ("id", "station_id"),
    CourseType: ("id", "code", "name", "system_id"),
    Course: ("id", "course_type_id", "reference", "starts_on", "ends_on", "seats", "state"),
    Nomination: ("course_id", "unit_id", "state", "graduated_on"),
}
LIVE_NOMINATIONS = (NominationState.NOMINATED, NominationState.ATTENDING)
SEAT_HOLDERS = (*LIVE_NOMINATIONS, NominationState.GRADUATED)
OPEN_COURSES = (CourseState.OFFERED, CourseState.CONFIRMED)


def may_read(actor: Actor) -> bool:
    return actor.is_system or (actor.is_member and actor.kind in COORDINATION_KINDS)


class _Tables:
    """Rows of every table readiness reads: today's (visible_to) or a past moment's (the ledger)."""

    def __init__(self, actor: Actor, moment: dt.datetime | None) -> None:
        self.actor, self.moment = actor, moment

    def rows(self, model: type, **narrowing: Any) -> list[dict[str, Any]]:
        """`narrowing` filters today's tables down to rows the assembly would keep anyway (it applies the same tests
        to every row), so that a large table is not read whole; the ledger's rows are narrowed by the assembly."""
        fields = FIELDS[model]
        if self.moment is not None:
            return rows_as_of(model, self.moment, self.actor, fields)
        return list(model.objects.visible_to(self.actor).filter(**narrowing).values(*fields))


@dataclass(frozen=True)
class PackageRow:
    """One system type at one destination, with the counts behind its package."""

    package: Package
    system_code: str
    system_name: str
    crew_size: int
    in_transit: int
    allocated: int
    next_arrival: dt.date | None
    course_type: str | None = None  # the code of the course type that qualifies its crews; None when none does
    people_training: int = 0  # people of units stationed there on a course for the system, not yet qualified
    training_until: dt.date | None = None  # the day the last of them is to qualify

    def as_dict(self) -> dict[str, Any]:
        p = self.package
        return {
            "system": {"id": p.system, "code": self.system_code, "name": self.system_name},
            "systems": {
                "present": p.present,
                "coming": p.coming,
                "in_transit": self.in_transit,
                "allocated": self.allocated,
                "expected": p.expected,
                "next_arrival": self.next_arrival.isoformat() if self.next_arrival else None,
            },
            "munitions": {
                "rounds": _number(p.rounds),
                "rounds_needed": _number(p.rounds_needed),
                "days_of_supply": None if p.days_of_supply is None else _number(p.days_of_supply),
                "days_needed": p.days_needed if p.rounds_needed else None,
            },
            "spares": {"on_hand": _number(p.spares), "needed": _number(p.spares_needed)},
            "crews": {
                "qualified_people": p.qualified_people,
                "crew_size": self.crew_size,
                "qualified": p.crews,
                "needed": p.crews_needed,
                "course_type": self.course_type,
                "people_training": self.people_training,
                "training_until": self.training_until.isoformat() if self.training_until else None,
            },
            "completeness": p.completeness,
            "missing": list(p.missing),
        }


@dataclass(frozen=True)
class DestinationReadiness:
    place: Place
    packages: list[PackageRow]
    zoo: list[Zoo]
    area_names: dict[int, str]

    @property
    def completeness(self) -> int:
        """The destination's own figure: the mean of its packages' (each system type counts once)."""
        return sum(row.package.completeness for row in self.packages) // len(self.packages) if self.packages else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "destination": {"id": self.place.pk, "code": self.place.code, "name": self.place.name_en},
            "completeness": self.completeness,
            "packages": [row.as_dict() for row in self.packages],
            "fleet_zoo": [
                {
                    "area": self.area_names.get(int(zoo.area), zoo.area) if zoo.area.isdigit() else zoo.area,
                    "types": zoo.types,
                    "systems": zoo.systems,
                    "effective_types": _number(zoo.effective_types),
                }
                for zoo in self.zoo
            ],
        }


@dataclass(frozen=True)
class Board:
    day: dt.date
    as_of: bool
    destinations: list[DestinationReadiness]

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "as_of": self.day.isoformat() if self.as_of else None,
            "destinations": [destination.as_dict() for destination in self.destinations],
        }


def _number(value: Fraction) -> float:
    return round(float(value), 2)


def _fraction(value) -> Fraction:
    return Fraction(str(value)) if isinstance(value, Decimal | float) else Fraction(value or 0)


@dataclass
class _World:
    """Everything the engines need, assembled from the rows."""

    day: dt.date
    rules: dict[int, Rule]
    crew_rules: dict[int, crew_sync.CrewRule]
    items: dict[int, dict[str, Any]]
    places: dict[int, Place]
    # (requirement destination, item type) -> quantities
    present: dict[tuple[int, int], int]
    coming: list[tuple[int, int, int, dt.date, str]]  # destination, item, quantity, due, status
    arrivals: list[crew_sync.Arrival]
    people: list[tuple[int, int, dt.date, int, bool, int | None]]  # station, system, on, people, graduated, course
    courses: dict[int, dict[str, Any]]
    course_types: dict[int, dict[str, Any]]
    offers: list[crew_sync.Offer]
    taken: dict[int, int]  # seats each course's live and graduated nominations hold

    def inside(self, place: Place) -> set[int]:
        return _inside(self.places, place)


def _inside(places: dict[int, Place], place: Place) -> set[int]:
    """The places of `places` that are `place` or lie inside it."""
    prefix = place.path + PATH_SEPARATOR
    return {pk for pk, other in places.items() if other.path == place.path or other.path.startswith(prefix)}


def _world(actor: Actor, as_of: dt.date | None, recorded_by: dt.datetime | None = None) -> _World:
    moment = recorded_by or (end_of_day(as_of) if as_of is not None else None)
    day = as_of or timezone.localdate()
    tables = _Tables(actor, moment)
    items = {row["id"]: row for row in tables.rows(ItemType)}
    rules: dict[int, Rule] = {}
    links = tables.rows(Compatibility)
    fires: dict[int, dict[int, Fraction]] = defaultdict(dict)
    spares: dict[int, set[int]] = defaultdict(set)
    for link in links:
        if link["kind"] == CompatibilityKind.FIRES:
            fires[link["source_id"]][link["target_id"]] = Fraction(1)
        elif link["kind"] == CompatibilityKind.SPARES_FOR:
            spares[link["target_id"]].add(link["source_id"])
    # A substitute for a munition a system fires counts at its ratio (units of the munition one unit of it
    # replaces), unless the system fires it directly too.
    substitutes = [link for link in links if link["kind"] == CompatibilityKind.SUBSTITUTES_FOR]
    for munitions in fires.values():
        direct = dict(munitions)
        for link in substitutes:
            if link["target_id"] in direct and link["source_id"] not in direct:
                munitions.setdefault(link["source_id"], _fraction(link["ratio"]))
    course_types = {row["id"]: row for row in tables.rows(CourseType)}
    first_course_type: dict[int, int] = {}
    for row in sorted(course_types.values(), key=lambda row: row["code"]):
        if row["system_id"] is not None:
            first_course_type.setdefault(row["system_id"], row["id"])
    crew_rules = {}
    for row in tables.rows(PackageRule):
        system = items.get(row["system_id"])
        if system is None or not system["crew_size"]:
            continue
        rules[row["system_id"]] = Rule(
            system=row["system_id"],
            crew_size=system["crew_size"],
            crews_per_system=row["crews_per_system"],
            rounds_per_day=_fraction(row["rounds_per_day"]),
            days_of_supply=row["days_of_supply"],
            spare_kits_per_system=_fraction(row["spare_kits_per_system"]),
            area=str(system["capability_area_id"]),
            munitions=dict(fires.get(row["system_id"], {})),
            spares=frozenset(spares.get(row["system_id"], ())),
        )
        crew_rules[row["system_id"]] = crew_sync.CrewRule(
            system["crew_size"], row["crews_per_system"], first_course_type.get(row["system_id"])
        )
    relevant = set(rules)
    for rule in rules.values():
        relevant |= set(rule.munitions) | rule.spares

    active = {"state": AllocationState.ACTIVE, "pledge__item_type_id__in": relevant}
    allocated = Allocation.objects.visible_to(actor).filter(**active)
    pledges = {
        row["id"]: row for row in tables.rows(Pledge, pk__in=allocated.values("pledge_id")) if row["item_type_id"] in relevant
    }
    requirements = {
        row["id"]: row["destination_id"] for row in tables.rows(Requirement, pk__in=allocated.values("requirement_id"))
    }
    allocations = {
        row["id"]: row
        for row in tables.rows(Allocation, **active)
        if row["state"] == AllocationState.ACTIVE and row["pledge_id"] in pledges and row["requirement_id"] in requirements
    }
    carrying = {"lines__allocation__state": AllocationState.ACTIVE, "lines__allocation__pledge__item_type_id__in": relevant}
    consignments = {
        row["id"]: row
        for row in tables.rows(Consignment, pk__in=Consignment.objects.visible_to(actor).filter(**carrying).values("pk"))
        if row["state"] != ConsignmentState.CANCELLED
    }
    eta: dict[int, dt.date] = {}
    # Only a consignment not handed over is due on its legs' arrival: the legs of the others are not read.
    coming_consignments = (
        Consignment.objects.visible_to(actor)
        .filter(**carrying)
        .exclude(state=ConsignmentState.HANDED_OVER, handover_date__lte=day)
    )
    for leg in tables.rows(Leg, consignment_id__in=coming_consignments.values("pk")):
        due = leg["actual_arrival"] or leg["planned_arrival"]
        if due is not None and leg["consignment_id"] in consignments:
            eta[leg["consignment_id"]] = max(due, eta.get(leg["consignment_id"], due))
    present: dict[tuple[int, int], int] = defaultdict(int)
    coming: list[tuple[int, int, int, dt.date, str]] = []
    arrivals: list[crew_sync.Arrival] = []
    carried: dict[int, int] = defaultdict(int)
    for line in tables.rows(
        ConsignmentLine, allocation__state=AllocationState.ACTIVE, allocation__pledge__item_type_id__in=relevant
    ):
        allocation = allocations.get(line["allocation_id"])
        consignment = consignments.get(line["consignment_id"])
        if allocation is None or consignment is None:
            continue
        carried[allocation["id"]] += line["quantity"]
        pledge = pledges[allocation["pledge_id"]]
        destination, item = requirements[allocation["requirement_id"]], pledge["item_type_id"]
        if consignment["state"] == ConsignmentState.HANDED_OVER and (consignment["handover_date"] or day) <= day:
            quantity = line["quantity_received"] if line["quantity_received"] is not None else line["quantity"]
            present[destination, item] += quantity
            if item in rules:
                arrivals.append(crew_sync.Arrival(destination, item, quantity, consignment["handover_date"] or day, "present"))
        else:
            due = eta.get(consignment["id"], pledge["available_from"])
            coming.append((destination, item, line["quantity"], due, "in_transit"))
    for allocation in allocations.values():
        pledge = pledges[allocation["pledge_id"]]
        left = int(allocation["quantity"]) - carried[allocation["id"]]
        if left > 0:
            destination = requirements[allocation["requirement_id"]]
            coming.append((destination, pledge["item_type_id"], left, pledge["available_from"], "allocated"))
    for destination, item, quantity, due, status in coming:
        if item in rules:
            arrivals.append(crew_sync.Arrival(destination, item, quantity, due, status))

    stations = {row["id"]: row["station_id"] for row in tables.rows(Unit) if row["station_id"] is not None}
    courses = {row["id"]: row for row in tables.rows(Course)}
    taken: dict[int, int] = defaultdict(int)
    people: dict[tuple[int, int, dt.date, bool, int | None], int] = defaultdict(int)
    for nomination in tables.rows(Nomination):
        course = courses.get(nomination["course_id"])
        if course is None:
            continue
        if nomination["state"] in SEAT_HOLDERS:
            taken[course["id"]] += 1
        system = course_types.get(course["course_type_id"], {}).get("system_id")
        station = stations.get(nomination["unit_id"])
        if system is None or station is None:
            continue
        if nomination["state"] == NominationState.GRADUATED and nomination["graduated_on"] is not None:
            if nomination["graduated_on"] <= day:
                people[station, system, nomination["graduated_on"], True, course["id"]] += 1
            else:  # graduated on a later day than the one read: on course until then
                people[station, system, nomination["graduated_on"], False, course["id"]] += 1
        elif nomination["state"] in LIVE_NOMINATIONS and course["state"] != CourseState.CANCELLED:
            people[station, system, course["ends_on"], False, course["id"]] += 1
    offers = [
        crew_sync.Offer(course["id"], course["course_type_id"], course["starts_on"], course["ends_on"], free)
        for course in courses.values()
        if course["state"] in OPEN_COURSES and (free := course["seats"] - taken[course["id"]]) > 0
    ]
    place_ids = {destination for destination, _ in present} | {row[0] for row in coming} | set(stations.values())
    places = {place.pk: place for place in Place.objects.visible_to(actor).filter(pk__in=place_ids)}
    return _World(
        day=day,
        rules=rules,
        crew_rules=crew_rules,
        items=items,
        places=places,
        present=dict(present),
        coming=coming,
        arrivals=arrivals,
        people=[(*key[:3], count, *key[3:]) for key, count in people.items()],
        courses=courses,
        course_types=course_types,
        offers=offers,
        taken=dict(taken),
    )


def _destination(world: _World, place: Place, area_names: dict[int, str]) -> DestinationReadiness:
    inside = world.inside(place)
    present: dict[int, int] = defaultdict(int)
    stock: dict[int, Fraction] = defaultdict(Fraction)
    for (destination, item), quantity in world.present.items():
        if destination in inside:
            stock[item] += quantity
            if item in world.rules:
                present[item] += quantity
    coming: dict[int, int] = defaultdict(int)
    in_transit: dict[int, int] = defaultdict(int)
    next_arrival: dict[int, dt.date] = {}
    for destination, item, quantity, due, status in world.coming:
        if destination in inside and item in world.rules:
            coming[item] += quantity
            if status == "in_transit":
                in_transit[item] += quantity
            next_arrival[item] = min(due, next_arrival.get(item, due))
    qualified: dict[int, int] = defaultdict(int)
    training: dict[int, int] = defaultdict(int)
    training_until: dict[int, dt.date] = {}
    for station, system, on, count, graduated, _course in world.people:
        if station not in inside:
            continue
        if graduated:
            qualified[system] += count
        else:
            training[system] += count
            training_until[system] = max(on, training_until.get(system, on))
    packages = readiness(world.rules, Destination(present=present, coming=coming, stock=stock, qualified=qualified))
    rows = [
        PackageRow(
            package=package,
            system_code=world.items[package.system]["code"],
            system_name=world.items[package.system]["name"],
            crew_size=world.rules[package.system].crew_size,
            in_transit=in_transit.get(package.system, 0),
            allocated=coming.get(package.system, 0) - in_transit.get(package.system, 0),
            next_arrival=next_arrival.get(package.system),
            course_type=_course_type_code(world, package.system),
            people_training=training.get(package.system, 0),
            training_until=training_until.get(package.system),
        )
        for package in packages
    ]
    rows.sort(key=lambda row: (row.package.completeness, row.system_code))
    zoo = fleet_zoo(world.rules, {package.system: package.expected for package in packages})
    return DestinationReadiness(place=place, packages=rows, zoo=zoo, area_names=area_names)


def _course_type_code(world: _World, system: int) -> str | None:
    rule = world.crew_rules.get(system)
    if rule is None or rule.course_type is None:
        return None
    return world.course_types[rule.course_type]["code"]


def readiness_board(
    actor: Actor, *, destination: Place | None = None, as_of: dt.date | None = None, recorded_by: dt.datetime | None = None
) -> Board:
    """Readiness of every destination a system is expected at (or of `destination` alone, counting everything
    inside it), as the actor may read it today or on `as_of` as recorded by the end of that day (or by
    `recorded_by`, an earlier moment of it)."""
    world = _world(actor, as_of, recorded_by)
    area_names = {area.pk: area.label for area in CapabilityArea.objects.all()}
    if destination is not None:
        places = [destination]
    else:
        expected = {d for (d, item) in world.present if item in world.rules}
        expected |= {row[0] for row in world.coming if row[1] in world.rules}
        places = sorted((world.places[pk] for pk in expected), key=lambda place: place.path)
    results = [_destination(world, place, area_names) for place in places]
    if destination is None:
        results = [result for result in results if result.packages]
    # The least complete first, so what needs work is read first; then by code.
    results.sort(key=lambda result: (result.completeness, result.place.code))
    return Board(day=world.day, as_of=as_of is not None, destinations=results)


@dataclass(frozen=True)
class TrainingPlan:
    day: dt.date
    syncs: list[crew_sync.Sync]
    gaps: list[crew_sync.Gap]
    places: dict[int, Place]
    items: dict[int, dict[str, Any]]
    courses: dict[int, dict[str, Any]]
    course_types: dict[int, dict[str, Any]]
    taken: dict[int, int]

    def inside(self, place: Place) -> set[int]:
        """The destinations and stations of the plan that are `place` or lie inside it."""
        return _inside(self.places, place)

    @property
    def late(self) -> list[crew_sync.Sync]:
        return [row for row in self.syncs if row.crews_late]

    def months(self) -> list[str]:
        """Every month a course runs or a system arrives in, in order."""
        months = {row.on.strftime("%Y-%m") for row in self.syncs}
        for course in self.courses.values():
            if course["state"] != CourseState.CANCELLED and self.course_types[course["course_type_id"]]["system_id"]:
                months.add(course["starts_on"].strftime("%Y-%m"))
                months.add(course["ends_on"].strftime("%Y-%m"))
        return sorted(months)

    def _course(self, course_id: int) -> dict[str, Any]:
        course = self.courses[course_id]
        return {"id": course_id, "reference": course["reference"], "ends_on": course["ends_on"].isoformat()}

    def sync_dict(self, row: crew_sync.Sync) -> dict[str, Any]:
        return {
            "destination": self.places[row.destination].code,
            "system": self.items[row.system]["code"],
            "on": row.on.isoformat(),
            "status": row.status,
            "systems": row.quantity,
            "systems_by_then": row.systems_by_then,
            "people_needed": row.people_needed,
            "people_ready": row.people_ready,
            "people_missing": row.people_missing,
            "people_later": row.people_later,
            "qualify_on": row.qualify_on.isoformat() if row.qualify_on else None,
            "days_late": row.days_late,
            "people_short": row.people_short,
            "late_courses": [{**self._course(late.course), "days_late": late.days_late} for late in row.late_courses],
        }

    def gap_dict(self, gap: crew_sync.Gap) -> dict[str, Any]:
        course_type = self.course_types.get(gap.course_type)
        return {
            "course_type": course_type["code"] if course_type else None,
            "system": self.items[gap.system]["code"],
            "month": gap.month,
            "need_by": gap.need_by.isoformat(),
            "seats": gap.seats,
            "closing": [{**self._course(course), "seats": seats} for course, seats in gap.closing],
            "uncovered": gap.uncovered,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "late": [self.sync_dict(row) for row in self.late],
            "gaps": [self.gap_dict(gap) for gap in self.gaps],
            "arrivals": [
                self.sync_dict(row)
                for row in sorted(
                    self.syncs, key=lambda row: (row.on, self.places[row.destination].code, self.items[row.system]["code"])
                )
            ],
        }


def training_plan(actor: Actor, *, as_of: dt.date | None = None, recorded_by: dt.datetime | None = None) -> TrainingPlan:
    """Crew sync for every system expected at a destination, and the seat gaps with the courses that close them."""
    world = _world(actor, as_of, recorded_by)
    supply = []
    for destination in {arrival.destination for arrival in world.arrivals}:
        inside = world.inside(world.places[destination])
        for station, system, on, count, graduated, course in world.people:
            if station in inside:
                supply.append(crew_sync.Supply(destination, system, on, count, graduated, course))
    syncs = crew_sync.sync(world.arrivals, supply, world.crew_rules)
    gaps = crew_sync.gaps(syncs, world.crew_rules, world.offers, world.day)
    return TrainingPlan(world.day, syncs, gaps, world.places, world.items, world.courses, world.course_types, world.taken)

"""Training and readiness in the demo: what each crew-served system needs, the courses that qualify its crews, and
four destinations arranged so that the readiness board shows every case.

Four cities the rest of the demo never sends anything to each get one system type, delivered on its own
requirement and pledge (restricted to that city) and handed over about a month ago, with its munitions and spares:
- Zhytomyr: two CAESAR guns with 33 days of 155 mm rounds and crews graduated in France — complete;
- Rivne: two M777 guns with their rounds and spares, crews still on course at Grafenwöhr — crews missing and late;
- Khmelnytskyi: four Leopard 2A6 tanks with their rounds and crews, one spares kit of four — spares missing;
- Cherkasy: two PzH 2000 with a barrel and crews, a sixth of the rounds — munitions missing.
Everywhere else the generated market decides what arrives; each course type's donor offers a past course (with
graduates and a failure), a running one and a future one, and the recipient nominates crews of the units stationed
where that system is expected, fewer than it needs: most destinations miss crews, as in life.

Every record goes through the services as the persona who would write it; the size does not grow with the scale
(a few hundred nominations), so this part takes a few seconds."""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from umbrella.catalog.models import ItemType, PackageRule
from umbrella.core.access import Actor, Marking
from umbrella.demo.generator import BASE_DATE, DATA
from umbrella.demo.shipments import Parties, Shipments, _first_leg_mode
from umbrella.eum import services as eum
from umbrella.eum.models import Unit
from umbrella.logistics import services as logistics
from umbrella.matching.models import Allocation, AllocationState
from umbrella.needs import services as needs
from umbrella.places.models import Place
from umbrella.pledges import services as pledges
from umbrella.pledges.models import PledgeState
from umbrella.training import services as training
from umbrella.training.models import Course, CourseType, Nomination

SEED_OFFSET = 16  # the training part draws from its own stream, so the rest of the demo is as it was


@dataclass(frozen=True)
class Showcase:
    """One system type delivered to one city with what it needs, in the quantities that give the intended case."""

    destination: str
    unit_code: str
    unit_name: str
    donor: str
    system: str
    systems: int
    # Munitions and spares: (item type, quantity); rounds a little above the 30 days needed where they should
    # suffice, since a bulk allocation the run splits may leave a fraction of a round behind.
    supplies: tuple[tuple[str, int], ...]
    course_type: str
    crews: str  # "graduated": every crew qualified before the handover; "on course": their course ends after it
    case: str


SHOWCASES = (
    Showcase(
        "UA-ZHYTOMYR",
        "ARTBN-ZHYTOMYR",
        "Artillery battalion, Zhytomyr (demo)",
        "FRA",
        "ART-CAESAR",
        2,
        (("AMM-155-LU211", 4000),),
        "CAESAR-CREW",
        "graduated",
        "complete",
    ),
    Showcase(
        "UA-RIVNE",
        "ARTBN-RIVNE",
        "Artillery battalion, Rivne (demo)",
        "USA",
        "ART-M777",
        2,
        (("AMM-155-M795", 4000), ("SPR-M777", 2)),
        "M777-CREW",
        "on course",
        "crews",
    ),
    Showcase(
        "UA-KHMELNYTSKYI",
        "TANKBN-KHMELNYTSKYI",
        "Tank battalion, Khmelnytskyi (demo)",
        "DEU",
        "ARM-LEO2A6",
        4,
        (("AMM-120-DM53", 2600), ("SPR-LEO2", 1)),
        "LEO2A6-CREW",
        "graduated",
        "spares",
    ),
    Showcase(
        "UA-CHERKASY",
        "ARTBN-CHERKASY",
        "Self-propelled artillery battalion, Cherkasy (demo)",
        "DEU",
        "ART-PZH2000",
        2,
        (("AMM-155-DM121", 600), ("SPR-PZH2000-BBL", 1)),
        "PZH2000-CREW",
        "graduated",
        "munitions",
    ),
)
# Who offers each course type where (donor, provider, training site), from the reports in demo/data/SOURCES.md.
OFFERS = {
    "PATRIOT-BTY": ("USA", "US Army Air Defense Artillery School", "US-FORT-SILL"),
    "PATRIOT-LN": ("USA", "US Army Air Defense Artillery School", "US-FORT-SILL"),
    "IRIST-SLM": ("DEU", "Bundeswehr air defence training centre", "DE-TODENDORF"),
    "NASAMS-OP": ("NOR", "Norwegian Army air defence instructors", "DE-GRAFENWOEHR"),
    "GEPARD-CREW": ("DEU", "Bundeswehr air defence school", "DE-MUNSTER"),
    "F16-PILOT": ("DNK", "Fighter Wing Skrydstrup", "DK-SKRYDSTRUP"),
    "F16-MAINT": ("NLD", "European F-16 Training Center", "RO-FETESTI"),
    "LEO2A6-CREW": ("DEU", "Bundeswehr armour school", "DE-MUNSTER"),
    "LEO2A4-CREW": ("POL", "10th Armoured Cavalry Brigade training group", "PL-SWIETOSZOW"),
    "CR2-CREW": ("GBR", "Royal Armoured Corps", "GB-BOVINGTON"),
    "ABRAMS-CREW": ("USA", "7th Army Training Command", "DE-GRAFENWOEHR"),
    "BRADLEY-CREW": ("USA", "7th Army Training Command", "DE-GRAFENWOEHR"),
    "M777-CREW": ("USA", "7th Army Training Command", "DE-GRAFENWOEHR"),
    "PZH2000-CREW": ("DEU", "Bundeswehr artillery school", "DE-IDAR-OBERSTEIN"),
    "CAESAR-CREW": ("FRA", "French Army artillery school", "FR-CANJUERS"),
    "HIMARS-CREW": ("USA", "7th Army Training Command", "DE-GRAFENWOEHR"),
}
# Units the recipient stations where the generated market sends systems, by capability area.
UNIT_KINDS = {
    "artillery": ("ART", "Artillery brigade"),
    "iamd": ("AD", "Air-defence regiment"),
    "armour": ("MECH", "Mechanised brigade"),
    "air-force": ("AVN", "Tactical aviation brigade"),
}
FALLBACK_STATION = "UA-30"  # Kyiv: where a unit trains for a system no destination expects yet
# Already in the demo (end_use.EARLIER_UNITS): its name says where it is based.
KNOWN_STATIONS = {"ADB-DEMO": "UA-KHARKIV"}
PAST_SEATS, CURRENT_SEATS, FUTURE_SEATS = (4, 8), (3, 6), (10, 20)
FUTURE_NOMINATED = 0.15  # of a future course's seats, filled so far


def read_course_types() -> list[dict[str, str]]:
    with open(DATA / "course_types.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


class Training:
    def __init__(self, *, seed: int, today: dt.date, staff: Actor, recipient: Actor, donor_actor) -> None:
        self.random = random.Random(seed + SEED_OFFSET)
        self.today = today
        self.staff = staff
        self.recipient = recipient
        self.donor_actor = donor_actor  # organization code → the donor's liaison
        self.requirement_count = 0
        self.pledges: list[tuple[Showcase, int]] = []
        self.handed_over: dict[Showcase, dt.date] = {}
        self.trainees = 0
        self.courses = 0
        self.nominations = 0

    # --- before the match run: what the four cities ask for, and what is offered to them alone ------------

    def add_requirements(self, list_id: int) -> None:
        """On the approved list, before it is approved: each city asks for its system and what it needs."""
        for showcase in SHOWCASES:
            needed_by = BASE_DATE + dt.timedelta(days=60)
            for code, quantity in ((showcase.system, showcase.systems), *showcase.supplies):
                needs.create_requirement(
                    actor=self.recipient,
                    list_id=list_id,
                    fields={
                        "item_type": ItemType.objects.visible_to(self.staff).get(code=code),
                        "quantity": quantity,
                        "priority": 1,
                        "needed_by": needed_by,
                        "destination": Place.objects.visible_to(self.staff).get(code=showcase.destination),
                        "accept_substitutes": False,
                        "notes": f"Package for {showcase.unit_name}",
                    },
                )
                self.requirement_count += 1

    def add_pledges(self) -> None:
        """Each city's donor offers exactly that, for that city only, and the headquarters accepts it."""
        for number, showcase in enumerate(SHOWCASES, start=1):
            donor = self.donor_actor(showcase.donor)
            destination = Place.objects.visible_to(self.staff).get(code=showcase.destination)
            for index, (code, quantity) in enumerate(((showcase.system, showcase.systems), *showcase.supplies), start=1):
                pledge = pledges.create_pledge(
                    actor=donor,
                    fields={
                        "item_type": ItemType.objects.visible_to(self.staff).get(code=code),
                        "quantity": quantity,
                        "available_from": BASE_DATE - dt.timedelta(days=90),
                        "allowed_destinations": [destination],
                        "marking": Marking.COORDINATION,
                        "reference": f"{showcase.donor}-TRN-{number:02d}-{index}",
                    },
                    sources=[
                        {
                            "kind": "official",
                            "date": BASE_DATE - dt.timedelta(days=120),
                            "document_reference": f"{showcase.donor}-TRN-{number:02d} (demo)",
                        }
                    ],
                )
                pledge = pledges.advance_pledge(
                    actor=donor, pledge_id=pledge.pk, step="offer", expected_version=pledge.version, reason=None
                )
                pledges.advance_pledge(
                    actor=self.staff, pledge_id=pledge.pk, step="accept", expected_version=pledge.version, reason=None
                )
                self.pledges.append((showcase, pledge.pk))

    # --- after the approved run: the four packages handed over -----------------------------------------------

    def deliver(self) -> None:
        """Whatever the approved run allocated to the four cities and has not moved yet is handed over there a
        month or so ago, in full (the market's own shipments keep their random shortfalls; these do not)."""
        for showcase in SHOWCASES:  # the receiving units, stationed where their crews will count
            eum.create_unit(
                actor=self.recipient,
                fields={
                    "code": showcase.unit_code,
                    "name": showcase.unit_name,
                    "kind": "battalion",
                    "station": Place.objects.visible_to(self.staff).get(code=showcase.destination),
                },
            )
        shipments = _InFull(self.random, self.today, reader=self.staff)
        destinations = {showcase.destination: showcase for showcase in SHOWCASES}
        allocations = (
            Allocation.objects.visible_to(self.staff)
            .filter(
                state=AllocationState.ACTIVE,
                requirement__destination__code__in=destinations,
                pledge__state=PledgeState.ALLOCATED,
            )
            .select_related("requirement__destination", "pledge__owner", "pledge__item_type")
            .order_by("pledge_id", "pk")
        )
        by_sender: dict[tuple[str, int], list[Allocation]] = defaultdict(list)  # one consignment per donor and city
        for allocation in allocations:
            by_sender[allocation.requirement.destination.code, allocation.pledge.owner_id].append(allocation)
        for (destination, _), parts in sorted(by_sender.items()):
            showcase = destinations[destination]
            parties = Parties(recipient=self.recipient, donor=self.donor_actor(parts[0].pledge.owner.code))
            day = shipments.deliver(parts, parties, unit=showcase.unit_code)
            if any(allocation.pledge.item_type.code == showcase.system for allocation in parts):
                self.handed_over[showcase] = max(day, self.handed_over.get(showcase, day))

    # --- after end use: package rules are in the catalog; course types, units, courses, trainees -------------

    def run(self) -> None:
        self.course_types = self._course_types()
        self.units = self._units()
        self.trainee_number = 0
        expected = self._expected()
        for showcase in SHOWCASES:
            self._showcase_courses(showcase, expected)
        for code, course_type in self.course_types.items():
            self._market_courses(code, course_type, expected)

    def _course_types(self) -> dict[str, CourseType]:
        made = {}
        for row in read_course_types():
            system = ItemType.objects.visible_to(self.staff).filter(code=row["system"]).first() if row["system"] else None
            made[row["code"]] = training.create_course_type(
                actor=self.staff,
                fields={
                    "code": row["code"],
                    "name": row["name"],
                    "qualification": row["qualification"],
                    "system": system,
                    "weeks": int(row["weeks"]),
                    "language": row["language"],
                    "seat_value_eur": Decimal(row["seat_value_eur"]),
                    "source": row["source"],
                },
            )
        return made

    def _expected(self) -> dict[int, dict[str, float]]:
        """Systems each destination is getting, by system: active allocations, handed over or not."""
        expected: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for system_id, destination, quantity in (
            Allocation.objects.visible_to(self.staff)
            .filter(state=AllocationState.ACTIVE, pledge__item_type__crew_size__isnull=False)
            .values_list("pledge__item_type_id", "requirement__destination__code", "quantity")
        ):
            expected[system_id][destination] += float(quantity)
        return expected

    def _units(self) -> dict[str, Unit]:
        """The recipient's units by code: the demo's Kharkiv battalion given its station, the four cities' own."""
        units = {unit.code: unit for unit in Unit.objects.visible_to(self.recipient)}
        for code, station in KNOWN_STATIONS.items():
            unit = units.get(code)
            if unit is not None and unit.station_id is None:
                units[code] = eum.update_unit(
                    actor=self.recipient,
                    unit_id=unit.pk,
                    expected_version=unit.version,
                    changes={"station": Place.objects.visible_to(self.recipient).get(code=station)},
                )
        return units

    def _unit(self, code: str, name: str, station: str, units: dict[str, Unit]) -> Unit:
        if code not in units:
            units[code] = eum.create_unit(
                actor=self.recipient,
                fields={
                    "code": code,
                    "name": name,
                    "kind": "brigade",
                    "station": Place.objects.visible_to(self.recipient).get(code=station),
                },
            )
        return units[code]

    def _unit_for(self, system: ItemType | None, destination: str) -> Unit:
        prefix, kind = UNIT_KINDS.get(system.capability_area.code if system else "air-force", ("UNIT", "Brigade"))
        place = Place.objects.visible_to(self.recipient).get(code=destination)
        return self._unit(f"{prefix}-{destination}", f"{kind}, {place.name_en} (demo)", destination, self.units)

    def _offer(self, code: str, *, starts_on: dt.date, seats: int, reference: str, confirm: bool) -> Course:
        donor, provider, site = OFFERS[code]
        course_type = self.course_types[code]
        liaison = self.donor_actor(donor)
        course = training.offer_course(
            actor=liaison,
            fields={
                "course_type": course_type,
                "reference": reference,
                "provider": provider,
                "site": Place.objects.visible_to(liaison).get(code=site),
                "starts_on": starts_on,
                "ends_on": starts_on + dt.timedelta(weeks=course_type.weeks) - dt.timedelta(days=1),
                "seats": seats,
                "language": course_type.language,
                "interpreters": 0 if course_type.language == "uk" else max(1, seats // 8),
            },
        )
        self.courses += 1
        if confirm:
            course = training.confirm_course(actor=liaison, course_id=course.pk, expected_version=course.version)
        return course

    def _nominate(self, course: Course, unit: Unit, people: int) -> list[Nomination]:
        trainees = []
        for _ in range(people):
            self.trainee_number += 1
            trainees.append({"trainee": f"T-{self.trainee_number:06d}", "unit": unit})
        if not trainees:
            return []
        made = training.nominate(actor=self.recipient, course_id=course.pk, trainees=trainees)
        self.nominations += len(made)
        return made

    def _finish(self, course: Course, nominations: list[Nomination], *, failures: int) -> None:
        """All but `failures` graduated on the last day (straight from nominated: each attendance recorded too
        would double the writes of a demo that must load in a minute); the course completed."""
        if not nominations:
            return
        failed, passed = nominations[:failures], nominations[failures:]
        for nomination in failed:
            training.record_failure(
                actor=self.recipient, nomination_id=nomination.pk, reason="Did not pass the final firing test (demo)."
            )
        if passed:
            training.graduate(actor=self.recipient, nomination_ids=[n.pk for n in passed], on=course.ends_on)
        donor = self.donor_actor(OFFERS[course.course_type.code][0])
        course.refresh_from_db()
        training.complete_course(actor=donor, course_id=course.pk, expected_version=course.version)

    def _showcase_courses(self, showcase: Showcase, expected) -> None:
        """Crews for the four cities: graduated before the handover, or on a course that ends after it."""
        system = ItemType.objects.visible_to(self.staff).get(code=showcase.system)
        rule = PackageRule.objects.visible_to(self.staff).get(system=system)
        count = max(showcase.systems, round(expected.get(system.pk, {}).get(showcase.destination, 0)))
        people = count * rule.crews_per_system * (system.crew_size or 1)
        unit = self.units[showcase.unit_code]
        handed = self.handed_over.get(showcase, self.today - dt.timedelta(days=30))
        weeks = self.course_types[showcase.course_type].weeks
        if showcase.crews == "graduated":
            starts = handed - dt.timedelta(weeks=weeks, days=14)
            course = self._offer(
                showcase.course_type, starts_on=starts, seats=people, reference=f"{showcase.unit_code}-1", confirm=True
            )
            self._finish(course, self._nominate(course, unit, people), failures=0)
        else:  # started after the guns were handed over: the crews are late by the days to its end
            starts = max(handed, self.today - dt.timedelta(weeks=weeks - 2))
            course = self._offer(
                showcase.course_type, starts_on=starts, seats=people, reference=f"{showcase.unit_code}-1", confirm=True
            )
            nominated = self._nominate(course, unit, people)
            training.record_attendance(actor=self.recipient, nomination_ids=[n.pk for n in nominated])

    def _market_courses(self, code: str, course_type: CourseType, expected) -> None:
        """Where the market sends this system, a past course's graduates, a running course's trainees (nominated;
        only the four cities' record attendance, to keep the writes few) and a few nominated to a future course:
        rarely all the crews the systems need."""
        system = course_type.system
        places = sorted(expected.get(system.pk, {}).items(), key=lambda pair: (-pair[1], pair[0])) if system else []
        places = [place for place, count in places if place not in {s.destination for s in SHOWCASES}][:1]
        stations = places or [FALLBACK_STATION]
        weeks = course_type.weeks
        past_start = self.today - dt.timedelta(weeks=weeks + self.random.randint(6, 20))
        current_start = self.today - dt.timedelta(weeks=max(1, weeks // 2), days=self.random.randint(0, 6))
        future_start = self.today + dt.timedelta(weeks=self.random.randint(3, 10))
        past = self._offer(
            code, starts_on=past_start, seats=self.random.randint(*PAST_SEATS), reference=f"{code}-A", confirm=True
        )
        current = self._offer(
            code, starts_on=current_start, seats=self.random.randint(*CURRENT_SEATS), reference=f"{code}-B", confirm=True
        )
        future = self._offer(
            code, starts_on=future_start, seats=self.random.randint(*FUTURE_SEATS), reference=f"{code}-C", confirm=False
        )
        units = [self._unit_for(system, station) for station in stations]
        past_nominations: list[Nomination] = []
        for course, share in ((past, 1.0), (current, 1.0), (future, FUTURE_NOMINATED)):
            seats = round(course.seats * share)
            for index, unit in enumerate(units):
                people = seats // len(units) + (1 if index < seats % len(units) else 0)
                made = self._nominate(course, unit, people)
                if course is past:
                    past_nominations.extend(made)
        self._finish(past, past_nominations, failures=1 if len(past_nominations) > 2 else 0)


class _InFull(Shipments):
    """The four cities' packages: one consignment per donor and city through a hub, dispatched about seven weeks
    ago, received in full and handed over to the named unit."""

    def deliver(self, parts: list[Allocation], parties: Parties, *, unit: str) -> dt.date:
        owner, destination = parts[0].pledge.owner, parts[0].requirement.destination
        hub_code, mode = self._hub()
        hub = self.hubs[hub_code]
        dispatched = self.today - dt.timedelta(days=self.random.randrange(45, 60))
        at_hub, eta = dispatched + dt.timedelta(days=5), dispatched + dt.timedelta(days=10)
        legs = [{"from_place": hub, "to_place": destination, "mode": mode, "planned_departure": at_hub, "planned_arrival": eta}]
        origin = self.countries.get(owner.iso3 or "")
        if origin is not None:
            legs.insert(
                0,
                {
                    "from_place": origin,
                    "to_place": hub,
                    "mode": _first_leg_mode(owner.iso3, hub),
                    "planned_departure": dispatched,
                    "planned_arrival": at_hub,
                },
            )
        self.consignments += 1
        lines = []
        for allocation in parts:
            units = int(allocation.quantity)  # whole units: a fraction of a round stays allocated
            if units > 0:
                lines.append({"allocation": allocation.pk, "quantity": units, "serials": self._serials(allocation.pledge, units)})
        consignment = logistics.create_consignment(
            actor=parties.donor,
            fields={
                "reference": f"{owner.code}-TRN-{self.consignments:04d}",
                "weight_kg": Decimal(self.random.randrange(2_000, 24_000)),
            },
            lines=lines,
            legs=legs,
        )
        consignment = self._step(consignment, "dispatch", parties.donor, dispatched)
        if origin is not None:
            consignment = self._step(consignment, "reach_hub", parties.donor, at_hub)
            consignment = self._step(consignment, "leave_hub", parties.donor, at_hub + dt.timedelta(days=1))
        consignment = self._step(consignment, "arrive", parties.recipient, eta)
        consignment = logistics.record_receipt(
            actor=parties.recipient,
            consignment_id=consignment.pk,
            expected_version=consignment.version,
            lines=[
                {"line": line.pk, "quantity_received": line.quantity, "serials": list(line.serials)}
                for line in consignment.lines.all()
            ],
            received_on=eta,
        )
        handed = eta + dt.timedelta(days=2)
        logistics.hand_over(
            actor=parties.recipient,
            consignment_id=consignment.pk,
            expected_version=consignment.version,
            unit=unit,
            place=destination,
            date=handed,
            officer_role="Battalion logistics officer",
        )
        return handed

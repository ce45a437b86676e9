"""Crew sync: are the crews qualified by the day their systems arrive? (pure: no Django, no ORM)

For every system type expected at a destination (handed over, in transit with an ETA, allocated with an
availability date), the crews needed by each arrival day are the crews of every system arrived by then
(systems × crews per system × crew size people). People count from the day they graduate, or, still on a course,
from the day it ends. When the people needed by an arrival are there only after it, the arrival is late by the
days between; each course whose trainees are among them and which ends after the arrival is flagged with the days
its crews will be late. What no nomination covers is a seat gap of the system's course type in the month of the
arrival that needs it, and the courses offered with free seats that end by that arrival close it, soonest first.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Arrival:
    destination: int
    system: int
    quantity: int
    on: dt.date
    status: str  # "present", "in_transit" or "allocated"


@dataclass(frozen=True)
class Supply:
    """People of the destination's units qualified on a system from a day on (graduates), or qualifying on it
    (on a course that ends that day)."""

    destination: int
    system: int
    on: dt.date
    people: int
    graduated: bool
    course: int | None = None


@dataclass(frozen=True)
class Offer:
    """A course instance still offered: its free seats (seats less live nominations)."""

    course: int
    course_type: int
    starts_on: dt.date
    ends_on: dt.date
    free_seats: int


@dataclass(frozen=True)
class CrewRule:
    crew_size: int
    crews_per_system: int
    course_type: int | None  # the course type that qualifies its crews (the first one when several do)


@dataclass(frozen=True)
class LateCourse:
    course: int
    ends_on: dt.date
    days_late: int


@dataclass(frozen=True)
class Sync:
    """One arrival, with the people needed for every system arrived by its day."""

    destination: int
    system: int
    on: dt.date
    status: str
    quantity: int
    people_needed: int
    people_ready: int  # graduated or graduating by the arrival day
    qualify_on: dt.date | None  # the day enough people are there; None when nominations do not cover the need
    days_late: int  # 0 when ready in time (or short: see people_short)
    people_short: int  # people no nomination covers at all
    late_courses: tuple[LateCourse, ...] = ()
    systems_by_then: int = 0  # systems of this type at the destination by the arrival day (this one included)
    people_later: int = 0  # of the people needed and not ready by the day, those nominated who qualify only after it

    @property
    def people_missing(self) -> int:
        """People needed by the day and not ready by it: people_later + people_short."""
        return max(0, self.people_needed - self.people_ready)

    @property
    def crews_late(self) -> bool:
        return self.days_late > 0


@dataclass(frozen=True)
class Gap:
    course_type: int
    system: int
    month: str  # YYYY-MM of the arrival that needs the seats
    need_by: dt.date
    seats: int
    closing: tuple[tuple[int, int], ...] = field(default=())  # (course, seats taken from it)

    @property
    def uncovered(self) -> int:
        return self.seats - sum(seats for _, seats in self.closing)


def sync(arrivals: Iterable[Arrival], supply: Iterable[Supply], rules: Mapping[int, CrewRule]) -> list[Sync]:
    by_key: dict[tuple[int, int], list[Supply]] = defaultdict(list)
    for row in supply:
        by_key[row.destination, row.system].append(row)
    grouped: dict[tuple[int, int], list[Arrival]] = defaultdict(list)
    for arrival in arrivals:
        if arrival.system in rules and arrival.quantity > 0:
            grouped[arrival.destination, arrival.system].append(arrival)
    rows = []
    for key in sorted(grouped):
        rule = rules[key[1]]
        people_per_system = rule.crews_per_system * rule.crew_size
        supplies = sorted(by_key.get(key, []), key=lambda row: (row.on, not row.graduated))
        total = sum(row.people for row in supplies)
        systems = 0
        for arrival in sorted(grouped[key], key=lambda arrival: (arrival.on, arrival.status)):
            systems += arrival.quantity
            needed = systems * people_per_system
            ready = sum(row.people for row in supplies if row.on <= arrival.on)
            qualify_on, running = None, 0
            for row in supplies:
                running += row.people
                if running >= needed:
                    qualify_on = row.on
                    break
            if needed == 0:
                qualify_on = arrival.on
            days_late = max(0, (qualify_on - arrival.on).days) if qualify_on is not None else 0
            late_courses = ()
            if qualify_on is not None and days_late > 0:
                late_courses = tuple(
                    LateCourse(row.course, row.on, (row.on - arrival.on).days)
                    for row in supplies
                    if row.course is not None and arrival.on < row.on <= qualify_on
                )
            rows.append(
                Sync(
                    destination=key[0],
                    system=key[1],
                    on=arrival.on,
                    status=arrival.status,
                    quantity=arrival.quantity,
                    people_needed=needed,
                    people_ready=ready,
                    qualify_on=qualify_on,
                    days_late=days_late,
                    people_short=max(0, needed - total),
                    late_courses=late_courses,
                    systems_by_then=systems,
                    people_later=max(0, min(total, needed) - ready),
                )
            )
    return rows


def gaps(rows: Iterable[Sync], rules: Mapping[int, CrewRule], offers: Iterable[Offer], today: dt.date) -> list[Gap]:
    """Seats still needed, by course type and the month of the arrival that needs them, each with the offered
    courses (starting today or later, ending by the need) that would close it, soonest first; a course's free
    seats go to the earliest gap first."""
    offers = list(offers)
    short: dict[tuple[int, int], tuple[int, dt.date]] = {}  # (destination, system) -> (people short, first day)
    increments: dict[tuple[int, int, str], list] = defaultdict(lambda: [0, None])
    for row in sorted(rows, key=lambda row: (row.destination, row.system, row.on)):
        key = (row.destination, row.system)
        before = short.get(key, (0, None))[0]
        if row.people_short > before:
            month = row.on.strftime("%Y-%m")
            entry = increments[row.system, rules[row.system].course_type or 0, month]
            entry[0] += row.people_short - before
            entry[1] = row.on if entry[1] is None else min(entry[1], row.on)
            short[key] = (row.people_short, row.on)
    free = {offer.course: offer.free_seats for offer in offers}
    by_type: dict[int, list[Offer]] = defaultdict(list)
    for offer in offers:
        by_type[offer.course_type].append(offer)
    result = []
    for (system, course_type, month), (seats, need_by) in sorted(increments.items(), key=lambda item: (item[1][1], item[0])):
        closing, wanted = [], seats
        candidates = sorted(by_type.get(course_type, []), key=lambda offer: (offer.ends_on, offer.course))
        for offer in candidates:
            if wanted == 0:
                break
            if offer.starts_on < today or offer.ends_on > need_by or free[offer.course] <= 0:
                continue
            taken = min(wanted, free[offer.course])
            free[offer.course] -= taken
            wanted -= taken
            closing.append((offer.course, taken))
        result.append(Gap(course_type, system, month, need_by, seats, tuple(closing)))
    return result

"""Readiness and training gaps over the API: the readiness board per destination, and crews late with the seat
gaps and the courses that would close them. Read by coordination staff, the recipient and auditors; to anyone
else these are not found (docs/readiness.md says why a donor gets no part of them)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from umbrella.core.errors import Invalid, NotFound
from umbrella.places.queries import resolve_place
from umbrella.training.readiness_queries import may_read, readiness_board, training_plan

router = Router()


class SystemRef(Schema):
    id: int
    code: str
    name: str


class SystemsOut(Schema):
    present: int = Field(description="Handed over by the day")
    coming: int = Field(description="In transit and allocated")
    in_transit: int
    allocated: int = Field(description="On an approved allocation no consignment carries yet")
    expected: int = Field(description="present + coming: the package must be complete for all of them")
    next_arrival: dt.date | None


class MunitionsOut(Schema):
    rounds: float = Field(description="Rounds on hand counted for this system (its share of each munition it fires)")
    rounds_needed: float
    days_of_supply: float | None = Field(description="rounds / (systems × rounds per day); null when it fires nothing")
    days_needed: int | None


class SparesOut(Schema):
    on_hand: float
    needed: float


class CrewsOut(Schema):
    qualified_people: int
    crew_size: int
    qualified: int = Field(description="floor(qualified people / crew size)")
    needed: int = Field(description="systems × crews per system")
    course_type: str | None = Field(description="The course type qualifying its crews; null when none does")
    people_training: int = Field(description="People of units stationed there on a course for the system, not yet qualified")
    training_until: str | None = Field(description="The day the last of them is to qualify (ISO date); null when none is")


class PackageOut(Schema):
    system: SystemRef
    systems: SystemsOut
    munitions: MunitionsOut
    spares: SparesOut
    crews: CrewsOut
    completeness: int = Field(description="0-100 %: the mean of the elements' fill, rounded down")
    missing: list[str] = Field(description="systems, munitions, spares, crews: the elements not complete")


class PlaceRef(Schema):
    id: int
    code: str
    name: str


class ZooOut(Schema):
    area: str
    types: int
    systems: int
    effective_types: float = Field(description="1 / Σ share² of the system types' counts")


class DestinationOut(Schema):
    destination: PlaceRef
    completeness: int
    packages: list[PackageOut]
    fleet_zoo: list[ZooOut]


class BoardOut(Schema):
    day: dt.date
    as_of: dt.date | None = Field(
        description="The past day read from the ledger as recorded by its end; null when the board is today's"
    )
    destinations: list[DestinationOut]


class ReadinessFilters(Schema):
    destination: str | None = Field(None, description="A place's code, name or alias: only it, counting what is inside it")
    as_of: dt.date | None = Field(None, description="The day as the ledger had recorded it by its end")


def _require_reader(request) -> None:
    if not may_read(request.actor):
        raise NotFound(_("Readiness is read by coordination staff, the recipient and auditors."))


@router.get("/readiness", response=BoardOut, summary="Package completeness of each system type at each destination")
def get_readiness(request, filters: Query[ReadinessFilters]):
    _require_reader(request)
    destination = None
    if filters.destination:
        try:
            destination = resolve_place(filters.destination, request.actor)
        except ValidationError as error:
            raise Invalid({"destination": error.messages}) from None
    return readiness_board(request.actor, destination=destination, as_of=filters.as_of).as_dict()


class LateCourseOut(Schema):
    id: int
    reference: str
    ends_on: dt.date
    days_late: int


class ArrivalOut(Schema):
    destination: str
    system: str
    on: dt.date
    status: str = Field(description="present, in_transit or allocated")
    systems: int = Field(description="Systems arriving on this day")
    systems_by_then: int = Field(description="Systems of this type at the destination by this day (cumulative)")
    people_needed: int = Field(description="People the systems there by this day need (cumulative)")
    people_ready: int = Field(description="People qualified or graduating by this day")
    people_missing: int = Field(description="people_needed - people_ready, at least 0 (= people_later + people_short)")
    people_later: int = Field(description="Of people_missing, those nominated who qualify only after this day")
    qualify_on: dt.date | None
    days_late: int
    people_short: int = Field(description="Of people_missing, those no nomination covers")
    late_courses: list[LateCourseOut]


class ClosingOut(Schema):
    id: int
    reference: str
    ends_on: dt.date
    seats: int


class GapOut(Schema):
    course_type: str | None
    system: str
    month: str
    need_by: dt.date
    seats: int
    closing: list[ClosingOut]
    uncovered: int


class GapsOut(Schema):
    day: dt.date
    late: list[ArrivalOut]
    gaps: list[GapOut]
    arrivals: list[ArrivalOut] = Field(description="Every expected arrival, by date, then destination and system")


class GapFilters(Schema):
    as_of: dt.date | None = Field(None, description="The day as the ledger had recorded it by its end")


@router.get("/training/gaps", response=GapsOut, summary="Crews late for their systems, and course seat gaps by month")
def get_training_gaps(request, filters: Query[GapFilters]):
    _require_reader(request)
    return training_plan(request.actor, as_of=filters.as_of).as_dict()

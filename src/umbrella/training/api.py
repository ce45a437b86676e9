"""Training over the API: course types (coordination staff), courses offered and run by donors, and the
recipient's pseudonymous nominations with their attendance, graduation, failure and withdrawal.
Updates and steps of a course take If-Match (its ETag); creates take an Idempotency-Key."""

import datetime as dt
from decimal import Decimal

from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import ConfigDict

from umbrella.core.access import Marking, get_visible
from umbrella.core.api import Pagination, created, expected_version, idempotent, scope_of, with_etag
from umbrella.core.errors import Invalid
from umbrella.core.listing import filtered, params_of, sort_type
from umbrella.pledges.models import REASON_MAX_LENGTH
from umbrella.training import queries, services
from umbrella.training.models import CourseState
from umbrella.training.queries import COURSE_TYPES, COURSES

router = Router()


# --- course types -----------------------------------------------------------------------------------------


class CourseTypeOut(Schema):
    id: int
    code: str
    name: str
    qualification: str
    system: str | None = Field(description="The crew-served system's item type code")
    weeks: int
    language: str
    seat_value_eur: Decimal
    source: str
    marking: str
    version: int

    @staticmethod
    def resolve_system(obj) -> str | None:
        return obj.system.code if obj.system_id else None


class CourseTypeChange(Schema):
    model_config = ConfigDict(extra="forbid")
    code: str | None = Field(None, max_length=40)
    name: str | None = Field(None, max_length=200)
    qualification: str | None = Field(None, max_length=200)
    system: str | None = Field(None, description="Item type code of a crew-served system; empty for none")
    weeks: int | None = Field(None, ge=1, le=104)
    language: str | None = Field(None, max_length=2)
    seat_value_eur: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    source: str | None = Field(None, max_length=500)
    marking: Marking | None = None


class CourseTypeCreate(CourseTypeChange):
    code: str = Field(max_length=40)
    name: str = Field(max_length=200)
    qualification: str = Field(max_length=200)
    weeks: int = Field(ge=1, le=104)


class CourseTypeFilters(Schema):
    q: str | None = None
    sort: sort_type(COURSE_TYPES) | None = Field(None, description="Prefix - to reverse")


def _course_type_fields(actor, data: Schema) -> dict:
    from umbrella.catalog.models import ItemType

    values = data.model_dump(exclude_unset=True)
    if "system" in values:
        code = (values["system"] or "").strip()
        if not code:
            values["system"] = None
        else:
            system = ItemType.objects.visible_to(actor).filter(code=code).first()
            if system is None:
                raise Invalid({"system": [_("No item type %(code)s.") % {"code": code}]})
            values["system"] = system
    for name in ("source",):
        if name in values and values[name] is None:
            values[name] = ""
    if values.get("marking") is None:
        values.pop("marking", None)
    return values


@router.get("/course-types", response=list[CourseTypeOut], summary="List course types")
@paginate(Pagination, page_size=50)
def list_course_types(request, filters: Query[CourseTypeFilters]):
    return filtered(COURSE_TYPES, queries.course_types(request.actor), params_of(filters), request.actor)


@router.post("/course-types", response={201: CourseTypeOut}, summary="Create a course type (coordination editors)")
def create_course_type(request, data: CourseTypeCreate):
    def create():
        kind = services.create_course_type(actor=request.actor, fields=_course_type_fields(request.actor, data))
        return created(CourseTypeOut, kind, f"/api/v1/course-types/{kind.pk}")

    return idempotent(request, scope_of(request.actor), create)


@router.get("/course-types/{course_type_id}", response=CourseTypeOut, summary="One course type, with its ETag")
def get_course_type(request, course_type_id: int, response: HttpResponse):
    kind = get_visible(queries.course_types(request.actor), request.actor, pk=course_type_id)
    with_etag(response, kind.version)
    return kind


@router.patch("/course-types/{course_type_id}", response=CourseTypeOut, summary="Change a course type (If-Match required)")
def update_course_type(request, course_type_id: int, data: CourseTypeChange, response: HttpResponse):
    get_visible(queries.course_types(request.actor), request.actor, pk=course_type_id)
    kind = services.update_course_type(
        actor=request.actor,
        course_type_id=course_type_id,
        expected_version=expected_version(request),
        changes=_course_type_fields(request.actor, data),
    )
    with_etag(response, kind.version)
    return kind


# --- courses ----------------------------------------------------------------------------------------------


class CourseOut(Schema):
    id: int
    course_type: str = Field(description="Course type code")
    donor: str = Field(description="The offering donor's organization code")
    reference: str
    provider: str
    site: str = Field(description="Training site's place code")
    starts_on: dt.date
    ends_on: dt.date
    seats: int
    seats_taken: int = Field(description="Nominated, attending and graduated trainees")
    seats_free: int
    language: str
    interpreters: int
    seat_value_eur: Decimal
    value_eur: Decimal = Field(description="Seats × seat value: the donor's in-kind support once confirmed")
    state: CourseState
    cancel_reason: str
    marking: str
    version: int

    @staticmethod
    def resolve_course_type(obj) -> str:
        return obj.course_type.code

    @staticmethod
    def resolve_donor(obj) -> str:
        return obj.owner.code

    @staticmethod
    def resolve_site(obj) -> str:
        return obj.site.code


class CourseChange(Schema):
    model_config = ConfigDict(extra="forbid")
    course_type: str | None = Field(None, description="Course type code")
    reference: str | None = Field(None, max_length=80)
    provider: str | None = Field(None, max_length=200)
    site: str | None = Field(None, max_length=200, description="Place code, name or alias")
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    seats: int | None = Field(None, ge=1, le=5000)
    language: str | None = Field(None, max_length=2)
    interpreters: int | None = Field(None, ge=0, le=1000)
    seat_value_eur: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    marking: Marking | None = None


class CourseCreate(CourseChange):
    course_type: str = Field(description="Course type code")
    reference: str = Field(max_length=80)
    provider: str = Field(max_length=200)
    site: str = Field(max_length=200, description="Place code, name or alias")
    starts_on: dt.date
    ends_on: dt.date
    seats: int = Field(ge=1, le=5000)
    seat_value_eur: Decimal | None = Field(
        None, ge=0, max_digits=14, decimal_places=2, description="The course type's seat value when not given"
    )


class CourseFilters(Schema):
    q: str | None = None
    donor: str | None = Field(None, description="Donor organization code")
    course_type: str | None = Field(None, description="Course type code")
    state: CourseState | None = None
    sort: sort_type(COURSES) | None = Field(None, description="Prefix - to reverse")


class CancelIn(Schema):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(max_length=REASON_MAX_LENGTH)


def _visible_course(actor, course_id: int):
    return get_visible(queries.courses(actor), actor, pk=course_id)


def _course_answer(request, response: HttpResponse, course):
    with_etag(response, course.version)
    return _visible_course(request.actor, course.pk)


def _changes(data: Schema) -> dict:
    values = data.model_dump(exclude_unset=True)
    return {name: value for name, value in values.items() if value is not None or name == "seat_value_eur"}


@router.get("/courses", response=list[CourseOut], summary="List courses with seats taken and free (the page's filters)")
@paginate(Pagination, page_size=50)
def list_courses(request, filters: Query[CourseFilters]):
    return filtered(COURSES, queries.courses(request.actor), params_of(filters), request.actor)


@router.post("/courses", response={201: CourseOut}, summary="Offer a course (a donor's editor, as its own)")
def offer_course(request, data: CourseCreate):
    def create():
        course = services.offer_course(actor=request.actor, fields=_changes(data))
        return created(CourseOut, _visible_course(request.actor, course.pk), f"/api/v1/courses/{course.pk}")

    return idempotent(request, scope_of(request.actor), create)


@router.get("/courses/{course_id}", response=CourseOut, summary="One course, with its ETag")
def get_course(request, course_id: int, response: HttpResponse):
    course = _visible_course(request.actor, course_id)
    with_etag(response, course.version)
    return course


@router.patch(
    "/courses/{course_id}", response=CourseOut, summary="Change an offered or confirmed course (its donor; If-Match required)"
)
def update_course(request, course_id: int, data: CourseChange, response: HttpResponse):
    _visible_course(request.actor, course_id)
    course = services.update_course(
        actor=request.actor, course_id=course_id, expected_version=expected_version(request), changes=_changes(data)
    )
    return _course_answer(request, response, course)


@router.post("/courses/{course_id}/confirm", response=CourseOut, summary="Confirm an offered course (its donor; If-Match)")
def confirm_course(request, course_id: int, response: HttpResponse):
    _visible_course(request.actor, course_id)
    course = services.confirm_course(actor=request.actor, course_id=course_id, expected_version=expected_version(request))
    return _course_answer(request, response, course)


@router.post(
    "/courses/{course_id}/complete",
    response=CourseOut,
    summary="Complete a confirmed course that has ended (its donor; If-Match)",
)
def complete_course(request, course_id: int, response: HttpResponse):
    _visible_course(request.actor, course_id)
    course = services.complete_course(actor=request.actor, course_id=course_id, expected_version=expected_version(request))
    return _course_answer(request, response, course)


@router.post("/courses/{course_id}/cancel", response=CourseOut, summary="Cancel a course with a reason (its donor; If-Match)")
def cancel_course(request, course_id: int, data: CancelIn, response: HttpResponse):
    _visible_course(request.actor, course_id)
    course = services.cancel_course(
        actor=request.actor, course_id=course_id, expected_version=expected_version(request), reason=data.reason
    )
    return _course_answer(request, response, course)


# --- nominations ------------------------------------------------------------------------------------------


class NominationOut(Schema):
    id: int
    course: int = Field(alias="course_id")
    trainee: str = Field(description="Pseudonymous identifier (never a name)")
    unit: str = Field(description="Unit code")
    state: str
    graduated_on: dt.date | None
    reason: str
    version: int

    @staticmethod
    def resolve_unit(obj) -> str:
        return obj.unit.code


class TraineeIn(Schema):
    model_config = ConfigDict(extra="forbid")
    trainee: str = Field(max_length=40, description="Pseudonymous identifier, e.g. T-47-00123: never a name")
    unit: str = Field(max_length=40, description="Unit code")


class NominateIn(Schema):
    model_config = ConfigDict(extra="forbid")
    trainees: list[TraineeIn] = Field(min_length=1, max_length=5000)


class NominationsIn(Schema):
    model_config = ConfigDict(extra="forbid")
    nominations: list[int] = Field(min_length=1, max_length=5000)


class GraduateIn(NominationsIn):
    on: dt.date = Field(description="Day of graduation: not before the course starts, not in the future")


class ReasonIn(Schema):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(max_length=REASON_MAX_LENGTH, description="Kept in the ledger for good: no personal details")


@router.get(
    "/courses/{course_id}/nominations",
    response=list[NominationOut],
    summary="A course's nominations (the recipient, coordination staff and the course's donor)",
)
@paginate(Pagination, page_size=100)
def list_nominations(request, course_id: int):
    return queries.nominations(request.actor, _visible_course(request.actor, course_id))


def _nominations_answer(request, course_id: int, written) -> list:
    ids = [nomination.pk for nomination in written]
    return list(queries.nominations(request.actor, _visible_course(request.actor, course_id)).filter(pk__in=ids))


@router.post(
    "/courses/{course_id}/nominations",
    response={201: list[NominationOut]},
    summary="Nominate trainees, all or none (the recipient); every row's problem at once",
)
def nominate(request, course_id: int, data: NominateIn):
    def create():
        written = services.nominate(
            actor=request.actor, course_id=course_id, trainees=[entry.model_dump() for entry in data.trainees]
        )
        rows = _nominations_answer(request, course_id, written)
        response = JsonResponse([NominationOut.from_orm(row).model_dump(mode="json") for row in rows], status=201, safe=False)
        response["Location"] = f"/api/v1/courses/{course_id}/nominations"
        return response

    _visible_course(request.actor, course_id)
    return idempotent(request, scope_of(request.actor), create)


def _in_course(request, course_id: int, nomination_ids: list[int]) -> None:
    """Every nomination named must be one of this course's the actor sees (else 404)."""
    course = _visible_course(request.actor, course_id)
    found = set(queries.nominations(request.actor, course).filter(pk__in=nomination_ids).values_list("pk", flat=True))
    if set(nomination_ids) - found:
        get_visible(queries.nominations(request.actor, course), request.actor, pk=min(set(nomination_ids) - found))


@router.post(
    "/courses/{course_id}/attendance",
    response=list[NominationOut],
    summary="Record that nominated trainees attend (the recipient or the course's donor)",
)
def record_attendance(request, course_id: int, data: NominationsIn):
    _in_course(request, course_id, data.nominations)
    written = services.record_attendance(actor=request.actor, nomination_ids=data.nominations)
    return _nominations_answer(request, course_id, written)


@router.post(
    "/courses/{course_id}/graduates",
    response=list[NominationOut],
    summary="Record graduates on a day (the recipient or the course's donor)",
)
def graduate(request, course_id: int, data: GraduateIn):
    _in_course(request, course_id, data.nominations)
    written = services.graduate(actor=request.actor, nomination_ids=data.nominations, on=data.on)
    return _nominations_answer(request, course_id, written)


@router.post(
    "/courses/{course_id}/nominations/{nomination_id}/failure",
    response=NominationOut,
    summary="Record that a trainee did not graduate, with a reason (the recipient or the course's donor)",
)
def record_failure(request, course_id: int, nomination_id: int, data: ReasonIn):
    _in_course(request, course_id, [nomination_id])
    written = services.record_failure(actor=request.actor, nomination_id=nomination_id, reason=data.reason)
    return _nominations_answer(request, course_id, [written])[0]


@router.post(
    "/courses/{course_id}/nominations/{nomination_id}/withdrawal",
    response=NominationOut,
    summary="Withdraw a trainee from a course, with a reason (the recipient)",
)
def withdraw(request, course_id: int, nomination_id: int, data: ReasonIn):
    _in_course(request, course_id, [nomination_id])
    written = services.withdraw(actor=request.actor, nomination_id=nomination_id, reason=data.reason)
    return _nominations_answer(request, course_id, [written])[0]

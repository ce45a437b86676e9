"""Reads of training that pages, API, commands and readiness share."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, DecimalField, F, Max, Q, QuerySet
from django.utils import formats
from django.utils.translation import get_language_info, gettext_lazy

from umbrella.core.access import DONOR_KINDS, Actor, OrganizationKind
from umbrella.core.listing import Column, Filter, Listing
from umbrella.core.numbers import number
from umbrella.orgs.models import Organization
from umbrella.training.models import Course, CourseState, CourseType, Nomination, NominationState


@dataclass(frozen=True)
class CrewSupply:
    """People of one unit who hold, or are on course for, the qualification of one system from a day on: graduates
    from their graduation day, trainees still on a course from the day it ends."""

    unit_id: int
    system_id: int
    on: dt.date
    people: int
    graduated: bool


def crew_supply(actor: Actor) -> list[CrewSupply]:
    """Every qualified or qualifying person `actor` may see, grouped by unit, system and day."""
    nominations = Nomination.objects.visible_to(actor).filter(course__course_type__system__isnull=False)
    graduates = (
        nominations.filter(state=NominationState.GRADUATED)
        .values_list("unit_id", "course__course_type__system_id", "graduated_on")
        .annotate(people=Count("id"))
    )
    on_course = (
        nominations.filter(state__in=(NominationState.NOMINATED, NominationState.ATTENDING))
        .exclude(course__state=CourseState.CANCELLED)
        .values_list("unit_id", "course__course_type__system_id", "course__ends_on")
        .annotate(people=Count("id"))
    )
    return sorted(
        [CrewSupply(unit, system, on, people, True) for unit, system, on, people in graduates]
        + [CrewSupply(unit, system, on, people, False) for unit, system, on, people in on_course],
        key=lambda supply: (supply.unit_id, supply.system_id, supply.on, not supply.graduated),
    )


# Nominations that hold a seat: a failed or withdrawn trainee gives it back.
SEAT_HOLDING = (NominationState.NOMINATED, NominationState.ATTENDING, NominationState.GRADUATED)
# The states whose seats count as the donor's in-kind support: the course will run, or has run.
VALUED_STATES = (CourseState.CONFIRMED, CourseState.COMPLETED)


def course_types(actor: Actor) -> QuerySet[CourseType]:
    return CourseType.objects.visible_to(actor).select_related("owner", "system")


def courses(actor: Actor) -> QuerySet[Course]:
    """Courses the actor may see, each with `seats_taken` (nominated, attending, graduated) and `seats_free`.
    Seats are a figure of the course, counted over every nomination whoever may read it: a number of seats names
    nobody, and a donor coordinating its own offer needs to know whether another's is full."""
    return (
        Course.objects.visible_to(actor)
        .select_related("owner", "course_type", "site")
        .annotate(seats_taken=Count("nominations", filter=Q(nominations__state__in=SEAT_HOLDING)))
        .annotate(seats_free=F("seats") - F("seats_taken"))
    )


def course_offers(actor: Actor, donor_code: str) -> QuerySet[Course]:
    """One donor's course offers, every state, as the actor may see them."""
    return courses(actor).filter(owner__code=donor_code)


def nominations(actor: Actor, course: Course) -> QuerySet[Nomination]:
    return Nomination.objects.visible_to(actor).filter(course=course).select_related("unit").order_by("trainee")


@dataclass(frozen=True)
class QualifiedPeople:
    """People of one unit holding one qualification (graduates), and the day the latest of them graduated."""

    unit_id: int
    unit_code: str
    unit_name: str
    course_type_id: int
    course_type_code: str
    qualification: str
    people: int
    since: dt.date


def qualified_people(actor: Actor, *, unit_id: int | None = None, unit_code: str | None = None) -> list[QualifiedPeople]:
    """Graduates the actor may see, per unit and qualification (of one unit, by id or code, if given)."""
    graduates = Nomination.objects.visible_to(actor).filter(state=NominationState.GRADUATED)
    if unit_id is not None:
        graduates = graduates.filter(unit_id=unit_id)
    if unit_code:
        graduates = graduates.filter(unit__code=unit_code.strip().upper())
    rows = (
        graduates.values(
            "unit_id",
            "unit__code",
            "unit__name",
            "course__course_type_id",
            "course__course_type__code",
            "course__course_type__qualification",
        )
        .annotate(people=Count("id"), since=Max("graduated_on"))
        .order_by("unit__code", "course__course_type__code")
    )
    return [
        QualifiedPeople(
            row["unit_id"],
            row["unit__code"],
            row["unit__name"],
            row["course__course_type_id"],
            row["course__course_type__code"],
            row["course__course_type__qualification"],
            row["people"],
            row["since"],
        )
        for row in rows
    ]


@dataclass(frozen=True)
class InKindValue:
    """A donor's courses as in-kind support: seats of its confirmed and completed courses at their seat value."""

    donor_code: str
    donor_name: str
    courses: int
    seats: int
    value_eur: Decimal


SEAT_VALUE = DecimalField(max_digits=20, decimal_places=2)


# The seats that count as in-kind support are the seats trainees take, not the seats offered: an empty seat costs
# its provider little and trains nobody. While a course is confirmed, those of trainees nominated, attending or
# already through (graduated or not); once completed, those who attended (attending, graduated, did not graduate).
# A withdrawn trainee gives the seat back, and so does one still "nominated" on a completed course (never came).
USED_WHILE_CONFIRMED = (
    NominationState.NOMINATED,
    NominationState.ATTENDING,
    NominationState.GRADUATED,
    NominationState.FAILED,
)
USED_WHEN_COMPLETED = (NominationState.ATTENDING, NominationState.GRADUATED, NominationState.FAILED)
SEATS_USED = Count(
    "nominations",
    filter=Q(state=CourseState.CONFIRMED, nominations__state__in=USED_WHILE_CONFIRMED)
    | Q(state=CourseState.COMPLETED, nominations__state__in=USED_WHEN_COMPLETED),
)


def _valued(actor: Actor) -> QuerySet[Course]:
    return Course.objects.visible_to(actor).filter(state__in=VALUED_STATES)


def in_kind_by_donor(actor: Actor, *, year: int | None = None) -> list[InKindValue]:
    """Per donor (by name), what its confirmed and completed courses (starting in `year`, if given) are worth in
    euros: the seats trainees take (`SEATS_USED`, counted over every nomination whoever may read it: a number of
    seats names nobody) at each course's seat value."""
    valued = _valued(actor)
    if year is not None:
        valued = valued.filter(starts_on__year=year)
    per_course = valued.values_list("pk", "owner__code", "owner__name", "seat_value_eur").annotate(used=SEATS_USED).order_by()
    totals: dict[tuple[str, str], list] = {}
    for _pk, code, name, seat_value, used in per_course:
        total = totals.setdefault((code, name), [0, 0, Decimal(0)])
        total[0] += 1
        total[1] += used
        total[2] += Decimal(seat_value) * used
    return [
        InKindValue(code, name, count, seats, _cents(value))
        for (code, name), (count, seats, value) in sorted(totals.items(), key=lambda item: (item[0][1].casefold(), item[0][0]))
    ]


def training_value(actor: Actor, year: int, donor_codes: list[str]) -> dict[str, Decimal]:
    """What each donor's courses starting in `year` count for in its fair share (funding.queries.counted)."""
    return {row.donor_code: row.value_eur for row in in_kind_by_donor(actor, year=year) if row.donor_code in donor_codes}


def training_value_withheld(actor: Actor, year: int, donor_codes: list[str]) -> bool:
    """Whether a course that counts towards these donors' shares is withheld from the actor (yes or no only)."""
    return (
        Course.objects.hidden_from(actor)
        .filter(state__in=VALUED_STATES, starts_on__year=year, owner__code__in=donor_codes)
        .exists()
    )


def day(value: dt.date | None) -> str:
    """A date as the project writes it (`formats.date_format`: ISO in English, the Ukrainian form in Ukrainian),
    with non-breaking spaces so that a table cell never wraps it."""
    return formats.date_format(value).replace(" ", "\u00a0") if value else ""


def language_name(code: str) -> str:
    """A course's language by its name in the reader's language ("German", "німецька"), the code if unknown."""
    try:
        return str(get_language_info(code)["name_translated"])
    except KeyError:
        return code


def _cents(value) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


COURSE_TYPES = Listing(
    columns=(
        Column(gettext_lazy("Course type"), lambda o: str(o), sort="code", link=True),
        Column(gettext_lazy("Qualification"), lambda o: o.qualification, sort="qualification"),
        Column(gettext_lazy("System"), lambda o: o.system.name if o.system_id else "", sort="system__name"),
        Column(gettext_lazy("Weeks"), lambda o: o.weeks, sort="weeks", numeric=True),
        Column(gettext_lazy("Language"), lambda o: language_name(o.language), sort="language"),
        Column(gettext_lazy("Seat value (EUR)"), lambda o: number(o.seat_value_eur, 2), sort="seat_value_eur", numeric=True),
    ),
    search=("code", "name", "qualification", "system__name"),
    default_sort="code",
)


def _donor_choices(actor: Actor) -> list[tuple[str, str]]:
    return list(Organization.objects.filter(kind__in=DONOR_KINDS).order_by("code").values_list("code", "name"))


COURSES = Listing(
    columns=(
        Column(gettext_lazy("Course"), lambda o: o.label, sort="reference", link=True),
        Column(gettext_lazy("Donor"), lambda o: o.owner.name, sort="owner__name"),
        Column(gettext_lazy("Provider"), lambda o: o.provider, sort="provider"),
        Column(gettext_lazy("Training site"), lambda o: str(o.site), sort="site__code"),
        Column(gettext_lazy("Language"), lambda o: language_name(o.language), sort="language"),
        Column(gettext_lazy("Starts"), lambda o: day(o.starts_on), sort="starts_on"),
        Column(gettext_lazy("Ends"), lambda o: day(o.ends_on), sort="ends_on"),
        Column(gettext_lazy("Seats"), lambda o: o.seats, sort="seats", numeric=True),
        Column(gettext_lazy("Taken"), lambda o: o.seats_taken, sort="seats_taken", numeric=True),
        Column(gettext_lazy("Free"), lambda o: o.seats_free, sort="seats_free", numeric=True),
        Column(gettext_lazy("State"), lambda o: o.get_state_display(), sort="state"),
    ),
    filters=(
        Filter(
            "donor",
            gettext_lazy("Donor"),
            "owner__code",
            _donor_choices,
            unknown=gettext_lazy("No such donor: %(value)s."),
        ),
        Filter(
            "course_type",
            gettext_lazy("Course type"),
            "course_type__code",
            lambda actor: list(CourseType.objects.visible_to(actor).values_list("code", "name")),
            unknown=gettext_lazy("No such course type: %(value)s."),
        ),
        Filter("state", gettext_lazy("State"), "state", lambda actor: CourseState.choices),
    ),
    search=("reference", "provider", "course_type__code", "course_type__name", "site__code", "owner__name"),
    states={"state": CourseState},
    default_sort="starts_on",
)


def all_nominations(actor: Actor) -> QuerySet[Nomination]:
    """Every nomination the actor may see (the recipient's, the headquarters', a donor's on its own courses)."""
    return Nomination.objects.visible_to(actor).select_related("unit", "course", "course__course_type", "course__owner")


def sees_trainees(actor: Actor, course: Course) -> bool:
    """Whether the actor reads the course's trainee list (the recipient, the headquarters, the course's donor), so a
    page says so instead of showing an empty list as if nobody were nominated."""
    if actor.is_system:
        return True
    if not actor.is_member:
        return False
    return actor.kind in (OrganizationKind.RECIPIENT, OrganizationKind.COORDINATOR) or course.owner_id == actor.organization.pk


NOMINATIONS = Listing(
    columns=(
        Column(gettext_lazy("Trainee"), lambda o: o.trainee, sort="trainee", link=True),
        Column(gettext_lazy("Unit"), lambda o: o.unit.code, sort="unit__code"),
        Column(gettext_lazy("Course"), lambda o: o.course.label, sort="course__reference"),
        Column(gettext_lazy("Donor"), lambda o: o.course.owner.name, sort="course__owner__name"),
        Column(gettext_lazy("Course ends"), lambda o: o.course.ends_on, sort="course__ends_on"),
        Column(gettext_lazy("State"), lambda o: o.get_state_display(), sort="state"),
        Column(gettext_lazy("Graduated on"), lambda o: o.graduated_on or "", sort="graduated_on"),
    ),
    filters=(
        Filter("state", gettext_lazy("State"), "state", lambda actor: NominationState.choices),
        Filter(
            "course",
            gettext_lazy("Course"),
            "course_id",
            lambda actor: [
                (str(course.pk), str(course))
                for course in Course.objects.visible_to(actor).select_related("course_type").order_by("starts_on", "pk")
            ],
            unknown=gettext_lazy("No such course: %(value)s."),
        ),
        Filter(
            "course_type",
            gettext_lazy("Course type"),
            "course__course_type__code",
            lambda actor: list(CourseType.objects.visible_to(actor).values_list("code", "name")),
            unknown=gettext_lazy("No such course type: %(value)s."),
        ),
    ),
    search=("trainee", "unit__code", "course__reference", "course__course_type__code"),
    states={"state": NominationState},
    default_sort="trainee",
)

"""Every write to course types, courses and nominations.

Who does what, as in real life:
- coordination staff (editor) keep the course types: the qualifications the recipient's crews need;
- a donor (editor) offers a course as its own organization, updates it while it is offered or confirmed,
  confirms it, completes it once it has ended, or cancels it with a reason; coordination staff (editor) may do
  each of these steps on the donor's behalf (as for consignments), but an offer is always made by the donor;
- the recipient (editor) nominates its trainees (pseudonymous identifiers, never names), records their
  attendance, graduation, failure or withdrawal. The donor running the course (its editor) may also record
  attendance, graduation and failure: it is the provider who sees who attended and who passed. Only the
  recipient withdraws a trainee: whom it sends is its own decision.

A nomination is owned by the recipient and marked for coordination; the donor running the course reads it
too (`NominationQuerySet.visible_to`), other donors never do. Every change is one ledger entry.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from umbrella.core import bulk, services
from umbrella.core.access import DONOR_KINDS, Actor, Marking, OrganizationKind, Role, get_visible, require_owner, require_role
from umbrella.core.errors import Invalid, InvalidTransition, NotFound
from umbrella.eum.models import Unit
from umbrella.places.models import Place
from umbrella.places.queries import resolve_place
from umbrella.pledges.services import given_reason
from umbrella.training.models import (
    TRAINEE_VALIDATOR,
    Course,
    CourseState,
    CourseType,
    Nomination,
    NominationState,
)

COORDINATORS = frozenset({OrganizationKind.COORDINATOR})
RECIPIENTS = frozenset({OrganizationKind.RECIPIENT})
DONORS = DONOR_KINDS
COURSE_TYPE_FIELDS = frozenset(
    {"code", "name", "qualification", "system", "weeks", "language", "seat_value_eur", "source", "marking"}
)
COURSE_FIELDS = frozenset(
    {
        "course_type",
        "reference",
        "provider",
        "site",
        "starts_on",
        "ends_on",
        "seats",
        "language",
        "interpreters",
        "seat_value_eur",
        "marking",
    }
)
OPEN_COURSE_STATES = frozenset({CourseState.OFFERED, CourseState.CONFIRMED})
# Nominations that hold a seat: a failed or withdrawn trainee gives it back.
SEAT_HOLDING = (NominationState.NOMINATED, NominationState.ATTENDING, NominationState.GRADUATED)
ON_COURSE = frozenset({NominationState.NOMINATED, NominationState.ATTENDING})
# A course is offered to every participant by default, so that donors see each other's offers and do not
# train the same crews twice; a donor may mark one for coordination only (itself, the HQ and the recipient).
DEFAULT_COURSE_MARKING = Marking.PARTICIPANTS


def _today() -> dt.date:
    return timezone.localdate()


# --- who may ----------------------------------------------------------------------------------------------


def require_course_type_editor(actor: Actor, *, doing: str | None = None) -> None:
    require_role(actor, Role.EDITOR, kinds=COORDINATORS, doing=doing or _("Keeping course types"))


def require_course_runner(actor: Actor, course: Course | None = None, *, doing: str | None = None) -> None:
    """The donor that owns the course (editor), or coordination staff (editor) on its behalf. With no course
    (an offer), a donor's editor only."""
    doing = doing or _("Running a course")
    if course is not None and actor.is_member and actor.kind in COORDINATORS:
        require_role(actor, Role.EDITOR, kinds=COORDINATORS, doing=doing)
    elif course is None:
        require_role(actor, Role.EDITOR, kinds=DONORS, doing=doing)
    else:
        require_owner(actor, course, Role.EDITOR, doing=doing)


def require_nominator(actor: Actor, *, doing: str | None = None) -> None:
    require_role(actor, Role.EDITOR, kinds=RECIPIENTS, doing=doing or _("Nominating trainees"))


def require_result_recorder(actor: Actor, course: Course, *, doing: str) -> None:
    """The recipient (editor), or the editor of the donor running the course: both know who attended and passed."""
    if actor.is_member and actor.kind in DONORS:
        require_owner(actor, course, Role.EDITOR, doing=doing)
    else:
        require_role(actor, Role.EDITOR, kinds=RECIPIENTS, doing=doing)


# --- course types -----------------------------------------------------------------------------------------


def create_course_type(*, actor: Actor, fields: Mapping[str, Any]) -> CourseType:
    """A qualification and the course that gives it, kept by coordination staff, owned by the headquarters."""
    with services.atomic():
        require_course_type_editor(actor, doing=_("Adding a course type"))
        values = services.writable(fields, COURSE_TYPE_FIELDS)
        owner = services.acting_organization(actor)
        return services.create_record(actor=actor, obj=CourseType(owner=owner, **values))


def update_course_type(*, actor: Actor, course_type_id: int, expected_version: int, changes: Mapping[str, Any]) -> CourseType:
    with services.atomic():
        course_type = get_visible(CourseType.objects.select_for_update(), actor, pk=course_type_id)
        require_course_type_editor(actor, doing=_("Changing a course type"))
        values = services.writable(changes, COURSE_TYPE_FIELDS)
        return services.update_record(actor=actor, obj=course_type, changes=values, expected_version=expected_version)


# --- courses ----------------------------------------------------------------------------------------------


def _course_type(actor: Actor, value: Any) -> CourseType:
    if isinstance(value, CourseType):
        return value
    text = str(value if value is not None else "").strip()
    if not text:
        raise Invalid({"course_type": [_("Choose a course type.")]})
    lookup = Q(code=text.upper())
    if text.isdigit():
        lookup |= Q(pk=int(text))
    found = CourseType.objects.visible_to(actor).filter(lookup).first()
    if found is None:
        raise Invalid({"course_type": [_("No course type %(value)s.") % {"value": text}]})
    return found


def _site(value: Any) -> Place:
    """A training site by code, name or alias, or the resolver's refusal naming the closest matches."""
    if isinstance(value, Place):
        return value
    text = str(value if value is not None else "").strip()
    if not text:
        raise Invalid({"site": [_("Give the training site.")]})
    try:
        return resolve_place(text)
    except ValidationError as error:
        raise Invalid({"site": error.messages}) from None


def _course_values(actor: Actor, fields: Mapping[str, Any]) -> dict[str, Any]:
    values = services.writable(fields, COURSE_FIELDS)
    problems: dict[str, list[str]] = {}
    if "course_type" in values:
        try:
            values["course_type"] = _course_type(actor, values["course_type"])
        except Invalid as error:
            problems.update(error.field_errors)
    if "site" in values:
        try:
            values["site"] = _site(values["site"])
        except Invalid as error:
            problems.update(error.field_errors)
    if problems:
        raise Invalid(problems)
    return values


def offer_course(*, actor: Actor, fields: Mapping[str, Any]) -> Course:
    """A donor offers a course as its own: course type, reference, provider, site, dates, seats, language,
    interpreters; the seat value defaults to the course type's, the language too, the marking to participants."""
    with services.atomic():
        require_course_runner(actor, doing=_("Offering a course"))
        values = _course_values(actor, fields)
        course_type = values.get("course_type")
        if course_type is None:
            raise Invalid({"course_type": [_("Choose a course type.")]})
        if values.get("seat_value_eur") in (None, ""):
            values["seat_value_eur"] = course_type.seat_value_eur
        if not values.get("language"):
            values["language"] = course_type.language
        values.setdefault("marking", DEFAULT_COURSE_MARKING)
        if values.get("interpreters") in (None, ""):
            values.pop("interpreters", None)
        course = Course(owner=services.acting_organization(actor), **values)
        return services.create_record(actor=actor, obj=course)


def _locked_course(actor: Actor, course_id: int) -> Course:
    return get_visible(Course.objects.select_for_update().select_related("owner", "course_type"), actor, pk=course_id)


def seats_taken(course: Course) -> int:
    """Seats held by nominations (nominated, attending, graduated), whoever may read them: a capacity."""
    return Nomination.objects.filter(course=course, state__in=SEAT_HOLDING).count()


def _require_open(course: Course, doing: str) -> None:
    if course.state not in OPEN_COURSE_STATES:
        raise InvalidTransition(
            _("%(doing)s: the course is %(state)s.") % {"doing": doing, "state": course.get_state_display()},
            state=course.state,
        )


def update_course(*, actor: Actor, course_id: int, expected_version: int, changes: Mapping[str, Any]) -> Course:
    with services.atomic():
        course = _locked_course(actor, course_id)
        doing = _("Changing a course")
        require_course_runner(actor, course, doing=doing)
        _require_open(course, doing)
        values = _course_values(actor, changes)
        if "seats" in values:
            taken = seats_taken(course)
            try:
                seats = int(values["seats"])
            except (TypeError, ValueError):
                seats = None
            if seats is not None and seats < taken:
                raise Invalid({"seats": [_("%(taken)s seats are taken; the course cannot have fewer.") % {"taken": taken}]})
        if "seat_value_eur" in values and values["seat_value_eur"] in (None, ""):
            values["seat_value_eur"] = values.get("course_type", course.course_type).seat_value_eur
        return services.update_record(actor=actor, obj=course, changes=values, expected_version=expected_version)


def _step(actor: Actor, course: Course, expected_version: int, state: str, action: str, **more: Any) -> Course:
    changes = {"state": state, **more}
    return services.update_record(actor=actor, obj=course, changes=changes, expected_version=expected_version, action=action)


def confirm_course(*, actor: Actor, course_id: int, expected_version: int) -> Course:
    """The provider confirms the course will run: the seats trainees take on it count as the donor's in-kind
    support from now (`queries.SEATS_USED`)."""
    with services.atomic():
        course = _locked_course(actor, course_id)
        doing = _("Confirming a course")
        require_course_runner(actor, course, doing=doing)
        if course.state != CourseState.OFFERED:
            raise InvalidTransition(
                _("%(doing)s: the course is %(state)s.") % {"doing": doing, "state": course.get_state_display()},
                state=course.state,
            )
        return _step(actor, course, expected_version, CourseState.CONFIRMED, "confirm")


def complete_course(*, actor: Actor, course_id: int, expected_version: int) -> Course:
    """A confirmed course that has ended."""
    with services.atomic():
        course = _locked_course(actor, course_id)
        doing = _("Completing a course")
        require_course_runner(actor, course, doing=doing)
        if course.state != CourseState.CONFIRMED:
            raise InvalidTransition(
                _("%(doing)s: the course is %(state)s.") % {"doing": doing, "state": course.get_state_display()},
                state=course.state,
            )
        if _today() < course.ends_on:
            raise InvalidTransition(
                _("The course ends on %(day)s; it can be completed from that day on.")
                % {"day": formats.date_format(course.ends_on)},
                ends_on=course.ends_on.isoformat(),
            )
        return _step(actor, course, expected_version, CourseState.COMPLETED, "complete")


def cancel_course(*, actor: Actor, course_id: int, expected_version: int, reason: str | None) -> Course:
    """An offered or confirmed course will not run; the reason is kept. Its trainees are freed for other courses
    (they stay on record as nominated to a cancelled course and count for nothing)."""
    with services.atomic():
        course = _locked_course(actor, course_id)
        doing = _("Cancelling a course")
        require_course_runner(actor, course, doing=doing)
        _require_open(course, doing)
        text = given_reason(reason, required=True)
        return _step(actor, course, expected_version, CourseState.CANCELLED, "cancel", cancel_reason=text)


# --- nominations ------------------------------------------------------------------------------------------


def _creates_in_one_batch():
    """The nominations of one call written together on the bulk path (`core.bulk`), one ledger entry each; rows
    read earlier rows (a nomination has a uniqueness rule). Inside a batch someone else holds, its own."""
    if bulk.active_batch() is not None:
        return nullcontext(bulk.active_batch())
    return bulk.deferred_writes(rows_read_earlier_rows=True)


class _UnitFinder:
    """Units the actor may see, by id or code, read once per call."""

    def __init__(self, actor: Actor, values: Iterable[Any]) -> None:
        codes, ids = set(), set()
        for value in values:
            if isinstance(value, Unit) or value is None:
                continue
            text = str(value).strip()
            if text.isdigit():
                ids.add(int(text))
            codes.add(text.upper())
        found = Unit.objects.visible_to(actor).filter(Q(code__in=codes) | Q(pk__in=ids))
        self.by_code = {unit.code: unit for unit in found}
        self.by_id = {unit.pk: unit for unit in found}

    def find(self, value: Any) -> Unit:
        if isinstance(value, Unit):
            return value
        text = str(value if value is not None else "").strip()
        if not text:
            raise Invalid({"unit": [_("Give the trainee's unit.")]})
        unit = self.by_code.get(text.upper()) or (self.by_id.get(int(text)) if text.isdigit() else None)
        if unit is None:
            raise Invalid({"unit": [_("No unit %(value)s.") % {"value": text}]})
        return unit


def trainee_code(value: Any) -> str:
    return str(value if value is not None else "").strip().upper()


def nominate(*, actor: Actor, course_id: int, trainees: Sequence[Mapping[str, Any]]) -> list[Nomination]:
    """Nominate trainees to a course, each {"trainee": pseudonymous id, "unit": Unit, id or code}: all or none.
    Every problem of every row is reported at once under `trainees[i].field`; more trainees than free seats
    under `trainees`."""
    with services.atomic():
        course = _locked_course(actor, course_id)
        doing = _("Nominating trainees")
        require_nominator(actor, doing=doing)
        _require_open(course, doing)
        if not trainees:
            raise Invalid({"trainees": [_("Nominate at least one trainee.")]})
        problems: dict[str, list[str]] = {}
        units = _UnitFinder(actor, (entry.get("unit") for entry in trainees))
        codes = [trainee_code(entry.get("trainee")) for entry in trainees]
        repeated = {code for code, count in Counter(codes).items() if count > 1 and code}
        already = set(
            Nomination.objects.filter(course=course, trainee__in=[code for code in codes if code]).values_list(
                "trainee", flat=True
            )
        )
        rows: list[tuple[str, Unit]] = []
        for index, (entry, code) in enumerate(zip(trainees, codes, strict=True)):
            row: dict[str, list[str]] = {}
            if not code:
                row["trainee"] = [_("Give the trainee's pseudonymous identifier.")]
            else:
                try:
                    TRAINEE_VALIDATOR(code)
                except ValidationError:
                    # quoted as typed, not upper-cased, so the reader recognizes the line
                    given = str(entry.get("trainee")).strip()
                    row["trainee"] = [str(TRAINEE_VALIDATOR.message) % {"value": given}]
                if code in repeated:
                    row.setdefault("trainee", []).append(_("%(trainee)s is given twice.") % {"trainee": code})
                if code in already:
                    row.setdefault("trainee", []).append(
                        _("%(trainee)s is already nominated to this course.") % {"trainee": code}
                    )
            try:
                unit = units.find(entry.get("unit"))
            except Invalid as error:
                row.update(error.field_errors)
                unit = None
            for field, messages in row.items():
                problems[f"trainees[{index}].{field}"] = messages
            if not row:
                rows.append((code, unit))
        free = course.seats - seats_taken(course)
        if len(trainees) > free:
            problems["trainees"] = [
                _("The course has %(free)s free seats of %(seats)s; you listed %(asked)s trainees, so nothing was written.")
                % {"free": max(free, 0), "seats": course.seats, "asked": len(trainees)}
            ]
        if problems:
            raise Invalid(problems)
        owner = services.acting_organization(actor)
        with _creates_in_one_batch():
            return [
                services.create_record(
                    actor=actor,
                    obj=services.new(Nomination, owner=owner, course=course, trainee=code, unit=unit),
                    action="nominate",
                )
                for code, unit in rows
            ]


def _locked_nominations(actor: Actor, nomination_ids: Iterable[Any]) -> list[Nomination]:
    ids = list(dict.fromkeys(nomination_ids))
    if not ids:
        raise Invalid({"nominations": [_("Choose at least one nomination.")]})
    try:
        wanted = {int(value) for value in ids}
    except (TypeError, ValueError):
        raise Invalid({"nominations": [_("Nominations are given by their numbers.")]}) from None
    found = list(
        Nomination.objects.visible_to(actor)
        .select_for_update()
        .select_related("course", "course__owner")
        .filter(pk__in=wanted)
        .order_by("pk")
    )
    missing = wanted - {nomination.pk for nomination in found}
    if missing:
        raise NotFound(_("No nomination matches."), lookup={"pk__in": sorted(missing)})
    return found


def _check_all(actor: Actor, nominations: list[Nomination], doing: str, allowed_states: Iterable[str]) -> None:
    allowed_states = frozenset(allowed_states)
    problems: dict[str, list[str]] = {}
    for nomination in nominations:
        require_result_recorder(actor, nomination.course, doing=doing)
        if nomination.course.state == CourseState.CANCELLED:
            problems[f"nominations.{nomination.pk}"] = [
                _("%(trainee)s: the course was cancelled.") % {"trainee": nomination.trainee}
            ]
        elif nomination.state not in allowed_states:
            problems[f"nominations.{nomination.pk}"] = [
                _("%(trainee)s is %(state)s.") % {"trainee": nomination.trainee, "state": nomination.get_state_display()}
            ]
    if problems:
        raise InvalidTransition(
            _("%(doing)s: %(problems)s") % {"doing": doing, "problems": " ".join(m for ms in problems.values() for m in ms)},
            nominations=problems,
        )


def _require_started(nominations: list[Nomination], doing: str) -> None:
    """Nobody attends or graduates from a course that has not begun."""
    today = _today()
    problems = {
        f"nominations.{n.pk}": [
            _("%(trainee)s: the course starts on %(day)s; this can be recorded from that day on.")
            % {"trainee": n.trainee, "day": formats.date_format(n.course.starts_on)}
        ]
        for n in nominations
        if n.course.starts_on > today
    }
    if problems:
        raise InvalidTransition(
            _("%(doing)s: %(problems)s") % {"doing": doing, "problems": " ".join(m for ms in problems.values() for m in ms)},
            nominations=problems,
        )


def _require_attended_while_running(nominations: list[Nomination], doing: str) -> None:
    """While a course runs, only a trainee whose attendance is recorded graduates; once it has ended, the results
    may be recorded after the fact, straight from nominated (the provider sends the list of who passed)."""
    today = _today()
    problems = {
        f"nominations.{n.pk}": [
            _("%(trainee)s is still nominated: record attendance first, or wait until the course ends on %(day)s.")
            % {"trainee": n.trainee, "day": formats.date_format(n.course.ends_on)}
        ]
        for n in nominations
        if n.state == NominationState.NOMINATED and n.course.ends_on > today
    }
    if problems:
        raise InvalidTransition(
            _("%(doing)s: %(problems)s") % {"doing": doing, "problems": " ".join(m for ms in problems.values() for m in ms)},
            nominations=problems,
        )


def record_attendance(*, actor: Actor, nomination_ids: Sequence[int]) -> list[Nomination]:
    """Nominated trainees who turned up: attending, from the course's first day on. All or none."""
    with services.atomic():
        nominations = _locked_nominations(actor, nomination_ids)
        doing = _("Recording attendance")
        _check_all(actor, nominations, doing, {NominationState.NOMINATED})
        _require_started(nominations, doing)
        return [
            services.update_record(
                actor=actor,
                obj=nomination,
                changes={"state": NominationState.ATTENDING},
                expected_version=nomination.version,
                action="attend",
            )
            for nomination in nominations
        ]


def graduate(*, actor: Actor, nomination_ids: Sequence[int], on: dt.date) -> list[Nomination]:
    """Trainees who passed, on `on` (not before their course started, not in the future): qualified for their
    unit from that day. While the course runs only attending trainees graduate; once it has ended, nominated ones
    too (results recorded after the fact). All or none."""
    with services.atomic():
        nominations = _locked_nominations(actor, nomination_ids)
        doing = _("Recording graduation")
        _check_all(actor, nominations, doing, ON_COURSE)
        _require_started(nominations, doing)
        _require_attended_while_running(nominations, doing)
        if not isinstance(on, dt.date):
            raise Invalid({"on": [_("Give the day of graduation.")]})
        problems: list[str] = []
        if on > _today():
            problems.append(_("This day has not come yet."))
        starts_on = max(nomination.course.starts_on for nomination in nominations)
        if on < starts_on:
            problems.append(
                _("A trainee graduates on or after the first day of the course (%(day)s).")
                % {"day": formats.date_format(starts_on)}
            )
        if problems:
            raise Invalid({"on": problems})
        return [
            services.update_record(
                actor=actor,
                obj=nomination,
                changes={"state": NominationState.GRADUATED, "graduated_on": on},
                expected_version=nomination.version,
                action="graduate",
            )
            for nomination in nominations
        ]


def _end(actor: Actor, nomination_id: int, reason: str | None, state: str, action: str, doing: str) -> Nomination:
    with services.atomic():
        (nomination,) = _locked_nominations(actor, [nomination_id])
        text = given_reason(reason, required=True)
        if state == NominationState.WITHDRAWN:
            require_nominator(actor, doing=doing)
        _check_all(actor, [nomination], doing, ON_COURSE)
        return services.update_record(
            actor=actor,
            obj=nomination,
            changes={"state": state, "reason": text},
            expected_version=nomination.version,
            action=action,
        )


def record_failure(*, actor: Actor, nomination_id: int, reason: str | None) -> Nomination:
    """A trainee who did not graduate; the reason is kept (no personal detail: it is in the ledger for good)."""
    return _end(actor, nomination_id, reason, NominationState.FAILED, "fail", _("Recording a failure"))


def withdraw(*, actor: Actor, nomination_id: int, reason: str | None) -> Nomination:
    """The recipient takes a trainee off a course; the seat is free again."""
    return _end(actor, nomination_id, reason, NominationState.WITHDRAWN, "withdraw", _("Withdrawing a trainee"))

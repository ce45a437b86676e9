"""Training pages: course types (kept by coordination staff), courses with their seats and trainees (offered and
run by donors), the recipient's nominations (several trainees at once), attendance and graduation ticked on the
course page, and the qualified people of each unit.

Every read goes through `visible_to` (`training.queries`); every write through `training.services`, whose refusals
come back onto the form."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from umbrella.core import listing
from umbrella.core.access import DONOR_KINDS, Actor, Marking, allowed, get_visible
from umbrella.core.errors import Invalid, InvalidTransition, NotFound
from umbrella.core.numbers import format_eur, number
from umbrella.places.models import Place, PlaceKind
from umbrella.places.queries import resolve_place
from umbrella.pledges.models import REASON_MAX_LENGTH
from umbrella.training import queries, services
from umbrella.training.models import LANGUAGE_VALIDATOR, MOST_SEATS, Course, CourseState, CourseType, Nomination
from umbrella.ui.forms import ActorForm, ServiceForm, posted_version
from umbrella.ui.pages import DetailPage, FormPage, ListPage, history_rows, list_or_export, submit

SITE_HELP = gettext_lazy("A training site's code or name; the gazetteer's training sites are offered as you type.")


class SiteInput(forms.TextInput):
    """A text box that offers the gazetteer's training sites (code, then name in the reader's language) while any
    place's code, name or alias is still accepted, as everywhere a place is given."""

    def __init__(self, attrs=None) -> None:
        super().__init__({**(attrs or {}), "list": "training-sites", "autocomplete": "off"})
        self.sites: list[tuple[str, str]] = []

    def render(self, name, value, attrs=None, renderer=None) -> str:
        box = super().render(name, value, attrs, renderer)
        options = format_html_join("", '<option value="{}">{}</option>', self.sites)
        return format_html('{}<datalist id="training-sites">{}</datalist>', box, options)


LINES_HELP = gettext_lazy(
    "One trainee a line: the pseudonymous identifier (with at least one digit, e.g. T-47-00123), a comma, and a "
    "unit code from End use → Units. Never a name."
)


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"})


def _course_type_editor(actor: Actor) -> bool:
    return allowed(services.require_course_type_editor, actor)


def _offerer(actor: Actor) -> bool:
    return allowed(services.require_course_runner, actor)


def _nominator(actor: Actor) -> bool:
    return allowed(services.require_nominator, actor)


# --- course types -----------------------------------------------------------------------------------------


class CourseTypeForm(ActorForm):
    class Meta:
        model = CourseType
        fields = ["code", "name", "qualification", "system", "weeks", "language", "seat_value_eur", "source", "marking"]


def course_type_list(request: HttpRequest) -> HttpResponse:
    return list_or_export(
        request,
        queries.COURSE_TYPES,
        queries.course_types(request.actor),
        title=_("Course types"),
        create_url=reverse("training-course-type-new") if _course_type_editor(request.actor) else None,
        create_label=_("New course type"),
        empty=_("No course types yet."),
        intro=_("The qualifications the recipient's crews need, and the course that gives each."),
    )


def course_type_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    kind = get_visible(queries.course_types(actor), actor, pk=pk)
    page = DetailPage(
        title=str(kind),
        obj=kind,
        fields=[
            (_("Code"), kind.code),
            (_("Name"), kind.name),
            (_("Qualification"), kind.qualification),
            (_("System"), kind.system.name if kind.system_id else "—"),
            (_("Length (weeks)"), kind.weeks),
            (_("Language"), queries.language_name(kind.language)),
            (_("Value of one seat"), format_eur(kind.seat_value_eur)),
            (_("Source"), kind.source or "—"),
            (_("Marking"), kind.get_marking_display()),
            (_("Version"), kind.version),
        ],
        history=history_rows(kind),
        actions=[{"label": _("Change"), "url": reverse("training-course-type-edit", args=[kind.pk])}]
        if _course_type_editor(actor)
        else [],
        extra={
            "courses": list(queries.courses(actor).filter(course_type=kind).order_by("starts_on", "pk")),
            "courses_url": f"{reverse('training-courses')}?course_type={kind.code}",
        },
    )
    return render(request, "training/course_type_detail.html", {"page": page})


@login_required
def course_type_create(request: HttpRequest) -> HttpResponse:
    services.require_course_type_editor(request.actor, doing=_("Adding a course type"))
    form = CourseTypeForm(request.POST or None, actor=request.actor, initial={"marking": Marking.PARTICIPANTS})
    page = FormPage(
        title=_("New course type"), forms=[form], submit_label=_("Create"), cancel_url=reverse("training-course-types")
    )
    return submit(
        request,
        page,
        lambda: services.create_course_type(actor=request.actor, fields=form.cleaned_data),
        done=_("Course type created."),
    )


@login_required
def course_type_edit(request: HttpRequest, pk: int) -> HttpResponse:
    kind = get_visible(CourseType.objects.all(), request.actor, pk=pk)
    services.require_course_type_editor(request.actor, doing=_("Changing a course type"))
    form = CourseTypeForm(request.POST or None, instance=kind, actor=request.actor)
    page = FormPage(
        title=_("Change %(name)s") % {"name": kind.name},
        forms=[form],
        submit_label=_("Save"),
        cancel_url=kind.get_absolute_url(),
        version=kind.version,
    )
    return submit(
        request,
        page,
        lambda: services.update_course_type(
            actor=request.actor, course_type_id=pk, expected_version=posted_version(request), changes=form.changed_values()
        ),
        done=_("Saved."),
    )


@dataclass
class CourseListPage(ListPage):
    extra: dict[str, Any] = field(default_factory=dict)


# --- courses ----------------------------------------------------------------------------------------------


def course_list(request: HttpRequest) -> HttpResponse:
    """Every course the reader may see, with seats taken and free; a donor finds its own offers by one link."""
    actor = request.actor
    result = listing.run(queries.COURSES, queries.courses(actor), request.GET, actor)
    own = actor.organization.code if actor.is_member and actor.kind in DONOR_KINDS else None
    page = CourseListPage(
        title=_("Courses"),
        result=result,
        create_url=reverse("training-course-offer") if _offerer(actor) else None,
        create_label=_("Offer a course"),
        empty=_("No courses offered yet."),
        intro=_(
            "Courses donors offer to train the recipient's crews. Confirmed and completed courses count as the donor's "
            "in-kind support: the seats trainees take × the value of one seat."
        ),
    )
    in_kind = queries.in_kind_by_donor(actor)
    page.extra = {
        "own_offers_url": f"{reverse('training-courses')}?donor={own}" if own else None,
        "in_kind": in_kind,
        "in_kind_total": sum((row.value_eur for row in in_kind), start=Decimal(0)),
        "in_kind_courses": sum(row.courses for row in in_kind),
        "in_kind_seats": sum(row.seats for row in in_kind),
    }
    return render(request, "training/course_list.html", {"page": page})


class CourseForm(ServiceForm):
    course_type = forms.ModelChoiceField(label=gettext_lazy("Course type"), queryset=CourseType.objects.none())
    reference = forms.CharField(
        label=gettext_lazy("Reference"),
        max_length=80,
        help_text=gettext_lazy(
            "The provider's own reference for this course (its class or serial number, e.g. PAT-2026-03), so both "
            "sides name it the same way."
        ),
    )
    provider = forms.CharField(
        label=gettext_lazy("Provider"), max_length=200, help_text=gettext_lazy("The school or unit that runs the course.")
    )
    site = forms.CharField(label=gettext_lazy("Training site"), max_length=200, help_text=SITE_HELP, widget=SiteInput())
    starts_on = forms.DateField(label=gettext_lazy("Starts on"), widget=_date_input())
    ends_on = forms.DateField(label=gettext_lazy("Ends on"), widget=_date_input())
    seats = forms.IntegerField(label=gettext_lazy("Seats"), min_value=1, max_value=5000)
    language = forms.CharField(
        label=gettext_lazy("Language"),
        max_length=2,
        required=False,
        validators=[LANGUAGE_VALIDATOR],
        help_text=gettext_lazy("Two letters (en, uk, de); the course type's when left empty."),
    )
    interpreters = forms.IntegerField(
        label=gettext_lazy("Interpreters"),
        min_value=0,
        max_value=1000,
        required=False,
        help_text=gettext_lazy("How many interpreters the provider brings for a course not taught in Ukrainian; 0 when none."),
    )
    seat_value_eur = forms.DecimalField(
        label=gettext_lazy("Value of one seat (EUR)"),
        min_value=0,
        max_digits=14,
        decimal_places=2,
        required=False,
        help_text=gettext_lazy("Counts as your in-kind support per seat; the course type's value when left empty."),
    )
    marking = forms.ChoiceField(
        label=gettext_lazy("Marking"),
        choices=Marking.choices,
        initial=Marking.PARTICIPANTS,
        help_text=gettext_lazy("All participants: other donors see the offer and can plan around it."),
    )

    def __init__(self, *args, actor: Actor, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["course_type"].queryset = CourseType.objects.visible_to(actor).order_by("code")
        sites = Place.objects.visible_to(actor).filter(kind=PlaceKind.TRAINING_SITE).order_by("code")
        self.fields["site"].widget.sites = [(site.code, site.local_name) for site in sites]

    def clean_site(self) -> str:
        """Resolved here, so that an unknown site is reported with every other problem of the form at once."""
        text = self.cleaned_data["site"].strip()
        try:
            resolve_place(text)  # as the service resolves it
        except ValidationError as error:
            raise forms.ValidationError(error.messages) from None
        return text

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        starts_on, ends_on = data.get("starts_on"), data.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            self.add_error("ends_on", _("A course cannot end before it starts."))
        return data

    def values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        for name in ("language", "interpreters", "seat_value_eur"):
            if data.get(name) in (None, ""):
                data.pop(name, None)
        return data


def _course(actor: Actor, pk: int) -> Course:
    return get_visible(queries.courses(actor), actor, pk=pk)


@login_required
def course_offer(request: HttpRequest) -> HttpResponse:
    services.require_course_runner(request.actor, doing=_("Offering a course"))
    form = CourseForm(request.POST or None, actor=request.actor)
    page = FormPage(
        title=_("Offer a course"), forms=[form], submit_label=_("Offer the course"), cancel_url=reverse("training-courses")
    )
    return submit(
        request, page, lambda: services.offer_course(actor=request.actor, fields=form.values()), done=_("Course offered.")
    )


@login_required
def course_edit(request: HttpRequest, pk: int) -> HttpResponse:
    course = _course(request.actor, pk)
    services.require_course_runner(request.actor, course, doing=_("Changing a course"))
    initial = {
        "course_type": course.course_type_id,
        "reference": course.reference,
        "provider": course.provider,
        "site": course.site.code,
        "starts_on": course.starts_on,
        "ends_on": course.ends_on,
        "seats": course.seats,
        "language": course.language,
        "interpreters": course.interpreters,
        "seat_value_eur": course.seat_value_eur,
        "marking": course.marking,
    }
    form = CourseForm(request.POST or None, actor=request.actor, initial=initial)
    page = FormPage(
        title=_("Change %(course)s") % {"course": course},
        forms=[form],
        submit_label=_("Save"),
        cancel_url=course.get_absolute_url(),
        version=course.version,
    )

    def save() -> Course:
        changes = {name: value for name, value in form.values().items() if name in form.changed_data}
        if "site" in changes and changes["site"].strip().upper() == course.site.code:
            changes.pop("site")
        return services.update_course(
            actor=request.actor, course_id=pk, expected_version=posted_version(request), changes=changes
        )

    return submit(request, page, save, done=_("Saved."))


COURSE_STEPS = {
    "confirm": (gettext_lazy("Confirm"), services.confirm_course),
    "complete": (gettext_lazy("Complete"), services.complete_course),
    "cancel": (gettext_lazy("Cancel the course"), services.cancel_course),
}


def _step_allowed(actor: Actor, course: Course, step: str) -> bool:
    if not allowed(services.require_course_runner, actor, course):
        return False
    if step == "confirm":
        return course.state == CourseState.OFFERED
    if step == "complete":
        return course.state == CourseState.CONFIRMED and timezone.localdate() >= course.ends_on
    return course.state in services.OPEN_COURSE_STATES


def _course_actions(actor: Actor, course: Course) -> list[dict[str, str]]:
    actions = []
    if course.state in services.OPEN_COURSE_STATES and _nominator(actor) and course.seats_free > 0:
        actions.append({"label": _("Nominate trainees"), "url": reverse("training-nominate", args=[course.pk])})
    if course.state in services.OPEN_COURSE_STATES and allowed(services.require_course_runner, actor, course):
        actions.append({"label": _("Change"), "url": reverse("training-course-edit", args=[course.pk])})
    for step, (label, _service) in COURSE_STEPS.items():
        if _step_allowed(actor, course, step):
            actions.append({"label": str(label), "url": reverse("training-course-step", args=[course.pk, step])})
    return actions


def course_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    course = _course(actor, pk)
    nominations = list(queries.nominations(actor, course))
    on_course = [n for n in nominations if n.state in services.ON_COURSE]
    today = timezone.localdate()
    started = course.starts_on <= today
    records_results = course.state != CourseState.CANCELLED and allowed(
        services.require_result_recorder, actor, course, doing=_("Recording results")
    )
    page = DetailPage(
        title=str(course),
        obj=course,
        fields=[
            (_("Course type"), str(course.course_type)),
            (_("Donor"), course.owner.name),
            (_("Provider"), course.provider),
            (_("Training site"), str(course.site)),
            (_("Starts on"), queries.day(course.starts_on)),
            (_("Ends on"), queries.day(course.ends_on)),
            (_("Language"), queries.language_name(course.language)),
            (_("Interpreters"), course.interpreters),
            (_("Seats"), number(course.seats)),
            (_("Seats taken"), number(course.seats_taken)),
            (_("Seats free"), number(course.seats_free)),
            (_("Value of one seat"), format_eur(course.seat_value_eur)),
            (_("Value of the course"), format_eur(course.value_eur)),
            *([(_("Reason for cancellation"), course.cancel_reason)] if course.cancel_reason else []),
            (_("Marking"), course.get_marking_display()),
            (_("Version"), course.version),
        ],
        history=history_rows(course),
        actions=_course_actions(actor, course),
        extra={
            "nominations": nominations,
            "sees_trainees": queries.sees_trainees(actor, course),
            "records_results": records_results,
            "withdraws": _nominator(actor),
            "trainees_url": f"{reverse('training-nominations')}?course={course.pk}",
            "full": course.state in services.OPEN_COURSE_STATES and _nominator(actor) and course.seats_free <= 0,
            "on_course": on_course,
            # tick boxes only where something can be recorded: trainees on a course that has begun
            "ticks": records_results and bool(on_course) and started,
            "results_from": queries.day(course.starts_on) if records_results and on_course and not started else "",
            "today": today,
        },
    )
    return render(request, "training/course_detail.html", {"page": page})


class ReasonForm(ServiceForm):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=REASON_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}))


@login_required
def course_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    course = _course(request.actor, pk)
    if step not in COURSE_STEPS:
        raise NotFound(_("There is no step called %(step)s.") % {"step": repr(step)})
    label, service = COURSE_STEPS[step]
    services.require_course_runner(request.actor, course, doing=str(label))
    form = ReasonForm(request.POST or None) if step == "cancel" else ServiceForm(request.POST or None)
    intros = {
        "confirm": _(
            "Confirming says the course will run as offered. From then on the seats trainees take on it count as "
            "%(donor)s's in-kind support, %(value)s a seat; empty seats count for nothing."
        ),
        "complete": _(
            "Completing records that the course has run. The seats of the trainees who attended stay counted as "
            "%(donor)s's in-kind support; trainees whose results are not recorded yet can still be recorded."
        ),
        "cancel": _(
            "A cancelled course will not run and counts for nothing; its trainees are free for other courses. The "
            "reason is kept in the ledger for good: write no personal details."
        ),
    }
    page = FormPage(
        title=f"{label}: {course}",
        forms=[form],
        submit_label=str(label),
        cancel_url=course.get_absolute_url(),
        cancel_label=_("Back"),
        version=course.version,
        intro=intros[step] % {"donor": course.owner.name, "value": format_eur(course.seat_value_eur)},
    )

    def take_step() -> Course:
        done = service(actor=request.actor, course_id=pk, expected_version=posted_version(request), **form.cleaned_data)
        messages.success(request, _("The course is now %(state)s.") % {"state": done.get_state_display()})
        return done

    return submit(request, page, take_step)


# --- nominations ------------------------------------------------------------------------------------------


class NominateForm(ServiceForm):
    lines = forms.CharField(
        label=gettext_lazy("Trainees"), widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}), help_text=LINES_HELP
    )

    def clean_lines(self) -> str:
        """More lines than any course has seats is refused before a single line is read."""
        text = self.cleaned_data["lines"]
        if text.count("\n") >= MOST_SEATS:
            raise forms.ValidationError(
                _("No course has more than %(seats)s seats: give at most that many lines.") % {"seats": number(MOST_SEATS)}
            )
        return text

    def trainees(self) -> list[dict[str, str]]:
        rows = []
        for line in self.cleaned_data["lines"].splitlines():
            if not line.strip():
                continue
            trainee, _comma, unit = line.partition(",")
            rows.append({"trainee": trainee.strip(), "unit": unit.strip()})
        return rows


def _line_problems(error: Invalid) -> Invalid:
    """A nomination's problems, `trainees[i].field`, as lines of the text box (counted from 1)."""
    problems = []
    for key, texts in error.field_errors.items():
        if key.startswith("trainees[") and "]" in key:
            index = int(key[len("trainees[") : key.index("]")])
            problems += [_("Line %(line)s: %(problem)s") % {"line": index + 1, "problem": text} for text in texts]
        else:
            problems += texts
    return Invalid({"lines": problems})


@login_required
def nominate(request: HttpRequest, pk: int) -> HttpResponse:
    course = _course(request.actor, pk)
    services.require_nominator(request.actor)
    if course.seats_free <= 0 and request.method != "POST":
        messages.info(
            request,
            _("The course is full: all %(seats)s seats are taken. Withdraw a trainee to free a seat, or choose another course.")
            % {"seats": number(course.seats)},
        )
        return redirect(course)
    form = NominateForm(request.POST or None)
    page = FormPage(
        title=_("Nominate trainees: %(course)s") % {"course": course},
        forms=[form],
        submit_label=_("Nominate"),
        cancel_url=course.get_absolute_url(),
        intro=_("%(free)s of %(seats)s seats are free. All the trainees are nominated, or none.")
        % {"free": number(course.seats_free), "seats": number(course.seats)},
    )

    def save() -> Course:
        trainees = form.trainees()
        try:
            written = services.nominate(actor=request.actor, course_id=pk, trainees=trainees)
        except Invalid as error:
            raise _line_problems(error) from None
        messages.success(
            request,
            ngettext("%(count)s trainee nominated.", "%(count)s trainees nominated.", len(written)) % {"count": len(written)},
        )
        return course

    return submit(request, page, save)


@require_POST
@login_required
def record_results(request: HttpRequest, pk: int) -> HttpResponse:
    """The ticked nominations of the course page: attending, or graduated on the day given."""
    course = _course(request.actor, pk)
    ids = [value for value in request.POST.getlist("nominations") if value.isdigit()]
    action = request.POST.get("action")
    if not ids:
        messages.error(request, _("Tick at least one trainee."))
        return redirect(course)
    try:
        if action == "graduate":
            on = forms.DateField().clean(request.POST.get("on") or None)
            done = services.graduate(actor=request.actor, nomination_ids=ids, on=on)
            text = ngettext("%(count)s graduate recorded.", "%(count)s graduates recorded.", len(done))
        elif action == "attend":
            done = services.record_attendance(actor=request.actor, nomination_ids=ids)
            text = ngettext("%(count)s trainee attending.", "%(count)s trainees attending.", len(done))
        else:
            raise NotFound(_("There is no step called %(step)s.") % {"step": repr(action)})
    except forms.ValidationError:
        messages.error(request, _("Give the day of graduation."))
        return redirect(course)
    except Invalid as error:
        messages.error(request, " ".join(text for texts in error.field_errors.values() for text in texts))
        return redirect(course)
    except InvalidTransition as error:
        messages.error(request, error.message)
        return redirect(course)
    messages.success(request, text % {"count": len(done)})
    return redirect(course)


NOMINATION_ENDINGS = {
    "failure": (gettext_lazy("Did not graduate"), services.record_failure),
    "withdraw": (gettext_lazy("Withdraw"), services.withdraw),
}


def _nomination(actor: Actor, pk: int) -> Nomination:
    return get_visible(Nomination.objects.select_related("course", "course__course_type", "unit"), actor, pk=pk)


@login_required
def nomination_list(request: HttpRequest) -> HttpResponse:
    return list_or_export(
        request,
        queries.NOMINATIONS,
        queries.all_nominations(request.actor),
        title=_("Trainees"),
        empty=_("No trainees you may see."),
        intro=_(
            "Trainees by pseudonymous identifier and unit: the recipient, the headquarters and the donor running a "
            "course see them."
        ),
    )


@login_required
def nomination_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    nomination = _nomination(actor, pk)
    actions = []
    if nomination.state in services.ON_COURSE and nomination.course.state != CourseState.CANCELLED:
        if allowed(services.require_result_recorder, actor, nomination.course, doing=_("Recording results")):
            actions.append({"label": _("Did not graduate"), "url": reverse("training-nomination-end", args=[pk, "failure"])})
        if _nominator(actor):
            actions.append({"label": _("Withdraw"), "url": reverse("training-nomination-end", args=[pk, "withdraw"])})
    page = DetailPage(
        title=str(nomination),
        obj=nomination,
        fields=[
            (_("Trainee"), nomination.trainee),
            (_("Unit"), str(nomination.unit)),
            (_("Course"), str(nomination.course)),
            (_("State"), nomination.get_state_display()),
            (_("Graduated on"), queries.day(nomination.graduated_on) or "—"),
            (_("Reason"), nomination.reason or "—"),
            (_("Version"), nomination.version),
        ],
        history=history_rows(nomination),
        actions=actions,
        extra={"course": nomination.course},
    )
    return render(request, "training/nomination_detail.html", {"page": page})


@login_required
def nomination_end(request: HttpRequest, pk: int, ending: str) -> HttpResponse:
    nomination = _nomination(request.actor, pk)
    if ending not in NOMINATION_ENDINGS:
        raise NotFound(_("There is no step called %(step)s.") % {"step": repr(ending)})
    label, service = NOMINATION_ENDINGS[ending]
    if ending == "withdraw":
        services.require_nominator(request.actor, doing=str(label))
    else:
        services.require_result_recorder(request.actor, nomination.course, doing=str(label))
    form = ReasonForm(request.POST or None)
    page = FormPage(
        title=f"{label}: {nomination}",
        forms=[form],
        submit_label=str(label),
        cancel_url=nomination.get_absolute_url(),
        intro=_("The reason is kept in the ledger for good: write no personal details."),
    )

    def save() -> Nomination:
        done = service(actor=request.actor, nomination_id=pk, reason=form.cleaned_data["reason"])
        messages.success(
            request, _("%(trainee)s is now %(state)s.") % {"trainee": done.trainee, "state": done.get_state_display()}
        )
        return done

    return submit(request, page, save)


# --- qualified people -------------------------------------------------------------------------------------


@login_required
def qualified(request: HttpRequest) -> HttpResponse:
    """Graduates per unit and qualification, as the reader may see them (optionally of one unit, by its code). A donor
    sees the graduates of its own courses: the units are named by the nominations it reads."""
    actor = request.actor
    every = queries.qualified_people(actor)
    unit_code = request.GET.get("unit", "").strip().upper()
    units = sorted({(row.unit_code, row.unit_name) for row in every})
    if unit_code and unit_code not in {code for code, _name in units}:
        raise Invalid({"unit": [_("No graduates of a unit %(value)s that you may see.") % {"value": unit_code}]})
    rows = [row for row in every if row.unit_code == unit_code] if unit_code else every
    context = {
        "title": _("Qualified people"),
        "rows": rows,
        "total": sum(row.people for row in rows),
        "unit": unit_code,
        "units": units,
    }
    return render(request, "training/qualified.html", {"page": context})

"""The readiness board (per destination and system type, each element of the package present or missing, in words)
and the training plan (courses per month against the crews the arriving systems need: a timeline and its tables).
For coordination staff, the recipient and auditors; anyone else is told there is no such page."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from umbrella.core.errors import NotFound
from umbrella.core.numbers import number
from umbrella.places.queries import resolve_place
from umbrella.training.readiness import CREWS, MUNITIONS, SPARES, SYSTEMS
from umbrella.training.readiness_queries import Board, PackageRow, TrainingPlan, may_read, readiness_board, training_plan
from umbrella.ui.charts import Mark, Span, TimelineRow, timeline

# The engine names elements by key; they are translated here, on display. A context tells the translator these
# are the parts of a system's package (nouns), not the verbs or column headers spelled the same.
ELEMENT_LABELS = {
    SYSTEMS: pgettext_lazy("package element", "systems"),
    MUNITIONS: pgettext_lazy("package element", "munitions"),
    SPARES: pgettext_lazy("package element", "spares"),
    CREWS: pgettext_lazy("package element", "crews"),
}
STATUS_LABELS = {
    "present": gettext_lazy("handed over"),
    "in_transit": gettext_lazy("in transit"),
    "allocated": gettext_lazy("allocated"),
}


def _require_reader(request: HttpRequest) -> None:
    if not may_read(request.actor):
        raise NotFound(_("Readiness is read by coordination staff, the recipient and auditors."))


class ReadinessFilters(forms.Form):
    destination = forms.CharField(
        label=gettext_lazy("Destination"), required=False, help_text=gettext_lazy("A place: everything inside it counts.")
    )
    as_of = forms.DateField(label=gettext_lazy("As recorded on"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, actor, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor

    def clean_destination(self):
        text = self.cleaned_data.get("destination")
        if not text:
            return None
        try:
            return resolve_place(text, self.actor)
        except ValidationError as error:
            raise forms.ValidationError(error.messages) from None


def _element(row: PackageRow, element: str, day) -> dict[str, Any]:
    p = row.package
    present = element not in p.missing
    if element == SYSTEMS:
        text = _("%(present)s of %(expected)s handed over") % {"present": number(p.present), "expected": number(p.expected)}
        if p.coming:
            text += "; " + _("%(transit)s in transit, %(allocated)s allocated") % {
                "transit": number(row.in_transit),
                "allocated": number(row.allocated),
            }
            if row.next_arrival and row.next_arrival < day:
                text += "; " + _("due %(day)s: overdue, not handed over") % {"day": row.next_arrival.isoformat()}
            elif row.next_arrival:
                text += "; " + _("next due %(day)s") % {"day": row.next_arrival.isoformat()}
    elif element == MUNITIONS:
        if p.days_of_supply is None:
            return {"label": ELEMENT_LABELS[element], "applies": False, "text": _("fires nothing"), "present": True}
        text = _("%(days)s of %(needed)s days of supply (%(rounds)s of %(rounds_needed)s rounds)") % {
            "days": number(float(p.days_of_supply), 1),
            "needed": number(p.days_needed),
            "rounds": number(float(p.rounds)),
            "rounds_needed": number(float(p.rounds_needed)),
        }
    elif element == SPARES:
        if not p.spares_needed:
            return {"label": ELEMENT_LABELS[element], "applies": False, "text": _("needs none"), "present": True}
        text = _("%(on_hand)s of %(needed)s spare kits") % {
            "on_hand": _kits(p.spares),
            "needed": _kits(p.spares_needed),
        }
    else:
        text = _("%(crews)s of %(needed)s crews (%(people)s people qualified, crews of %(size)s)") % {
            "crews": number(p.crews),
            "needed": number(p.crews_needed),
            "people": number(p.qualified_people),
            "size": number(row.crew_size),
        }
        if not present and row.course_type is None:
            text += "; " + _("no course type qualifies crews for this system")
    return {"label": ELEMENT_LABELS[element], "applies": True, "text": text, "present": present}


def _kits(value) -> str:
    """Whole kits without a decimal (4, not 4.0); a share of a kit shared among system types to one decimal."""
    return number(float(value), 0 if float(value).is_integer() else 1)


def _missing_summary(packages: list[PackageRow]) -> str:
    """How often each element is missing among a destination's packages, in words."""
    parts = []
    for element in (SYSTEMS, MUNITIONS, SPARES, CREWS):
        count = sum(1 for row in packages if element in row.package.missing)
        if count:
            parts.append(
                _("%(element)s in %(count)s of %(packages)s")
                % {"element": ELEMENT_LABELS[element], "count": number(count), "packages": number(len(packages))}
            )
    return "; ".join(parts)


def _board_context(board: Board) -> list[dict[str, Any]]:
    return [
        {
            "place": destination.place,
            "completeness": destination.completeness,
            "packages": len(destination.packages),
            "missing": _missing_summary(destination.packages),
            "rows": [
                {
                    "row": row,
                    "elements": [_element(row, element, board.day) for element in (SYSTEMS, MUNITIONS, SPARES, CREWS)],
                    "missing": ", ".join(str(ELEMENT_LABELS[element]) for element in row.package.missing),
                }
                for row in destination.packages
            ],
            "zoo": destination.as_dict()["fleet_zoo"],
        }
        for destination in board.destinations
    ]


@login_required
def readiness_board_page(request: HttpRequest) -> HttpResponse:
    """Each destination's system types, each element of their package present or missing, and the fleet zoo."""
    _require_reader(request)
    filters = ReadinessFilters(request.GET or None, actor=request.actor)
    valid = not filters.is_bound or filters.is_valid()
    board = None
    if valid:
        chosen = filters.cleaned_data if filters.is_bound else {}
        board = readiness_board(request.actor, destination=chosen.get("destination"), as_of=chosen.get("as_of"))
    page = {
        "title": _("Readiness board"),
        "filters": filters,
        "board": board,
        "destinations": _board_context(board) if board else [],
    }
    return render(request, "training/readiness_board.html", {"page": page}, status=200 if valid else 400)


def _plan_chart(plan: TrainingPlan) -> tuple[Any, int]:
    """One row per system type that needs planning: its courses as bars, its systems' arrivals as diamonds (a late
    one flagged). A type with no course and every arrival's crews in time needs nothing, and a type no course type
    qualifies crews for cannot be planned here: both are left out of the chart (the tables below list everything).
    Returns the chart and how many system types were left out."""
    spans: dict[int, list[Span]] = defaultdict(list)
    marks: dict[int, list[Mark]] = defaultdict(list)
    late_courses: dict[int, int] = {}
    for row in plan.syncs:
        for late in row.late_courses:
            late_courses[late.course] = max(late.days_late, late_courses.get(late.course, 0))
    for course in plan.courses.values():
        system = plan.course_types[course["course_type_id"]]["system_id"]
        if system is None or course["state"] == "cancelled" or system not in plan.items:
            continue
        text = _("%(course)s, %(starts)s to %(ends)s, %(seats)s seats") % {
            "course": course["reference"],
            "starts": course["starts_on"].isoformat(),
            "ends": course["ends_on"].isoformat(),
            "seats": number(course["seats"]),
        }
        flag = ""
        if course["id"] in late_courses:
            flag = ngettext("crews late by %(days)s day", "crews late by %(days)s days", late_courses[course["id"]]) % {
                "days": late_courses[course["id"]]
            }
        spans[system].append(Span(course["starts_on"], course["ends_on"], text, flag))
    for row in plan.syncs:
        text = _("%(systems)s to %(destination)s on %(day)s (%(status)s)") % {
            "systems": number(row.quantity),
            "destination": plan.places[row.destination].code,
            "day": row.on.isoformat(),
            "status": STATUS_LABELS.get(row.status, row.status),
        }
        flag = _late_text(row, plan.day) if row.crews_late or row.people_short else ""
        marks[row.system].append(Mark(row.on, text, flag))
    trained = {course_type["system_id"] for course_type in plan.course_types.values() if course_type["system_id"]}
    systems = set(spans) | set(marks)
    shown = [system for system in systems if spans[system] or (system in trained and any(mark.flag for mark in marks[system]))]
    rows = [
        TimelineRow(f"{plan.items[system]['code']} {plan.items[system].get('name', '')}".strip(), spans[system], marks[system])
        for system in sorted(shown, key=lambda system: plan.items[system]["code"])
    ]
    chart = timeline(_("Courses (bars) and systems arriving (diamonds) per system type, by month"), rows)
    return chart, len(systems) - len(shown)


PLAN_LEGEND = (
    ("bar", gettext_lazy("a course (bar from its start to its end)")),
    ("bar flagged", gettext_lazy("a course ending after the systems its crews are for arrive (dashed, red)")),
    ("arrival", gettext_lazy("systems arriving, crews qualified in time (green diamond)")),
    ("arrival flagged", gettext_lazy("systems arriving whose crews are late or short (dashed red outline)")),
)


def _late_text(row, day=None) -> str:
    if row.people_short:
        return ngettext("%(people)s person short", "%(people)s people short", row.people_short) % {"people": row.people_short}
    if day is not None and row.status != "present" and row.on < day:
        # Its date has passed without a handover: the system is overdue, and the crews' lateness against that date
        # says nothing about when it will come.
        return _("overdue: due %(day)s and not handed over") % {"day": row.on.isoformat()}
    return ngettext("crews late by %(days)s day", "crews late by %(days)s days", row.days_late) % {"days": row.days_late}


def _months(plan: TrainingPlan) -> list[dict[str, Any]]:
    """Courses per month (by the month they end: when their graduates count) against the people arrivals need."""
    months: dict[str, dict[str, Any]] = {}

    def month(key: str) -> dict[str, Any]:
        return months.setdefault(key, {"month": key, "courses": 0, "seats": 0, "free": 0, "needed": 0, "arrivals": 0, "gap": 0})

    for course in plan.courses.values():
        if course["state"] == "cancelled" or plan.course_types[course["course_type_id"]]["system_id"] is None:
            continue
        entry = month(course["ends_on"].strftime("%Y-%m"))
        entry["courses"] += 1
        entry["seats"] += course["seats"]
        entry["free"] += max(0, course["seats"] - plan.taken.get(course["id"], 0))
    seen: dict[tuple[int, int], int] = {}
    for row in sorted(plan.syncs, key=lambda row: (row.destination, row.system, row.on)):
        entry = month(row.on.strftime("%Y-%m"))
        before = seen.get((row.destination, row.system), 0)
        entry["needed"] += row.people_needed - before
        entry["arrivals"] += row.quantity
        seen[row.destination, row.system] = row.people_needed
    for gap in plan.gaps:
        month(gap.month)["gap"] += gap.seats
    return [months[key] for key in sorted(months)]


def _untrained(gaps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The seat gaps of system types no course type qualifies crews for, one per system type: no course can close
    them, so a line per month would only repeat that."""
    by_system: dict[str, dict[str, Any]] = {}
    for gap in gaps:
        if gap["course_type"] is None:
            entry = by_system.setdefault(gap["system"], {"system": gap["system"], "people": 0, "first": gap["need_by"]})
            entry["people"] += gap["seats"]
            entry["first"] = min(entry["first"], gap["need_by"])
    return [by_system[system] for system in sorted(by_system)]


@login_required
def training_plan_page(request: HttpRequest) -> HttpResponse:
    """Courses per month against the crews the arriving systems need: a timeline, then its tables."""
    _require_reader(request)
    plan = training_plan(request.actor)
    data = plan.as_dict()
    chart, left_out = _plan_chart(plan)
    arrivals = [
        {**plan.sync_dict(row), "status_label": STATUS_LABELS.get(row.status, row.status), "late_text": _late_text(row, plan.day)}
        for row in plan.syncs
    ]
    # By date, then destination, then system: the order a planner reads a calendar in.
    arrivals.sort(key=lambda entry: (entry["on"], entry["destination"], entry["system"]))
    page = {
        "title": _("Training plan"),
        "plan": plan,
        "chart": chart,
        "legend": PLAN_LEGEND,
        "left_out": left_out,
        "months": _months(plan),
        "arrivals": arrivals,
        "gaps": [gap for gap in data["gaps"] if gap["course_type"] is not None],
        "untrained": _untrained(data["gaps"]),
    }
    return render(request, "training/training_plan.html", {"page": page})

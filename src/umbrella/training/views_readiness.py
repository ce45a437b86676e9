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
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from umbrella.core.errors import NotFound
from umbrella.core.models import ChangeRecord
from umbrella.core.numbers import number
from umbrella.places.queries import resolve_place
from umbrella.training.readiness import CREWS, MUNITIONS, SPARES, SYSTEMS
from umbrella.training.readiness_queries import Board, PackageRow, TrainingPlan, may_read, readiness_board, training_plan
from umbrella.ui.charts import Mark, Span, TimelineRow, timeline
from umbrella.ui.sections import section

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

    def clean_as_of(self):
        day = self.cleaned_data.get("as_of")
        if day is not None and day > timezone.localdate():
            raise forms.ValidationError(_("%(day)s has not come yet: choose today or an earlier day.") % {"day": day.isoformat()})
        return day

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
        text = _("%(days)s of %(needed)s days of supply on hand (%(rounds)s of %(rounds_needed)s rounds)") % {
            "days": number(float(p.days_of_supply), 1),
            "needed": number(p.days_needed),
            "rounds": number(float(p.rounds)),
            "rounds_needed": number(float(p.rounds_needed)),
        }
    elif element == SPARES:
        if not p.spares_needed:
            return {"label": ELEMENT_LABELS[element], "applies": False, "text": _("needs none"), "present": True}
        text = _("%(on_hand)s of %(needed)s spare kits on hand") % {
            "on_hand": _kits(p.spares),
            "needed": _kits(p.spares_needed),
        }
    else:
        text = _("%(crews)s of %(needed)s crews qualified (%(people)s people qualified, crews of %(size)s)") % {
            "crews": number(p.crews),
            "needed": number(p.crews_needed),
            "people": number(p.qualified_people),
            "size": number(row.crew_size),
        }
        if row.people_training:
            text += "; " + _("%(people)s more on courses, the last qualifying %(day)s") % {
                "people": number(row.people_training),
                "day": row.training_until.isoformat(),
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


def _summary(board: Board) -> list[dict[str, Any]]:
    return [
        {
            "place": destination.place,
            "completeness": destination.completeness,
            "packages": len(destination.packages),
            "missing": _missing_summary(destination.packages),
        }
        for destination in board.destinations
    ]


def _section_of(destination, day) -> dict[str, Any]:
    return {
        "place": destination.place,
        "completeness": destination.completeness,
        "rows": [
            {
                "row": row,
                "elements": [_element(row, element, day) for element in (SYSTEMS, MUNITIONS, SPARES, CREWS)],
                "missing": ", ".join(str(ELEMENT_LABELS[element]) for element in row.package.missing),
            }
            for row in destination.packages
        ],
        "zoo": destination.as_dict()["fleet_zoo"],
    }


@login_required
def readiness_board_page(request: HttpRequest) -> HttpResponse:
    """Every destination's completeness (the summary), and the packages of one destination: the one chosen, else
    the least complete. A destination's table has a row per system type (dozens at scale); all of them on one page
    would be thousands of rows."""
    _require_reader(request)
    filters = ReadinessFilters(request.GET or None, actor=request.actor)
    valid = not filters.is_bound or filters.is_valid()
    board = None
    chosen: dict[str, Any] = {}
    if valid:
        chosen = filters.cleaned_data if filters.is_bound else {}
        board = readiness_board(request.actor, destination=chosen.get("destination"), as_of=chosen.get("as_of"))
    as_of = chosen.get("as_of")
    page = {
        "title": _("Readiness board"),
        "filters": filters,
        "board": board,
        "chosen": chosen.get("destination"),
        "as_of": as_of.isoformat() if as_of else "",
        "summary": _summary(board) if board and chosen.get("destination") is None else [],
        "destinations": [_section_of(destination, board.day) for destination in board.destinations[:1]] if board else [],
        "first_recorded": _first_recorded(request.actor) if as_of else None,
    }
    return render(request, "training/readiness_board.html", {"page": page}, status=200 if valid else 400)


def _first_recorded(actor) -> str | None:
    """The day of the first ledger entry the reader may see: before it, nothing was recorded to read."""
    first = ChangeRecord.objects.visible_to(actor).order_by("sequence").values_list("at", flat=True).first()
    return first.date().isoformat() if first else None


def _plan_chart(plan: TrainingPlan, syncs: list, systems_shown: set[int] | None) -> tuple[Any, int]:
    """One row per system type that needs planning: its courses as bars, its systems' arrivals of each month as one
    diamond (flagged when any of them has crews late or short: at scale, a diamond per arrival would be thousands).
    A type with no course and every arrival's crews in time needs nothing, and a type no course type qualifies
    crews for cannot be planned here: both are left out of the chart (the tables below list everything). Only
    `syncs` are drawn, and only courses of `systems_shown` (every system when None). Returns the chart and how
    many system types were left out."""
    spans: dict[int, list[Span]] = defaultdict(list)
    marks: dict[int, list[Mark]] = defaultdict(list)
    late_courses: dict[int, int] = {}
    for row in syncs:
        for late in row.late_courses:
            late_courses[late.course] = max(late.days_late, late_courses.get(late.course, 0))
    for course in plan.courses.values():
        system = plan.course_types[course["course_type_id"]]["system_id"]
        if system is None or course["state"] == "cancelled" or system not in plan.items:
            continue
        if systems_shown is not None and system not in systems_shown:
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
    trained = {course_type["system_id"] for course_type in plan.course_types.values() if course_type["system_id"]}
    by_month = _by_system_and_month(syncs)
    systems = set(spans) | set(by_month)

    def needs_planning(system: int) -> bool:
        return system in trained and any(row.crews_late or row.people_short for rows in by_month[system] for row in rows)

    shown = [system for system in systems if spans[system] or needs_planning(system)]
    for system in shown:
        marks[system] = [_arrival_mark(rows, plan.day) for rows in by_month.get(system, [])]
    rows = [
        TimelineRow(f"{plan.items[system]['code']} {plan.items[system].get('name', '')}".strip(), spans[system], marks[system])
        for system in sorted(shown, key=lambda system: plan.items[system]["code"])
    ]
    chart = timeline(_("Courses (bars) and systems arriving (diamonds) per system type, by month"), rows, today=plan.day)
    return chart, len(systems) - len(shown)


def _by_system_and_month(syncs: list) -> dict[int, list[list]]:
    grouped: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for row in syncs:
        grouped[row.system][row.on.strftime("%Y-%m")].append(row)
    return {system: [months[key] for key in sorted(months)] for system, months in grouped.items()}


def _arrival_mark(rows: list, day) -> Mark:
    """A month's arrivals of one system type, drawn on the first of their days."""
    flagged = [row for row in rows if row.crews_late or row.people_short]
    text = _("%(month)s: systems arriving %(systems)s, destinations %(destinations)s") % {
        "systems": number(sum(row.quantity for row in rows)),
        "destinations": number(len({row.destination for row in rows})),
        "month": rows[0].on.strftime("%Y-%m"),
    }
    if len(flagged) == 1 and len(rows) == 1:
        return Mark(rows[0].on, text, _late_text(rows[0], day))
    flag = ""
    if flagged:
        flag = ngettext(
            "crews late or short for %(flagged)s of %(arrivals)s arrival",
            "crews late or short for %(flagged)s of %(arrivals)s arrivals",
            len(rows),
        ) % {"flagged": number(len(flagged)), "arrivals": number(len(rows))}
    return Mark(min(row.on for row in rows), text, flag)


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


def _months(plan: TrainingPlan, syncs: list, gaps: list, systems_shown: set[int] | None) -> list[dict[str, Any]]:
    """Courses per month (by the month they end: when their graduates count) against the people arrivals need."""
    months: dict[str, dict[str, Any]] = {}

    def month(key: str) -> dict[str, Any]:
        return months.setdefault(key, {"month": key, "courses": 0, "seats": 0, "free": 0, "needed": 0, "arrivals": 0, "gap": 0})

    for course in plan.courses.values():
        system = plan.course_types[course["course_type_id"]]["system_id"]
        if course["state"] == "cancelled" or system is None or (systems_shown is not None and system not in systems_shown):
            continue
        entry = month(course["ends_on"].strftime("%Y-%m"))
        entry["courses"] += 1
        entry["seats"] += course["seats"]
        entry["free"] += max(0, course["seats"] - plan.taken.get(course["id"], 0))
    seen: dict[tuple[int, int], int] = {}
    for row in sorted(syncs, key=lambda row: (row.destination, row.system, row.on)):
        entry = month(row.on.strftime("%Y-%m"))
        before = seen.get((row.destination, row.system), 0)
        entry["needed"] += row.people_needed - before
        entry["arrivals"] += row.quantity
        seen[row.destination, row.system] = row.people_needed
    for gap in gaps:
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


class TrainingPlanFilters(ReadinessFilters):
    """The board's destination, a system type, and the arrivals that need action only; no past day (the plan is
    today's)."""

    system = forms.ChoiceField(label=gettext_lazy("System"), required=False)
    flagged = forms.BooleanField(label=gettext_lazy("Only arrivals whose crews are late or short"), required=False)

    def __init__(self, *args, systems: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["as_of"]
        self.fields["system"].choices = [("", _("every system"))] + systems


def _plan_filters(request: HttpRequest, plan: TrainingPlan) -> TrainingPlanFilters:
    systems = {row.system for row in plan.syncs} | {
        course_type["system_id"] for course_type in plan.course_types.values() if course_type["system_id"] in plan.items
    }
    choices = sorted(
        (
            (plan.items[system]["code"], f"{plan.items[system]['code']} {plan.items[system].get('name', '')}".strip())
            for system in systems
        ),
    )
    return TrainingPlanFilters(request.GET or None, actor=request.actor, systems=choices)


def _narrowed(plan: TrainingPlan, chosen: dict[str, Any]) -> tuple[list, list, set[int] | None]:
    """The arrivals and seat gaps the filters leave, and the system types chosen (None: every one)."""
    syncs, gaps, systems = plan.syncs, plan.gaps, None
    if chosen.get("system"):
        systems = {pk for pk, item in plan.items.items() if item["code"] == chosen["system"]}
        syncs = [row for row in syncs if row.system in systems]
        gaps = [gap for gap in gaps if gap.system in systems]
    if chosen.get("destination") is not None:
        inside = plan.inside(chosen["destination"])
        syncs = [row for row in syncs if row.destination in inside]
    if chosen.get("flagged"):
        syncs = [row for row in syncs if row.crews_late or row.people_short]
    if chosen.get("destination") is not None or chosen.get("flagged"):
        # The courses drawn are those of the system types the arrivals left are of.
        systems = {row.system for row in syncs}
    return syncs, gaps, systems


def actionable_first(gaps) -> list:
    """The gaps an offered course closes (in part) first, what a planner can act on; then the others; each by month."""
    return sorted(gaps, key=lambda gap: (not gap.closing, gap.month))


@login_required
def training_plan_page(request: HttpRequest) -> HttpResponse:
    """Courses per month against the crews the arriving systems need: a timeline, then its tables, each paged."""
    _require_reader(request)
    plan = training_plan(request.actor)
    filters = _plan_filters(request, plan)
    valid = not filters.is_bound or filters.is_valid()
    if not valid:
        page = {"title": _("Training plan"), "plan": plan, "filters": filters, "invalid": True}
        return render(request, "training/training_plan.html", {"page": page}, status=400)
    chosen = filters.cleaned_data if filters.is_bound else {}
    syncs, gaps, systems = _narrowed(plan, chosen)
    chart, left_out = _plan_chart(plan, syncs, systems)
    # By date, then destination, then system: the order a planner reads a calendar in.
    in_order = sorted(syncs, key=lambda row: (row.on, plan.places[row.destination].code, plan.items[row.system]["code"]))
    arrivals = section(request, in_order, "arrivals_page", total=len(plan.syncs))
    # A gap of a system type no course type qualifies crews for (the engine's course type 0) has its own table.
    trainable = actionable_first(gap for gap in gaps if gap.course_type in plan.course_types)
    gap_rows = section(request, trainable, "gaps_page", total=sum(1 for gap in plan.gaps if gap.course_type in plan.course_types))
    page = {
        "title": _("Training plan"),
        "plan": plan,
        "filters": filters,
        "filtered": bool(chosen) and any(chosen.values()),
        "chart": chart,
        "legend": PLAN_LEGEND,
        "left_out": left_out,
        "months": _months(plan, syncs, gaps, systems),
        "arrivals": arrivals,
        "arrival_rows": [
            {
                **plan.sync_dict(row),
                "status_label": STATUS_LABELS.get(row.status, row.status),
                "late_text": _late_text(row, plan.day),
            }
            for row in arrivals.rows
        ],
        "gaps": gap_rows,
        "gap_rows": [plan.gap_dict(gap) for gap in gap_rows.rows],
        "untrained": _untrained([plan.gap_dict(gap) for gap in gaps if gap.course_type not in plan.course_types]),
    }
    return render(request, "training/training_plan.html", {"page": page})

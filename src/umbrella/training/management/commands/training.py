"""umbrella training gaps [--json]: crews late for their systems, and the course seats still missing.

`gaps` lists every expected system whose crews qualify only after it arrives (with the days late and the courses
that end too late), and the seats still needed by course type and month, each with the offered courses (free seats,
ending before the need) that would close it. Exit 2: a user who may not read it (only coordination staff, the
recipient and auditors may)."""

from __future__ import annotations

import json

from django.core.management import BaseCommand, CommandError

from umbrella.training.management.commands.readiness import day_option
from umbrella.training.readiness_queries import may_read, training_plan
from umbrella.ui.cli_support import actor_from_options, add_actor_arguments


class Command(BaseCommand):
    help = "Training: `gaps` lists crews late for their systems and the course seats still missing, by course type and month."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        gaps = actions.add_parser("gaps", help="Crews late for their systems, and seat gaps with the courses that close them.")
        gaps.add_argument("--as-of", help="The day (YYYY-MM-DD) as the ledger had recorded it by its end; today if not given.")
        gaps.add_argument("--json", action="store_true", help="Print JSON (the API's training gaps).")
        add_actor_arguments(gaps)

    def handle(self, *args, **options):
        actor = actor_from_options(options, required=True)
        if not may_read(actor):
            raise CommandError("Training gaps are read by coordination staff, the recipient and auditors only.", returncode=2)
        plan = training_plan(actor, as_of=day_option(options["as_of"]) if options["as_of"] else None)
        data = plan.as_dict()
        if options["json"]:
            self.stdout.write(json.dumps({key: data[key] for key in ("day", "late", "gaps", "arrivals")}, indent=2))
            return
        for line in gap_lines(data):
            self.stdout.write(line)


def gap_lines(data: dict) -> list[str]:
    """`training gaps` in words: crews late (an arrival whose date has passed is overdue, not late), seat gaps of
    course types, and one line per system type no course type qualifies crews for."""
    lines: list[str] = []
    write = lines.append
    day = data["day"]
    write(f"Crews late on {day}: {len(data['late'])}")
    for row in data["late"]:
        courses = ", ".join(
            f"{c['reference']} ends {c['ends_on']} ({plural(c['days_late'], 'day', 'days')} after the arrival)"
            for c in row["late_courses"]
        )
        what = f"{row['destination']} {row['system']}: {plural(row['systems'], 'system', 'systems')}"
        if row["status"] != "present" and row["on"] < day:
            # An allocation or consignment whose date has passed is overdue, not arriving: the crews' lateness
            # against that date says nothing about when the system will come.
            when = f"due {row['on']} ({STATUS_WORDS[row['status']]}) and not handed over: overdue"
            late = f"crews qualify {row['qualify_on']}"
        else:
            when = f"arriving {row['on']} ({STATUS_WORDS[row['status']]})"
            late = f"crews qualify {row['qualify_on']}, {plural(row['days_late'], 'day', 'days')} late"
        write(f"  {what} {when}; {late}" + (f"; {courses}" if courses else ""))
    untrained: dict[str, list[dict]] = {}
    planned = []
    for gap in data["gaps"]:
        if gap["course_type"] is None:
            untrained.setdefault(gap["system"], []).append(gap)
        else:
            planned.append(gap)
    write(f"Seat gaps: {len(planned)}")
    for gap in planned:
        closing = ", ".join(
            f"{c['reference']} ({plural(c['seats'], 'seat', 'seats')}, ends {c['ends_on']})" for c in gap["closing"]
        )
        write(
            f"  {gap['course_type']} for {gap['system']}, {gap['month']}: {plural(gap['seats'], 'seat', 'seats')} "
            f"needed by {gap['need_by']}; closed by: {closing or 'no offered course ending in time'}; "
            f"{gap['uncovered']} left uncovered"
        )
    if untrained:
        write(f"System types no course type qualifies crews for: {len(untrained)}")
    for system, rows in sorted(untrained.items()):
        people = sum(gap["seats"] for gap in rows)
        first = min(gap["need_by"] for gap in rows)
        write(f"  {system}: no course type exists; {plural(people, 'person', 'people')} needed, the first by {first}")
    return lines


STATUS_WORDS = {"present": "handed over", "in_transit": "in transit", "allocated": "allocated"}


def plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"

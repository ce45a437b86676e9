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
        write = self.stdout.write
        write(f"Crews late on {data['day']}: {len(data['late'])}")
        for row in data["late"]:
            courses = ", ".join(f"{c['reference']} ends {c['ends_on']} ({c['days_late']} days late)" for c in row["late_courses"])
            write(
                f"  {row['destination']} {row['system']}: {row['systems']} arriving {row['on']} ({row['status']}), "
                f"crews qualify {row['qualify_on']}: {row['days_late']} days late" + (f"; {courses}" if courses else "")
            )
        write(f"Seat gaps: {len(data['gaps'])}")
        for gap in data["gaps"]:
            closing = ", ".join(f"{c['reference']} ({c['seats']} seats, ends {c['ends_on']})" for c in gap["closing"])
            write(
                f"  {gap['course_type'] or '(no course type)'} for {gap['system']}, {gap['month']}: {gap['seats']} seats needed "
                f"by {gap['need_by']}; closed by: {closing or 'no offered course'}; uncovered {gap['uncovered']}"
            )

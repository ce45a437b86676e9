"""umbrella readiness [--destination PLACE] [--as-of DATE] [--json]: each system type's package at each destination.

For each system type expected at a destination: systems present and coming, munitions in days of supply, spares,
crews qualified and needed, completeness (0-100 %) and the missing elements, and the fleet zoo per capability area.
`--as-of` reads the day as the ledger had recorded it by its end (docs/readiness.md). Exit 2: an unknown place, a
malformed day, or a user who may not read readiness (only coordination staff, the recipient and auditors may)."""

from __future__ import annotations

import datetime as dt
import json

from django.core.exceptions import ValidationError
from django.core.management import BaseCommand, CommandError

from umbrella.places.queries import resolve_place
from umbrella.training.readiness_queries import may_read, readiness_board
from umbrella.ui.cli_support import actor_from_options, add_actor_arguments


def day_option(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date: give it as year-month-day, such as 2026-06-01.", returncode=2) from None


class Command(BaseCommand):
    help = (
        "Package completeness of every system type at each destination: systems, munitions (days of supply), spares, "
        "crews qualified and needed, and what is missing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--destination", help="Only this place (a code, name or alias), counting everything inside it.")
        parser.add_argument("--as-of", help="The day (YYYY-MM-DD) as the ledger had recorded it by its end; today if not given.")
        parser.add_argument("--json", action="store_true", help="Print JSON (the API's readiness board).")
        add_actor_arguments(parser)

    def handle(self, *args, **options):
        actor = actor_from_options(options, required=True)
        if not may_read(actor):
            raise CommandError("Readiness is read by coordination staff, the recipient and auditors only.", returncode=2)
        as_of = day_option(options["as_of"]) if options["as_of"] else None
        destination = None
        if options["destination"]:
            try:
                destination = resolve_place(options["destination"], actor)
            except ValidationError as error:
                raise CommandError(" ".join(error.messages), returncode=2) from None
        board = readiness_board(actor, destination=destination, as_of=as_of)
        if options["json"]:
            self.stdout.write(json.dumps(board.as_dict(), indent=2))
            return
        write = self.stdout.write
        write(f"Readiness on {board.day}" + (" (as recorded by the end of that day)" if board.as_of else ""))
        if not board.destinations:
            write("No system with a package rule is expected at any destination.")
        else:
            write("Destinations least complete first.")
        for place in board.destinations:
            data = place.as_dict()
            write(f"\n{place.place.code} {place.place.name_en}: {data['completeness']} % complete")
            for package in data["packages"]:
                write(f"  {package['system']['code']} {package['system']['name']}: {package_text(package, board.day)}")
            for zoo in data["fleet_zoo"]:
                write(
                    f"  fleet zoo, {zoo['area']}: {plural(zoo['types'], 'system type', 'system types')}, "
                    f"{plural(zoo['systems'], 'system', 'systems')}, effective number of types {zoo['effective_types']:.2f}"
                )


def plural(count, one: str, many: str) -> str:
    return f"{count:g} {one if count == 1 else many}"


def package_text(package: dict, day: dt.date) -> str:
    """One package in words, saying what the board says: what is present, coming, overdue or cannot be trained."""
    systems, munitions, spares, crews = (package[key] for key in ("systems", "munitions", "spares", "crews"))
    parts = [f"systems {systems['present']} of {systems['expected']} handed over"]
    if systems["coming"]:
        parts[-1] += f", {systems['in_transit']} in transit, {systems['allocated']} allocated"
        due = systems["next_arrival"]
        if due and dt.date.fromisoformat(due) < day:
            parts[-1] += f", due {due}: overdue, not handed over"
        elif due:
            parts[-1] += f", next due {due}"
    if munitions["days_of_supply"] is None:
        parts.append("munitions: fires nothing")
    else:
        parts.append(f"munitions {munitions['days_of_supply']:g} of {plural(munitions['days_needed'], 'day', 'days')} of supply")
    if spares["needed"]:
        parts.append(f"spares {spares['on_hand']:g} of {plural(spares['needed'], 'spare kit', 'spare kits')}")
    else:
        parts.append("spares: needs none")
    crew_text = (
        f"crews {crews['qualified']} of {crews['needed']} "
        f"({plural(crews['qualified_people'], 'person', 'people')} qualified, crews of {crews['crew_size']})"
    )
    if crews["course_type"] is None and crews["qualified"] < crews["needed"]:
        crew_text += ", no course type qualifies crews for this system"
    parts.append(crew_text)
    missing = ", ".join(package["missing"]) or "nothing"
    return f"{package['completeness']} % — " + "; ".join(parts) + f"; missing: {missing}"

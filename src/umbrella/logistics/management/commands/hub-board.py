import datetime as dt
import json

from django.core.management import BaseCommand, CommandError

from umbrella.logistics.queries import hub_board
from umbrella.ui.cli_support import actor_from_options, add_actor_arguments


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date: give it as year-month-day, such as 2026-06-01.", returncode=2) from None


class Command(BaseCommand):
    help = (
        "Each hub's planned and actual load per ISO week against its capacity, from the consignments the acting user "
        "may see; weeks over capacity are marked."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", help="Only loads on or after this day (YYYY-MM-DD).")
        parser.add_argument("--until", help="Only loads on or before this day (YYYY-MM-DD).")
        parser.add_argument("--json", action="store_true", help="Print JSON (the API's hub board).")
        add_actor_arguments(parser)

    def handle(self, *args, **options):
        actor = actor_from_options(options, required=False)
        since = _day(options["since"]) if options["since"] else None
        until = _day(options["until"]) if options["until"] else None
        board = hub_board(actor, since=since, until=until)
        if options["json"]:
            self.stdout.write(json.dumps(board.as_dict(), indent=2))
            return
        write = self.stdout.write
        if board.partial:
            write("Some consignments through these hubs are not released to you: loads may be higher.")
        for load in board.hubs:
            write(f"{load.hub.code} {load.hub.name_en}: capacity {load.capacity} {load.unit} per week")
            for week in load.weeks:
                over = [name for name, flagged in (("planned", week.planned_over), ("actual", week.actual_over)) if flagged]
                mark = f"  OVER CAPACITY ({', '.join(over)})" if over else ""
                write(f"  {week.week} (from {week.starts}): planned {week.planned}, actual {week.actual}{mark}")

import json

from django.core.management import BaseCommand, CommandError

from umbrella.core.errors import DomainError
from umbrella.funding import services
from umbrella.funding.queries import statement_as_json
from umbrella.ui.cli_support import actor_from_options, add_actor_arguments


class Command(BaseCommand):
    help = (
        "Coordination staff (editor role) publish a year's fair-share statement: the shares computed now from every "
        "record that counts, with the data behind them, kept as they are and read by everyone (a later statement of "
        "the year supersedes it). Exits 2, writing nothing, when the year has no floor or GDP figure, or when some "
        "record that counts is not released to the acting user. One ledger entry."
    )

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--reason", required=True, help="Why it is published; shown with the statement.")
        parser.add_argument("--json", action="store_true", help="Print the statement as JSON.")
        add_actor_arguments(parser)

    def handle(self, *args, **options):
        actor = actor_from_options(options, required=True)
        try:
            statement = services.publish_statement(actor=actor, year=options["year"], reason=options["reason"])
        except DomainError as error:
            details = [message for messages in getattr(error, "field_errors", {}).values() for message in messages]
            raise CommandError("; ".join(details) or error.message, returncode=2) from None
        if options["json"]:
            self.stdout.write(json.dumps(statement_as_json(statement), indent=2))
            return
        report = statement.snapshot["report"]
        self.stdout.write(
            f"Fair-share statement {statement.sequence} of {statement.year} published: {len(report['donors'])} donors, "
            f"counted EUR {report['counted_total_eur']} of a floor of EUR {report['floor_eur']}, by {statement.rule_set}."
        )

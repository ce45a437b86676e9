from decimal import Decimal, InvalidOperation

from django.core.management import BaseCommand, CommandError

from umbrella.core.errors import DomainError
from umbrella.funding import counting, services
from umbrella.ui.cli_support import actor_from_options, add_actor_arguments


class Command(BaseCommand):
    help = (
        "Coordination staff (editor role) configure a year's fair share: its floor, participating donors and "
        "counting rules; what is not given is left as it is (a new year: the default floor, rule set "
        f"{counting.DEFAULT_RULE_SET}). One ledger entry."
    )

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--floor", help="The floor in EUR.")
        parser.add_argument("--participants", help="Donor codes, separated by commas.")
        parser.add_argument("--rule-set", choices=sorted(counting.RULE_SETS), help="The counting rules (docs/funding.md).")
        add_actor_arguments(parser)

    def handle(self, *args, **options):
        actor = actor_from_options(options, required=True)
        fields = {"year": options["year"]}
        if options["floor"] is not None:
            try:
                fields["floor_eur"] = Decimal(options["floor"])
            except InvalidOperation:
                raise CommandError(f"--floor {options['floor']!r} is not a number.", returncode=2) from None
        if options["participants"] is not None:
            fields["participants"] = [code.strip() for code in options["participants"].split(",") if code.strip()]
        if options["rule_set"] is not None:
            fields["rule_set"] = options["rule_set"]
        try:
            year = services.configure_year(actor=actor, fields=fields)
        except DomainError as error:
            raise CommandError(error.message, returncode=2) from None
        self.stdout.write(
            f"Fair share {year.year}: floor EUR {year.floor_eur:,.2f}, {len(year.participants)} participants, "
            f"counted by {year.rule_set}."
        )

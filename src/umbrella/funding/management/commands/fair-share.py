import json

from django.core.management import BaseCommand, CommandError

from umbrella.core.errors import DomainError
from umbrella.funding.queries import fair_share, missing_for_report
from umbrella.ui.cli_support import actor_from_options, add_actor_arguments


class Command(BaseCommand):
    help = (
        "Each participating donor's fair share of a year's floor (by GDP), what counts towards it under the year's "
        "rule set and the gap, from the funding, pledges and training the acting user may see; exits 2 naming what "
        "is missing when the year has no floor configured or no GDP figure; "
        "without gaps when some of them are not released to that user."
    )

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--json", action="store_true", help="Print JSON.")
        add_actor_arguments(parser)

    def handle(self, *args, **options):
        actor = actor_from_options(options, required=False)
        missing = missing_for_report(actor, options["year"])
        if missing:
            raise CommandError("; ".join(missing), returncode=2)
        try:
            report = fair_share(actor, options["year"])
        except DomainError as error:
            raise CommandError(error.message, returncode=2) from None
        if options["json"]:
            self.stdout.write(json.dumps(report.as_json(), indent=2))
            return
        write = self.stdout.write
        write(
            f"Fair share {report.year}: floor EUR {report.floor_eur:,.2f} "
            f"shared by {len(report.shares)} donors; {report.gdp_note}"
        )
        write(f"Counted by the rule set {report.rule_set}: {report.rule_set_title}")
        write(f"{'donor':<28}{'GDP share':>10}{'target EUR':>20}{'counted EUR':>20}{'gap EUR':>20}{'%':>8}")
        if not report.complete:
            write(
                "Counted figures include only the records released to you; some records that count towards these shares "
                "are not released to you, so gaps and shares of the target are not shown."
            )
        for share in report.shares:
            gap, percent = report.gap_eur(share), report.percent(share)
            write(
                f"{share.name[:27]:<28}{float(share.gdp_share) * 100:>9.2f}%{share.target_eur:>20,.2f}{share.counted_eur:>20,.2f}"
                + (f"{gap:>20,.2f}{float(percent):>7.1f}%" if gap is not None else f"{'-':>20}{'-':>8}  partial")
            )
        for code, reason in report.exemptions.items():
            write(f"exempt: {code} ({reason})")
        if report.missing_gdp:
            write(f"left out, no GDP figure: {', '.join(report.missing_gdp)}")

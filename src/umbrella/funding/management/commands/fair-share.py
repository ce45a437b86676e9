import json
from decimal import Decimal

from django.core.management import BaseCommand, CommandError
from django.utils import timezone

from umbrella.core.errors import DomainError
from umbrella.funding.queries import (
    fair_share,
    missing_for_report,
    own_share,
    share_as_json,
    statement_as_json,
    statements_of,
)
from umbrella.ui.cli_support import actor_from_options, add_actor_arguments

HEADER = f"{'donor':<28}{'GDP share':>10}{'target EUR':>20}{'counted EUR':>20}{'gap EUR':>20}{'%':>8}"
NO_LIVE = "Live figures are shown only to those who may see every record that counts towards them."


def _row(name: str, gdp_share, target, counted, gap, percent, label: str = "") -> str:
    figures = f"{gap:>20,.2f}{float(percent):>7.1f}%" if gap is not None and percent is not None else f"{'-':>20}{'-':>8}"
    line = f"{name[:27]:<28}{float(gdp_share) * 100:>9.2f}%{target:>20,.2f}{counted:>20,.2f}{figures}"
    return f"{line}  {label}" if label else line


def _statement_json(statement, latest) -> dict | None:
    """The statement as the API gives it, without the data behind it (`GET /api/v1/fair-share/{year}/statement`)."""
    if statement is None:
        return None
    return {key: value for key, value in statement_as_json(statement, latest=statement == latest).items() if key != "data"}


class Command(BaseCommand):
    help = (
        "A year's fair shares as the Fair share page shows them to the acting user: to whoever sees every record "
        "that counts, the live figures (each donor's share of the year's floor by GDP, what counts under the "
        "year's rule set, the gap); to anyone else the latest published statement (number, date, rule set) and, "
        "for a donor, its own live row, labelled. Exits 2 naming what is missing when the year has no floor "
        "configured or no GDP figure."
    )

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--json", action="store_true", help="Print JSON.")
        add_actor_arguments(parser)

    def handle(self, *args, **options):
        actor = actor_from_options(options, required=False)
        year = options["year"]
        missing = missing_for_report(actor, year)
        if missing:
            raise CommandError("; ".join(missing), returncode=2)
        try:
            report = fair_share(actor, year)
        except DomainError as error:
            raise CommandError(error.message, returncode=2) from None
        statement = statements_of(actor, year).first()
        own = None if report.complete else own_share(actor, year)
        if options["json"]:
            if report.complete:
                printed = report.as_json() | {"figures": "live", "statement": _statement_json(statement, statement)}
            elif statement is not None:
                printed = dict(statement.snapshot["report"]) | {"figures": "statement"}
                printed["statement"] = _statement_json(statement, statement)
            else:
                printed = {"year": year, "complete": False, "figures": None, "statement": None, "donors": []}
            if not report.complete:
                printed["own"] = None if own is None else share_as_json(*own)
            self.stdout.write(json.dumps(printed, indent=2))
            return
        if report.complete:
            self._live(report, statement)
            return
        write = self.stdout.write
        if statement is None:
            write(f"Fair share {year}: no statement has been published for {year} yet. {NO_LIVE}")
        else:
            self._statement(statement)
        if own is not None:
            share, whole = own
            write("Your organization, live" + ("" if whole else " (partial: some records behind it are not released to you)"))
            if statement is None:
                write(HEADER)
            write(
                _row(
                    share.name,
                    share.gdp_share,
                    share.target_eur,
                    share.counted_eur,
                    share.gap_eur if whole else None,
                    share.percent if whole else None,
                    "live" if whole else "live, partial",
                )
            )

    def _statement(self, statement) -> None:
        write = self.stdout.write
        published = statement.snapshot["report"]
        donors = statement.donors
        published_at = timezone.localtime(statement.published_at).strftime("%Y-%m-%d %H:%M %Z")
        write(
            f"Fair share {statement.year}: published statement {statement.sequence} of {statement.year}, "
            f"{published_at}, by {statement.owner.name}"
        )
        write(f"Reason: {statement.reason}")
        write(f"Floor EUR {Decimal(published['floor_eur']):,.2f} shared by {len(donors)} donors; {published['gdp']}")
        write(f"Counted by the rule set {statement.rule_set}: {statement.rule_set_title}")
        write(HEADER)
        for d in donors:
            write(
                _row(
                    d["name"],
                    d["gdp_share"],
                    Decimal(d["target_eur"]),
                    Decimal(d["counted_eur"]),
                    None if d["gap_eur"] is None else Decimal(d["gap_eur"]),
                    d["percent"],
                )
            )
        write(
            f"{'total':<28}{'':>10}{Decimal(published['targets_total_eur']):>20,.2f}"
            f"{Decimal(published['counted_total_eur']):>20,.2f}"
        )
        for code, reason in published.get("exemptions", {}).items():
            write(f"exempt: {code} ({reason})")

    def _live(self, report, statement) -> None:
        write = self.stdout.write
        write(
            f"Fair share {report.year}: floor EUR {report.floor_eur:,.2f} "
            f"shared by {len(report.shares)} donors; {report.gdp_note}"
        )
        write(f"Counted by the rule set {report.rule_set}: {report.rule_set_title}")
        write(HEADER)
        for share in report.shares:
            write(_row(share.name, share.gdp_share, share.target_eur, share.counted_eur, share.gap_eur, share.percent))
        for code, reason in report.exemptions.items():
            write(f"exempt: {code} ({reason})")
        if report.missing_gdp:
            write(f"left out, no GDP figure: {', '.join(report.missing_gdp)}")
        if statement is not None:
            write(f"Latest published statement: {statement.sequence} of {statement.year}, {statement.published_at:%Y-%m-%d}")

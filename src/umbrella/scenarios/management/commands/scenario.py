import datetime as dt
import json

from django.core.management import BaseCommand, CommandError

from umbrella.core.errors import DomainError
from umbrella.matching.inputs import OFFERED_STATES
from umbrella.pledges.models import PledgeState
from umbrella.scenarios import services
from umbrella.scenarios.models import WithdrawalRole
from umbrella.ui.cli_support import actor_from_options, add_actor_arguments

UNCOVERED_PRINTED = 15


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--date {value!r} is not a date (YYYY-MM-DD).", returncode=2) from None


class Command(BaseCommand):
    help = (
        "What if these donors stopped from this date, as payers, suppliers, origin or all three: the pledges lost "
        "(and why), item types no one else supplies, requirements newly left uncovered (with reasons naming the lost "
        "pledges), the money lost per year and the top-up each remaining donor would need at its GDP share. Changes "
        "no live data; --save keeps the scenario for comparison."
    )

    def add_arguments(self, parser):
        parser.add_argument("--donors", required=True, help="Organization codes, separated by commas (e.g. USA or USA,GBR).")
        parser.add_argument("--date", required=True, help="From this date (YYYY-MM-DD).")
        parser.add_argument(
            "--as",
            dest="role",
            choices=WithdrawalRole.values,
            default=WithdrawalRole.PAYER.value,
            help="The role in which they stop: payer (default: the pledges they pay any share of, and their funding), "
            "supplier (the pledges they deliver), origin (the pledges made in their country) or all.",
        )
        parser.add_argument("--save", metavar="NAME", help="Save the scenario under this name.")
        parser.add_argument("--json", action="store_true", help="Print JSON.")
        add_actor_arguments(parser)

    def handle(self, *args, **options):
        actor = actor_from_options(options, required=True)
        donors = [code.strip() for code in options["donors"].split(",") if code.strip()]
        as_of = _date(options["date"])
        try:
            if options["save"]:
                results = services.save_scenario(
                    actor=actor, name=options["save"], donors=donors, as_of=as_of, role=options["role"]
                ).results
            else:
                results = services.preview_scenario(actor=actor, donors=donors, as_of=as_of, role=options["role"])
        except DomainError as error:
            raise CommandError(str(error), returncode=2) from None
        if options["json"]:
            self.stdout.write(json.dumps(results, indent=2))
            return
        self._print(results)

    def _print(self, results: dict) -> None:
        write = self.stdout.write
        role = results.get("role", "payer")
        write(
            f"If {', '.join(results['donors'])} stopped {WithdrawalRole(role).label} from {results['as_of']} "
            f"({results['requirement_list_label']}):"
        )
        lost = results.get("lost_pledges", [])
        if lost:
            write(f"  {len(lost)} undelivered pledges lost:")
        else:
            write("  No undelivered pledge is lost in this role.")
            if role == WithdrawalRole.ORIGIN and results.get("pledges_with_origin") == 0:
                write("  (No pledge records a country of origin, so none is lost as made in these donors' countries.)")
        for pledge in lost:
            flag = " [no other supplier]" if pledge["no_other_supplier"] else ""
            reference = f" ref. {pledge['reference']}" if pledge["reference"] else ""
            write(f"    {pledge['label']}{reference}: {pledge['why_text']}{flag}")
        for flag in results.get("no_other_supplier", []):
            write(f"  No other supplier: {flag['item_name']} ({flag['item_type']})")
        write(f"  {_dropping_out(results, lost)}")
        write(
            f"  Coverage points {results['coverage_points_before']:,.1f} → {results['coverage_points_after']:,.1f} "
            f"of {results['points_available']:,.1f}"
        )
        uncovered = results["uncovered"]
        write(f"  {len(uncovered)} requirements lose coverage:" if uncovered else "  No requirement loses coverage.")
        for item in uncovered[:UNCOVERED_PRINTED]:
            write(
                f"    {item['label']}: {item['covered_before']:g} → {item['covered_after']:g} of {item['quantity']}. "
                f"{item['reason_text']}"
            )
        if len(uncovered) > UNCOVERED_PRINTED:
            write(f"    … and {len(uncovered) - UNCOVERED_PRINTED} more (--json lists them all)")
        for year, money in results["lost_by_year"].items():
            write(
                f"  {year}: EUR {float(money['total_eur']):,.2f} lost (funding {float(money['funding_eur']):,.2f}, "
                f"in kind {float(money['in_kind_eur']):,.2f}); largest top-ups:"
            )
            for missing in results.get("top_ups_missing", {}).get(year, []):
                write(f"    none worked out: {missing}")
            for top_up in results["top_ups"].get(year, [])[:5]:
                write(
                    f"    {top_up['name']}: EUR {float(top_up['top_up_eur']):,.2f} "
                    f"({top_up['gdp_share'] * 100:.2f} % of the remaining GDP)"
                )


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _dropping_out(results: dict, lost: list[dict]) -> str:
    """What leaves the matching, and why that is fewer pledges than are lost: the matching offers only accepted or
    allocated pledges of a known quantity (`matching.inputs.OFFERED_STATES`); a pledge already shipped or partly
    delivered is no longer an offer (its allocation goes, or shrinks to what it delivered, counted among the
    allocations only when it goes whole), and one of undisclosed quantity offers nothing yet. Both are lost all
    the same: what they have not delivered never comes."""
    line = (
        f"{_plural(results['pledges_dropped'], 'open offer', 'open offers')} and "
        f"{_plural(results['allocations_dropped'], 'allocation', 'allocations')} leave the matching."
    )
    under_way = sum(1 for p in lost if p["state"] in (PledgeState.SHIPPED, PledgeState.PARTLY_DELIVERED))
    undisclosed = sum(1 for p in lost if p["state"] in OFFERED_STATES and not p["quantity"])
    if not under_way and not undisclosed:
        return line
    others = under_way + undisclosed
    if under_way and undisclosed:
        kinds = f"already shipped or partly delivered ({under_way}) or of undisclosed quantity ({undisclosed})"
    else:
        kinds = "already shipped or partly delivered" if under_way else "of undisclosed quantity"
    if others == 1:
        return (
            f"{line} The other pledge lost is {kinds}: it is not an offer the matching can place, but what it has "
            "not delivered is lost all the same."
        )
    return (
        f"{line} The other {others} pledges lost are {kinds}: they are not offers the matching can place, but what "
        "they have not delivered is lost all the same."
    )

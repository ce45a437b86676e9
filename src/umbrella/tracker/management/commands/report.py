import json

from django.core.management import BaseCommand, CommandError

from umbrella.orgs.queries import donor_codes
from umbrella.tracker.queries import AID_TYPES, donor_totals, latest_release, releases, series_totals, year_totals
from umbrella.tracker.weapons import WeaponsComparison, compare_weapons
from umbrella.ui.cli_support import actor_from_options, add_actor_arguments

PARTIAL = (
    "Partial: some pledges for these item types are not released to you; Umbrella's figures marked * count only "
    "those you may see, and their gap is not shown."
)


class Command(BaseCommand):
    help = (
        "Reports on imported tracker releases. allocations: allocations and commitments per donor (EUR and % of GDP) "
        "or per year. sources: all donors' military aid by source (stocks, procurement, NATO PURL) and allocations "
        "by type, summed over the release. weapons: the tracker's heavy-weapons list beside Umbrella's pledged, "
        "delivered and handed-over quantities per item type (the pledges the acting user may see), with the gap."
    )

    def add_arguments(self, parser):
        parser.add_argument("report", choices=["allocations", "sources", "weapons"])
        parser.add_argument("--by", choices=["donor", "year"], default="donor")
        parser.add_argument("--donor", help="weapons: only this donor organization's (its code).")
        parser.add_argument("--release", help="Which imported release (its number; default: the latest).")
        parser.add_argument("--json", action="store_true", help="Print JSON.")
        add_actor_arguments(parser)

    def handle(self, *args, **options):
        actor = actor_from_options(options, required=False)
        release = releases(actor).filter(release=options["release"]).first() if options["release"] else latest_release(actor)
        if release is None:
            raise CommandError("No tracker release is imported (umbrella import kiel DIR).", returncode=2)
        if options["report"] == "weapons":
            if options["donor"] and options["donor"] not in donor_codes():
                raise CommandError(f"No donor organization with code {options['donor']!r}.", returncode=2)
            return self._weapons(compare_weapons(actor, release, options["donor"]), as_json=options["json"])
        if options["report"] == "sources":
            return self._sources(release, series_totals(actor, release), as_json=options["json"])
        self._allocations(actor, release, options)

    def _allocations(self, actor, release, options) -> None:
        if options["by"] == "donor":
            rows = [total.as_json() for total in donor_totals(actor, release)]
        else:
            rows = [
                {"year": year, **{f"{name}_eur": str(value) for name, value in sums.items()}}
                for year, sums in year_totals(actor, release).items()
            ]
        if options["json"]:
            self.stdout.write(json.dumps({"release": str(release), "by": options["by"], "rows": rows}, indent=2))
            return
        self.stdout.write(f"{release} — allocations by {options['by']} (EUR)")
        key = "donor" if options["by"] == "donor" else "year"
        self.stdout.write(
            f"{key:<28}"
            + "".join(f"{name:>20}" for name in AID_TYPES)
            + (f"{'commitments':>20}    % of GDP" if key == "donor" else "")
        )
        for row in rows:
            line = f"{str(row[key]):<28}" + "".join(f"{float(row[f'{name}_eur']):>20,.0f}" for name in AID_TYPES)
            if key == "donor":
                line += f"{float(row['commitments_eur']):>20,.0f}"
                line += f"{row['pct_gdp']:>12.3f}" if row["pct_gdp"] is not None else f"{'—':>12}"
            self.stdout.write(line)

    def _sources(self, release, totals, *, as_json: bool) -> None:
        if totals is None:
            raise CommandError(f"{release} was imported without procurement_trends.csv or total_allocations.csv.", returncode=2)
        if as_json:
            as_text = {key: {f"{name}_eur": str(value) for name, value in sums.items()} for key, sums in totals.items()}
            self.stdout.write(json.dumps({"release": str(release), **as_text}, indent=2))
            return
        titles = {"military_sources": "Military aid by source (EUR)", "all_donors": "All donors' allocations by type (EUR)"}
        self.stdout.write(str(release))
        for key, sums in totals.items():
            self.stdout.write(titles[key])
            for name, value in sums.items():
                self.stdout.write(f"  {name:<20}{value:>24,.2f}")

    def _weapons(self, report: WeaponsComparison, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(report.as_json(), indent=2))
            return
        write = self.stdout.write
        write(f"{report.release} — heavy weapons beside Umbrella's pledges" + (f" of {report.donor}" if report.donor else ""))
        if not report.complete:
            write(PARTIAL)
        write(f"{'item type':<40}{'tracker':>9}{'pledged':>9}{'delivered':>10}{'handed over':>12}{'gap':>8}")
        for row in report.rows:
            mark = "" if row.complete else "*"
            write(
                f"{(row.code + ' ' + row.name)[:39]:<40}{row.tracker:>9}{str(row.pledged) + mark:>9}"
                f"{str(row.delivered) + mark:>10}{str(row.handed_over) + mark:>12}{row.gap if row.complete else '-':>8}"
            )
        if report.unmapped and not report.names_complete:
            write("Named by the tracker and matched to no item type you may see (some of the catalog is not released to you):")
        elif report.unmapped:
            write("Named by the tracker but no item type in the catalog (umbrella catalog check-kiel DIR):")
            for name, count in sorted(report.unmapped.items()):
                write(f"  {name} ({count})")

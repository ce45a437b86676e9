import json

from django.core.management import BaseCommand, CommandError

from umbrella.tracker.queries import AID_TYPES, donor_totals, latest_release, releases, year_totals
from umbrella.ui.cli_support import actor_from_options, add_actor_arguments


class Command(BaseCommand):
    help = "Reports on imported records. allocations: tracker allocations per donor (EUR and % of GDP) or per year."

    def add_arguments(self, parser):
        parser.add_argument("report", choices=["allocations"])
        parser.add_argument("--by", choices=["donor", "year"], default="donor")
        parser.add_argument("--release", help="Which imported release (its number; default: the latest).")
        parser.add_argument("--json", action="store_true", help="Print JSON.")
        add_actor_arguments(parser)

    def handle(self, *args, **options):
        actor = actor_from_options(options, required=False)
        release = releases(actor).filter(release=options["release"]).first() if options["release"] else latest_release(actor)
        if release is None:
            raise CommandError("No tracker release is imported (umbrella import kiel DIR).", returncode=2)
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
            f"{key:<28}" + "".join(f"{name:>20}" for name in AID_TYPES) + ("    % of GDP" if key == "donor" else "")
        )
        for row in rows:
            line = f"{str(row[key]):<28}" + "".join(f"{float(row[f'{name}_eur']):>20,.0f}" for name in AID_TYPES)
            if key == "donor":
                line += f"{row['pct_gdp']:>12.3f}" if row["pct_gdp"] is not None else f"{'—':>12}"
            self.stdout.write(line)

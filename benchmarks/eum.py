"""End-use monitoring at scale: a million serials, an inventory of 100,000 sightings, the due/delinquent summary.

    python benchmarks/eum.py [--serials 1000000] [--sightings 100000] [--database-url URL] [--json FILE]

A fresh data directory gets a small demo (`umbrella demo --no-serve --scale 0.1`: the organizations, the recipient's
officer ukr-logistics, the auditor hq-auditor and the catalogue's serial-tracked item types); then `--serials`
serials are registered through `eum.services.register_serials` (50,000 a call, on the bulk write path, their pairs
looked up a chunk at a time), spread over the serial-tracked item types and the donors, handed over on days spread
over the last two years (so some are delinquent), and an inventory is opened for the first item type. Timed, each as
its own process where it is a command:

    register            the serials (set-up: timed, no target)
    import sightings    `umbrella import sightings` of `--sightings` rows (at most half the serials), the first
                        serials, all of that item type (target: 100,000 rows within 30 s)
    delinquency         `eum.queries.delinquency` on today over every serial, timed inside the process, without
                        its start-up (target: within 1 s at 1,000,000 serials)
    eum due --json      `umbrella eum due --json` for one donor, as the auditor (the subset a report asks for)

Targets (issue #15, this project's 2-core machine): the rows above at 1,000,000 serials.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from imports import UMBRELLA, reset_postgres, run  # noqa: E402

REGISTER = """
import datetime as dt, time
from django.contrib.auth import get_user_model
from django.db import transaction
from umbrella.catalog.models import ItemType
from umbrella.core.access import OrganizationKind
from umbrella.eum import services
from umbrella.orgs.models import Organization
from umbrella.orgs.queries import actor_for
actor = actor_for(get_user_model().objects.get(username="ukr-logistics"))
items = list(ItemType.objects.filter(sensitive=True).order_by("code"))
donors = list(Organization.objects.filter(kind=OrganizationKind.DONOR).order_by("code")[:6])
today = dt.date.today()
started = time.perf_counter()
for start in range(0, {serials}, 50_000):
    entries = [
        (
            donors[(number // len(items)) % len(donors)],
            {{
                "item_type": items[0] if number < {first_block} else items[number % len(items)],
                "serial": "BENCH-%07d" % number,
                "handover_date": today - dt.timedelta(days=number % 730),
            }},
        )
        for number in range(start, min(start + 50_000, {serials}))
    ]
    with transaction.atomic():
        services.register_serials(actor=actor, entries=entries)
seconds = time.perf_counter() - started
with transaction.atomic():
    scope = {{"conducted_on": today, "method": "physical", "item_type": items[0]}}
    inventory = services.open_inventory(actor=actor, fields=scope)
print("result=" + json.dumps({{"seconds": round(seconds, 2), "inventory": inventory.pk, "item_type": items[0].code,
    "donor": donors[0].code}}))
"""
DELINQUENCY = """
import time
from django.contrib.auth import get_user_model
from umbrella.eum.queries import delinquency
from umbrella.orgs.queries import actor_for
actor = actor_for(get_user_model().objects.get(username="hq-auditor"))
started = time.perf_counter()
summary = delinquency(actor)
seconds = time.perf_counter() - started
print("result=" + json.dumps({"seconds": round(seconds, 3), "held": summary.held.count,
    "delinquent": summary.delinquent.count}))
"""


def shell(script: str, environment: dict[str, str]) -> dict:
    result = subprocess.run(
        [UMBRELLA, "shell", "-c", "import json\n" + script], env=environment, capture_output=True, text=True, check=True
    )
    line = next(line for line in result.stdout.splitlines() if line.startswith("result="))
    return json.loads(line.removeprefix("result="))


def write_sightings(path: Path, rows: int, item_code: str) -> None:
    """A row for each serial of the first block, all of the inventory's item type."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item_type", "serial", "status", "place", "evidence_reference"])
        for number in range(rows):
            writer.writerow([item_code, f"BENCH-{number:07d}", "", "", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serials", type=int, default=1_000_000)
    parser.add_argument("--sightings", type=int, default=100_000)
    parser.add_argument("--database-url", help="PostgreSQL URL (its database is dropped and created); default SQLite.")
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="umbrella-bench-eum-") as directory:
        environment = {**os.environ, "UMBRELLA_DATA_DIR": directory}
        environment.pop("UMBRELLA_DATABASE_URL", None)
        if options.database_url:
            environment["UMBRELLA_DATABASE_URL"] = options.database_url
            reset_postgres(options.database_url)
        subprocess.run([UMBRELLA, "demo", "--no-serve", "--scale", "0.1"], env=environment, check=True, capture_output=True)
        results = {"serials": options.serials, "database": "postgresql" if options.database_url else "sqlite", "runs": {}}
        started = time.perf_counter()
        # The first serials are all of one item type, the inventory's: an inventory of a type held by the hundred
        # thousand (at most half of all serials, so a small run still spreads the rest over the others).
        sightings = min(options.sightings, options.serials // 2)
        setup = shell(REGISTER.format(serials=options.serials, first_block=sightings), environment)
        results["runs"]["register"] = {"seconds": round(time.perf_counter() - started, 2), "in_process": setup["seconds"]}
        path = Path(directory) / "sightings.csv"
        write_sightings(path, sightings, setup["item_type"])
        results["sightings"] = sightings
        results["runs"]["import sightings"] = run(
            ["import", "sightings", str(path), "--inventory", str(setup["inventory"]), "--user", "ukr-logistics", "--json"],
            environment,
        )
        results["runs"]["delinquency"] = shell(DELINQUENCY, environment)
        results["runs"]["eum due --json"] = run(
            ["eum", "due", "--json", "--user", "hq-auditor", "--donor", setup["donor"]], environment
        )
        print(f"{options.serials:,} serials, {results['sightings']:,} sightings ({results['database']})")
        for name, outcome in results["runs"].items():
            extra = ""
            if "exit" in outcome:
                extra = f"  processor {outcome['cpu_seconds']:.2f} s  exit {outcome['exit']}  {outcome['peak_mb']} MB"
            print(f"{name:18} {outcome['seconds']:8.2f} s{extra}")
            if "output" in outcome:
                outcome["output"] = outcome["output"][:2000]
        if options.json:
            options.json.parent.mkdir(parents=True, exist_ok=True)
            options.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

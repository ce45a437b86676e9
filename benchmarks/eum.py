"""End-use monitoring at scale: a million serials, an inventory of 100,000 sightings, the due/delinquent summary.

    python benchmarks/eum.py [--serials 1000000] [--sightings 100000] [--database-url URL] [--json FILE]

A fresh data directory gets a small demo (`umbrella demo --no-serve --scale 0.1`: the organizations, the recipient's
officer ukr-logistics, the auditor hq-auditor and the catalogue's serial-tracked item types); then `--serials`
serials are registered through `eum.services.register_serials` (50,000 a call, on the bulk write path, their pairs
looked up a chunk at a time), spread over the serial-tracked item types and the donors, handed over on days spread
over the last two years (so some are delinquent) and held by the demo's units in turn, and an inventory is opened
for the first item type. Timed, each as its own process where it is a command:

    register            the serials (set-up: timed, no target)
    import sightings    `umbrella import sightings` of `--sightings` rows (at most half the serials), the first
                        serials, all of that item type (target: 100,000 rows within 30 s)
    delinquency         `eum.queries.delinquency` on today over every serial, timed inside the process, without
                        its start-up (target: within 1 s at 1,000,000 serials)
    delinquency (donor) the same as the first donor's liaison (its own serials only)
    eum due --json      `umbrella eum due --json` for one donor, as the auditor (the subset a report asks for)

Then every end-use page is requested in-process through Django's test client as the persona who opens it (the
overview, the serial lists, a sighted serial's page, the donor's report, the public figures, the inventories, the
import's inventory, the units, the rules, the dashboards around the end-use card, and the card alone), as
benchmarks/pages.py does: once to warm up, then five times, the median time and the query count (target: each
within 300 ms at 1,000,000 serials, with a query count that does not grow with the rows).

Targets (issue #15, this project's 2-core machine): the rows above at 1,000,000 serials.
"""

from __future__ import annotations

import argparse
import contextlib
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
from umbrella.eum.models import Unit
from umbrella.orgs.models import Organization
from umbrella.orgs.queries import actor_for
actor = actor_for(get_user_model().objects.get(username="ukr-logistics"))
items = list(ItemType.objects.filter(sensitive=True).order_by("code"))
donors = list(Organization.objects.filter(kind=OrganizationKind.DONOR).order_by("code")[:6])
units = list(Unit.objects.order_by("code"))
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
                "holder": units[number % len(units)] if units else None,
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
# A second inventory of the same item type, closed with nothing sighted: every one of its serials not sighted
# (an inspection that found none of them), the largest list an inventory's page shows.
CLOSED_UNSIGHTED = """
import datetime as dt
from django.contrib.auth import get_user_model
from django.db import transaction
from umbrella.catalog.models import ItemType
from umbrella.eum import services
from umbrella.orgs.queries import actor_for
actor = actor_for(get_user_model().objects.get(username="hq-auditor"))
with transaction.atomic():
    scope = {{"conducted_on": dt.date.today(), "method": "physical", "item_type": ItemType.objects.get(code={item_type!r})}}
    inventory = services.open_inventory(actor=actor, fields=scope)
with transaction.atomic():
    inventory = services.close_inventory(actor=actor, inventory_id=inventory.pk, expected_version=inventory.version)
print("result=" + json.dumps({{"inventory": inventory.pk, "not_sighted": len(inventory.not_sighted)}}))
"""
DELINQUENCY = """
import time
from django.contrib.auth import get_user_model
from umbrella.eum.queries import delinquency
from umbrella.orgs.queries import actor_for
actor = actor_for(get_user_model().objects.get(username={username!r}))
started = time.perf_counter()
summary = delinquency(actor)
seconds = time.perf_counter() - started
print("result=" + json.dumps({{"seconds": round(seconds, 3), "held": summary.held.count,
    "delinquent": summary.delinquent.count}}))
"""

# Each end-use page as the persona who opens it, in-process through Django's test client as benchmarks/pages.py
# does: once to warm up, then `repeat` times, the median time and the query count of the last request.
PAGES = """
import statistics, time
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from umbrella.eum.models import Serial
from umbrella.eum.queries import card
from umbrella.orgs.queries import actor_for
donor, item_type, inventory, closed, repeat = {donor!r}, {item_type!r}, {inventory}, {closed}, {repeat}
liaison = donor.lower() + "-liaison"
sighted = Serial.objects.filter(item_type__code=item_type, serial="BENCH-0000000").values_list("pk", flat=True).first()
pages = [
    ("overview", "hq-auditor", "/eum/"),
    ("overview (recipient)", "ukr-logistics", "/eum/"),
    ("overview (donor)", liaison, "/eum/"),
    ("serials", "hq-auditor", "/eum/serials/"),
    ("serials, delinquent", "hq-auditor", "/eum/serials/?delinquent=True"),
    ("serials (donor)", liaison, "/eum/serials/"),
    ("serial (sighted)", "hq-auditor", f"/eum/serials/{{sighted}}/"),
    ("serial (donor)", liaison, f"/eum/serials/{{sighted}}/"),
    ("donor report", liaison, f"/eum/report/{{donor}}/"),
    ("donor report (auditor)", "hq-auditor", f"/eum/report/{{donor}}/"),
    ("public figures", "", "/eum/public/"),
    ("inventories", "hq-auditor", "/eum/inventories/"),
    ("inventory (the import's)", "hq-auditor", f"/eum/inventories/{{inventory}}/"),
    ("inventory (closed, none sighted)", "hq-auditor", f"/eum/inventories/{{closed}}/"),
    ("units", "ukr-logistics", "/eum/units/"),
    ("rules", "hq-auditor", "/eum/rules/"),
    ("dashboard (coordination)", "hq-auditor", "/"),
    ("dashboard (donor)", liaison, "/"),
]
results = []
clients = {{}}
for name, persona, url in pages:
    if persona not in clients:
        clients[persona] = Client(HTTP_HOST="127.0.0.1")
        if persona:
            clients[persona].force_login(get_user_model().objects.get(username=persona))
    client = clients[persona]
    status = client.get(url).status_code
    timings = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
    results.append({{"page": name, "persona": persona or "public", "url": url, "status": status,
        "median_ms": round(statistics.median(timings), 1), "queries": len(queries)}})
# The dashboards' end-use card alone (the dashboard around it is other apps' work).
actor = actor_for(get_user_model().objects.get(username="hq-auditor"))
card(actor)
timings = []
for _ in range(repeat):
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        card(actor)
        timings.append((time.perf_counter() - started) * 1000)
results.append({{"page": "dashboards' end-use card (queries.card)", "persona": "hq-auditor", "url": "", "status": 200,
    "median_ms": round(statistics.median(timings), 1), "queries": len(queries)}})
print("result=" + json.dumps(results))
"""
BUDGET_MS = 300


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


@contextlib.contextmanager
def _data_directory(keep: Path | None):
    if keep is None:
        with tempfile.TemporaryDirectory(prefix="umbrella-bench-eum-") as directory:
            yield directory
        return
    keep.mkdir(parents=True, exist_ok=True)
    if any(keep.iterdir()):
        sys.exit(f"{keep} is not empty")
    yield str(keep)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serials", type=int, default=1_000_000)
    parser.add_argument("--sightings", type=int, default=100_000)
    parser.add_argument("--database-url", help="PostgreSQL URL (its database is dropped and created); default SQLite.")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", type=Path, help="An empty directory to load into and keep (to look at it afterwards).")
    options = parser.parse_args()
    with _data_directory(options.keep) as directory:
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
        results["runs"]["delinquency"] = shell(DELINQUENCY.format(username="hq-auditor"), environment)
        # A donor's summary: its own serials only, read through the same index.
        liaison = setup["donor"].lower() + "-liaison"
        results["runs"]["delinquency (donor)"] = shell(DELINQUENCY.format(username=liaison), environment)
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
        closed = shell(CLOSED_UNSIGHTED.format(item_type=setup["item_type"]), environment)
        results["closed inventory, not sighted"] = closed["not_sighted"]
        pages = PAGES.format(
            donor=setup["donor"], item_type=setup["item_type"], inventory=setup["inventory"], closed=closed["inventory"], repeat=5
        )
        results["pages"] = shell(pages, environment)
        print(f"\npage | persona | queries | median ms | within {BUDGET_MS} ms")
        for page in results["pages"]:
            within = "yes" if page["median_ms"] <= BUDGET_MS else "NO"
            if page["status"] != 200:
                within = f"status {page['status']}"
            print(f"{page['page']} | {page['persona']} | {page['queries']} | {page['median_ms']} | {within}")
        if options.json:
            options.json.parent.mkdir(parents=True, exist_ok=True)
            options.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

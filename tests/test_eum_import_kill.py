"""Killed midway, nothing partial: the installed `umbrella import sightings` is killed with SIGKILL while it writes a
large inventory (on a pseudo-terminal, so it draws its progress bar and the test knows how far it got), and the
serials, their schedules, the inventory and the ledger are exactly as before, with a ledger that verifies. Runs on
the suite's database engine: SQLite here, PostgreSQL (a database of its own) on that leg."""

from __future__ import annotations

import csv
import json
import os
import subprocess

import pytest

from tests import demo_copies
from tests.test_cli_json import UMBRELLA
from tests.test_import_kill import _import_until

# The figure is 100,000 rows: `UMBRELLA_EUM_KILL_SERIALS=100000 pytest tests/test_eum_import_kill.py` runs it
# at that size (docs/benchmarks.md, "End-use monitoring", has the run); the suite kills at 12,000 to keep its time.
SERIALS = int(os.environ.get("UMBRELLA_EUM_KILL_SERIALS", "12000"))
PREFIX = "EUM-KILL-"
# Registers the serials through the service, on the bulk write path (a Serial has a uniqueness rule, so the batch
# reads earlier rows), and opens the inventory they are sighted in; prints the item type and the inventory.
SETUP = f"""
import datetime as dt
from django.contrib.auth import get_user_model
from django.db import transaction
from umbrella.catalog.models import ItemType
from umbrella.core import bulk
from umbrella.eum import services
from umbrella.orgs.models import Organization
from umbrella.orgs.queries import actor_for
actor = actor_for(get_user_model().objects.get(username="ukr-logistics"))
donor = Organization.objects.get(code="DEU")
item = ItemType.objects.filter(sensitive=True).order_by("code").first()
day = dt.date.today() - dt.timedelta(days=200)
with transaction.atomic(), bulk.deferred_writes(rows_read_earlier_rows=True):
    for number in range({SERIALS}):
        fields = {{"item_type": item, "serial": "{PREFIX}%06d" % number, "handover_date": day}}
        services.register_serial(actor=actor, donor=donor, fields=fields)
with transaction.atomic():
    inventory = services.open_inventory(
        actor=actor, fields={{"conducted_on": dt.date.today(), "method": "physical", "item_type": item}}
    )
print("setup=%s,%s" % (item.code, inventory.pk))
"""
STATE = (
    "import hashlib; from umbrella.eum.models import Serial, Sighting, Inventory; "
    "from umbrella.core.models import ChangeRecord; "
    "rows = Serial.objects.order_by('pk').values_list('pk', 'status', 'version', 'last_sighted_on', 'due_on'); "
    "digest = hashlib.sha256(repr(list(rows)).encode()).hexdigest(); "
    "inventories = list(Inventory.objects.order_by('pk').values_list('pk', 'version', 'closed')); "
    "print('state=%s,%s,%s,%s' % (Serial.objects.count(), Sighting.objects.count(), ChangeRecord.objects.count(), "
    "hashlib.sha256((digest + repr(inventories)).encode()).hexdigest()))"
)


def _shell(env, script: str, prefix: str) -> str:
    output = subprocess.run(
        [UMBRELLA, "shell", "-c", script], env=env, capture_output=True, text=True, check=True, timeout=600
    ).stdout
    return next(line for line in output.splitlines() if line.startswith(prefix)).removeprefix(prefix)


@pytest.fixture(scope="module")
def eum_env(prepared_demo, tmp_path_factory):
    """A copy of the small demo with the serials registered and an inventory open, and the file that sights them."""
    with demo_copies.copy_of(prepared_demo, tmp_path_factory, "eum_import_kill") as (data_dir, database_url):
        env = demo_copies.environment(data_dir, database_url)
        item_code, inventory = _shell(env, SETUP, "setup=").split(",")
        path = tmp_path_factory.mktemp("eum-kill") / "sightings.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["item_type", "serial", "status", "place", "evidence_reference"])
            for number in range(SERIALS):
                writer.writerow([item_code, f"{PREFIX}{number:06d}", "", "", ""])
        yield {"env": env, "file": path, "inventory": inventory}


def test_a_sightings_import_killed_midway_leaves_the_database_as_it_was(eum_env):
    env = eum_env["env"]
    before = _shell(env, STATE, "state=")
    serials, sightings, entries, _digest = before.split(",")
    assert int(serials) >= SERIALS and int(sightings) >= 0
    command = ["sightings", str(eum_env["file"]), "--inventory", eum_env["inventory"], "--user", "ukr-logistics"]
    reached = _import_until(env, command, SERIALS // 3)
    assert reached < SERIALS
    assert _shell(env, STATE, "state=") == before
    result = subprocess.run([UMBRELLA, "ledger", "verify", "--json"], env=env, capture_output=True, text=True, timeout=600)
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["ok"], report["first_problem"]
    assert report["size"] == int(entries)
    check = subprocess.run([UMBRELLA, "eum", "check"], env=env, capture_output=True, text=True, timeout=600)
    assert check.returncode == 0, check.stdout[-500:]

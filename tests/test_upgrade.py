"""A schema upgrade's own writes are recorded in the ledger (core.upgrade), and nothing else is.

The ledger of a database from before an upgrade is simulated by the recorded state handed to
`adopt_schema_changes` (an entry written before a column existed lacks that column) and by the migrations said to
have been applied in the run. Everything else is the real database, services and verify."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests import factories
from tests.demo_copies import PreparedDemo, copy_of, own_database
from tests.test_cli_json import UMBRELLA
from tests.test_ledger import execute, problems_of
from tests.test_tracker import write_release
from umbrella.core.models import ChangeRecord
from umbrella.core.upgrade import adopt_schema_changes, recorded
from umbrella.core.verify import ledgered_models, verify
from umbrella.orgs.models import ApiToken
from umbrella.orgs.services import hash_token
from umbrella.places.importers import GAZETTEER
from umbrella.pledges.models import Pledge

PLEDGE_MIGRATION = {("pledges", "0003_closing_and_removal_reasons_source_authors")}


def ledger_before_the_column(pledge: Pledge, column: str):
    ledger = recorded()
    key = ("pledges.pledge", str(pledge.pk))
    ledger[key] = {name: value for name, value in ledger[key].items() if name != column}
    return ledger


def forge_token(admin, prefix: str) -> ApiToken:
    execute(
        f"INSERT INTO {ApiToken._meta.db_table} (user_id, organization_id, name, prefix, key_hash, created_at, expires_at)"
        " VALUES (%s, %s, 'forged', %s, %s, %s, %s)",
        [
            admin.user.pk,
            admin.organization.pk,
            prefix,
            hash_token(f"umb_{prefix}_forged"),
            "2026-01-01 00:00:00",
            "2099-01-01 00:00:00",
        ],
    )
    return ApiToken.objects.get(prefix=prefix)


@pytest.mark.django_db
def test_a_column_an_upgrade_added_is_recorded_once_and_verify_agrees(personas):
    pledge = factories.pledge(personas)
    written = adopt_schema_changes([Pledge], PLEDGE_MIGRATION, ledger_before_the_column(pledge, "closing_reason"))
    assert written == {"migrate": 1, "adopt": 0}
    entry = ChangeRecord.objects.order_by("-sequence").first()
    assert (entry.action, entry.entity_id, entry.actor_user) == ("migrate", str(pledge.pk), "system")
    assert "closing_reason" not in entry.before and entry.after["closing_reason"] == ""
    assert verify().ok
    assert adopt_schema_changes([Pledge], PLEDGE_MIGRATION) == {"migrate": 0, "adopt": 0}  # the ledger holds the column now


@pytest.mark.django_db
def test_a_row_also_changed_behind_the_ledgers_back_is_not_adopted(personas):
    pledge = factories.pledge(personas)
    execute(f"UPDATE {Pledge._meta.db_table} SET quantity = quantity + 1 WHERE id = %s", [pledge.pk])
    assert adopt_schema_changes([Pledge], PLEDGE_MIGRATION, ledger_before_the_column(pledge, "closing_reason")) == {
        "migrate": 0,
        "adopt": 0,
    }
    assert f"pledges.pledge {pledge.pk}" in problems_of(verify())


@pytest.mark.django_db
def test_rows_of_a_table_the_ledger_starts_following_in_this_run_are_taken_in_once(personas):
    older = forge_token(personas.hq_admin, "a0a0a0a0a0a0")  # a row from before accounts were ledgered
    assert f"orgs.apitoken {older.pk}" in problems_of(verify())
    assert adopt_schema_changes([ApiToken], {ApiToken.ledgered_since}) == {"migrate": 0, "adopt": 1}
    entry = ChangeRecord.objects.order_by("-sequence").first()
    assert (entry.action, entry.entity, entry.entity_id, entry.before) == ("adopt", "orgs.apitoken", str(older.pk), None)
    assert entry.after["key_hash"].startswith("sha256$")  # the secret's digest, never the hash itself
    assert verify().ok


@pytest.mark.django_db
def test_a_row_slipped_in_after_the_table_is_ledgered_stays_reported(personas):
    forged = forge_token(personas.hq_admin, "f1f1f1f1f1f1")
    assert adopt_schema_changes(ledgered_models(), PLEDGE_MIGRATION) == {"migrate": 0, "adopt": 0}
    assert f"orgs.apitoken {forged.pk}" in problems_of(verify())


LAST_LANDED = "795f815"  # the release before accounts, tokens and three new columns were ledgered


@pytest.fixture(scope="module")
def last_release(tmp_path_factory):
    """The last landed release's code and its demo, loaded once for this module (as a PreparedDemo to copy), and
    the keyword arguments of subprocess.run that run that release's `umbrella`, bar its environment."""
    root = Path(__file__).resolve().parents[1]
    if subprocess.run(["git", "-C", str(root), "cat-file", "-e", f"{LAST_LANDED}^{{commit}}"], capture_output=True).returncode:
        pytest.skip(f"this clone lacks commit {LAST_LANDED} (a shallow clone); the upgrade is covered by the tests above")
    old = tmp_path_factory.mktemp("last-release")
    archive = subprocess.run(["git", "-C", str(root), "archive", LAST_LANDED, "src"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
    data_dir = tmp_path_factory.mktemp("last-release-data")
    with own_database(os.environ.get("UMBRELLA_DATABASE_URL"), "last_release") as database_url:
        env = {**release_environment(data_dir, database_url), "PYTHONPATH": str(old / "src")}
        run = {"env": env, "check": True, "capture_output": True, "timeout": 600}
        subprocess.run([sys.executable, "-m", "umbrella", "demo", "--no-serve", "--scale", "0.02"], cwd=old, **run)
        yield PreparedDemo(data_dir, database_url), old / "src"


def release_environment(data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("UMBRELLA_DATABASE_URL", "DJANGO_SETTINGS_MODULE", "PYTHONPATH")
    }
    env["UMBRELLA_DATA_DIR"] = str(data_dir)
    if database_url:
        env["UMBRELLA_DATABASE_URL"] = database_url
    return env


@contextmanager
def last_release_demo(last_release, tmp_path_factory, tmp_path: Path, name: str):
    """A copy of the last release's demo; yields how to run that release's `umbrella` on it (the keyword
    arguments of subprocess.run) and the environment this checkout's `umbrella` runs in on it."""
    demo, old_source = last_release
    root = Path(__file__).resolve().parents[1]
    with copy_of(demo, tmp_path_factory, name) as (data_dir, database_url):
        env = release_environment(data_dir, database_url)
        old_umbrella = {
            "cwd": tmp_path,
            "env": {**env, "PYTHONPATH": str(old_source)},
            "check": True,
            "capture_output": True,
            "timeout": 600,
        }
        yield old_umbrella, {**env, "PYTHONPATH": str(root / "src")}  # this checkout's code, whatever the virtualenv installed


def verified(new_env) -> dict:
    result = subprocess.run([UMBRELLA, "ledger", "verify", "--json"], env=new_env, capture_output=True, text=True, timeout=600)
    report = json.loads(result.stdout)
    assert (result.returncode, report["problems"]) == (0, [])
    return report


def test_a_database_of_the_last_release_upgrades_and_still_verifies(last_release, tmp_path_factory, tmp_path):
    """The last landed release's demo, migrated by this code's `umbrella migrate`: its ledger then verifies (its
    text destinations now name places: the upgrade's entries for them agree with the rows)."""
    with last_release_demo(last_release, tmp_path_factory, tmp_path, "upgrade") as (old_umbrella, new_env):
        # A tracker release naming a donor in letters beyond ASCII, sealed the way that release sealed rows.
        release = write_release(tmp_path / "release", '"Türkiye","TUR",2025,1,0.5,0.1,0.1,0.3,0.6,0.1,1100,0.045\n')
        subprocess.run([sys.executable, "-m", "umbrella", "import", "kiel", str(release), "--user", "hq-staff"], **old_umbrella)
        migrated = subprocess.run([UMBRELLA, "migrate"], env=new_env, capture_output=True, text=True, timeout=600)
        assert migrated.returncode == 0, migrated.stderr[-3000:]
        verified(new_env)


RENAME_A_DESTINATION = """
from django.contrib.auth import get_user_model
from django.db import transaction
from umbrella.needs import services
from umbrella.needs.models import Requirement
from umbrella.orgs.queries import actor_for
row = Requirement.objects.filter(requirement_list__state="draft").order_by("pk").first()
actor = actor_for(get_user_model().objects.get(username="ukr-logistics"))
with transaction.atomic():
    changes = {"destination": "Atlantis"}
    services.update_requirement(actor=actor, requirement_id=row.pk, expected_version=row.version, changes=changes)
print(row.pk)
"""


def test_an_upgrade_stops_on_a_destination_no_place_answers_to_and_goes_on_once_one_does(
    last_release, tmp_path_factory, tmp_path
):
    """Text that names no place is never dropped: migrate stops, names it with its requirement and the fix, and
    changes nothing; once a place answers to it (the fix the message gives), migrate maps it and the ledger verifies."""
    with last_release_demo(last_release, tmp_path_factory, tmp_path, "unmapped") as (old_umbrella, new_env):
        shell = [sys.executable, "-m", "umbrella", "shell", "-c", RENAME_A_DESTINATION]
        requirement_id = int(subprocess.run(shell, text=True, **old_umbrella).stdout.split()[-1])
        stopped = subprocess.run([UMBRELLA, "migrate"], env=new_env, capture_output=True, text=True, timeout=600)
        assert stopped.returncode != 0
        assert f"'Atlantis' (names no place): requirement {requirement_id}" in stopped.stderr
        assert "umbrella import places" in stopped.stderr
        shown = subprocess.run([UMBRELLA, "showmigrations", "places", "orgs"], env=new_env, capture_output=True, text=True)
        assert "[ ] 0001_initial" in shown.stdout and "[ ] 0005_ledger_accounts_and_tokens" in shown.stdout  # nothing applied
        fix = tmp_path / "atlantis.csv"
        fix.write_text("code,kind,parent,name_en,aliases\nUA-ODESA,city,UA-51,Odesa,Odessa; Atlantis\n", encoding="utf-8")
        steps = (["migrate", "core"], ["migrate", "places"], ["import", "places", str(GAZETTEER)], ["import", "places", str(fix)])
        for command in steps:
            extra = ["--user", "hq-staff"] if command[0] == "import" else []
            done = subprocess.run([UMBRELLA, *command, *extra], env=new_env, capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, done.stderr
        subprocess.run([UMBRELLA, "migrate"], env=new_env, check=True, capture_output=True, timeout=600)
        verified(new_env)
        show = "from umbrella.needs.models import Requirement; print(Requirement.objects.get(pk=%d).destination.code)"
        mapped = subprocess.run([UMBRELLA, "shell", "-c", show % requirement_id], env=new_env, capture_output=True, text=True)
        assert mapped.stdout.split()[-1] == "UA-ODESA"

"""Every `--json` report, read as a script reads it: the installed `umbrella` entry point run as a subprocess
against its own copy of the small demo (SQLite, or a PostgreSQL database of its own on that leg), its standard
output parsed whole as JSON. A library printing to the process's standard output (HiGHS prints a banner when its
first solver is built) would break these, and `call_command` would never see it."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests import demo_copies
from tests.test_tracker import GOOD, write_release

UMBRELLA = str(Path(sys.executable).with_name("umbrella"))


@pytest.fixture(scope="module")
def demo_env(prepared_demo, tmp_path_factory):
    with demo_copies.copy_of(prepared_demo, tmp_path_factory, "cli_json") as (data_dir, database_url):
        yield {"env": demo_copies.environment(data_dir, database_url), "dir": data_dir}


def umbrella_json(demo_env, *arguments: str):
    """Runs the installed command and parses its whole standard output as JSON (nothing before or after it)."""
    result = subprocess.run([UMBRELLA, *arguments], env=demo_env["env"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_stats(demo_env):
    stats = umbrella_json(demo_env, "stats", "--json")
    assert stats["item_types"]["total"] == 290
    assert sum(stats["compatibilities"]["by_kind"].values()) == stats["compatibilities"]["total"]


def test_match_then_scenario_then_fair_share(demo_env):
    run = umbrella_json(demo_env, "match", "--user", "hq-staff", "--json")
    assert run["state"] == "proposed" and run["objective"] >= run["greedy_objective"]
    scenario = umbrella_json(demo_env, "scenario", "--donors", "USA", "--date", "2026-01-01", "--user", "hq-staff", "--json")
    assert scenario["donors"] == ["USA"] and scenario["coverage_points_after"] <= scenario["coverage_points_before"]
    fair_share = umbrella_json(demo_env, "fair-share", "--year", "2025", "--json")
    assert Decimal(fair_share["targets_total_eur"]) == Decimal(fair_share["floor_eur"]) == Decimal("40000000000.00")
    assert fair_share["rule_set"] == "disbursement/1"
    # the public may not see every record: it reads the published statement (the demo publishes 2025's), as on the page
    assert fair_share["figures"] == "statement" and fair_share["statement"]["year"] == 2025 and fair_share["own"] is None


def test_fair_share_of_a_year_without_a_floor_or_gdp_figures_exits_2_naming_both(demo_env):
    """The demo configures 2024 to 2026 and has GDP figures of 2023: 2022 has neither."""
    result = subprocess.run(
        [UMBRELLA, "fair-share", "--year", "2022", "--json"], env=demo_env["env"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 2 and result.stdout == ""
    assert "No floor is configured for 2022" in result.stderr and "GDP figure for 2022 or before" in result.stderr


def test_the_scenario_of_the_united_states_stopping_as_supplier_loses_the_missiles_the_netherlands_pays_for(demo_env):
    # The demo's NATO-list purchase (demo.scenario.ROLE_STORY_PLEDGES): US-made PAC-3 MSE interceptors the
    # Netherlands pays for and the United States supplies, allocated by the demo's first match run.
    scenario = umbrella_json(
        demo_env, "scenario", "--donors", "USA", "--date", "2026-01-01", "--as", "supplier", "--user", "hq-staff", "--json"
    )
    (purl,) = [pledge for pledge in scenario["lost_pledges"] if pledge["reference"] == "NLD-PURL-2025-01"]
    assert (purl["owner"], purl["supplier"], purl["origin"], purl["item_type"]) == ("NLD", "USA", "USA", "AD-PAC3MSE")
    assert purl["why"] == [{"role": "supplier", "donor": "USA"}] and purl["why_text"] == "supplied by USA"
    assert purl["money_lost_eur"] == "0.00"  # the United States pays none of it
    assert all(pledge["supplier"] == "USA" for pledge in scenario["lost_pledges"])


def test_complete_packages_leaves_fewer_incomplete_packages_on_the_demo_and_each_has_a_reason(demo_env):
    # The demo's package story (demo.scenario.PACKAGE_STORY_REQUIREMENTS): a plain run sends every AMRAAM to
    # Kyiv and leaves Kharkiv's new NASAMS launchers without one; valuing complete packages sends Kharkiv one.
    plain = umbrella_json(demo_env, "match", "--user", "hq-staff", "--json")
    packed = umbrella_json(demo_env, "match", "--user", "hq-staff", "--complete-packages", "--json")
    assert (plain["complete_packages"], packed["complete_packages"]) == (False, True)
    assert packed["incomplete_packages_total"] < plain["incomplete_packages_total"]
    for run in (plain, packed):
        assert len(run["incomplete_packages"]) == run["incomplete_packages_total"]
        assert all(p["reason"] and p["reason_text"] and p["missing"] for p in run["incomplete_packages"])
    assert any(p["item_type"] == "AD-NASAMS" for p in plain["incomplete_packages"])
    assert not any(p["item_type"] == "AD-NASAMS" for p in packed["incomplete_packages"])


def test_match_file_solves_with_highs(demo_env, tmp_path):
    # Two offers competing for two requirements: one component of four arcs, solved by HiGHS (not in closed form).
    problem = {
        "requirements": [{"id": "r1", "quantity": 5, "weight": 3}, {"id": "r2", "quantity": 5, "weight": 2}],
        "offers": [{"id": "o1", "quantity": 4}, {"id": "o2", "quantity": 4}],
        "arcs": [{"offer": o, "requirement": r, "cost": 0} for o in ("o1", "o2") for r in ("r1", "r2")],
        "integer": True,
    }
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(problem))
    solution = umbrella_json(demo_env, "match-file", str(path), "--json")
    assert solution["status"] == "optimal" and solution["objective"] == pytest.approx(5 * 3 + 3 * 2)


def test_ledger_checkpoint_and_verify(demo_env):
    checkpoint = umbrella_json(demo_env, "ledger", "checkpoint", "--json")
    verified = umbrella_json(demo_env, "ledger", "verify", "--json")
    assert verified["ok"] is True and verified["size"] >= checkpoint["tree_size"]


def umbrella_run(demo_env, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([UMBRELLA, *arguments], env=demo_env["env"], capture_output=True, text=True, timeout=300)


def test_a_verify_against_a_kept_checkpoint_says_the_ledger_extends_it(demo_env, tmp_path):
    checkpoint = umbrella_json(demo_env, "ledger", "checkpoint", "--json")
    kept = tmp_path / "kept.json"
    kept.write_text(json.dumps(checkpoint))
    result = umbrella_run(demo_env, "ledger", "verify", "--checkpoint", str(kept))
    assert result.returncode == 0, result.stderr
    extends = f"It extends your checkpoint of {checkpoint['tree_size']:,} entries signed {checkpoint['timestamp']}."
    assert result.stdout.startswith("Ledger OK:") and extends in result.stdout


def test_a_damaged_checkpoint_file_is_blamed_not_the_ledger(demo_env, tmp_path):
    checkpoint = umbrella_json(demo_env, "ledger", "checkpoint", "--json")
    damaged = {
        "root.json": (json.dumps({**checkpoint, "root_hash": "0" * 64}), "does not match its signature"),
        "size.json": (json.dumps({**checkpoint, "tree_size": 99999}), "does not match its signature"),
        "key.json": (json.dumps({**checkpoint, "public_key": "ab" * 32}), "was not signed by this ledger's key"),
        "empty.json": ("{}", "is not a checkpoint: tree_size is missing; root_hash is missing; public_key is missing"),
        "typed.json": (json.dumps({**checkpoint, "tree_size": "12", "signature": "xyz"}), 'tree_size is "12", not a whole'),
        "list.json": ("[1, 2]", "is not a checkpoint: it holds a JSON array"),
        "pledges.csv": ("donor,item,quantity\nDEU,radio,14\n", "is not a checkpoint: it is not JSON"),
    }
    for name, (text, expected) in damaged.items():
        (tmp_path / name).write_text(text)
        options = ("--checkpoint", "--since") if name in ("root.json", "pledges.csv") else ("--checkpoint",)
        for option in options:
            result = umbrella_run(demo_env, "ledger", "verify", option, str(tmp_path / name))
            assert result.returncode == 2, (name, option, result.stdout, result.stderr)
            assert f"{tmp_path / name} " in result.stderr and expected in result.stderr, (name, option, result.stderr)
            assert "The ledger does not verify" not in result.stderr and "signature is not valid" not in result.stdout
    typed = umbrella_run(demo_env, "ledger", "verify", "--checkpoint", str(tmp_path / "typed.json")).stderr
    assert "signature is not 128 hexadecimal digits" in typed


def test_import_dry_run_and_tracker_report(demo_env, tmp_path):
    rows = tmp_path / "item-types.csv"
    rows.write_text("code,name,capability_area,unit_value_eur\nTEST-RADIO,Test radio set,other,1200\n")
    report = umbrella_json(demo_env, "import", "item-types", str(rows), "--dry-run", "--user", "hq-staff", "--json")
    assert (report["rows"], report["errors"], report["written"]) == (1, [], False)
    release = write_release(tmp_path / "release", GOOD)
    umbrella_json(demo_env, "import", "kiel", str(release), "--user", "hq-staff", "--json")
    by_donor = umbrella_json(demo_env, "report", "allocations", "--by", "donor", "--json")
    germany = next(row for row in by_donor["rows"] if row["iso"] == "DEU")
    assert by_donor["by"] == "donor" and Decimal(germany["total_eur"]) == Decimal("750000000.00")


PLAN_A_CONSIGNMENT = """
import json
from django.contrib.auth import get_user_model
from umbrella.logistics import services
from umbrella.matching.models import Allocation
from umbrella.orgs.queries import actor_for

users = get_user_model().objects
candidates = Allocation.objects.filter(state="active", pledge__item_type__bulk=False, consignment_lines__isnull=True)
# A serial-tracked item first, shipped by a donor whose liaison officer signs in.
for allocation in candidates.select_related("pledge__owner", "pledge__item_type").order_by("-pledge__item_type__sensitive", "id"):
    user = users.filter(username=allocation.pledge.owner.code.lower() + "-liaison").first()
    if user is not None and allocation.quantity >= 3:
        break
else:
    raise SystemExit("no active allocation of a donor with a liaison officer to ship")
actor = actor_for(user, request_id="test-setup")
sensitive = allocation.pledge.item_type.sensitive
services.create_consignment(
    actor=actor,
    fields={"reference": "CN-CLI-1"},
    lines=[{"allocation": allocation.pk, "quantity": 1, "serials": ["CLI-000"] if sensitive else []}],
)
print(json.dumps({"user": user.username, "allocation": allocation.pk, "sensitive": sensitive}))
"""


def test_import_a_manifest_then_a_bad_one(demo_env, tmp_path):
    # A donor's liaison plans a consignment of one unit (in the shell, as a script would), then imports two more
    # units from a manifest; a manifest with two bad rows reports both, exits 1 and writes nothing.
    planned = subprocess.run(
        [UMBRELLA, "shell", "-c", PLAN_A_CONSIGNMENT], env=demo_env["env"], capture_output=True, text=True, timeout=300
    )
    assert planned.returncode == 0, planned.stderr
    found = json.loads(planned.stdout.strip().splitlines()[-1])
    user, allocation = found["user"], found["allocation"]
    serials = ("CLI-001", "CLI-002") if found["sensitive"] else ("", "")
    good = tmp_path / "manifest.csv"
    good.write_text(
        "consignment,line,allocation,serials,quantity\n" + "".join(f"CN-CLI-1,1,{allocation},{s},1\n" for s in serials)
    )
    report = umbrella_json(demo_env, "import", "manifest", str(good), "--user", user, "--json")
    assert (report["kind"], report["rows"], report["errors"], report["written"]) == ("manifest", 2, [], True)
    assert found["sensitive"], "the demo's approved run ships a serial-tracked item"
    bad = tmp_path / "bad-manifest.csv"
    bad.write_text(f"consignment,allocation,quantity\nCN-NOWHERE,{allocation},1\nCN-CLI-1,999999999,1\n")
    result = subprocess.run(
        [UMBRELLA, "import", "manifest", str(bad), "--user", user, "--json"],
        env=demo_env["env"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stderr
    rejected = json.loads(result.stdout)
    assert [(error["row"], error["column"]) for error in rejected["errors"]] == [(2, "consignment"), (3, "allocation")]
    assert rejected["written"] is False


def test_hub_board_prints_each_hubs_weeks_as_json(demo_env):
    board = umbrella_json(demo_env, "hub-board", "--json", "--user", "hq-staff")
    hubs = {hub["hub"]: hub for hub in board["hubs"]}
    assert {"EPRZ", "ROCND", "LZKZ"} <= set(hubs) and board["partial"] is False
    rzeszow = hubs["EPRZ"]
    assert rzeszow["unit"] == "tonnes" and rzeszow["capacity"] == 4150
    weeks = [week["starts"] for week in rzeszow["weeks"]]
    assert weeks == sorted(weeks) and sum(Decimal(week["actual"]) for week in rzeszow["weeks"]) > 0  # the demo ships through it
    assert all(week["planned_over"] == (Decimal(week["planned"]) > week["capacity"]) for week in rzeszow["weeks"])


def test_eum_due_lists_each_delinquent_serial_with_its_due_date_as_each_reader_may_see_them(demo_env):
    auditor = umbrella_json(demo_env, "eum", "due", "--user", "hq-auditor", "--within", "120", "--json")
    today = auditor["as_of"]
    assert auditor["delinquent"] > 0 and auditor["due_soon"] > 0
    assert all(row["delinquent"] == (row["due_on"] < today) for row in auditor["serials"])
    assert all(row["days_overdue"] > 0 for row in auditor["serials"] if row["delinquent"])
    usa = umbrella_json(demo_env, "eum", "due", "--user", "usa-liaison", "--donor", "USA", "--json")
    assert usa["serials"] and {row["donor"] for row in usa["serials"]} == {"USA"}
    assert usa["delinquent"] <= usa["held"]["count"] < auditor["held"]["count"]  # the held total is the donor's too
    assert {row["serial"] for row in usa["serials"]} <= {row["serial"] for row in auditor["serials"]}
    public = umbrella_json(demo_env, "eum", "due", "--json")
    assert public["serials"] == [] and public["held"]["count"] == 0
    # 500 days on, with no inventory meanwhile, every serial held is delinquent (the longest interval is 365 days).
    later_day = (dt.date.fromisoformat(today) + dt.timedelta(days=500)).isoformat()
    later = umbrella_json(demo_env, "eum", "due", "--user", "hq-auditor", "--as-of", later_day, "--json")
    assert later["delinquent"] == later["held"]["count"] == len(later["serials"]) > auditor["delinquent"]
    assert umbrella_json(demo_env, "eum", "check", "--json") == {"ok": True, "differences": []}


def test_eum_inventory_records_a_file_of_sightings_in_one_step_or_nothing(demo_env, tmp_path):
    listed = umbrella_json(demo_env, "eum", "due", "--user", "hq-auditor", "--within", "400", "--json")["serials"]
    by_unit: dict[str, list[dict]] = {}
    for row in listed:
        if row["holder"]:
            by_unit.setdefault(row["holder"], []).append(row)
    unit, held = max(by_unit.items(), key=lambda pair: len(pair[1]))
    assert len(held) >= 3
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "item_type,serial\n"
        f"{held[0]['item_type']},{held[0]['serial']}\n"
        f"{held[0]['item_type']},NO-SUCH-SERIAL\n"
        f"{held[0]['item_type']},{held[0]['serial']}\n"
    )
    today = umbrella_json(demo_env, "eum", "due", "--json")["as_of"]
    options = ["--user", "hq-auditor", "--on", today, "--method", "physical", "--unit", unit, "--json"]
    refused = subprocess.run(
        [UMBRELLA, "eum", "inventory", str(bad), *options],
        env=demo_env["env"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(refused.stdout)
    assert refused.returncode == 1 and report["written"] is False and report["inventory"] is None
    assert [(error["row"], error["column"]) for error in report["errors"]] == [(3, "serial"), (4, "serial")]
    good = tmp_path / "good.csv"
    good.write_text("item_type,serial\n" + "".join(f"{row['item_type']},{row['serial']}\n" for row in held[:2]))
    recorded = umbrella_json(demo_env, "eum", "inventory", str(good), *options)
    assert recorded["written"] is True and recorded["sighted"] == 2
    assert recorded["not_sighted"] == recorded["expected"] - 2
    after = {
        row["serial"]: row
        for row in umbrella_json(demo_env, "eum", "due", "--user", "hq-auditor", "--within", "400", "--json")["serials"]
    }
    assert all(after[row["serial"]]["last_sighted_on"] == today for row in held[:2])

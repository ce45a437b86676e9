"""`umbrella report weapons`: the tracker's heavy-weapons list beside Umbrella's pledged, delivered and handed-over
quantities per item type, counting only the pledges the reader may see and saying so when some are hidden."""

from __future__ import annotations

import io
import json
import subprocess

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests import demo_copies, factories
from tests.test_cli_json import UMBRELLA
from tests.test_tracker import GOOD, write_release
from umbrella.catalog import services as catalog
from umbrella.core.access import Marking
from umbrella.pledges import services as pledges
from umbrella.tracker.services import import_kiel_release

WEAPONS = (
    '"Donor A","Howitzers",11,1500000,"M777 howitzer (8); Panzerhaubitze 2000 (3)"\n'
    '"Donor A","Tanks",2,1,"Imaginary tank (2)"\n'
    '"Donor B","Howitzers",4,1,"M777 howitzer (4)"\n'
)


@pytest.fixture
def compared(personas, tmp_path):
    """Tracker: Donor A (XDA, matched by name) lists 8 M777 and 3 PzH 2000, Donor B 4 M777 (not an organization
    here: no ISO code or name matches). Umbrella: XDA pledged 5 M777 (4 delivered and handed over) and, in a
    coordination-marked pledge an observer may not see, 2 PzH 2000; XDB pledged 1 M777, withdrawn (it promises nothing)."""
    m777 = factories.item_type(personas, code="ART-M777-T", name="M777 test")
    pzh = factories.item_type(personas, code="ART-PZH-T", name="PzH test")
    for item, name in ((m777, "M777 howitzer"), (pzh, "Panzerhaubitze 2000")):
        catalog.create_alias(actor=personas.coordinator, fields={"item_type": item, "name": name, "scheme": "kiel"})
    import_kiel_release(actor=personas.coordinator, folder=write_release(tmp_path / "r", GOOD, WEAPONS))
    shown = factories.pledge(personas, item=m777, quantity=5, marking=Marking.PUBLIC)
    shown = factories.advance(personas, shown, "offer", "accept", "allocate", "ship")
    shown = pledges.advance_pledge(
        actor=personas.recipient, pledge_id=shown.pk, step="deliver", expected_version=shown.version, quantity_delivered=4
    )
    factories.advance(personas, shown, "hand_over")
    factories.pledge(personas, item=pzh, quantity=2, marking=Marking.COORDINATION)
    factories.advance(
        personas, factories.pledge(personas, donor="second_donor", item=m777, quantity=1, marking=Marking.PUBLIC), "withdraw"
    )
    return {"m777": m777, "pzh": pzh}


def report(*arguments: str) -> dict:
    out = io.StringIO()
    call_command("report", "weapons", "--json", *arguments, stdout=out)
    return json.loads(out.getvalue())


def test_staff_who_see_every_pledge_get_the_whole_comparison_with_its_gaps(personas, compared):
    whole = report("--user", personas.coordinator.user.username)
    assert whole["complete"] is True
    rows = {row["item_type"]: row for row in whole["rows"]}
    assert rows["ART-M777-T"] == {
        "item_type": "ART-M777-T",
        "name": "M777 test",
        "tracker": 12,
        "tracker_names": ["M777 howitzer"],
        "pledged": 5,
        "delivered": 4,
        "handed_over": 4,
        "gap": 7,
        "complete": True,
    }
    assert (rows["ART-PZH-T"]["pledged"], rows["ART-PZH-T"]["gap"]) == (2, 1)
    assert whole["unmapped"] == [{"name": "Imaginary tank", "tracker": 2}]


def test_one_donors_comparison_leaves_out_the_others(personas, compared):
    one = report("--donor", "XDA", "--user", personas.coordinator.user.username)
    rows = {row["item_type"]: row for row in one["rows"]}
    assert (one["donor"], rows["ART-M777-T"]["tracker"], rows["ART-M777-T"]["pledged"]) == ("XDA", 8, 5)
    with pytest.raises(CommandError) as refused:
        report("--donor", "NOPE")
    assert refused.value.returncode == 2


def test_a_reader_who_cannot_see_every_pledge_is_told_the_figures_are_partial(personas, compared):
    observer = personas.observer.user.username  # sees what is released to participants, not coordination's
    public = report("--user", observer)
    rows = {row["item_type"]: row for row in public["rows"]}
    assert public["complete"] is False
    assert (rows["ART-PZH-T"]["pledged"], rows["ART-PZH-T"]["complete"], rows["ART-PZH-T"]["gap"]) == (0, False, None)
    assert (rows["ART-M777-T"]["complete"], rows["ART-M777-T"]["gap"]) == (True, 7)
    out = io.StringIO()
    call_command("report", "weapons", "--user", observer, stdout=out)
    text = out.getvalue()
    assert "Partial: some pledges for these item types are not released to you" in text
    pzh_line = next(line for line in text.splitlines() if line.startswith("ART-PZH-T"))
    assert pzh_line.split()[-5:] == ["3", "0*", "0*", "0*", "-"]


def test_a_reader_who_may_not_see_the_catalogs_names_is_not_told_a_system_is_missing_from_it(personas, compared):
    """The aliases are released to participants: the public's report matches no tracker name to an item type,
    and says the catalog is not all released to it instead of claiming the systems are missing from it."""
    public = report()
    assert (public["rows"], public["names_complete"], public["complete"]) == ([], False, False)
    assert {row["name"] for row in public["unmapped"]} >= {"M777 howitzer", "Panzerhaubitze 2000"}
    assert report("--user", personas.coordinator.user.username)["names_complete"] is True
    out = io.StringIO()
    call_command("report", "weapons", stdout=out)
    assert "matched to no item type you may see (some of the catalog is not released to you)" in out.getvalue()
    assert "no item type in the catalog" not in out.getvalue()


ALL_GERMAN_PLEDGES = """
import json
from umbrella.pledges.models import Pledge
from umbrella.tracker.weapons import NOT_PLEDGED
chosen = Pledge.objects.filter(owner__code="DEU", item_type__code__in=["ART-M777", "ART-PZH2000"])
print(json.dumps({
    code: sum(p.quantity_due for p in chosen.filter(item_type__code=code).exclude(state__in=NOT_PLEDGED))
    for code in ("ART-M777", "ART-PZH2000")
}))
"""


@pytest.fixture(scope="module")
def demo_env(prepared_demo, tmp_path_factory):
    with demo_copies.copy_of(prepared_demo, tmp_path_factory, "weapons") as (data_dir, database_url):
        yield {"env": demo_copies.environment(data_dir, database_url), "dir": data_dir}


def run(demo_env, *arguments: str) -> subprocess.CompletedProcess:
    result = subprocess.run([UMBRELLA, *arguments], env=demo_env["env"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


def test_the_installed_command_compares_the_demo_with_a_release_as_json_and_text(demo_env, tmp_path):
    weapons = '"Germany","Howitzers",16,1,"M777 howitzer (6); Panzerhaubitze 2000 (10)"\n'
    run(demo_env, "import", "kiel", str(write_release(tmp_path / "r", GOOD, weapons)), "--user", "hq-staff", "--json")
    every = json.loads(run(demo_env, "shell", "-c", ALL_GERMAN_PLEDGES).stdout.splitlines()[-1])  # after the shell's notice
    staff = json.loads(run(demo_env, "report", "weapons", "--donor", "DEU", "--user", "hq-staff", "--json").stdout)
    rows = {row["item_type"]: row for row in staff["rows"]}
    assert (rows["ART-M777"]["tracker"], rows["ART-PZH2000"]["tracker"], staff["unmapped"]) == (6, 10, [])
    for code, row in rows.items():
        assert row["delivered"] >= row["handed_over"]
        if row["complete"]:
            assert (row["pledged"], row["gap"]) == (every[code], row["tracker"] - every[code])
        else:
            assert row["pledged"] < every[code] and row["gap"] is None
    public = run(demo_env, "report", "weapons", "--donor", "DEU", "--user", "nld-liaison").stdout
    assert public.splitlines()[0].endswith("heavy weapons beside Umbrella's pledges of DEU")
    assert ("Partial:" in public) == (
        not json.loads(run(demo_env, "report", "weapons", "--donor", "DEU", "--user", "nld-liaison", "--json").stdout)["complete"]
    )

"""Other names for item types (aliases), `umbrella catalog check-kiel`, and the demo catalog's reviewed links."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client

from tests import demo_copies, factories
from tests.test_tracker import write_release
from umbrella.catalog import services as catalog
from umbrella.catalog.models import ItemTypeAlias, alias_key
from umbrella.catalog.queries import name_index, resolve_name
from umbrella.core.access import Actor
from umbrella.core.errors import Forbidden, Invalid
from umbrella.core.models import ChangeRecord
from umbrella.demo.generator import DATA
from umbrella.orgs.services import issue_token

UMBRELLA = str(Path(sys.executable).with_name("umbrella"))


def kiel_reference() -> Path | None:
    """Release 29 as SOURCE.md places it, `../shared/reference/kiel-ust-r29` beside the checkout (a worktree may
    sit one level deeper, so every ancestor is tried)."""
    for folder in Path(__file__).resolve().parents:
        candidate = folder / "shared" / "reference" / "kiel-ust-r29"
        if (candidate / "weapons.csv").is_file():
            return candidate
    return None


def test_names_compare_without_case_accents_or_spaces():
    assert alias_key("D-30 Howitzer") == alias_key("d-30  howitzer") == alias_key("D-30howitzer")
    assert alias_key("Bergepanzer 3 Büffel") == alias_key("bergepanzer 3 buffel")
    assert alias_key("M109 A3GM") != alias_key("M109 A3G")


def test_coordination_staff_add_and_remove_aliases_in_the_ledger(personas):
    item = factories.item_type(personas, name="Panzerhaubitze 2000 test")
    alias = catalog.create_alias(
        actor=personas.coordinator, fields={"item_type": item, "name": "  PzH   2000 ", "scheme": "kiel"}
    )
    assert (alias.name, alias.key, alias.scheme) == ("PzH 2000", "pzh2000", "kiel")
    assert ChangeRecord.objects.filter(entity="catalog.itemtypealias", action="create").count() == 1
    index = name_index(personas.observer)
    assert resolve_name(index, "pzh 2000") == item
    assert resolve_name(index, item.code.lower()) == item and resolve_name(index, "PANZERHAUBITZE 2000 TEST") == item
    with pytest.raises(Invalid) as refused:
        catalog.create_alias(actor=personas.coordinator, fields={"item_type": item, "name": "Pzh 2000", "scheme": "kiel"})
    assert "already stands for an item type" in str(refused.value.field_errors)
    catalog.create_alias(actor=personas.coordinator, fields={"item_type": item, "name": "PzH 2000", "scheme": "nato"})
    with pytest.raises(Forbidden):
        catalog.create_alias(actor=personas.donor_editor, fields={"item_type": item, "name": "Another", "scheme": "kiel"})
    catalog.delete_alias(actor=personas.coordinator, alias_id=alias.pk, expected_version=alias.version)
    assert not ItemTypeAlias.objects.filter(pk=alias.pk).exists()
    assert resolve_name(name_index(personas.observer), "pzh 2000") == item  # the "nato" alias still names it


def test_the_item_type_page_shows_its_aliases_and_staff_add_them(personas, as_client):
    item = factories.item_type(personas)
    catalog.create_alias(actor=personas.coordinator, fields={"item_type": item, "name": "Old name for it", "scheme": "kiel"})
    assert "Old name for it" in as_client("observer").get(f"/catalog/{item.pk}/").content.decode()
    assert as_client("donor_editor").get(f"/catalog/{item.pk}/aliases/new/").status_code == 403
    response = as_client("coordinator").post(f"/catalog/{item.pk}/aliases/new/", {"name": "Its tracker name", "scheme": "kiel"})
    assert response.status_code == 302
    assert ItemTypeAlias.objects.filter(item_type=item, key=alias_key("its tracker name")).exists()


def test_the_catalog_search_finds_an_item_type_by_its_other_names_on_the_page_and_the_api(personas, as_client):
    gun = factories.item_type(personas, name="Gun by its code name")
    battery = factories.item_type(personas, name="Battery by its code name")
    catalog.create_alias(actor=personas.coordinator, fields={"item_type": gun, "name": "M777 Howitzer", "scheme": "kiel"})
    catalog.create_alias(
        actor=personas.coordinator, fields={"item_type": battery, "name": "Patriot air défense battery", "scheme": "kiel"}
    )
    client = as_client("observer")
    for query, found, other in [
        ("M777 howitzer", gun, battery),
        ("m777howitzer", gun, battery),  # compared as alias_key does: no spaces
        ("patriot AIR defense", battery, gun),  # nor accents nor case
    ]:
        page = client.get("/catalog/", {"q": query}).content.decode()
        assert found.code in page and other.code not in page, query
    observer = personas.observer
    _, secret = issue_token(
        actor=Actor.system("tests"), user_id=observer.user.pk, organization_id=observer.organization.pk, name="t"
    )
    listed = Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get("/api/v1/item-types", {"q": "M777 howitzer"})
    assert listed.status_code == 200 and gun.code in listed.content.decode() and battery.code not in listed.content.decode()


def test_the_alias_search_costs_the_same_queries_however_many_item_types_match(personas, as_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = as_client("observer")

    def queries_for_search() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/catalog/", {"q": "searchable alias"}).status_code == 200
        return len(captured)

    first = factories.item_type(personas)
    catalog.create_alias(actor=personas.coordinator, fields={"item_type": first, "name": "Searchable alias 0", "scheme": "kiel"})
    one = queries_for_search()
    for number in range(1, 6):
        item = factories.item_type(personas)
        catalog.create_alias(
            actor=personas.coordinator, fields={"item_type": item, "name": f"Searchable alias {number}", "scheme": "kiel"}
        )
    assert queries_for_search() == one


def test_the_kiel_scheme_is_named_for_what_it_is_on_the_item_type_page(personas, as_client):
    item = factories.item_type(personas)
    catalog.create_alias(actor=personas.coordinator, fields={"item_type": item, "name": "Its Kiel name", "scheme": "kiel"})
    catalog.create_alias(actor=personas.coordinator, fields={"item_type": item, "name": "Its other name", "scheme": "nato"})
    page = as_client("observer").get(f"/catalog/{item.pk}/").content.decode()
    assert "Kiel Ukraine Support Tracker (kiel)" in page
    assert "<td>nato</td>" in page  # a scheme the catalog does not know is shown as written


# The demo catalog's links, as a gunner would check them.
def _links() -> list[dict[str, str]]:
    with open(DATA / "compatibilities.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _item_types() -> dict[str, dict[str, str]]:
    with open(DATA / "item_types.csv", newline="", encoding="utf-8") as handle:
        return {row["code"]: row for row in csv.DictReader(handle)}


def test_every_demo_compatibility_link_cites_a_source():
    assert all(link["source"].strip() for link in _links())


def test_39_and_52_calibre_propellant_charges_are_not_interchangeable():
    links = {(link["item"], link["kind"], link["related_item"]) for link in _links()}
    assert ("ART-M777", "consumes", "AMM-CHG-M232") in links and ("ART-M777", "consumes", "AMM-CHG-DM72") not in links
    assert ("ART-PZH2000", "consumes", "AMM-CHG-DM72") in links and ("ART-PZH2000", "consumes", "AMM-CHG-M232") not in links
    assert not {("AMM-CHG-M232", "substitutes-for", "AMM-CHG-DM72"), ("AMM-CHG-DM72", "substitutes-for", "AMM-CHG-M232")} & links
    items = _item_types()
    for gun, kind, charge in links:
        if kind == "consumes" and charge.startswith("AMM-CHG"):
            calibre = "/39 calibre" if charge == "AMM-CHG-M232" else "/52 calibre"
            assert calibre in items[gun]["description"], (gun, charge)


def test_105_mm_m1_and_l31_families_are_not_mixed():
    links = {(link["item"], link["kind"], link["related_item"]) for link in _links()}
    assert ("ART-L119", "fires", "AMM-105-M1") in links and ("ART-L119", "fires", "AMM-105-L31") not in links
    assert not {("AMM-105-M1", "substitutes-for", "AMM-105-L31"), ("AMM-105-L31", "substitutes-for", "AMM-105-M1")} & links


def test_a_less_capable_substitute_stands_for_less_than_one():
    substitutes = [link for link in _links() if link["kind"] == "substitutes-for"]
    ratios = {(link["item"], link["related_item"]): Decimal(link["ratio"]) for link in substitutes}
    assert ratios["AD-PAC2GEMT", "AD-PAC3MSE"] < 1
    assert ratios["AF-AIM9L", "AD-AIM9X"] < 1
    assert ratios["AMM-155-M549", "AMM-155-M795"] < 1


def test_every_demo_alias_names_a_demo_item_type_once():
    items = _item_types()
    with open(DATA / "item_aliases.csv", newline="", encoding="utf-8") as handle:
        aliases = list(csv.DictReader(handle))
    assert all(alias["item_type"] in items for alias in aliases)
    keys = [(alias["scheme"], alias_key(alias["name"])) for alias in aliases]
    assert len(keys) == len(set(keys))


# `umbrella catalog check-kiel`, run as the installed command against a copy of the demo (its catalog and aliases).
@pytest.fixture(scope="module")
def demo_env(prepared_demo, tmp_path_factory):
    with demo_copies.copy_of(prepared_demo, tmp_path_factory, "kielcat") as (data_dir, database_url):
        yield demo_copies.environment(data_dir, database_url)


def check_kiel(demo_env, folder: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [UMBRELLA, "catalog", "check-kiel", str(folder), *extra], env=demo_env, capture_output=True, text=True, timeout=300
    )


def test_check_kiel_maps_every_system_release_29_names(demo_env):
    reference = kiel_reference()
    if reference is None:
        pytest.skip("../shared/reference/kiel-ust-r29 is absent (the release is not shipped: see its SOURCE.md)")
    result = check_kiel(demo_env, reference, "--json")
    report = json.loads(result.stdout)
    assert result.returncode == 0, [row["name"] for row in report["unmapped"]]
    assert report["ok"] and report["names"] == len(report["mapped"]) >= 60 and not report["unmapped"]
    mapped = {row["name"]: row["item_type"] for row in report["mapped"]}
    assert mapped["Panzerhaubitze 2000"] == "ART-PZH2000" and mapped["S-300 air defence system"] == "AD-S300PS"
    assert mapped["D-30 howitzer"] == mapped["D-30 Howitzer"] == "ART-D30"  # one alias, two spellings


def test_check_kiel_exits_1_naming_the_unmapped_systems_with_donor_and_category(demo_env, tmp_path):
    weapons = '"Donor A","Howitzers",7,1500000,"M777 howitzer (5); Imaginary gun (2)"\n'
    folder = write_release(tmp_path / "r", "", weapons)
    result = check_kiel(demo_env, folder, "--json")
    assert result.returncode == 1 and "Imaginary gun" in result.stderr
    report = json.loads(result.stdout)
    assert [row["name"] for row in report["unmapped"]] == ["Imaginary gun"]
    assert report["unmapped"][0]["appearances"] == [{"donor": "Donor A", "category": "Howitzers", "count": 2, "row": 2}]
    text = check_kiel(demo_env, folder)
    assert text.returncode == 1 and "UNMAPPED Imaginary gun  — Donor A (Howitzers, 2)" in text.stdout
    assert check_kiel(demo_env, tmp_path / "nowhere").returncode == 2


def test_a_compatibility_link_keeps_its_source_through_the_api(personas):
    gun, shell = factories.item_type(personas), factories.item_type(personas, bulk=True)
    staff = personas.coordinator
    _, secret = issue_token(actor=Actor.system("tests"), user_id=staff.user.pk, organization_id=staff.organization.pk, name="t")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    body = {"item": gun.code, "kind": "fires", "related_item": shell.code, "source": "STANAG 4425 Ed. 2"}
    created = client.post("/api/v1/compatibilities", json.dumps(body), content_type="application/json")
    assert created.status_code == 201, created.content
    assert client.get(f"/api/v1/compatibilities/{created.json()['id']}").json()["source"] == "STANAG 4425 Ed. 2"

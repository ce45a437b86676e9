"""A crew-served system's package in the catalog: its rule written through the services, imported from a file
(every row checked, nothing written on a problem), exported back, shown on the item type's page and in the API."""

import csv
import io
import re
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from tests import factories
from umbrella.catalog import services as catalog
from umbrella.catalog.models import CapabilityArea, PackageRule
from umbrella.core.access import Actor
from umbrella.core.errors import Forbidden, Invalid
from umbrella.core.models import ChangeRecord
from umbrella.demo.generator import DATA
from umbrella.orgs.services import issue_token

HEADER = "system,crews_per_system,rounds_per_day,days_of_supply,spare_kits_per_system,source\n"


def howitzer(personas, **overrides):
    return factories.item_type(personas, crew_size=8, **overrides)


def linked_howitzer(personas):
    """A howitzer that fires one shell and has one spares kit."""
    gun = howitzer(personas)
    shell = factories.item_type(personas, bulk=True, unit_of_issue="RD")
    kit = factories.item_type(personas, unit_of_issue="KT")
    catalog.create_compatibility(actor=personas.coordinator, fields={"source": gun, "kind": "fires", "target": shell})
    catalog.create_compatibility(actor=personas.coordinator, fields={"source": kit, "kind": "spares-for", "target": gun})
    return gun, shell, kit


def rule_fields(system, **overrides):
    fields = {
        "system": system,
        "crews_per_system": 2,
        "rounds_per_day": Decimal("75"),
        "days_of_supply": 30,
        "spare_kits_per_system": Decimal("0.5"),
        "source": "Planning assumption (test)",
    }
    fields.update(overrides)
    return fields


@pytest.mark.django_db
def test_a_package_rule_is_created_and_changed_with_one_ledger_entry_each(personas):
    gun = howitzer(personas)
    before = ChangeRecord.objects.count()
    rule = catalog.create_package_rule(actor=personas.coordinator, fields=rule_fields(gun))
    assert ChangeRecord.objects.count() == before + 1
    rule = catalog.update_package_rule(
        actor=personas.coordinator, rule_id=rule.pk, expected_version=rule.version, changes={"days_of_supply": 15}
    )
    assert ChangeRecord.objects.count() == before + 2
    assert (rule.days_of_supply, rule.version) == (15, 2)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["donor_editor", "recipient", "auditor"])
def test_only_coordination_editors_write_package_rules(personas, persona):
    gun = howitzer(personas)
    with pytest.raises(Forbidden):
        catalog.create_package_rule(actor=personas[persona], fields=rule_fields(gun))
    assert not PackageRule.objects.exists()


@pytest.mark.django_db
def test_a_system_without_a_crew_has_no_package_and_a_system_has_one_rule_only(personas):
    shell = factories.item_type(personas)
    with pytest.raises(Invalid) as refused:
        catalog.create_package_rule(actor=personas.coordinator, fields=rule_fields(shell))
    assert "system" in refused.value.field_errors
    gun = howitzer(personas)
    catalog.create_package_rule(actor=personas.coordinator, fields=rule_fields(gun))
    with pytest.raises(Invalid):
        catalog.create_package_rule(actor=personas.coordinator, fields=rule_fields(gun))
    assert PackageRule.objects.count() == 1


def _import(path, user="cora") -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("import", "package-rules", str(path), user=user, stdout=out)
    except CommandError as error:
        return error.returncode, out.getvalue() + str(error)
    return 0, out.getvalue()


@pytest.mark.django_db
def test_package_rules_import_all_or_nothing_with_every_problem_reported(personas, tmp_path):
    gun, other = howitzer(personas), howitzer(personas)
    shell = factories.item_type(personas)
    path = tmp_path / "package_rules.csv"
    path.write_text(
        HEADER
        + f"{gun.code},2,75,30,1,FM 6-40 (test)\n"  # good
        + "NO-SUCH-SYSTEM,1,10,30,0,test\n"  # row 3: unknown system
        + f"{other.code},0,10,30,0,test\n"  # row 4: no crew
        + f"{other.code},1,-5,30,0,test\n"  # row 5: negative rounds
        + f"{shell.code},1,10,30,0,test\n"  # row 6: not a crew-served system
        + f"{gun.code},1,10,30,0,test\n"  # row 7: a second rule for the same system
    )
    ledger = ChangeRecord.objects.count()
    code, output = _import(path)
    assert code == 1
    for expected in (
        "row 3, column 'system'",
        "row 4, column 'crews_per_system'",
        "row 5, column 'rounds_per_day'",
        "row 6, column 'system'",
        "row 7",
    ):
        assert expected in output, output
    assert not PackageRule.objects.exists() and ChangeRecord.objects.count() == ledger
    path.write_text(HEADER + f"{gun.code},2,75,30,1,FM 6-40 (test)\n{other.code},1,,,,Assumption (test)\n")
    code, output = _import(path)
    assert code == 0, output
    rules = {rule.system.code: rule for rule in PackageRule.objects.select_related("system")}
    assert (rules[gun.code].crews_per_system, rules[gun.code].rounds_per_day, rules[gun.code].spare_kits_per_system) == (
        2,
        Decimal(75),
        Decimal(1),
    )
    assert (rules[other.code].crews_per_system, rules[other.code].days_of_supply, rules[other.code].rounds_per_day) == (
        1,
        30,
        Decimal(0),
    )


@pytest.mark.django_db
def test_a_donor_cannot_import_package_rules(personas, tmp_path):
    gun = howitzer(personas)
    path = tmp_path / "package_rules.csv"
    path.write_text(HEADER + f"{gun.code},2,75,30,1,test\n")
    code, output = _import(path, user="alice")
    assert code != 0 and not PackageRule.objects.exists()


@pytest.mark.django_db
def test_an_export_of_package_rules_imports_back(personas, tmp_path):
    gun = howitzer(personas)
    catalog.create_package_rule(actor=personas.coordinator, fields=rule_fields(gun))
    out = io.StringIO()
    call_command("export", "package-rules", "--format", "csv", "-o", "-", "--user", "cora", stdout=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue().lstrip("\ufeff"))))
    assert [(r["system"], r["crews_per_system"], r["rounds_per_day"], r["spare_kits_per_system"]) for r in rows] == [
        (gun.code, "2", "75.00", "0.50")
    ]
    PackageRule.objects.all().delete()  # the catalog starts again from the file
    path = tmp_path / "back.csv"
    path.write_text(out.getvalue().lstrip("\ufeff"))
    code, output = _import(path)
    assert code == 0, output
    assert PackageRule.objects.get().source == "Planning assumption (test)"


@pytest.mark.django_db
def test_the_item_type_page_writes_the_package_out(personas, as_client):
    gun, shell, kit = linked_howitzer(personas)
    page = as_client("donor_editor").get(f"/catalog/{gun.pk}/").content.decode()
    assert "No package rule yet" in page
    catalog.create_package_rule(actor=personas.coordinator, fields=rule_fields(gun))
    page = as_client("donor_editor").get(f"/catalog/{gun.pk}/").content.decode()
    assert "2 crews × 8 people = 16 people per system" in page
    assert "75 rounds a day × 30 days of supply = 2,250 rounds per system" in page
    assert shell.code in page and kit.code in page and "Planning assumption (test)" in page
    # each munition and spare by its name, its code the link
    assert f'{shell.name} (<a href="/catalog/{shell.pk}/">{shell.code}</a>)' in page
    assert f'{kit.name} (<a href="/catalog/{kit.pk}/">{kit.code}</a>)' in page
    assert f"/catalog/{gun.pk}/package/" not in page  # a donor reads, coordination staff edit
    assert f"/catalog/{gun.pk}/package/" in as_client("coordinator").get(f"/catalog/{gun.pk}/").content.decode()


@pytest.mark.django_db
def test_a_package_of_a_system_that_fires_nothing_says_so_rather_than_zero_rounds(personas, as_client):
    radar = howitzer(personas)
    catalog.create_package_rule(actor=personas.coordinator, fields=rule_fields(radar, rounds_per_day=Decimal("0")))
    page = as_client("donor_editor").get(f"/catalog/{radar.pk}/").content.decode()
    assert "Fires nothing the catalog links." in page and "rounds per system" not in page


@pytest.mark.django_db
def test_each_link_kind_reads_as_a_sentence_from_either_end(personas, as_client):
    gun, shell, kit = linked_howitzer(personas)
    fuel, better_shell = factories.item_type(personas, bulk=True), factories.item_type(personas, bulk=True)
    catalog.create_compatibility(actor=personas.coordinator, fields={"source": gun, "kind": "consumes", "target": fuel})
    catalog.create_compatibility(
        actor=personas.coordinator, fields={"source": better_shell, "kind": "substitutes-for", "target": shell}
    )
    client = as_client("observer")

    def labels(item) -> set[str]:
        page = client.get(f"/catalog/{item.pk}/").content.decode()
        section = page.split('id="links-heading"')[1].split("</table>")[0]
        return set(re.findall(r"<tr><td>([^<]+)</td>", section))

    assert labels(gun) == {"fires", "consumes", "has as spare parts"}
    assert labels(shell) == {"is fired by", "can be substituted by"}
    assert labels(kit) == {"is a spare part for"}
    assert labels(fuel) == {"is consumed by"}
    assert labels(better_shell) == {"substitutes for"}


@pytest.mark.django_db
def test_coordination_staff_set_then_change_a_package_on_its_page(personas, as_client):
    gun = howitzer(personas)
    client = as_client("coordinator")
    data = {
        "crews_per_system": 3,
        "rounds_per_day": "40",
        "days_of_supply": 10,
        "spare_kits_per_system": "1",
        "source": "Page (test)",
        "marking": "participants",
    }
    assert client.post(f"/catalog/{gun.pk}/package/", data).status_code == 302
    rule = PackageRule.objects.get(system=gun)
    assert (rule.crews_per_system, rule.days_of_supply) == (3, 10)
    response = client.post(f"/catalog/{gun.pk}/package/", {**data, "days_of_supply": 20, "version": rule.version})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.days_of_supply, rule.version) == (20, 2)
    assert as_client("donor_editor").post(f"/catalog/{gun.pk}/package/", data).status_code == 403


def _api(personas, persona: str) -> Client:
    actor = personas[persona]
    _, secret = issue_token(
        actor=Actor.system("tests"), user_id=actor.user.pk, organization_id=actor.organization.pk, name="package"
    )
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.mark.django_db
def test_the_api_gives_a_systems_package_and_sets_it(personas):
    gun, shell, kit = linked_howitzer(personas)
    client = _api(personas, "coordinator")
    assert client.get(f"/api/v1/item-types/{gun.pk}/package").status_code == 404
    body = {"crews_per_system": 2, "rounds_per_day": "75", "days_of_supply": 30, "spare_kits_per_system": "1", "source": "x"}
    response = client.put(f"/api/v1/item-types/{gun.pk}/package", body, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response["ETag"] == '"v1"'
    read = _api(personas, "donor_editor").get(f"/api/v1/item-types/{gun.pk}/package").json()
    assert (read["people_per_system"], Decimal(read["rounds_per_system"])) == (16, Decimal(2250))
    assert (read["munitions"], read["spares"]) == ([shell.code], [kit.code])
    assert client.put(f"/api/v1/item-types/{gun.pk}/package", body, content_type="application/json").status_code == 428
    response = client.put(
        f"/api/v1/item-types/{gun.pk}/package",
        {**body, "days_of_supply": 10},
        content_type="application/json",
        HTTP_IF_MATCH='"v1"',
    )
    assert response.status_code == 200 and response.json()["rounds_per_system"] in ("750", "750.00")


def test_the_demo_has_a_sourced_package_rule_for_every_crew_served_system():
    with open(DATA / "item_types.csv", encoding="utf-8") as handle:
        systems = {row["code"] for row in csv.DictReader(handle) if row["crew_size"]}
    with open(DATA / "package_rules.csv", encoding="utf-8") as handle:
        rules = list(csv.DictReader(handle))
    assert sorted(row["system"] for row in rules) == sorted(systems)
    assert all(len(row["source"]) > 20 for row in rules)


@pytest.mark.django_db
def test_the_demo_package_rules_import(personas, tmp_path):
    """Against the demo's own catalog: every row passes the importer (a dry run)."""
    from umbrella.core import imports
    from umbrella.core.tabular import read_table

    for kind, name in (("item-types", "item_types.csv"), ("compatibilities", "compatibilities.csv")):
        path = DATA / name
        report = imports.run_import(
            imports.importer_for(kind),
            actor=personas.coordinator,
            table=read_table(path.read_bytes(), name, max_bytes=10**7),
            filename=name,
            dry_run=False,
        )
        assert report.ok, report.errors[:3]
    path = DATA / "package_rules.csv"
    report = imports.run_import(
        imports.importer_for("package-rules"),
        actor=personas.coordinator,
        table=read_table(path.read_bytes(), path.name, max_bytes=10**7),
        filename=path.name,
        dry_run=True,
    )
    assert report.ok, report.errors[:3]
    assert CapabilityArea.objects.exists()

"""Withdrawal scenarios by role: a donor stops as payer, as supplier, as the country of origin or in every role;
the pledges lost are listed with why, the requirements they covered name them, and item types no one else
supplies are flagged "no other supplier"."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import subprocess
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import Client
from django.utils import translation

from tests import demo_copies, factories
from tests.conftest import ensure_base_data, load_gazetteer
from tests.test_cli_json import UMBRELLA
from tests.test_readiness import database_url
from umbrella.core.access import Actor, OrganizationKind, Role
from umbrella.core.errors import Invalid
from umbrella.core.testing import load_personas
from umbrella.needs import services as needs
from umbrella.orgs import services as orgs
from umbrella.orgs.queries import actor_for
from umbrella.orgs.services import issue_token
from umbrella.pledges import services as pledges
from umbrella.scenarios import services
from umbrella.scenarios.analysis import in_reader_language
from umbrella.scenarios.models import WithdrawalScenario

AS_OF = dt.date(2026, 1, 1)


def donor(code: str, name: str) -> Actor:
    system = Actor.system("tests")
    organization = orgs.create_organization(actor=system, code=code, name=name, kind=OrganizationKind.DONOR, iso3=code)
    user = orgs.create_user(actor=system, username=f"liaison-{code.lower()}", password="persona-password-2026")
    orgs.set_membership(actor=system, user_id=user.pk, organization_id=organization.pk, role=Role.EDITOR)
    return actor_for(user)


def accepted(personas, actor: Actor, item, quantity: int, **fields):
    pledge = pledges.create_pledge(
        actor=actor,
        sources=[factories.source()],
        fields={
            "item_type": item,
            "quantity": quantity,
            "available_from": dt.date(2026, 3, 1),
            "marking": "coordination",
            **fields,
        },
    )
    pledge = pledges.advance_pledge(actor=actor, pledge_id=pledge.pk, step="offer", expected_version=pledge.version)
    return pledges.advance_pledge(actor=personas.coordinator, pledge_id=pledge.pk, step="accept", expected_version=pledge.version)


def build(personas) -> dict:
    """An approved list asking for 4 missiles, 10 shells and 100 rounds. The Netherlands buys 4 US-made missiles
    from the United States (its own money; the only missiles pledged); the United States gives 6 shells of its own
    and Donor B 4 shells made in Germany; Donor A organises a joint purchase of 100 rounds paid 50 % by itself,
    30 % by the United States and 20 % by the Netherlands. Every unit is worth EUR 1,000."""
    usa, nld = donor("USA", "United States"), donor("NLD", "Netherlands")
    missile = factories.item_type(personas, name="Test missile")
    shell, rounds = factories.item_type(personas, name="Test shell"), factories.item_type(personas, name="Test round")
    lst = needs.create_requirement_list(
        actor=personas.recipient, fields={"series": "ROLES", "title": "By role", "marking": "participants"}
    )
    asked = {}
    for name, item, quantity, priority in (("missiles", missile, 4, 1), ("shells", shell, 10, 2), ("rounds", rounds, 100, 3)):
        asked[name] = needs.create_requirement(
            actor=personas.recipient,
            list_id=lst.pk,
            fields=factories.requirement_fields(item, quantity=quantity, priority=priority),
        )
    lst.refresh_from_db()
    lst = needs.propose_requirement_list(actor=personas.recipient, list_id=lst.pk, expected_version=lst.version)
    needs.approve_requirement_list(actor=personas.coordinator, list_id=lst.pk, expected_version=lst.version)
    return {
        **asked,
        "missiles_from_usa": accepted(
            personas, nld, missile, 4, instrument="procurement", supplier="USA", origin="USA", reference="NLD-FMS-1"
        ),
        "us_shells": accepted(personas, usa, shell, 6, origin="USA"),
        "other_shells": accepted(personas, personas.second_donor, shell, 4, origin="DEU"),
        "joint": accepted(
            personas,
            personas.donor_editor,
            rounds,
            100,
            instrument="joint-purchase",
            payers="XDA 0.5; USA 0.3; NLD 0.2",
            reference="JOINT-1",
        ),
        "missile": missile,
        "shell": shell,
    }


@pytest.fixture
def world(personas):
    return build(personas)


def scenario(personas, role: str | None = None) -> dict:
    extra = {"role": role} if role else {}
    return services.preview_scenario(actor=personas.coordinator, donors=["USA"], as_of=AS_OF, **extra)


def other_suppliers_cell(page: str, pledge: int) -> str:
    """The last cell ("Other suppliers") of the lost pledge's row on the scenario page."""
    row = re.search(rf'<tr><td><a href="/pledges/{pledge}/">.*?</tr>', page, re.S)
    assert row, f"no row for pledge {pledge}"
    return re.findall(r"<td>(.*?)</td>", row.group(0), re.S)[-1].strip()


def lost(results: dict) -> dict[int, dict]:
    return {row["pledge"]: row for row in results["lost_pledges"]}


def test_as_supplier_the_european_paid_us_made_missiles_are_lost_and_named(personas, world):
    results = scenario(personas, "supplier")
    bought = world["missiles_from_usa"]
    gone = lost(results)
    assert set(gone) == {bought.pk, world["us_shells"].pk}
    row = gone[bought.pk]
    assert (row["owner"], row["supplier"], row["reference"], row["why_text"]) == ("NLD", "USA", "NLD-FMS-1", "supplied by USA")
    assert row["money_lost_eur"] == "0.00"  # the Netherlands pays: none of the United States' money goes with it
    missiles = next(u for u in results["uncovered"] if u["requirement"] == world["missiles"].pk)
    assert (missiles["covered_before"], missiles["covered_after"], missiles["lost_pledges"]) == (4.0, 0.0, [bought.pk])
    assert f"#{bought.pk} 4 × Test missile (NLD) (supplied by USA)" in missiles["reason_text"]
    assert results["role"] == "supplier" and results["lost_by_year"] == {
        "2026": {"funding_eur": "0.00", "in_kind_eur": "6000.00", "total_eur": "6000.00"}
    }


def test_as_payer_the_missiles_the_netherlands_pays_for_stay_and_a_joint_purchase_loses_only_the_us_share(personas, world):
    default, results = scenario(personas), scenario(personas, "payer")
    assert default == results  # "the donor stops" means, by default, as payer
    gone = lost(results)
    assert set(gone) == {world["us_shells"].pk, world["joint"].pk}
    assert world["missiles_from_usa"].pk not in gone
    assert not any(u["requirement"] == world["missiles"].pk for u in results["uncovered"])
    joint = gone[world["joint"].pk]
    assert (joint["why_text"], joint["value_eur"], joint["money_lost_eur"]) == ("paid by USA 30 %", "100000.00", "30000.00")
    assert gone[world["us_shells"].pk]["why_text"] == "paid by USA 100 %"
    assert results["lost_by_year"]["2026"]["in_kind_eur"] == "36000.00"  # 6 shells and 30 % of 100 rounds
    rounds = next(u for u in results["uncovered"] if u["requirement"] == world["rounds"].pk)
    assert rounds["lost_pledges"] == [world["joint"].pk] and "(paid by USA 30 %)" in rounds["reason_text"]


def test_only_items_no_one_else_supplies_are_flagged(personas, world):
    results = scenario(personas, "all")
    assert [(f["item_type"], f["pledges"], f["text"]) for f in results["no_other_supplier"]] == [
        (world["missile"].code, [world["missiles_from_usa"].pk], "no other supplier")
    ]
    gone = lost(results)
    assert gone[world["missiles_from_usa"].pk]["no_other_supplier"] is True
    assert gone[world["missiles_from_usa"].pk]["other_suppliers"] == []
    assert gone[world["us_shells"].pk]["no_other_supplier"] is False  # Donor B's German-made shells remain
    assert gone[world["us_shells"].pk]["other_suppliers"] == ["XDB"]
    assert gone[world["us_shells"].pk]["why_text"] == "paid by USA 100 %; supplied by USA; made in USA"
    assert gone[world["missiles_from_usa"].pk]["why_text"] == "supplied by USA; made in USA"
    made_there = lost(scenario(personas, "origin"))
    assert set(made_there) == {world["missiles_from_usa"].pk, world["us_shells"].pk}


def test_a_role_is_saved_with_the_scenario_and_shown_and_a_bad_one_is_refused(personas, world, as_client):
    with pytest.raises(Invalid) as refused:
        scenario(personas, "lender")
    assert "payer, supplier, origin, all" in refused.value.field_errors["role"][0]
    with pytest.raises(CommandError) as bad:
        call_command("scenario", "--donors", "USA", "--date", "2026-01-01", "--as", "lender", stdout=io.StringIO())
    assert "invalid choice: 'lender'" in str(bad.value) and "'supplier'" in str(bad.value)
    saved = services.save_scenario(actor=personas.coordinator, name="US industry", donors=["USA"], as_of=AS_OF, role="supplier")
    assert WithdrawalScenario.objects.get().role == "supplier"
    page = as_client("coordinator").get(f"/scenarios/{saved.pk}/").content.decode()
    assert "as supplier" in page and "NLD-FMS-1" in page and "no other supplier" in page and "supplied by USA" in page
    assert other_suppliers_cell(page, world["missiles_from_usa"].pk) == "<strong>no other supplier</strong>"
    assert other_suppliers_cell(page, world["us_shells"].pk) == "XDB"  # who else supplies shells, not a dash
    assert "of them open offers leaving the matching" not in page  # every pledge lost here was an open offer
    form = as_client("coordinator").get("/scenarios/new/").content.decode()
    assert 'name="role"' in form and 'value="supplier"' in form
    posted = as_client("coordinator").post(
        "/scenarios/new/", {"name": "US money", "donors": ["USA"], "as_of": "2026-01-01", "role": "payer"}
    )
    money = WithdrawalScenario.objects.get(name="US money")
    assert posted.status_code == 302 and money.role == "payer"
    compared = as_client("coordinator").get(f"/scenarios/compare/?scenario={saved.pk}&scenario={money.pk}").content.decode()
    assert "as supplier" in compared and "as payer" in compared and "Pledges lost" in compared
    text = io.StringIO()
    call_command("scenario", "--donors", "USA", "--date", "2026-01-01", "--as", "supplier", "--user", "cora", stdout=text)
    assert text.getvalue().startswith("If USA stopped as supplier from 2026-01-01")
    assert "NLD-FMS-1: supplied by USA [no other supplier]" in text.getvalue()


def test_the_api_takes_the_role(personas, world):
    coordinator = personas.coordinator
    _, secret = issue_token(
        actor=Actor.system("tests"), user_id=coordinator.user.pk, organization_id=coordinator.organization.pk, name="api"
    )
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    body = {"donors": ["USA"], "as_of": "2026-01-01", "role": "supplier"}
    preview = client.post("/api/v1/scenarios/preview", body, content_type="application/json")
    assert preview.status_code == 200, preview.content
    assert world["missiles_from_usa"].pk in lost(preview.json())
    refused = client.post("/api/v1/scenarios/preview", {**body, "role": "lender"}, content_type="application/json")
    assert refused.status_code == 422
    saved = client.post("/api/v1/scenarios", {**body, "name": "US industry"}, content_type="application/json")
    assert saved.status_code == 201 and saved.json()["role"] == "supplier"
    assert client.get("/api/v1/scenarios").json()["items"][0]["role"] == "supplier"


@pytest.mark.django_db(transaction=True)
def test_umbrella_scenario_as_supplier_loses_the_european_paid_us_made_missiles_and_names_them():
    """The done-when line, as a script reads it: the installed command as a subprocess, its output parsed as JSON."""
    ensure_base_data()
    load_gazetteer()
    personas = load_personas()
    world = build(personas)
    env = demo_copies.environment(_data_dir(), database_url())
    arguments = [UMBRELLA, "scenario", "--donors", "USA", "--date", "2026-01-01", "--user", "cora", "--json"]
    result = subprocess.run([*arguments, "--as", "supplier"], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)
    (missiles,) = [row for row in results["lost_pledges"] if row["pledge"] == world["missiles_from_usa"].pk]
    assert (missiles["reference"], missiles["why_text"], missiles["no_other_supplier"]) == ("NLD-FMS-1", "supplied by USA", True)
    bad = subprocess.run([*arguments, "--as", "lender"], env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "payer" in bad.stderr and "supplier" in bad.stderr and "all" in bad.stderr
    assert Decimal(results["lost_by_year"]["2026"]["total_eur"]) == Decimal("6000.00")
    # The text a coordinator reads: 16 requirements losing coverage (15 printed, the rest counted), and a shipped
    # pledge the United States pays for, lost though it is no longer an offer to the matching.
    shipped = shipped_pledge(personas, world["shell"])
    split_rounds_list(personas, world["rounds"].item_type, 16)
    text = subprocess.run(arguments[:-1], env=env, capture_output=True, text=True, timeout=300)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert "  3 undelivered pledges lost:" in lines
    assert any(line.startswith(f"    #{shipped.pk} ") and "paid by USA 100 %" in line for line in lines)
    assert (
        "  2 open offers and 0 allocations leave the matching. The other pledge lost is already shipped or partly "
        "delivered: it is not an offer the matching can place, but what it has not delivered is lost all the same."
    ) in lines
    assert "  16 requirements lose coverage:" in lines and "    … and 1 more (--json lists them all)" in lines
    assert sum(1 for line in lines if line.startswith("    ") and " → 0 of 1. " in line) == 15
    saved = services.save_scenario(actor=personas.coordinator, name="US money", donors=["USA"], as_of=AS_OF)
    reader = Client()
    reader.force_login(personas.coordinator.user)
    page = reader.get(f"/scenarios/{saved.pk}/").content.decode()
    assert "3 pledges lost, 2 of them open offers leaving the matching. The others are already shipped" in page


def shipped_pledge(personas, shell):
    """Two shells the United States pays for, allocated and shipped."""
    usa = actor_for(get_user_model().objects.get(username="liaison-usa"))
    pledge = accepted(personas, usa, shell, 2, origin="USA")
    with transaction.atomic():
        pledges.record_allocation_step(actor=personas.coordinator, pledge_id=pledge.pk, step="allocate")
    pledge.refresh_from_db()
    return pledges.advance_pledge(actor=usa, pledge_id=pledge.pk, step="ship", expected_version=pledge.version)


def split_rounds_list(personas, rounds, count: int) -> None:
    """A newer approved list asking for `count` single rounds, each its own requirement (the joint purchase
    covers them all; without the United States' share, none)."""
    lst = needs.create_requirement_list(
        actor=personas.recipient, fields={"series": "SPLIT", "title": "Rounds, one by one", "marking": "participants"}
    )
    for _ in range(count):
        needs.create_requirement(
            actor=personas.recipient, list_id=lst.pk, fields=factories.requirement_fields(rounds, quantity=1, priority=3)
        )
    lst.refresh_from_db()
    lst = needs.propose_requirement_list(actor=personas.recipient, list_id=lst.pk, expected_version=lst.version)
    needs.approve_requirement_list(actor=personas.coordinator, list_id=lst.pk, expected_version=lst.version)


def _data_dir():
    from umbrella.settings import DATA_DIR

    return DATA_DIR


def test_a_role_that_loses_nothing_says_so_and_as_origin_says_when_no_pledge_records_an_origin(personas, as_client):
    """Before any origin is recorded, stopping as the country of origin loses nothing: the text and the page say
    so in words (no "0 pledges lost:" with nothing after it) and say why."""
    usa = donor("USA", "United States")
    shell = factories.item_type(personas, name="Test shell")
    lst = needs.create_requirement_list(
        actor=personas.recipient, fields={"series": "NONE", "title": "No origins", "marking": "participants"}
    )
    needs.create_requirement(actor=personas.recipient, list_id=lst.pk, fields=factories.requirement_fields(shell, quantity=6))
    lst.refresh_from_db()
    lst = needs.propose_requirement_list(actor=personas.recipient, list_id=lst.pk, expected_version=lst.version)
    needs.approve_requirement_list(actor=personas.coordinator, list_id=lst.pk, expected_version=lst.version)
    accepted(personas, usa, shell, 6)  # no origin recorded
    text = io.StringIO()
    call_command("scenario", "--donors", "USA", "--date", "2026-01-01", "--as", "origin", "--user", "cora", stdout=text)
    lines = text.getvalue().splitlines()
    assert "  No undelivered pledge is lost in this role." in lines and "  No requirement loses coverage." in lines
    assert any("No pledge records a country of origin" in line for line in lines)
    assert not any(line.rstrip().endswith(":") and "lost" in line for line in lines)
    saved = services.save_scenario(actor=personas.coordinator, name="Made in USA", donors=["USA"], as_of=AS_OF, role="origin")
    assert saved.results["lost_pledges"] == [] and saved.results["pledges_with_origin"] == 0
    page = as_client("coordinator").get(f"/scenarios/{saved.pk}/").content.decode()
    assert "No undelivered pledge is lost in this role." in page
    assert "No pledge records a country of origin, so none is lost as made in these donors' countries." in page
    as_payer = services.save_scenario(actor=personas.coordinator, name="US", donors=["USA"], as_of=AS_OF, role="payer")
    assert (
        "No pledge records a country of origin" not in as_client("coordinator").get(f"/scenarios/{as_payer.pk}/").content.decode()
    )


def test_a_saved_scenario_gives_its_reasons_in_the_readers_language_from_the_parts_it_keeps(personas, world, client):
    """Saved by an English reader, read by a Ukrainian one: the why and the reason are said again in Ukrainian
    from the codes, numbers and names kept, while the stored results (and the command's JSON) keep the text of
    the language they were worked out in."""
    saved = services.save_scenario(actor=personas.coordinator, name="US, all", donors=["USA"], as_of=AS_OF, role="all")
    missiles = next(u for u in saved.results["uncovered"] if u["requirement"] == world["missiles"].pk)
    assert "supplied by USA" in missiles["reason_text"] and lost(saved.results)[world["us_shells"].pk]["why"]
    client.force_login(personas.coordinator.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "uk"
    page = client.get(f"/scenarios/{saved.pk}/").content.decode()
    assert "постачає USA" in page and "Раніше покривалося обіцянками, які тепер втрачено" in page
    assert "supplied by USA" not in page and "Covered before by pledges now lost" not in page
    _, secret = issue_token(
        actor=Actor.system("tests"),
        user_id=personas.coordinator.user.pk,
        organization_id=personas.coordinator.organization.pk,
        name="api",
    )
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_ACCEPT_LANGUAGE="uk")
    read = api.get(f"/api/v1/scenarios/{saved.pk}").json()["results"]
    assert lost(read)[world["missiles_from_usa"].pk]["why_text"].startswith("постачає USA")
    saved.refresh_from_db()
    assert lost(saved.results)[world["missiles_from_usa"].pk]["why_text"] == "supplied by USA; made in USA"


def test_results_saved_before_the_reasons_parts_were_kept_show_the_sentences_stored():
    legacy = {
        "uncovered": [{"requirement": 1, "reason": "no_compatible_offer", "lost_pledges": [], "reason_text": "As saved."}],
    }
    with translation.override("uk"):
        shown = in_reader_language(legacy)
    assert shown["uncovered"][0]["reason_text"] == "As saved." and "lost_pledges" not in shown


def test_a_saved_scenarios_long_tables_are_paged_and_a_reason_still_names_pledges_on_other_pages(
    personas, world, as_client, monkeypatch
):
    from django.urls import reverse

    from umbrella.ui import sections

    saved = services.save_scenario(actor=personas.coordinator, name="US, all", donors=["USA"], as_of=AS_OF, role="all")
    uncovered = saved.results["uncovered"]
    # The page lists lost pledges by money lost, the largest first.
    lost_rows = sorted(saved.results["lost_pledges"], key=lambda row: -Decimal(row["money_lost_eur"]))
    assert len(lost_rows) >= 2 and len(uncovered) >= 2
    monkeypatch.setattr(sections, "ROWS_PER_PAGE", 1)
    client = as_client("coordinator")
    for number in range(1, len(uncovered) + 1):
        page = client.get(f"/scenarios/{saved.pk}/", {"uncovered_page": number}).content.decode()
        table = page.split('aria-labelledby="uncovered"', 1)[1].split("</table>", 1)[0]
        shown = uncovered[number - 1]
        assert f'href="{reverse("requirement", args=[shown["requirement"]])}"' in table
        assert table.count("<tr>") == 2  # the header and the one row of this page
        named = [row for row in lost_rows if row["pledge"] in shown.get("lost_pledges", [])]
        for row in named:  # named even when that pledge's own row is on another page of its table
            assert row["label"] in table
        assert f"{number}–{number} of {len(uncovered)}" in page
    lost_table = (
        client.get(f"/scenarios/{saved.pk}/", {"lost_page": 2}).content.decode().split('aria-labelledby="lost-pledges"', 1)[1]
    )
    assert f'href="{reverse("pledge", args=[lost_rows[1]["pledge"]])}"' in lost_table.split("</table>", 1)[0]

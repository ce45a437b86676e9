"""Withdrawal scenarios: what goes uncovered and who tops up, with live data untouched."""

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from tests import factories
from umbrella.core.errors import Forbidden, Invalid
from umbrella.core.models import ChangeRecord
from umbrella.funding import services as funding
from umbrella.needs import services as needs
from umbrella.orgs import services as orgs
from umbrella.orgs.models import Organization
from umbrella.pledges import services as pledges
from umbrella.scenarios import services
from umbrella.scenarios.models import WithdrawalScenario


def accepted(personas, donor, item, quantity):
    pledge = pledges.create_pledge(
        actor=personas[donor],
        sources=[factories.source()],
        fields={"item_type": item, "quantity": quantity, "available_from": dt.date(2026, 3, 1), "marking": "coordination"},
    )
    pledge = pledges.advance_pledge(actor=personas[donor], pledge_id=pledge.pk, step="offer", expected_version=pledge.version)
    return pledges.advance_pledge(actor=personas.coordinator, pledge_id=pledge.pk, step="accept", expected_version=pledge.version)


@pytest.fixture
def world(personas):
    """R1 P1 10×A and R2 P2 4×B; Donor A offers 10×A (EUR 10 000), Donor B 4×B; Donor A also committed
    EUR 600 000 for 2026. GDP: A 300, B 100; both share the 2026 floor."""
    a, b = factories.item_type(personas), factories.item_type(personas)
    lst = needs.create_requirement_list(
        actor=personas.recipient, fields={"series": "W-1", "title": "What-if", "marking": "participants"}
    )
    r1 = needs.create_requirement(
        actor=personas.recipient, list_id=lst.pk, fields=factories.requirement_fields(a, quantity=10, priority=1)
    )
    r2 = needs.create_requirement(
        actor=personas.recipient, list_id=lst.pk, fields=factories.requirement_fields(b, quantity=4, priority=2)
    )
    lst.refresh_from_db()
    lst = needs.propose_requirement_list(actor=personas.recipient, list_id=lst.pk, expected_version=lst.version)
    needs.approve_requirement_list(actor=personas.coordinator, list_id=lst.pk, expected_version=lst.version)
    accepted(personas, "donor_editor", a, 10)
    accepted(personas, "second_donor", b, 4)
    for code, gdp in (("XDA", "300"), ("XDB", "100")):
        orgs.record_gdp(
            actor=personas.hq_admin,
            organization_id=Organization.objects.get(code=code).pk,
            year=2024,
            amount_bn=Decimal(gdp),
            currency="EUR",
            source="test",
        )
    funding.configure_year(actor=personas.coordinator, fields={"year": 2026, "participants": ["XDA", "XDB"]})
    record = funding.create_funding(
        actor=personas.donor_editor,
        fields={
            "reference": "A-26",
            "year": 2026,
            "amount": Decimal("600000"),
            "fx_date": dt.date(2026, 1, 2),
            "category": "training",
            "source_document": "A-MOD-1",
            "marking": "coordination",
        },
    )
    funding.advance_funding(actor=personas.donor_editor, funding_id=record.pk, step="commit", expected_version=record.version)
    return {"r1": r1, "r2": r2}


def test_a_withdrawal_uncovers_what_only_that_donor_gave_and_asks_the_others_to_top_up(personas, world):
    entries = ChangeRecord.objects.count()
    results = services.preview_scenario(actor=personas.coordinator, donors=["XDA"], as_of=dt.date(2026, 1, 1))
    assert ChangeRecord.objects.count() == entries
    assert [(u["requirement"], u["covered_before"], u["covered_after"], u["reason"]) for u in results["uncovered"]] == [
        (world["r1"].pk, 10.0, 0.0, "no_compatible_offer")
    ]
    assert results["uncovered_by_area_priority"] == {"Artillery": {"1": 1}}
    assert results["lost_by_year"] == {"2026": {"funding_eur": "600000.00", "in_kind_eur": "10000.00", "total_eur": "610000.00"}}
    assert [(t["code"], t["top_up_eur"]) for t in results["top_ups"]["2026"]] == [("XDB", "610000.00")]
    assert results["pledges_dropped"] == 1


def test_a_year_without_a_floor_gets_no_top_ups_and_the_scenario_says_what_it_lacks(personas, world, as_client):
    """As `umbrella fair-share` refuses such a year, the scenario splits no loss of it among a guessed set of states."""
    record = funding.create_funding(
        actor=personas.donor_editor,
        fields={
            "reference": "A-27",
            "year": 2027,
            "amount": Decimal("50000"),
            "fx_date": dt.date(2026, 1, 2),
            "category": "training",
            "source_document": "A-MOD-2",
            "marking": "coordination",
        },
    )
    funding.advance_funding(actor=personas.donor_editor, funding_id=record.pk, step="commit", expected_version=record.version)
    saved = services.save_scenario(actor=personas.coordinator, name="A stops", donors=["XDA"], as_of=dt.date(2026, 1, 1))
    results = saved.results
    assert results["lost_by_year"]["2027"]["funding_eur"] == "50000.00"
    assert "2027" not in results["top_ups"] and "2026" in results["top_ups"]
    assert results["top_ups_missing"] == {"2027": [results["top_ups_missing"]["2027"][0]]}
    assert results["top_ups_missing"]["2027"][0].startswith("No floor is configured for 2027")
    page = as_client("coordinator").get(f"/scenarios/{saved.pk}/").content.decode()
    assert "No top-ups for 2027: No floor is configured for 2027" in page


def test_a_saved_scenario_is_the_only_record_written_and_can_be_compared(personas, world, as_client):
    entries = ChangeRecord.objects.count()
    first = services.save_scenario(actor=personas.coordinator, name="A stops", donors=["XDA"], as_of=dt.date(2026, 1, 1))
    second = services.save_scenario(actor=personas.coordinator, name="B stops", donors=["XDB"], as_of=dt.date(2026, 1, 1))
    assert (
        list(ChangeRecord.objects.filter(sequence__gt=entries).values_list("entity", flat=True))
        == ["scenarios.withdrawalscenario"] * 2
    )
    client = as_client("coordinator")
    page = client.get(f"/scenarios/{first.pk}/").content.decode()
    assert "No accepted pledge offers this item" in page and "<svg" in page
    money_row = (
        '<th scope="row">2026</th><td class="num">600,000.00</td><td class="num">10,000.00</td><td class="num">610,000.00</td>'
    )
    assert money_row in page and "610000.00" not in page  # money grouped by thousands, as on every other page
    compared = client.get(f"/scenarios/compare/?scenario={first.pk}&scenario={second.pk}").content.decode()
    assert "A stops" in compared and "B stops" in compared and "Lost in 2026 (EUR)" in compared
    assert '<td class="num">610,000.00</td>' in compared and "610000.00" not in compared
    assert as_client("donor_editor").get(f"/scenarios/{first.pk}/").status_code == 404
    donors_list = as_client("donor_editor").get("/scenarios/").content.decode()
    assert "A stops" not in donors_list and "No scenarios yet." not in donors_list
    assert "Withdrawal scenarios are worked on by coordination staff; none is shared with you." in donors_list
    listing = as_client("coordinator").get("/scenarios/?q=A+stops").content.decode()
    assert "A stops" in listing and "B stops" not in listing
    exported = as_client("coordinator").get("/scenarios/?format=csv").content.decode("utf-8-sig")
    rows = {row["name"]: row for row in csv.DictReader(io.StringIO(exported))}
    assert set(rows) == {"A stops", "B stops"}
    assert (rows["A stops"]["donors"], rows["A stops"]["requirements_losing_coverage"], rows["A stops"]["lost_eur"]) == (
        "XDA",
        "1",
        "610000.00",
    )


def test_only_coordination_staff_work_on_scenarios_and_bad_input_is_refused(personas, world):
    with pytest.raises(Forbidden):
        services.preview_scenario(actor=personas.donor_editor, donors=["XDB"], as_of=dt.date(2026, 1, 1))
    with pytest.raises(Invalid):
        services.preview_scenario(actor=personas.coordinator, donors=["NOPE"], as_of=dt.date(2026, 1, 1))
    with pytest.raises(Invalid):
        services.save_scenario(actor=personas.coordinator, name=" ", donors=["XDA"], as_of=dt.date(2026, 1, 1))
    assert not WithdrawalScenario.objects.exists()


def test_umbrella_scenario_prints_json_and_saves_on_request(personas, world):
    out = io.StringIO()
    call_command(
        "scenario", "--donors", "XDA", "--date", "2026-01-01", "--user", personas.coordinator.user.username, "--json", stdout=out
    )
    assert json.loads(out.getvalue())["uncovered"][0]["reason_text"]
    assert not WithdrawalScenario.objects.exists()
    call_command(
        "scenario",
        "--donors",
        "XDA",
        "--date",
        "2026-01-01",
        "--user",
        personas.coordinator.user.username,
        "--save",
        "A stops",
        stdout=io.StringIO(),
    )
    assert WithdrawalScenario.objects.get().name == "A stops"


def test_funding_of_an_earlier_year_not_yet_disbursed_is_lost_in_the_start_year_like_an_overdue_pledge(personas, world):
    """Donor A also committed EUR 50 000 for 2025 and never disbursed it, and disbursed EUR 20 000 more of 2025:
    from 2026-01-01 the undisbursed 50 000 is lost, in 2026 (as its pledge due before the date is), the
    disbursed 20 000 is not; and a scenario from 2027 counts both 2025 and 2026 commitments in 2027."""
    for reference, amount, steps in (("A-25", "50000", ["commit"]), ("A-25-paid", "20000", ["commit", "disburse"])):
        record = funding.create_funding(
            actor=personas.donor_editor,
            fields={
                "reference": reference,
                "year": 2025,
                "amount": Decimal(amount),
                "fx_date": dt.date(2025, 1, 2),
                "category": "training",
                "source_document": "A-MOD-0",
                "marking": "coordination",
            },
        )
        for step in steps:
            record = funding.advance_funding(
                actor=personas.donor_editor, funding_id=record.pk, step=step, expected_version=record.version
            )
    results = services.preview_scenario(actor=personas.coordinator, donors=["XDA"], as_of=dt.date(2026, 1, 1))
    assert results["lost_by_year"] == {"2026": {"funding_eur": "650000.00", "in_kind_eur": "10000.00", "total_eur": "660000.00"}}
    later = services.preview_scenario(actor=personas.coordinator, donors=["XDA"], as_of=dt.date(2027, 1, 1))
    assert later["lost_by_year"] == {"2027": {"funding_eur": "650000.00", "in_kind_eur": "10000.00", "total_eur": "660000.00"}}

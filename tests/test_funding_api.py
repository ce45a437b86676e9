"""Funding, rates, fair shares and withdrawal scenarios through the API: the journeys a donor's or the
headquarters' own systems would make, checked against figures worked out here by hand."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from tests import factories
from umbrella.core.access import Actor, Marking
from umbrella.core.errors import Invalid
from umbrella.core.models import ChangeRecord
from umbrella.funding import services as money
from umbrella.orgs import services as orgs
from umbrella.orgs.models import Organization
from umbrella.orgs.services import issue_token
from umbrella.pledges import services as pledges


@pytest.fixture
def api(personas):
    def client_for(name: str) -> Client:
        actor = personas[name]
        _, secret = issue_token(
            actor=Actor.system("tests"), user_id=actor.user.pk, organization_id=actor.organization.pk, name="api"
        )
        return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    return client_for


@pytest.fixture
def gdp(personas):
    for code, billions in (("XDA", "3000"), ("XDB", "1000")):
        orgs.record_gdp(
            actor=personas.coordinator,
            organization_id=Organization.objects.get(code=code).pk,
            year=2025,
            amount_bn=Decimal(billions),
            currency="EUR",
            source="tests",
        )
    money.configure_year(actor=personas.coordinator, fields={"year": 2026, "participants": ["XDA", "XDB"]})


def test_funding_in_dollars_is_valued_at_the_rate_coordination_recorded(api):
    hq, donor = api("coordinator"), api("donor_editor")
    rate = hq.post(
        "/api/v1/fx-rates",
        {"currency": "USD", "date": "2026-01-02", "units_per_eur": "1.25", "source": "ECB"},
        content_type="application/json",
    )
    assert rate.status_code == 201
    body = {
        "reference": "USD-1",
        "year": 2026,
        "amount": "1250000.00",
        "currency": "USD",
        "fx_date": "2026-01-10",
        "category": "purchase",
        "source_url": "https://example.invalid/usd",
    }
    created = donor.post("/api/v1/funding", body, content_type="application/json")
    assert created.status_code == 201, created.content
    assert created.json()["value_eur"] == "1000000.00" and Decimal(created.json()["units_per_eur"]) == Decimal("1.25")
    assert created["ETag"] == '"v1"' and created["Location"] == f"/api/v1/funding/{created.json()['id']}"


def test_a_rate_missing_for_the_currency_is_a_422_naming_the_field_and_nothing_is_written(api):
    donor = api("donor_editor")
    ledger = ChangeRecord.objects.count()
    response = donor.post(
        "/api/v1/funding",
        {
            "reference": "GBP-1",
            "year": 2026,
            "amount": "10.00",
            "currency": "GBP",
            "fx_date": "2026-01-10",
            "category": "training",
            "source_url": "https://example.invalid/gbp",
        },
        content_type="application/json",
    )
    assert response.status_code == 422 and "currency" in response.json()["errors"]
    assert ChangeRecord.objects.count() == ledger


def test_disbursed_funding_counts_towards_the_donors_fair_share_under_the_rule_set_it_names(api, gdp):
    donor = api("donor_editor")
    created = donor.post(
        "/api/v1/funding",
        {
            "reference": "F-1",
            "year": 2026,
            "amount": "4000000000.00",
            "currency": "EUR",
            "fx_date": "2026-01-10",
            "category": "purchase",
            "source_url": "https://example.invalid/f",
        },
        content_type="application/json",
    ).json()
    before = donor.get("/api/v1/fair-share/2026").json()
    committed = donor.post(f"/api/v1/funding/{created['id']}/steps/commit", content_type="application/json", HTTP_IF_MATCH='"v1"')
    assert committed.status_code == 200 and committed.json()["state"] == "committed"
    assert {row["code"]: row for row in donor.get("/api/v1/fair-share/2026").json()["donors"]}["XDA"]["counted_eur"] == "0.00"
    disbursed = donor.post(
        f"/api/v1/funding/{created['id']}/steps/disburse", content_type="application/json", HTTP_IF_MATCH='"v2"'
    )
    assert disbursed.status_code == 200 and disbursed.json()["state"] == "disbursed"
    report = donor.get("/api/v1/fair-share/2026").json()
    after = {row["code"]: row for row in report["donors"]}
    assert report["rule_set"] == "disbursement/1" and "loans and guarantees not counted" in report["rule_set_title"]
    assert {row["code"]: row for row in before["donors"]}["XDA"]["counted_eur"] == "0.00"
    # The default floor of EUR 40 bn split 3:1 by GDP: XDA's share is 30 bn, of which 4 bn is now counted.
    assert after["XDA"]["target_eur"] == "30000000000.00" and after["XDA"]["counted_eur"] == "4000000000.00"
    assert after["XDA"]["gap_eur"] == "26000000000.00" and after["XDB"]["target_eur"] == "10000000000.00"


def test_a_year_outside_the_tracked_range_is_refused(api):
    assert api("donor_editor").get("/api/v1/fair-share/1999").status_code == 422


def test_a_preview_writes_nothing_and_saving_gives_the_same_results_with_one_ledger_entry(api, personas, gdp):
    item = factories.item_type(personas, marking=Marking.PUBLIC)
    requirements = factories.requirement_list(personas, requirements=1, marking=Marking.PUBLIC, item=item)
    from umbrella.needs import services as needs

    proposed = needs.propose_requirement_list(
        actor=personas.recipient, list_id=requirements.pk, expected_version=requirements.version
    )
    needs.approve_requirement_list(actor=personas.coordinator, list_id=proposed.pk, expected_version=proposed.version)
    pledge = pledges.create_pledge(
        actor=personas.donor_editor,
        fields={"item_type": item, "quantity": 1000, "available_from": dt.date(2026, 3, 1), "marking": Marking.PUBLIC},
        sources=[factories.source()],
    )
    pledge = pledges.advance_pledge(
        actor=personas.donor_editor, pledge_id=pledge.pk, step="offer", expected_version=pledge.version
    )
    pledges.advance_pledge(actor=personas.coordinator, pledge_id=pledge.pk, step="accept", expected_version=pledge.version)
    money.create_funding(
        actor=personas.donor_editor,
        fields={
            "reference": "S-1",
            "year": 2026,
            "amount": Decimal("500.00"),
            "currency": "EUR",
            "fx_date": dt.date(2026, 1, 5),
            "category": "training",
            "source_url": "https://example.invalid/s",
        },
    )
    hq = api("coordinator")
    question = {"donors": ["XDA"], "as_of": "2026-01-01"}
    ledger = ChangeRecord.objects.count()
    preview = hq.post("/api/v1/scenarios/preview", question, content_type="application/json")
    assert preview.status_code == 200 and ChangeRecord.objects.count() == ledger
    assert preview.json()["uncovered"], "the only pledge is the withdrawing donor's: its requirement loses coverage"
    saved = hq.post("/api/v1/scenarios", {**question, "name": "Without XDA"}, content_type="application/json")
    assert saved.status_code == 201 and ChangeRecord.objects.count() == ledger + 1
    assert saved.json()["results"] == preview.json() and saved.json()["requirements_losing_coverage"] == len(
        preview.json()["uncovered"]
    )
    listed = hq.get("/api/v1/scenarios").json()
    assert [row["name"] for row in listed["items"]] == ["Without XDA"]
    refused = api("donor_editor").post("/api/v1/scenarios/preview", question, content_type="application/json")
    assert refused.status_code == 403


def test_text_with_a_nul_character_is_refused_with_every_problem_of_the_row_named(personas):
    """Importers and the command line reach the services without the web's guard: the services refuse it too."""
    ledger = ChangeRecord.objects.count()
    with pytest.raises(Invalid) as refused:
        money.create_funding(
            actor=personas.donor_editor,
            fields={
                "reference": "NUL\u0000",
                "year": 2026,
                "amount": Decimal("10.00"),
                "currency": "EUR",
                "fx_date": dt.date(2026, 1, 10),
                "category": "training",
                "notes": "also\u0000here",
            },
        )
    errors = refused.value.field_errors
    assert errors["reference"] == ["Text must not contain NUL characters."] and errors["notes"] == [
        "Text must not contain NUL characters."
    ]
    assert "source_url" in errors  # the model's own rule (a source is required) is reported at the same time
    assert ChangeRecord.objects.count() == ledger


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("get", "/pledges/?q=%00", None),
        ("get", "/api/v1/pledges?q=a%00b", None),
        ("post", "/api/v1/funding", {"reference": "x", "notes": ["deep", {"nested": "a\u0000"}]}),
        ("post", "/api/v1/pledges", {"item_type": "ART\u0000", "quantity": 1}),
    ],
)
def test_a_request_holding_a_nul_character_is_a_400_on_every_database_before_any_query(api, method, path, body):
    client = api("donor_editor")
    response = getattr(client, method)(path, body, content_type="application/json") if body else getattr(client, method)(path)
    assert response.status_code == 400
    assert "NUL" in response.content.decode()

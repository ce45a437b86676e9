"""Funding valued in euros, the fair share of the annual floor, and what counts towards it."""

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import factories
from umbrella.core.access import Actor
from umbrella.core.errors import Forbidden, Invalid, InvalidTransition, NotFound
from umbrella.funding import fairshare, services
from umbrella.funding.models import Funding, FxRate
from umbrella.funding.queries import fair_share
from umbrella.orgs import services as orgs
from umbrella.orgs.models import Organization
from umbrella.pledges import services as pledges


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 10**9), min_size=1, max_size=40), st.integers(1, 10**13))
def test_targets_add_up_to_the_floor_to_the_cent_and_follow_gdp(gdps, floor_cents):
    floor = Decimal(floor_cents) / 100
    participants = [fairshare.Participant(f"D{i}", f"Donor {i}", Decimal(g)) for i, g in enumerate(gdps)]
    split = fairshare.targets(floor, participants)
    assert sum(split.values()) == floor
    total = sum(gdps)
    for p in participants:
        assert abs(split[p.code] - floor * p.gdp_eur / total) < Decimal("0.01")


def funding_fields(**overrides):
    fields = {
        "reference": "F-1",
        "year": 2025,
        "amount": Decimal("1000000.00"),
        "currency": "EUR",
        "fx_date": dt.date(2025, 1, 10),
        "category": "purchase",
        "channel": "bilateral",
        "source_document": "MOD-1",
        "marking": "coordination",
    }
    return {**fields, **overrides}


@pytest.fixture
def usd_rate(personas):
    return services.record_rate(
        actor=personas.coordinator,
        fields={"currency": "USD", "date": dt.date(2024, 12, 31), "units_per_eur": Decimal("1.0824"), "source": "test"},
    )


def test_funding_in_another_currency_is_valued_at_the_latest_rate_and_keeps_it(personas, usd_rate):
    record = services.create_funding(
        actor=personas.donor_editor, fields=funding_fields(amount=Decimal("1082400.00"), currency="USD")
    )
    assert (record.units_per_eur, record.value_eur) == (Decimal("1.0824"), Decimal("1000000.00"))
    services.record_rate(
        actor=personas.coordinator,
        fields={"currency": "USD", "date": dt.date(2025, 1, 5), "units_per_eur": Decimal("1.25"), "source": "t"},
    )
    record = services.update_funding(
        actor=personas.donor_editor,
        funding_id=record.pk,
        expected_version=record.version,
        changes={"amount": Decimal("2500000.00")},
    )
    assert (record.units_per_eur, record.value_eur) == (Decimal("1.25"), Decimal("2000000.00"))


def test_funding_without_a_rate_or_a_source_is_refused_and_nothing_is_written(personas):
    with pytest.raises(Invalid) as refused:
        services.create_funding(actor=personas.donor_editor, fields=funding_fields(currency="NOK"))
    assert "No euro rate for NOK" in refused.value.field_errors["currency"][0]
    with pytest.raises(Invalid) as refused:
        services.create_funding(actor=personas.donor_editor, fields=funding_fields(source_document=""))
    assert "source_url" in refused.value.field_errors
    assert not Funding.objects.exists()


def test_a_donor_moves_its_own_funding_on_and_no_one_else_may(personas):
    record = services.create_funding(actor=personas.donor_editor, fields=funding_fields())
    with pytest.raises(NotFound):
        services.advance_funding(
            actor=personas.second_donor, funding_id=record.pk, step="commit", expected_version=record.version
        )
    with pytest.raises(Forbidden):
        services.advance_funding(actor=personas.coordinator, funding_id=record.pk, step="commit", expected_version=record.version)
    with pytest.raises(Forbidden):
        services.create_funding(actor=personas.recipient, fields=funding_fields())
    record = services.advance_funding(
        actor=personas.donor_editor, funding_id=record.pk, step="commit", expected_version=record.version
    )
    record = services.advance_funding(
        actor=personas.donor_editor, funding_id=record.pk, step="disburse", expected_version=record.version
    )
    assert record.state == "disbursed"
    with pytest.raises(InvalidTransition, match="can no longer be changed"):
        services.update_funding(
            actor=personas.donor_editor, funding_id=record.pk, expected_version=record.version, changes={"notes": "x"}
        )


@pytest.fixture
def floor_2025(personas):
    system_gdp = {"XDA": "300", "XDB": "100"}
    for code, amount in system_gdp.items():
        organization = Organization.objects.get(code=code)
        orgs.record_gdp(
            actor=personas.hq_admin,
            organization_id=organization.pk,
            year=2023,
            amount_bn=Decimal(amount),
            currency="USD",
            source="test GDP",
        )
    return services.configure_year(
        actor=personas.coordinator, fields={"year": 2025, "floor_eur": Decimal("1000000.00"), "participants": ["XDA", "XDB"]}
    )


def disbursed(personas, donor, amount, marking="coordination", year=2025, instrument="grant"):
    record = services.create_funding(
        actor=personas[donor], fields=funding_fields(amount=Decimal(amount), year=year, marking=marking, instrument=instrument)
    )
    for step in ("commit", "disburse"):
        record = services.advance_funding(actor=personas[donor], funding_id=record.pk, step=step, expected_version=record.version)
    return record


def test_the_fair_share_splits_the_floor_by_gdp_and_counts_grants_disbursed_in_the_year(personas, floor_2025):
    disbursed(personas, "donor_editor", "500000")
    committed = services.create_funding(actor=personas.donor_editor, fields=funding_fields(amount=Decimal("900000")))
    services.advance_funding(
        actor=personas.donor_editor, funding_id=committed.pk, step="commit", expected_version=committed.version
    )  # committed, not yet disbursed: not counted under the default rule set
    disbursed(personas, "donor_editor", "400000", year=2026)  # another year
    disbursed(personas, "donor_editor", "300000", instrument="loan")  # a loan: never counted by the default
    disbursed(personas, "second_donor", "2000")
    pledge = pledges.create_pledge(
        actor=personas.second_donor,
        sources=[factories.source()],
        fields={"item_type": factories.item_type(personas), "quantity": 2, "available_from": dt.date(2025, 5, 1)},
    )  # valued at 2 × 1000 EUR
    for step in ("offer", "accept"):
        actor = personas.second_donor if step == "offer" else personas.coordinator
        pledge = pledges.advance_pledge(actor=actor, pledge_id=pledge.pk, step=step, expected_version=pledge.version)
    report = fair_share(personas.coordinator, 2025)  # an accepted pledge counts once handed over (tests/test_counting.py)
    rows = {s.code: s for s in report.shares}
    assert report.rule_set == "disbursement/1"
    assert (rows["XDA"].target_eur, rows["XDB"].target_eur) == (Decimal("750000.00"), Decimal("250000.00"))
    assert (rows["XDA"].counted_eur, rows["XDA"].gap_eur) == (Decimal("500000.00"), Decimal("250000.00"))
    assert rows["XDB"].counted_eur == Decimal("2000.00") and rows["XDB"].percent == Decimal("0.8")
    public = {s.code: s for s in fair_share(personas.observer, 2025).shares}
    assert public["XDA"].counted_eur == 0  # coordination-marked: the public does not see it


def test_an_exempt_donor_is_left_out_and_the_others_share_the_whole_floor(personas, floor_2025):
    services.configure_year(actor=personas.coordinator, fields={"year": 2025, "exemptions": {"XDB": "constitutional neutrality"}})
    report = fair_share(personas.coordinator, 2025)
    assert [(s.code, s.target_eur) for s in report.shares] == [("XDA", Decimal("1000000.00"))]
    assert report.exemptions == {"XDB": "constitutional neutrality"}
    with pytest.raises(Forbidden):
        services.configure_year(actor=personas.donor_editor, fields={"year": 2025, "floor_eur": Decimal(1)})


def test_umbrella_fair_share_prints_json_whose_targets_add_up_to_the_floor(personas, floor_2025):
    out = io.StringIO()
    call_command("fair-share", "--year", "2025", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["targets_total_eur"] == report["floor_eur"] == "1000000.00"
    assert {d["code"] for d in report["donors"]} == {"XDA", "XDB"}
    assert all({"target_eur", "counted_eur", "gap_eur"} <= set(d) for d in report["donors"])


def test_the_fair_share_page_has_a_chart_a_table_and_exports(client, personas, floor_2025):
    page = client.get("/funding/fair-share/?year=2025").content.decode()
    assert "<svg" in page and "Donor A" in page and "75.00 %" in page
    exported = client.get("/funding/fair-share/?year=2025&format=csv").content.decode("utf-8-sig").splitlines()
    assert exported[1].startswith("Donor A,XDA,75.0,750000.00,0.00,750000.00")


def test_rates_and_funding_import_through_the_pipeline(personas, tmp_path):
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,date,units_per_eur,source\nGBP,2024-12-31,0.84662,ECB\nGBP,2024-12-31,0.8,again\n")
    out = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import", "fx-rates", str(rates), "--user", personas.coordinator.user.username, stdout=out)
    assert refused.value.returncode == 1 and "row 3" in out.getvalue() and not FxRate.objects.exists()
    rates.write_text("currency,date,units_per_eur,source\nGBP,2024-12-31,0.84662,ECB\n")
    call_command("import", "fx-rates", str(rates), "--user", personas.coordinator.user.username, stdout=io.StringIO())
    rows = tmp_path / "funding.csv"
    rows.write_text(
        "reference,year,amount,currency,fx_date,category,source_document\nUK-1,2025,846620,GBP,2025-02-01,training,MOD-7\n"
    )
    call_command("import", "funding", str(rows), "--user", personas.donor_editor.user.username, stdout=io.StringIO())
    assert Funding.objects.get().value_eur == Decimal("1000000.00")


def test_a_rate_older_than_the_settings_allow_is_warned_about_on_preview_on_the_page_and_in_the_api(
    personas, usd_rate, as_client, tmp_path
):
    """The USD rate is of 2024-12-31: 10 days before a row valued on 2025-01-10 (fine), 51 before one of 2025-02-20
    (more than the default 31)."""
    rows = tmp_path / "funding.csv"
    rows.write_text(
        "reference,year,amount,currency,fx_date,category,source_document\n"
        "US-1,2025,1082400,USD,2025-01-10,training,MOD-7\nUS-2,2025,1082400,USD,2025-02-20,training,MOD-8\n"
    )
    out = io.StringIO()
    editor = personas.donor_editor.user.username
    call_command("import", "funding", str(rows), "--dry-run", "--json", "--user", editor, stdout=out)
    report = json.loads(out.getvalue())
    assert report["errors"] == [] and not Funding.objects.exists()
    assert [(w["row"], w["column"], w["value"]) for w in report["warnings"]] == [(3, "fx_date", "2025-02-20")]
    assert "The USD rate used is of 2024-12-31, 51 days before 2025-02-20 (more than 31)" in report["warnings"][0]["reason"]
    text = io.StringIO()
    call_command("import", "funding", str(rows), "--dry-run", "--user", editor, stdout=text)
    assert "warning: row 3, column 'fx_date', value '2025-02-20'" in text.getvalue()
    stale = services.create_funding(
        actor=personas.donor_editor, fields=funding_fields(currency="USD", fx_date=dt.date(2025, 2, 20), reference="US-2")
    )
    fresh = services.create_funding(actor=personas.donor_editor, fields=funding_fields(currency="USD", reference="US-1"))
    client = as_client("donor_editor")
    assert 'id="rate-warning"' in client.get(f"/funding/{stale.pk}/").content.decode()
    assert 'id="rate-warning"' not in client.get(f"/funding/{fresh.pk}/").content.decode()
    actor = personas.donor_editor
    _, secret = orgs.issue_token(
        actor=Actor.system("tests"), user_id=actor.user.pk, organization_id=actor.organization.pk, name="rates"
    )
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    assert "51 days before" in client.get(f"/api/v1/funding/{stale.pk}", **bearer).json()["rate_warning"]
    assert client.get(f"/api/v1/funding/{fresh.pk}", **bearer).json()["rate_warning"] == ""
    listed = {row["reference"]: row["rate_warning"] for row in client.get("/api/v1/funding", **bearer).json()["items"]}
    assert "51 days before" in listed["US-2"] and listed["US-1"] == ""


def test_the_funding_api_reads_each_rows_rate_with_the_list_not_once_per_row(personas, usd_rate, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    actor = personas.donor_editor
    _, secret = orgs.issue_token(
        actor=Actor.system("tests"), user_id=actor.user.pk, organization_id=actor.organization.pk, name="n"
    )
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    def queries_for_the_list() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/funding", **bearer).status_code == 200
        return len(queries)

    services.create_funding(actor=actor, fields=funding_fields(currency="USD", reference="US-1"))
    few = queries_for_the_list()
    for n in range(2, 7):
        services.create_funding(actor=actor, fields=funding_fields(currency="USD", reference=f"US-{n}"))
    assert queries_for_the_list() == few

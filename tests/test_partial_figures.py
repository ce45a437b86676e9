"""A figure added up from only the records its reader may see is not presented as the whole: whoever cannot see
every record that counts towards the fair shares gets no gaps and no shares of the target, and is told why."""

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client

from umbrella.core.access import Actor
from umbrella.core.errors import Invalid
from umbrella.funding import services
from umbrella.funding.queries import fair_share
from umbrella.funding.services import publish_statement
from umbrella.orgs import services as orgs
from umbrella.orgs.models import Organization
from umbrella.orgs.services import issue_token

YEAR = dt.date.today().year  # the dashboards show this year's shares
PARTIAL = "some records that count towards these shares are not released to you"


def committed(personas, donor: str, amount: str, marking: str):
    record = services.create_funding(
        actor=personas[donor],
        fields={
            "reference": f"F-{marking}",
            "year": YEAR,
            "amount": Decimal(amount),
            "currency": "EUR",
            "fx_date": dt.date(YEAR, 1, 10),
            "category": "purchase",
            "channel": "bilateral",
            "source_document": "MOD-1",
            "marking": marking,
        },
    )
    for step in ("commit", "disburse"):  # the default rule set counts grants when disbursed
        record = services.advance_funding(actor=personas[donor], funding_id=record.pk, step=step, expected_version=record.version)
    return record


@pytest.fixture
def shares(personas):
    """XDA's target is 750,000 of a 1,000,000 floor; 100,000 of its funding is public, 500,000 coordination-only:
    coordination staff see a gap of 150,000, the public would wrongly see 650,000."""
    for code, billions in (("XDA", "300"), ("XDB", "100")):
        orgs.record_gdp(
            actor=personas.hq_admin,
            organization_id=Organization.objects.get(code=code).pk,
            year=YEAR - 1,
            amount_bn=Decimal(billions),
            currency="EUR",
            source="tests",
        )
    services.configure_year(
        actor=personas.coordinator, fields={"year": YEAR, "floor_eur": Decimal("1000000.00"), "participants": ["XDA", "XDB"]}
    )
    committed(personas, "donor_editor", "100000.00", "public")
    committed(personas, "donor_editor", "500000.00", "coordination")


def test_coordination_staff_who_see_every_record_get_the_gaps(personas, shares):
    report = fair_share(personas.coordinator, YEAR)
    xda = next(s for s in report.shares if s.code == "XDA")
    assert report.complete and xda.counted_eur == Decimal("600000.00") and report.gap_eur(xda) == Decimal("150000.00")


def test_the_public_page_shows_no_partial_sum_but_the_published_statement(client, personas, shares):
    """Before a statement: no figure counted from part of the records, and no export; after: the statement's."""
    report = fair_share(personas.observer, YEAR)
    assert not report.complete and all(report.gap_eur(s) is None and report.percent(s) is None for s in report.shares)
    for reader in ("anonymous", "observer"):
        client.logout()
        if personas[reader].user is not None:
            client.force_login(personas[reader].user)
        page = client.get(f"/funding/fair-share/?year={YEAR}").content.decode()
        assert f"No statement has been published for {YEAR} yet" in page, reader
        assert "650,000" not in page and "100,000.00" not in page and "format=csv" not in page, reader
    publish_statement(actor=personas.coordinator, year=YEAR, reason="quarterly")
    for reader in ("anonymous", "observer"):
        client.logout()
        if personas[reader].user is not None:
            client.force_login(personas[reader].user)
        page = client.get(f"/funding/fair-share/?year={YEAR}").content.decode()
        assert "600,000.00" in page and "150,000.00" in page and "650,000" not in page, reader
        exported = list(
            csv.reader(client.get(f"/funding/fair-share/?year={YEAR}&format=csv").content.decode("utf-8-sig").splitlines())
        )
        assert exported[0][4] == "Counted (EUR)"
        xda = next(row for row in exported if row[1] == "XDA")
        assert xda[4] == "600000.00" and xda[5] == "150000.00", xda


def test_the_observers_dashboard_shows_no_gap_from_a_partial_sum(as_client, personas, shares):
    page = as_client("observer").get("/").content.decode()
    assert f"No statement has been published for {YEAR} yet" in page and "650,000" not in page
    assert "Counted among records released to you" not in page
    publish_statement(actor=personas.coordinator, year=YEAR, reason="quarterly")
    page = as_client("observer").get("/").content.decode()
    assert "As published in statement 1" in page and "EUR 150,000" in page and "650,000" not in page


def test_a_donor_sees_its_own_gap_on_its_dashboard(as_client, shares):
    page = as_client("donor_editor").get("/").content.decode()
    assert PARTIAL not in page and "150,000" in page  # every record behind its own share is its own


def test_the_api_says_the_figures_are_partial_and_the_command_shows_none_of_them(personas, shares):
    def api(name: str) -> dict:
        actor = personas[name]
        _, secret = issue_token(
            actor=Actor.system("tests"), user_id=actor.user.pk, organization_id=actor.organization.pk, name="api"
        )
        return Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get(f"/api/v1/fair-share/{YEAR}").json()

    whole, partial = api("coordinator"), api("observer")
    assert whole["complete"] is True and {d["code"]: d["gap_eur"] for d in whole["donors"]}["XDA"] == "150000.00"
    assert partial["complete"] is False and all(d["gap_eur"] is None and d["percent"] is None for d in partial["donors"])
    out = io.StringIO()
    call_command("fair-share", "--year", str(YEAR), "--json", "--user", personas.observer.user.username, stdout=out)
    printed = json.loads(out.getvalue())
    assert printed["complete"] is False and printed["figures"] is None and printed["donors"] == []  # as on the page
    out = io.StringIO()
    call_command("fair-share", "--year", str(YEAR), stdout=out)  # anonymous: the public's view, as the page's
    assert f"no statement has been published for {YEAR} yet" in out.getvalue() and "650,000" not in out.getvalue()
    assert not [line for line in out.getvalue().splitlines() if line.startswith(("Donor A", "Donor B"))]


def test_a_fair_share_year_not_released_to_a_reader_is_not_read_for_them(client, personas, shares):
    """Its floor and participants stay with those it is released to; to others the year is not configured, so
    no fair shares are reported to them (the one rule of `missing_for_report`), never a default floor."""
    config = services.configure_year(actor=personas.coordinator, fields={"year": YEAR, "marking": "owner"})
    assert config.marking == "owner"
    assert fair_share(personas.coordinator, YEAR).configured
    with pytest.raises(Invalid) as refused:
        fair_share(personas.observer, YEAR)
    assert "No floor is configured" in str(refused.value)
    client.force_login(personas.observer.user)
    page = client.get(f"/funding/fair-share/?year={YEAR}").content.decode()
    assert "EUR 1,000,000" not in page and "No floor is configured" in page

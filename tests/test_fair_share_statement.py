"""Published figures, never silent partial ones (issue 17, item 5): coordination staff publish a year's fair-share
statement, computed from every record that counts and kept with the data behind it; whoever may not see every
record reads the statement (and at most its own organization's live row, labelled) instead of a sum of part of
the records presented as the whole."""

import csv
import datetime as dt
import json
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.test import Client

from tests.test_api_concurrency import ensure_base_data
from tests.test_counting import handed_over, places  # noqa: F401  (the fixture)
from tests.test_partial_figures import YEAR, committed
from tests.test_readiness import umbrella
from umbrella.core.access import Actor
from umbrella.core.errors import Forbidden, Invalid
from umbrella.core.models import ChangeRecord
from umbrella.core.testing import load_personas
from umbrella.funding import services
from umbrella.funding.models import FairShareStatement, FairShareYear
from umbrella.funding.queries import fair_share, statements_of
from umbrella.orgs import services as orgs
from umbrella.orgs.models import Organization
from umbrella.orgs.services import issue_token

PAGE = f"/funding/fair-share/?year={YEAR}"


def set_up_year(personas) -> None:
    """XDA's target is 750,000 of a 1,000,000 floor: 100,000 of its funding is public, 500,000 coordination-only
    (whole: 600,000 counted, gap 150,000; the public alone would see 100,000). XDB has 20,000, coordination-only."""
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
    committed(personas, "second_donor", "20000.00", "coordination")


@pytest.fixture
def year_set(personas):
    set_up_year(personas)


def test_a_year_with_no_floor_configured_shows_what_is_missing_and_no_figures_anywhere(as_client, personas):
    """The one rule of `umbrella fair-share`: GDP figures and funding there, but no floor configured for the year,
    so the page, the dashboards and the API say so, as the command does, with no figures and no publish form
    (never a default floor shared by whoever has a GDP figure)."""
    set_up_year(personas)
    FairShareYear.objects.filter(year=YEAR).delete()  # as if never configured (the GDP and funding stay)
    missing = f"No floor is configured for {YEAR}"
    for reader in ("coordinator", "anonymous", "donor_editor"):
        page = as_client(reader).get(PAGE)
        text = page.content.decode()
        assert page.status_code == 200 and missing in text and "GDP figure" not in text, reader
        assert rows_of(text) == [] and "Live figures" not in text and "Export this view" not in text, reader
        assert 'action="/funding/fair-share/publish/"' not in text and "Publish statement" not in text, reader
        dashboard = as_client(reader).get("/").content.decode()
        assert missing in dashboard and 'data-figures="' not in dashboard, reader
    api = Client().get(f"/api/v1/fair-share/{YEAR}")
    assert api.status_code == 422 and missing in api.content.decode() and "donors" not in api.json()
    with pytest.raises(Invalid) as refused:
        fair_share(personas.coordinator, YEAR)
    assert refused.value.field_errors["year"][0].startswith(missing)


@pytest.mark.parametrize("year", ["1850", "abc", "2101", "-1"])
def test_a_year_out_of_range_or_not_a_number_is_refused_never_read_as_another(as_client, personas, year_set, year):
    response = as_client("anonymous").get(f"/funding/fair-share/?year={year}")
    text = response.content.decode()
    assert response.status_code == 400 and f"&#x27;{year}&#x27; is not a year" in text and rows_of(text) == []


def counts() -> tuple[int, int]:
    return FairShareStatement.objects.count(), ChangeRecord.objects.count()


class Rows(HTMLParser):
    """Every table row of the page's main part: its data attributes and its text, cell by cell."""

    def __init__(self):
        super().__init__()
        self.rows, self.row, self.cell = [], None, None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.row = {"attrs": dict(attrs), "cells": []}
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.row is not None and self.cell is not None:
            self.row["cells"].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.rows.append(self.row)
            self.row = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def rows_of(html: str) -> list[dict]:
    parser = Rows()
    parser.feed(html[html.index('<main id="main">') :])
    return [row for row in parser.rows if "data-code" in row["attrs"] or "data-figures" in row["attrs"]]


def amount(text: str) -> Decimal:
    return Decimal(re.sub(r"[^\d.]", "", text))


def test_coordination_staff_publish_what_they_see_live_with_the_data_behind_it(personas, year_set):
    before = counts()
    statement = services.publish_statement(actor=personas.coordinator, year=YEAR, reason="Ministers' meeting")
    assert counts() == (before[0] + 1, before[1] + 1)
    entry = ChangeRecord.objects.order_by("-pk").first()
    assert entry.action == "publish" and entry.entity == "funding.fairsharestatement"
    live = fair_share(personas.coordinator, YEAR)
    assert live.complete and statement.snapshot["report"] == json.loads(json.dumps(live.as_json()))
    assert (statement.sequence, statement.marking, statement.rule_set) == (1, "public", "disbursement/1")
    data = statement.snapshot["data"]
    assert data["floor_eur"] == "1000000.00" and data["participants"] == ["XDA", "XDB"]
    assert [(g["donor"], Decimal(g["amount_bn"])) for g in data["gdp"]] == [("XDA", 300), ("XDB", 100)]
    per_donor = {}
    for record in data["records"]:
        assert record["record"].startswith("funding:")
        per_donor[record["donor"]] = per_donor.get(record["donor"], Decimal(0)) + Decimal(record["counted_eur"])
    assert per_donor == {"XDA": Decimal("600000.00"), "XDB": Decimal("20000.00")}
    assert {d["code"]: d["counted_eur"] for d in statement.donors} == {"XDA": "600000.00", "XDB": "20000.00"}


@pytest.mark.parametrize("persona", ["donor_editor", "observer", "anonymous", "auditor"])
def test_no_one_but_coordination_editors_publishes(personas, year_set, persona):
    before = counts()
    with pytest.raises(Forbidden):
        services.publish_statement(actor=personas[persona], year=YEAR, reason="mine")
    assert counts() == before


def test_a_year_without_floor_or_gdp_or_a_reason_or_seen_only_in_part_is_refused_with_nothing_written(personas, year_set):
    before = counts()
    with pytest.raises(Invalid) as refused:
        services.publish_statement(actor=personas.coordinator, year=2015, reason="early")
    assert "No floor is configured for 2015" in str(refused.value.field_errors["year"])
    assert "GDP figure for 2015 or before" in str(refused.value.field_errors["year"])
    with pytest.raises(Invalid) as refused:
        services.publish_statement(actor=personas.coordinator, year=YEAR, reason="  ")
    assert "reason" in refused.value.field_errors
    committed(personas, "donor_editor", "7000.00", "owner")  # not released to coordination staff
    with pytest.raises(Invalid) as refused:
        services.publish_statement(actor=personas.coordinator, year=YEAR, reason="now")
    assert "not released to you" in str(refused.value.field_errors["year"])
    assert counts()[0] == before[0] and counts()[1] == before[1] + 3  # only the owner-only funding (create, commit, disburse)


def test_a_later_statement_supersedes_the_earlier_which_stays_readable(as_client, personas, year_set):
    services.publish_statement(actor=personas.coordinator, year=YEAR, reason="first")
    committed(personas, "second_donor", "30000.00", "public")
    services.publish_statement(actor=personas.coordinator, year=YEAR, reason="second")
    assert [s.sequence for s in statements_of(personas.anonymous, YEAR)] == [2, 1]
    page = as_client("anonymous").get(PAGE).content.decode()
    assert "Published statement 2 of" in page and "second" in page and "superseded" not in page
    assert f"?year={YEAR}&amp;statement=1" in page
    first, second = FairShareStatement.objects.order_by("sequence")
    for statement in (first, second):  # told apart by time and reason, not only by the date
        assert f"{statement.sequence} ({statement.published_at:%Y-%m-%d %H:%M} UTC: “{statement.reason}”)" in page
    services.publish_statement(actor=personas.coordinator, year=YEAR, reason="A reason far longer than forty characters, cut")
    page = as_client("anonymous").get(PAGE).content.decode()
    assert "3 (" in page and "“A reason far longer than forty characte…”" in page
    unknown = as_client("anonymous").get(f"{PAGE}&statement=9")
    assert unknown.status_code == 400 and f"No statement 9 of {YEAR}." in unknown.content.decode()
    earlier = as_client("anonymous").get(f"{PAGE}&statement=1").content.decode()
    assert "Published statement 1 of" in earlier and "superseded" in earlier
    assert {r["attrs"]["data-code"]: amount(r["cells"][3]) for r in rows_of(earlier)}["XDB"] == Decimal("20000.00")
    assert {r["attrs"]["data-code"]: amount(r["cells"][3]) for r in rows_of(page)}["XDB"] == Decimal("50000.00")


def test_the_public_page_shows_the_statement_as_the_database_keeps_it(as_client, personas, year_set):
    services.publish_statement(actor=personas.coordinator, year=YEAR, reason="Ministers' meeting")
    kept = FairShareStatement.objects.get(year=YEAR).snapshot["report"]["donors"]
    page = as_client("anonymous").get(PAGE).content.decode()
    assert "Ministers&#x27; meeting" in page and "Test Headquarters" in page and "disbursement/1" in page
    shown = rows_of(page)
    assert [r["attrs"]["data-figures"] for r in shown] == ["statement", "statement"]
    for row, donor in zip(shown, kept, strict=True):
        assert row["attrs"]["data-code"] == donor["code"] and row["cells"][0] == donor["name"]
        assert amount(row["cells"][2]) == Decimal(donor["target_eur"])
        assert amount(row["cells"][3]) == Decimal(donor["counted_eur"])
        assert amount(row["cells"][4]) == Decimal(donor["gap_eur"])
        assert row["cells"][5] == f"{donor['percent']:.1f} %"
    assert "Live figures" not in page and "Publish statement" not in page
    report = FairShareStatement.objects.get(year=YEAR).snapshot["report"]
    parser = Rows()
    parser.feed(page[page.index('<main id="main">') :])
    (total,) = [r for r in parser.rows if r["attrs"].get("data-total") == "statement"]
    assert total["cells"][0] == "Total" and amount(total["cells"][2]) == Decimal(report["targets_total_eur"])
    assert amount(total["cells"][3]) == Decimal(report["counted_total_eur"]) == Decimal("620000.00")
    assert f"A floor of EUR 1,000,000 shared by 2 donors in proportion to their GDP ({report['gdp']})." in page
    statement = FairShareStatement.objects.get(year=YEAR)
    exported = list(csv.reader(as_client("anonymous").get(f"{PAGE}&format=csv").content.decode("utf-8-sig").splitlines()))
    assert exported[0][-3:] == ["Statement", "Published (UTC)", "Counting rules"]
    stamp = statement.published_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")
    assert [row[-3:] for row in exported[1:]] == [[f"{YEAR}-1", stamp, "disbursement/1"]] * 2
    assert [row[1] for row in exported[1:]] == [d["code"] for d in kept]


def test_the_live_chart_caption_ends_its_sentence(as_client, personas, year_set):
    page = as_client("coordinator").get(PAGE).content.decode()
    assert "against the target (tick), EUR. The table below gives the same figures." in page


def test_no_row_shows_a_partial_figure_as_if_whole(as_client, personas, year_set):
    """For every reader, on the fair-share page and the dashboard, before and after a statement: every row's
    counted figure is the whole one (as coordination staff see it), or the row says it is partial."""
    whole = {s.code: s.counted_eur for s in fair_share(personas.coordinator, YEAR).shares}
    readers = ("anonymous", "observer", "donor_editor", "second_donor", "recipient", "coordinator")
    for published in (False, True):
        if published:
            services.publish_statement(actor=personas.coordinator, year=YEAR, reason="now")
        for reader in readers:
            page = as_client(reader).get(PAGE).content.decode()
            for row in rows_of(page):
                code = row["attrs"]["data-code"]
                assert amount(row["cells"][3]) == whole[code] or "partial" in row["cells"][0], (reader, row)
            if not published and reader not in ("coordinator",):
                assert f"No statement has been published for {YEAR} yet" in page, reader
            names = {"Donor A": "XDA", "Donor B": "XDB"}
            for row in rows_of(as_client(reader).get("/").content.decode()):
                if row["cells"][0] in names and row["attrs"].get("data-figures") in ("live", "statement"):
                    target = {s.code: s.target_eur for s in fair_share(personas.coordinator, YEAR).shares}
                    gap = max(target[names[row["cells"][0]]] - whole[names[row["cells"][0]]], Decimal(0))
                    assert amount(row["cells"][2]) == gap.quantize(Decimal(1)), (reader, row)


def test_a_donor_sees_its_own_live_row_labelled_and_no_other_live_figure(as_client, personas, year_set):
    page = as_client("second_donor").get(PAGE).content.decode()
    (own,) = rows_of(page)
    assert own["attrs"] == {"data-code": "XDB", "data-figures": "live"}
    assert "live, your organization" in own["cells"][0] and amount(own["cells"][3]) == Decimal("20000.00")
    assert "partial" not in own["cells"][0] and "Donor A" not in page
    services.publish_statement(actor=personas.coordinator, year=YEAR, reason="now")
    shown = rows_of(as_client("second_donor").get(PAGE).content.decode())
    assert [r["attrs"]["data-figures"] for r in shown] == ["statement", "statement", "live"]


def test_a_donor_whose_own_row_is_partial_sees_it_labelled_partial(as_client, personas, places, year_set):  # noqa: F811
    """XDA buys 3 units for the recipient and XDB pays for them; the pledge is XDA's, marked for coordination, so
    XDB does not see it: XDB's live figure is partial, and says so."""
    handed_over(personas, places, personas.donor_editor, 3, instrument="procurement", payers="XDB 1")
    assert not fair_share(personas.second_donor, YEAR, donor="XDB").complete
    whole = {s.code: s.counted_eur for s in fair_share(personas.coordinator, YEAR).shares}
    assert whole["XDB"] > Decimal("20000.00")
    (own,) = rows_of(as_client("second_donor").get(PAGE).content.decode())
    assert own["attrs"] == {"data-code": "XDB", "data-figures": "partial"} and "partial" in own["cells"][0]
    assert amount(own["cells"][3]) == Decimal("20000.00") and own["cells"][4] == own["cells"][5] == "—"
    dashboard = as_client("second_donor").get("/").content.decode()
    assert f"No statement has been published for {YEAR} yet" in dashboard and not rows_of(dashboard)
    services.publish_statement(actor=personas.coordinator, year=YEAR, reason="now")
    dashboard = as_client("second_donor").get("/").content.decode()
    (own,) = rows_of(dashboard)
    assert own["attrs"]["data-figures"] == "statement" and own["cells"][0] == "Donor B"
    assert f"As published in statement 1 of {YEAR} on {dt.date.today():%Y-%m-%d}." in dashboard
    assert str(FairShareStatement.objects.get()) == f"Fair-share statement 1 of {YEAR}"


def test_coordination_staff_publish_from_the_page_after_confirming(as_client, personas, year_set):
    client = as_client("coordinator")
    page = client.get(PAGE).content.decode()
    assert "Live figures" in page and 'action="/funding/fair-share/publish/"' in page
    refused = client.post("/funding/fair-share/publish/", {"year": YEAR, "reason": "now"})
    assert refused.status_code == 400 and not FairShareStatement.objects.exists()  # not confirmed
    done = client.post("/funding/fair-share/publish/", {"year": YEAR, "reason": "now", "confirm": "on"})
    assert done.status_code == 302 and done["Location"] == f"/funding/fair-share/?year={YEAR}&statement=1"
    assert FairShareStatement.objects.get().created_by == personas.coordinator.user
    posted = {"year": YEAR, "reason": "x", "confirm": "on"}
    assert as_client("donor_editor").post("/funding/fair-share/publish/", posted).status_code == 403


def test_the_publish_form_says_what_is_wrong_and_keeps_the_year_as_text(as_client, personas, year_set):
    client = as_client("coordinator")
    refused = client.post("/funding/fair-share/publish/", {"year": YEAR, "reason": "   "})
    page = refused.content.decode()
    assert refused.status_code == 400 and not FairShareStatement.objects.exists()
    assert "Say why the statement is published (it is shown with it)." in page
    assert "Tick the box to confirm that a published statement cannot be changed." in page
    assert "This field is required" not in page
    assert f'<input type="hidden" name="year" value="{YEAR}"' in page and f"statement of {YEAR}</h1>" in page
    assert 'type="number" name="year"' not in page and 'name="year" value="{YEAR}" type="text"' not in page
    check = re.search(r'<div class="field check invalid">\s*<span><input type="checkbox" name="confirm"[^>]*> <label', page)
    assert check, page[page.index("<form") :]
    early = client.post("/funding/fair-share/publish/", {"year": 2015, "reason": "early", "confirm": "on"})
    assert early.status_code == 400 and "No floor is configured for 2015" in early.content.decode()
    assert "statement of 2015</h1>" in early.content.decode() and not FairShareStatement.objects.exists()


def test_the_api_reads_and_publishes_statements(personas, year_set):
    def api(name: str) -> Client:
        actor = personas[name]
        _, secret = issue_token(
            actor=Actor.system("tests"), user_id=actor.user.pk, organization_id=actor.organization.pk, name="api"
        )
        return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    public = Client()
    missing = public.get(f"/api/v1/fair-share/{YEAR}/statement")
    assert missing.status_code == 404 and missing["Content-Type"] == "application/problem+json"
    assert f"No statement has been published for {YEAR} yet" in missing.json()["detail"]
    donor = api("donor_editor").post(f"/api/v1/fair-share/{YEAR}/statements", {"reason": "x"}, "application/json")
    assert donor.status_code == 403
    refused = api("coordinator").post("/api/v1/fair-share/2015/statements", {"reason": "x"}, "application/json")
    assert refused.status_code == 422 and not FairShareStatement.objects.exists()
    made = api("coordinator").post(f"/api/v1/fair-share/{YEAR}/statements", {"reason": "API"}, "application/json")
    assert made.status_code == 201 and made["Location"] == f"/api/v1/fair-share/{YEAR}/statements/1" and made["ETag"] == '"v1"'
    latest = public.get(f"/api/v1/fair-share/{YEAR}/statement")
    assert latest.status_code == 200 and latest["ETag"] == '"v1"'
    body = latest.json()
    assert body == made.json() and body["latest"] is True and body["published_by"] == "XHQ" and body["reason"] == "API"
    assert body["report"]["complete"] is True
    assert {d["code"]: d["gap_eur"] for d in body["report"]["donors"]}["XDA"] == "150000.00"
    api("coordinator").post(f"/api/v1/fair-share/{YEAR}/statements", {"reason": "again"}, "application/json")
    listed = public.get(f"/api/v1/fair-share/{YEAR}/statements").json()
    assert [(s["sequence"], s["latest"]) for s in listed["items"]] == [(2, True), (1, False)]
    assert public.get(f"/api/v1/fair-share/{YEAR}/statements/1").json()["reason"] == "API"
    assert public.get(f"/api/v1/fair-share/{YEAR}/statements/3").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_umbrella_fair_share_publish_as_a_subprocess():
    ensure_base_data()
    personas = load_personas()
    set_up_year(personas)
    assert dt.date.today().year == YEAR
    published = umbrella("fair-share-publish", "--year", str(YEAR), "--reason", "from the CLI", "--user", "cora", "--json")
    assert published.returncode == 0, published.stderr
    printed = json.loads(published.stdout)
    assert printed["sequence"] == 1 and printed["reason"] == "from the CLI"
    assert printed["report"] == FairShareStatement.objects.get().snapshot["report"]
    public = umbrella("fair-share", "--year", str(YEAR))  # the public: the statement, as the page shows it
    assert public.returncode == 0, public.stderr
    assert f"published statement 1 of {YEAR}, {dt.date.today():%Y-%m-%d}" in public.stdout and "partial" not in public.stdout
    assert "Counted by the rule set disbursement/1" in public.stdout and "Reason: from the CLI" in public.stdout
    lines = public.stdout.splitlines()
    (donor_a,) = [line for line in lines if line.startswith("Donor A")]
    assert donor_a.split()[-4:] == ["750,000.00", "600,000.00", "150,000.00", "80.0%"]  # whole, not the public's 100,000
    (total,) = [line for line in lines if line.startswith("total")]
    assert total.split()[1:] == ["1,000,000.00", "620,000.00"]
    own = umbrella("fair-share", "--year", str(YEAR), "--json", "--user", "bob")  # a donor: the statement and its own row
    assert own.returncode == 0, own.stderr
    printed = json.loads(own.stdout)
    assert printed["figures"] == "statement" and printed["statement"]["sequence"] == 1 and "data" not in printed["statement"]
    assert printed["statement"]["rule_set"] == "disbursement/1" and printed["statement"]["published_at"].startswith(str(YEAR))
    assert printed["donors"] == FairShareStatement.objects.get().donors and printed["floor_eur"] == "1000000.00"
    assert printed["own"] == {
        "code": "XDB",
        "name": "Donor B",
        "gdp_share": 0.25,
        "target_eur": "250000.00",
        "counted_eur": "20000.00",
        "whole": True,
        "gap_eur": "230000.00",
        "percent": 8.0,
    }
    early = umbrella("fair-share-publish", "--year", "2015", "--reason", "early", "--user", "cora")
    assert early.returncode == 2 and "No floor is configured for 2015" in early.stderr
    assert FairShareStatement.objects.count() == 1
    verified = umbrella("ledger", "verify", "--json")  # the statement's entry replays as the row holds it
    assert verified.returncode == 0 and json.loads(verified.stdout)["ok"] is True, verified.stdout + verified.stderr

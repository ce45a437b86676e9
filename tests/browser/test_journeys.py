"""Every journey in a real browser, against `umbrella serve` with the demo scenario (see conftest.py)."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    "username, heading",
    [
        ("hq-staff", "Coverage of the approved requirements"),
        ("deu-liaison", "Open needs you could still offer against"),
        ("ukr-logistics", "What is coming, and when"),
        ("obs-analyst", "Pledged, allocated and delivered value by donor"),
    ],
)
def test_each_persona_signs_in_and_sees_its_dashboard_with_charts(page, username, heading):
    sign_in(page, username)
    assert page.get_by_role("heading", name=heading).is_visible()
    charts = page.locator("figure.chart svg")
    if username != "deu-liaison":
        assert charts.count() >= 1
        bar = page.locator("figure.chart g.bar").first
        bar.focus()
        assert bar.evaluate("element => element === document.activeElement")  # bars take the keyboard focus
    screenshot(page, f"dashboard-{username}")


def test_a_donor_announces_a_pledge_through_the_form(page):
    sign_in(page, "deu-liaison")
    page.goto("/pledges/new/")
    page.locator("select[name=pledge-item_type]").select_option(label="M777 towed howitzer (ART-M777)")
    page.locator("input[name=pledge-quantity]").fill("4")
    page.locator("input[name=pledge-available_from]").fill("2026-09-01")
    page.locator("select[name=source-kind]").select_option("official")
    page.locator("input[name=source-url]").fill("https://bmvg.example.invalid/m777")
    page.locator("input[name=source-date]").fill("2026-08-01")
    page.get_by_role("button", name="Announce the pledge").click()
    page.wait_for_url(re.compile(r"/pledges/\d+/$"))
    expect(page.get_by_text("Pledge announced.")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("4 × M777"))).to_be_visible()
    screenshot(page, "pledge-announced")


def test_an_import_with_an_error_is_previewed_fixed_and_committed(page, tmp_path):
    sign_in(page, "deu-liaison")
    header = "item_type,quantity,available_from,source_kind,source_url,source_date\n"
    bad, good = tmp_path / "pledges-bad.csv", tmp_path / "pledges.csv"
    bad.write_text(header + "ART-M777,-3,2026-10-01,official,https://x.example.invalid/1,2026-09-01\n")
    good.write_text(header + "ART-M777,3,2026-10-01,official,https://x.example.invalid/1,2026-09-01\n")
    page.goto("/import/")
    page.get_by_label("What the file holds").select_option("pledges")
    page.get_by_label("CSV or XLSX file").set_input_files(str(bad))
    page.get_by_role("button", name="Check the file").click()
    problems = page.locator("#import-errors")
    expect(problems).to_be_visible()
    assert "quantity" in problems.inner_text() and "-3" in problems.inner_text()
    screenshot(page, "import-preview-with-error")
    page.get_by_role("link", name="Upload a corrected file").click()
    page.get_by_label("What the file holds").select_option("pledges")
    page.get_by_label("CSV or XLSX file").set_input_files(str(good))
    page.get_by_role("button", name="Check the file").click()
    page.get_by_role("button", name="Commit the import").click()
    expect(page.get_by_text("1 row imported.")).to_be_visible()
    page.get_by_role("link", name=re.compile(r"^3 × M777")).click()  # the rows just imported lead to their records
    page.wait_for_url(re.compile(r"/pledges/\d+/$"))


def test_the_auditor_filters_the_ledger_to_one_records_history(page):
    sign_in(page, "hq-auditor")
    page.goto("/pledges/")
    page.locator("table.list tbody tr a").first.click()
    page.wait_for_url(re.compile(r"/pledges/\d+/$"))
    pledge_id = re.search(r"/pledges/(\d+)/$", page.url).group(1)
    history = page.locator("section.history li:not([data-related])").count()  # not those of its sources
    page.goto("/ledger/")
    page.get_by_label("Kind of record").select_option("pledges.pledge")
    page.get_by_label("Record id").fill(pledge_id)
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"entity_id=" + pledge_id))
    records = page.locator("tr.ledger-entry td:nth-child(3)").all_inner_texts()
    assert records and len(records) == history
    assert set(records) == {f"pledge {pledge_id}"}
    assert page.get_by_text(re.compile(rf"^{history} of {history} entr")).is_visible()
    sequences = [
        int(value) for value in page.locator("tr.ledger-entry").evaluate_all("rows => rows.map(r => r.dataset.sequence)")
    ]
    assert sequences == sorted(sequences, reverse=True)
    screenshot(page, "ledger-one-record")


def test_coordination_staff_run_and_approve_a_match(page):
    sign_in(page, "hq-staff")
    page.goto("/matching/new/")
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_url(re.compile(r"/matching/\d+/$"))
    assert page.get_by_role("heading", name="Coverage by capability area and priority").is_visible()
    assert page.get_by_role("heading", name=re.compile("not fully met, and why")).is_visible()
    screenshot(page, "match-run")
    page.get_by_role("button", name="Approve the selected proposals").click()
    expect(page.get_by_text("No proposal is selected: tick the proposals to approve, or approve them all.")).to_be_in_viewport()
    page.get_by_role("button", name=re.compile(r"^Approve (all \d+ proposals|the 1 proposal)$")).click()
    expect(page.get_by_text(re.compile(r"^Approve \d+ proposals? of \d+ and decline the other 0\?$"))).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Approve \d+, decline 0$")).click()
    expect(page.get_by_text(re.compile(r"\d+ allocations? approved\."))).to_be_visible()
    assert page.locator(".badge").first.inner_text() == "decided"


def test_a_donor_typing_another_donors_owner_only_pledge_gets_not_found(page, browser, server):
    sign_in(page, "pol-liaison")
    page.goto("/pledges/new/")
    page.locator("select[name=pledge-item_type]").select_option(index=1)
    page.locator("input[name=pledge-quantity]").fill("2")
    page.locator("input[name=pledge-available_from]").fill("2026-09-01")
    page.locator("select[name=pledge-marking]").select_option("owner")
    page.locator("select[name=source-kind]").select_option("official")
    page.locator("input[name=source-document_reference]").fill("PL-MON-1")
    page.locator("input[name=source-date]").fill("2026-08-01")
    page.get_by_role("button", name="Announce the pledge").click()
    page.wait_for_url(re.compile(r"/pledges/\d+/$"))
    secret = page.url
    other = browser.new_context(base_url=server["base"]).new_page()
    sign_in(other, "deu-liaison")
    response = other.goto(secret)
    assert response.status == 404 and other.get_by_role("heading", name=re.compile("[Nn]ot found")).is_visible()
    screenshot(other, "not-found")
    other.context.close()


def test_the_recipient_switches_to_ukrainian_and_it_stays(page):
    sign_in(page, "ukr-logistics")
    page.get_by_label("Language").select_option("uk")
    with page.expect_navigation():
        page.get_by_role("button", name="Switch").click()
    expect(page.get_by_role("heading", name=re.compile("^Огляд"))).to_be_visible()
    page.goto("/pledges/")
    assert page.get_by_role("heading", name="Обіцянки").is_visible()
    assert page.locator("html").get_attribute("lang") == "uk"
    screenshot(page, "pledges-in-ukrainian")
    refused = page.goto("/pledges/new/")  # the recipient does not pledge: the refusal, too, is in Ukrainian
    refusal = "Створення обіцянки — це робить: Багатосторонній донор, Донор."
    assert refused.status == 403 and page.get_by_text(refusal).is_visible()

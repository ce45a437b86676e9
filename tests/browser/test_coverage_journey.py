"""Coordination staff approve part of a run, and the overview's coverage is what the approved allocations cover:
read off the page, and compared with the server's own database."""

import datetime as dt
import json
import re
import sqlite3
import subprocess
from decimal import Decimal

import psycopg
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import UMBRELLA, screenshot, sign_in

pytestmark = pytest.mark.browser

APPROVED = 3
# What hq-staff may see of the approved requirements, and what active allocations cover of each, by priority.
COVERAGE_BY_PRIORITY = """
SELECT priority, COUNT(*), SUM(CASE WHEN covered >= quantity THEN 1 ELSE 0 END),
       SUM(CASE WHEN covered > 0 AND covered < quantity THEN 1 ELSE 0 END),
       SUM(covered)
FROM (SELECT r.priority, r.quantity,
             COALESCE((SELECT SUM(a.covers) FROM matching_allocation a
                       WHERE a.requirement_id = r.id AND a.state = 'active'), 0) AS covered
      FROM needs_requirement r JOIN needs_requirementlist l ON l.id = r.requirement_list_id
      WHERE l.state = 'approved'
        AND (r.marking IN ('coordination', 'participants', 'public')
             OR r.owner_id = (SELECT id FROM orgs_organization WHERE code = 'HQ'))
     ) AS approved
GROUP BY priority ORDER BY priority
"""


def decided_in_database(server) -> dict[int, dict]:
    url = server["env"].get("UMBRELLA_DATABASE_URL")
    if url:
        with psycopg.connect(url) as connection:
            rows = connection.execute(COVERAGE_BY_PRIORITY).fetchall()
    else:
        with sqlite3.connect(server["data_dir"] / "umbrella.sqlite3") as connection:
            rows = connection.execute(COVERAGE_BY_PRIORITY).fetchall()
    decided = {priority: {"met": 0, "partly-met": 0, "unmet": 0, "covered": Decimal("0.000")} for priority in range(1, 6)}
    for priority, total, met, partly, covered in rows:
        decided[priority] = {
            "met": met,
            "partly-met": partly,
            "unmet": total - met - partly,
            "covered": Decimal(str(covered)).quantize(Decimal("0.001")),
        }
    return decided


def coverage_on_the_overview(page) -> dict[int, dict]:
    page.goto("/")
    shown = {}
    for row in page.locator("#coverage-by-priority tbody tr").all():
        cells = {name: row.locator(f"[data-{name}]").inner_text().strip() for name in ("met", "partly-met", "unmet", "covered")}
        shown[int(row.get_attribute("data-priority"))] = {
            **{k: int(cells[k]) for k in ("met", "partly-met", "unmet")},
            "covered": Decimal(cells["covered"].replace(",", "")).quantize(Decimal("0.001")),
        }
    return shown


def a_run_awaiting_review(page) -> None:
    """The run the demo leaves for review; when another journey has decided it already, a fresh one."""
    page.goto("/matching/?state=proposed")
    runs = page.locator("table.list tbody a[href^='/matching/']")
    if runs.count():
        runs.first.click()
    else:
        page.goto("/matching/new/")
        page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_url(re.compile(r"/matching/\d+/$"))


def test_coordination_staff_approve_part_of_a_run_and_the_overview_counts_exactly_that(page, server):
    sign_in(page, "hq-staff")
    before = coverage_on_the_overview(page)
    assert before == decided_in_database(server)

    a_run_awaiting_review(page)
    chosen = page.locator("form tbody tr").filter(has=page.locator("input[name=proposal]")).all()[:APPROVED]
    assert len(chosen) == APPROVED, "the run proposes too little to approve part of it"
    approved_covers = Decimal(0)
    for row in chosen:
        row.locator("input[name=proposal]").check()
        approved_covers += Decimal(row.locator("td.num").nth(1).inner_text().strip().replace(",", ""))
    page.get_by_role("button", name="Approve the selected proposals").click()
    question = page.locator("#approval-question").inner_text()
    total = int(re.match(rf"^Approve {APPROVED} proposals of (\d+) and decline the other (\d+)\?$", question).group(1))
    assert question.endswith(f"decline the other {total - APPROVED}?")
    page.get_by_role("button", name=f"Approve {APPROVED}, decline {total - APPROVED}").click()
    expect(page.get_by_text(f"{APPROVED} allocations approved.")).to_be_visible()
    assert page.locator(".badge").first.inner_text() == "decided"

    after = coverage_on_the_overview(page)
    screenshot(page, "dashboard-after-partial-approval")
    assert "awaits review" not in page.content()  # the run is decided: nothing proposed is drawn
    assert after == decided_in_database(server)
    assert sum(c["covered"] for c in after.values()) - sum(c["covered"] for c in before.values()) == approved_covers


def test_the_command_line_gives_the_public_the_published_statement_never_a_partial_sum(server):
    """`umbrella fair-share --json`, as a subprocess on the demo: the public may not see the coordination-marked
    funding, so it reads the year's published statement (the demo publishes this year's), as the page shows it."""
    year = str(dt.date.today().year)
    printed = subprocess.run(
        [*UMBRELLA, "fair-share", "--year", year, "--json"],
        env=server["env"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    report = json.loads(printed)
    assert report["figures"] == "statement" and report["statement"]["year"] == int(year) and report["donors"]
    assert report["complete"] is True and report["own"] is None and report["statement"]["latest"] is True
    assert all(donor["gap_eur"] is not None and donor["percent"] is not None for donor in report["donors"])

"""Coordination staff follow their work queue from the overview to the pledges waiting for them, accept one on
its confirmation page, and the queue counts one fewer."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser


def pledges_to_accept(page):
    page.goto("/")
    return page.locator("#work-queue li").filter(has_text="Pledges to accept").get_by_role("link")


def test_coordination_staff_accept_a_pledge_from_their_work_queue(page):
    sign_in(page, "hq-staff")
    link = pledges_to_accept(page)
    waiting = int(link.inner_text())
    assert waiting > 0, "the demo leaves offered pledges for coordination staff to accept"
    screenshot(page, "dashboard-work-queue")

    link.click()
    page.wait_for_url(re.compile(r"/pledges/\?state=offered$"))
    assert page.locator("p.count").inner_text() == f"{waiting} records"
    states = {cell.inner_text() for cell in page.locator("table.list tbody tr td:nth-child(3)").all()}
    assert states == {"offered"}

    page.locator("table.list tbody tr td:first-child a").first.click()
    page.get_by_role("link", name="Accept…").click()
    page.wait_for_url(re.compile(r"/pledges/\d+/accept/$"))
    page.get_by_role("button", name="Accept", exact=True).click()
    expect(page.get_by_text("The pledge is now accepted.")).to_be_visible()

    assert int(pledges_to_accept(page).inner_text()) == waiting - 1

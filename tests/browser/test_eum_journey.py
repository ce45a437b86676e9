"""An inspector of the headquarters records an inventory of a battalion's missiles, two of them not sighted. The
delinquency card of end-use monitoring and the donor's end-use report change by exactly what was sighted; another
donor sees none of it: not the serials, not the inventory, not the report."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import UMBRELLA, screenshot, sign_in

pytestmark = pytest.mark.browser

INSPECTOR = "hq-auditor"
SERIALS = [f"JOURNEY-EUM-{number:04d}" for number in range(1, 5)]

# Four serials of one donor's sensitive item type, handed over 120 days ago (before Umbrella kept handovers, so the
# recipient registers them, through the ledger) to a battalion of their own: past the 90-day initial inventory, so
# delinquent. Two donors whose liaison officers sign in: the one that gave them and another.
SERIALS_TO_MAKE = """
import datetime as dt, json
from django.contrib.auth import get_user_model
from django.utils import timezone
from umbrella.catalog.models import ItemType
from umbrella.eum import services as eum
from umbrella.orgs.models import Organization
from umbrella.orgs.queries import actor_for

users = get_user_model().objects
recipient = actor_for(users.get(username="ukr-logistics"), request_id="journey-setup")
donors = [
    donor for donor in Organization.objects.filter(kind="donor").order_by("code")
    if users.filter(username=donor.code.lower() + "-liaison").exists()
][:2]
item = ItemType.objects.filter(sensitive=True).order_by("code").first()
unit = eum.create_unit(actor=recipient, fields={"code": "JOURNEY-BN", "name": "Journey battalion", "kind": "battalion"})
day = timezone.localdate() - dt.timedelta(days=120)
serials = [
    eum.register_serial(
        actor=recipient, donor=donors[0],
        fields={"item_type": item, "serial": number, "handover_date": day, "holder": unit},
    )
    for number in SERIALS
]
print(json.dumps({
    "donor": donors[0].code, "donor_liaison": donors[0].code.lower() + "-liaison",
    "other_liaison": donors[1].code.lower() + "-liaison",
    "item": item.code, "unit": unit.pk, "serials": [serial.pk for serial in serials],
}))
"""


def serials_to_make(server) -> dict:
    script = SERIALS_TO_MAKE.replace("for number in SERIALS", f"for number in {SERIALS!r}")
    done = subprocess.run([*UMBRELLA, "shell", "-c", script], env=server["env"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def signed_in(browser, server):
    contexts = []

    def open_as(username: str):
        contexts.append(browser.new_context(base_url=server["base"], viewport={"width": 1280, "height": 900}))
        opened = contexts[-1].new_page()
        sign_in(opened, username)
        return opened

    yield open_as
    for context in contexts:
        context.close()


def delinquent_card(page) -> int:
    page.goto("/eum/")
    return int(page.locator("#eum-delinquent [data-delinquent-count]").inner_text().replace(",", ""))


def report_totals(page, donor: str) -> dict:
    page.goto(f"/eum/report/{donor}/")
    return {
        key: int(page.locator(f"#donor-report-total [data-total='{key}']").inner_text().replace(",", ""))
        for key in ("handed_over", "held", "inventoried", "delinquent")
    }


def sees_nothing_of_it(page, chosen: dict, inventory_url: str | None = None) -> None:
    for pk in chosen["serials"]:
        assert page.goto(f"/eum/serials/{pk}/").status == 404
    page.goto("/eum/serials/?q=JOURNEY-EUM")
    assert "JOURNEY-EUM" not in page.locator("table.list").inner_text()
    assert page.goto(f"/eum/report/{chosen['donor']}/").status == 404
    if inventory_url:
        assert page.goto(inventory_url).status == 404


def test_an_inspector_records_an_inventory_with_two_serials_not_sighted(page, server, signed_in):
    chosen = serials_to_make(server)
    donor, other = signed_in(chosen["donor_liaison"]), signed_in(chosen["other_liaison"])
    sign_in(page, INSPECTOR)

    late_before = delinquent_card(page)
    report_before = report_totals(donor, chosen["donor"])
    assert late_before >= 4 and report_before["delinquent"] >= 4
    sees_nothing_of_it(other, chosen)

    # The inspector chooses the battalion, ticks two of its four serials and records the inventory.
    page.goto("/eum/inventories/new/")
    page.get_by_label("Unit inspected").select_option(str(chosen["unit"]))
    page.get_by_role("button", name="Show the expected serials").click()
    page.wait_for_url(re.compile(r"/eum/inventories/new/\?"))
    for number in SERIALS[:2]:
        page.get_by_label(f"{chosen['item']} {number}").check()
    page.get_by_label("Conducted on").fill(dt.date.today().isoformat())
    page.get_by_label("Method").select_option("physical")
    page.get_by_role("button", name="Record the inventory").click()
    page.wait_for_url(re.compile(r"/eum/inventories/\d+/$"))
    expect(page.get_by_text("Inventory recorded: 2 of 4 expected serials sighted.")).to_be_visible()
    not_sighted = page.locator("#not-sighted tbody tr").all_inner_texts()
    assert [row.split("\t")[1] for row in not_sighted] == SERIALS[2:]
    screenshot(page, "eum-journey-inventory")
    inventory_url = page.url

    # Two fewer are delinquent on the card and in the donor's report; the two not sighted stay delinquent.
    assert delinquent_card(page) == late_before - 2
    screenshot(page, "eum-journey-overview")
    report_after = report_totals(donor, chosen["donor"])
    assert report_after == {
        **report_before,
        "inventoried": report_before["inventoried"] + 2,
        "delinquent": report_before["delinquent"] - 2,
    }
    screenshot(donor, "eum-journey-donor-report")
    donor.goto(f"/eum/serials/{chosen['serials'][0]}/")
    assert dt.date.today().isoformat() in donor.locator("#sightings").inner_text()
    donor.goto(f"/eum/serials/{chosen['serials'][3]}/")
    assert donor.locator("h1 [data-flag]").inner_text() == "delinquent"

    # The other donor sees none of it.
    sees_nothing_of_it(other, chosen, inventory_url)

"""A donor's liaison officer plans and dispatches two consignments of one allocation; the recipient's logistics
officer records both arrivals, receives the first short and the second in full, and hands both over. At every
stage the recipient's work queue, its "Consignments on their way", its coverage by priority, the requirement's
page and the pledge's page say exactly what moved: figures read off the pages before, and the units shipped."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import UMBRELLA, screenshot, sign_in

pytestmark = pytest.mark.browser

RECIPIENT = "ukr-logistics"

# An allocation to ship, chosen in the server's own database (the demo ships some allocations itself, so ids and
# what is left vary): active, of an item type that is not serial-tracked, of a donor whose liaison officer signs in,
# for a requirement of an approved list that the recipient and coordination staff see with the allocation, in the
# requirement's own units (covers = quantity, so a unit shipped is a unit of the requirement), with at least two
# whole units left to ship.
# Places for the legs and the handover: the gazetteer's when it has them, otherwise written here as the test
# factories do (through the ledger).
SHIPMENT_TO_MAKE = """
import json
from django.contrib.auth import get_user_model
from django.db import transaction
from umbrella.core import services as core_services
from umbrella.core.access import Actor
from umbrella.logistics.services import shipped_of
from umbrella.matching.models import Allocation
from umbrella.orgs.models import Organization
from umbrella.orgs.queries import actor_for
from umbrella.places.models import Place

users = get_user_model().objects
readers = [actor_for(users.get(username=name), request_id="journey-setup") for name in ("RECIPIENT", "hq-staff")]
seen = set.intersection(*(set(Allocation.objects.visible_to(reader).values_list("pk", flat=True)) for reader in readers))
candidates = (
    Allocation.objects.filter(
        state="active", pledge__item_type__sensitive=False, requirement__requirement_list__state="approved"
    )
    .select_related("pledge__owner", "requirement")
    .order_by("id")
)
chosen = None
for allocation in candidates:
    left = allocation.quantity - shipped_of([allocation.pk])[allocation.pk]
    liaison = users.filter(username=allocation.pledge.owner.code.lower() + "-liaison").first()
    if allocation.pk in seen and liaison and allocation.covers == allocation.quantity and left >= 2 and left == int(left):
        chosen = {"allocation": allocation.pk, "left": int(left), "liaison": liaison.username,
                  "pledge": allocation.pledge_id, "pledge_quantity": allocation.pledge.quantity,
                  "requirement": allocation.requirement_id, "priority": allocation.requirement.priority}
        break
if chosen is None:
    raise SystemExit("no active allocation of a non-serial-tracked item with two units left to ship")

def place(code, kind, parent=None, **extra):
    found = Place.objects.filter(code=code).first()
    if found:
        return found
    owner = Organization.objects.get(code="HQ")
    path = f"{parent.path}/{code}" if parent else code
    with transaction.atomic():
        return core_services.create_record(
            actor=Actor.system("journey-setup"),
            obj=Place(owner=owner, code=code, kind=kind, parent=parent, path=path, name_en=code, **extra),
        )

hub = Place.objects.filter(hub_capacity__isnull=False).exclude(path__startswith="UA").order_by("path").first()
if hub is None:
    hub = place("PL-RZE", "logistics-hub", place("PL", "country"),
                hub_capacity=40, hub_capacity_unit="consignments", hub_handling_days=2)
chosen |= {"hub": hub.code, "ukraine": place("UA", "country").code}
print(json.dumps(chosen))
"""


def shipment_to_make(server) -> dict:
    script = SHIPMENT_TO_MAKE.replace("RECIPIENT", RECIPIENT)
    done = subprocess.run([*UMBRELLA, "shell", "-c", script], env=server["env"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def as_number(text: str) -> Decimal:
    return Decimal(text.strip().replace(",", "").replace("\u202f", "").replace("\xa0", ""))


def field(page, label: str) -> str:
    return page.locator(f"dl.fields dt:text-is('{label}') + dd").inner_text().strip()


def queue_count(page, label: str) -> int:
    return int(page.locator("#work-queue li").filter(has_text=label).get_by_role("link").inner_text())


def coverage_flow(page, priority: int) -> dict:
    """What the approved requirements of the priority have brought, as the overview's coverage table says."""
    row = page.locator(f"#coverage-by-priority tr[data-priority='{priority}']")
    return {
        "priority handed over": as_number(row.locator("[data-handed-over]").inner_text()),
        "priority in transit": as_number(row.locator("[data-in-transit]").inner_text()),
        "priority only allocated": as_number(row.locator("[data-only-allocated]").inner_text()),
    }


def recipient_dashboard(page, priority: int) -> dict:
    """The recipient's overview: its two consignment counts in the work queue, how many consignments have not
    arrived, and what the approved requirements of the priority have brought."""
    page.goto("/")
    coming = page.locator("#consignments-coming p").first.inner_text()
    return {
        "to receive": queue_count(page, "Consignments arrived, to receive"),
        "to hand over": queue_count(page, "Consignments received, to hand over"),
        "not arrived": int(re.match(r"^(\d+) consignments? ha(?:s|ve) not arrived yet", coming).group(1)),
        **coverage_flow(page, priority),
    }


def coordination_dashboard(page, priority: int) -> dict:
    page.goto("/")
    return coverage_flow(page, priority)


def donor_dashboard(page) -> dict:
    page.goto("/")
    return {"to ship": queue_count(page, "Allocated pledges to ship")}


@pytest.fixture
def signed_in(browser, server):
    """A page of its own (its own cookies) for each further person in the journey, closed at the end."""
    contexts = []

    def open_as(username: str):
        contexts.append(browser.new_context(base_url=server["base"], viewport={"width": 1280, "height": 900}))
        opened = contexts[-1].new_page()
        sign_in(opened, username)
        return opened

    yield open_as
    for context in contexts:
        context.close()


def requirement_flow(page, requirement: int) -> dict:
    page.goto(f"/requirements/item/{requirement}/")
    return {name: as_number(field(page, name)) for name in ("Handed over", "In transit", "Only allocated")}


def pledge_figures(page, pledge: int) -> dict:
    """The pledge's page: its state and, for shipped, received and handed over, the "x of N" it shows."""
    page.goto(f"/pledges/{pledge}/")
    figures = {"state": page.locator("h1 .badge").inner_text().strip()}
    for name in ("Quantity shipped", "Quantity received", "Quantity handed over"):
        found = re.fullmatch(r"([\d,]+) of ([\d,]+)", field(page, name))
        assert found, f"{name} reads {field(page, name)!r}"
        figures[name], figures["of"] = int(as_number(found[1])), int(as_number(found[2]))
    return figures


def moved(before: dict, after: dict) -> dict:
    return {name: after[name] - before[name] for name in before if name not in ("state", "of")}


def plan_and_dispatch(page, chosen: dict, reference: str, quantity: int) -> str:
    page.goto("/consignments/new/")
    page.get_by_label("Reference").fill(reference)
    page.get_by_label("Weight (kg)").fill("850")
    line = page.get_by_role("group", name="Line 1", exact=True)
    line.get_by_label("Allocation").select_option(str(chosen["allocation"]))
    line.get_by_label("Quantity").fill(str(quantity))
    leg = page.get_by_role("group", name=re.compile(r"^Leg 1"))
    leg.get_by_label(re.compile(r"^From:?$")).fill(chosen["hub"])
    leg.get_by_label(re.compile(r"^To:?$")).fill(chosen["ukraine"])
    leg.get_by_label("Mode").select_option("road")
    leg.get_by_label("Planned arrival").fill((dt.date.today() + dt.timedelta(days=5)).isoformat())
    page.get_by_role("button", name="Plan the consignment").click()
    page.wait_for_url(re.compile(r"/consignments/\d+/$"))
    url = page.url
    assert page.locator("h1 .badge").inner_text() == "planned"
    page.get_by_role("link", name="Dispatch…").click()
    page.wait_for_url(re.compile(r"/consignments/\d+/dispatch/$"))
    page.get_by_role("button", name="Dispatch", exact=True).click()
    # expect() waits for the page the form redirects to; is_visible() would look before it has loaded.
    expect(page.get_by_text("The consignment is now dispatched.")).to_be_visible()
    return url


def record_arrival(page, url: str) -> None:
    page.goto(url)
    page.get_by_role("link", name="Record arrival…").click()
    page.get_by_role("button", name="Record arrival", exact=True).click()
    expect(page.get_by_text("The consignment is now arrived.")).to_be_visible()


def record_receipt(page, url: str, received: int, *, short_note: str = "") -> None:
    page.goto(url)
    page.get_by_role("link", name="Record the receipt…").click()
    page.wait_for_url(re.compile(r"/consignments/\d+/receipt/$"))
    page.locator("input[name$='_quantity_received']").fill(str(received))
    if short_note:
        page.locator("select[name$='_discrepancy']").select_option("short")
        page.locator("input[name$='_note']").fill(short_note)
        page.locator("input[name$='_evidence_reference']").fill("PHOTO-JOURNEY-1")
    page.get_by_role("button", name="Record the receipt").click()
    expect(page.get_by_text("Receipt recorded.")).to_be_visible()


def record_handover(page, url: str, place: str) -> None:
    page.goto(url)
    page.get_by_role("link", name="Record the handover…").click()
    page.wait_for_url(re.compile(r"/consignments/\d+/handover/$"))
    page.get_by_label("Receiving unit").fill("Logistics battalion, Lviv")
    page.get_by_label("Place").fill(place)
    page.get_by_label("Date").fill(dt.date.today().isoformat())
    page.get_by_label("Handing-over officer's role").fill("Deputy commander for logistics")
    page.get_by_role("button", name="Record the handover").click()
    expect(page.get_by_text("Handover recorded.")).to_be_visible()
    assert page.locator("h1 .badge").inner_text() == "handed over"


def test_a_donor_ships_twice_the_recipient_receives_short_then_in_full_and_hands_over(page, server, signed_in):
    chosen = shipment_to_make(server)
    left, priority, requirement, pledge = chosen["left"], chosen["priority"], chosen["requirement"], chosen["pledge"]
    first, second = left // 2, left - left // 2  # the first arrives one short
    donor, staff = signed_in(chosen["liaison"]), signed_in("hq-staff")
    sign_in(page, RECIPIENT)

    dashboard, flow = recipient_dashboard(page, priority), requirement_flow(page, requirement)
    coordination = coordination_dashboard(staff, priority)
    pledged, to_ship = pledge_figures(donor, pledge), donor_dashboard(donor)
    assert pledged["of"] == chosen["pledge_quantity"]

    # The donor plans and dispatches both: they are on their way, in transit on the requirement's page.
    first_url = plan_and_dispatch(donor, chosen, "JOURNEY-A", first)
    screenshot(donor, "logistics-journey-dispatched")
    second_url = plan_and_dispatch(donor, chosen, "JOURNEY-B", second)
    on_their_way = recipient_dashboard(page, priority)
    screenshot(page, "logistics-journey-recipient-on-their-way")
    assert moved(dashboard, on_their_way) == {
        "to receive": 0,
        "to hand over": 0,
        "not arrived": 2,
        "priority handed over": 0,
        "priority in transit": left,
        "priority only allocated": -left,
    }
    assert moved(flow, requirement_flow(page, requirement)) == {"Handed over": 0, "In transit": left, "Only allocated": -left}
    shipped = pledge_figures(donor, pledge)
    assert moved(pledged, shipped) == {"Quantity shipped": left, "Quantity received": 0, "Quantity handed over": 0}
    # An allocated pledge leaves its donor's "to ship" once a consignment of it is dispatched.
    assert shipped["state"] in ("shipped", "partly delivered")
    assert moved(to_ship, donor_dashboard(donor)) == {"to ship": -1 if pledged["state"] == "allocated" else 0}

    # Both arrive: the recipient has two to receive, and nothing more is on its way.
    record_arrival(page, first_url)
    record_arrival(page, second_url)
    arrived = recipient_dashboard(page, priority)
    assert moved(dashboard, arrived) == {**moved(dashboard, on_their_way), "to receive": 2, "not arrived": 0}

    # The first is received one short: the missing unit is no longer in transit, only allocated.
    record_receipt(page, first_url, first - 1, short_note="One unit missing from the pallet at unloading")
    page.goto(first_url)
    assert page.locator("h1 .badge").inner_text() == "received"
    short_note = "short: One unit missing from the pallet at unloading (PHOTO-JOURNEY-1)"
    assert short_note in page.locator("table.list").first.inner_text()
    screenshot(page, "logistics-journey-received-short")
    received_short = recipient_dashboard(page, priority)
    assert moved(dashboard, received_short) == {
        "to receive": 1,
        "to hand over": 1,
        "not arrived": 0,
        "priority handed over": 0,
        "priority in transit": left - 1,
        "priority only allocated": -(left - 1),
    }
    assert moved(flow, requirement_flow(page, requirement)) == {
        "Handed over": 0,
        "In transit": left - 1,
        "Only allocated": -(left - 1),
    }
    short = pledge_figures(donor, pledge)
    assert (short["Quantity received"], short["of"]) == (pledged["Quantity received"] + first - 1, chosen["pledge_quantity"])
    assert short["state"] == "partly delivered"

    # The second is received in full.
    record_receipt(page, second_url, second)
    received = recipient_dashboard(page, priority)
    assert moved(dashboard, received) == {**moved(dashboard, received_short), "to receive": 0, "to hand over": 2}
    assert pledge_figures(donor, pledge)["Quantity received"] == pledged["Quantity received"] + left - 1

    # Both are handed over: what arrived counts as handed over, the missing unit stays only allocated.
    record_handover(page, first_url, chosen["ukraine"])
    record_handover(page, second_url, chosen["ukraine"])
    screenshot(page, "logistics-journey-handed-over")
    handed_over = recipient_dashboard(page, priority)
    screenshot(page, "logistics-journey-recipient-dashboard-after")
    assert moved(dashboard, handed_over) == {
        "to receive": 0,
        "to hand over": 0,
        "not arrived": 0,
        "priority handed over": left - 1,
        "priority in transit": 0,
        "priority only allocated": -(left - 1),
    }
    assert moved(flow, requirement_flow(page, requirement)) == {
        "Handed over": left - 1,
        "In transit": 0,
        "Only allocated": -(left - 1),
    }
    screenshot(page, "logistics-journey-requirement")
    assert moved(coordination, coordination_dashboard(staff, priority)) == {
        "priority handed over": left - 1,
        "priority in transit": 0,
        "priority only allocated": -(left - 1),
    }
    after = pledge_figures(donor, pledge)
    assert moved(pledged, after) == {
        "Quantity shipped": left,
        "Quantity received": left - 1,
        "Quantity handed over": left - 1,
    }
    screenshot(donor, "logistics-journey-pledge")

"""End-use monitoring pages: each page for each persona who may open it, figures read off the pages against the
database, 404s for whoever may not see a record, the inventory form, and query counts independent of rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests import factories
from umbrella.core.models import ChangeRecord
from umbrella.core.testing import PERSONA_NAMES
from umbrella.eum import services as eum
from umbrella.eum.models import Inventory, InventoryRule, LossReport, Serial, SerialStatus, Transfer, TransferState, Unit
from umbrella.eum.queries import delinquency, donor_report, month_ends

TODAY = timezone.localdate
MEMBERS_WHO_SEE_ALL = ("recipient", "coordinator", "hq_admin", "auditor")
_units = itertools.count(1)


def registered(personas, count, *, prefix="ATGM", donor="donor_editor", days_ago=100, item=None, unit=None):
    """`count` serials of one sensitive item type, registered as handed over `days_ago` days ago to one unit."""
    item = item or factories.item_type(personas, sensitive=True)
    unit = unit or eum.create_unit(
        actor=personas.recipient, fields={"code": f"U-{next(_units)}", "name": "Test battalion", "kind": "battalion"}
    )
    day = TODAY() - dt.timedelta(days=days_ago)
    return [
        eum.register_serial(
            actor=personas.recipient,
            donor=personas[donor].organization,
            fields={"item_type": item, "serial": f"{prefix}-{number:05d}", "handover_date": day, "holder": unit},
        )
        for number in range(1, count + 1)
    ]


def body(response) -> str:
    return response.content.decode()


def delinquent_card(html: str) -> int:
    return int(re.search(r'data-delinquent-count="(\d+)"', html).group(1))


@pytest.mark.django_db
def test_a_serial_registered_late_is_delinquent_past_its_initial_deadline(personas):
    serial = registered(personas, 1)[0]
    assert serial.due_on == serial.handover_date + dt.timedelta(days=90) < TODAY()


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONA_NAMES)
def test_the_serial_pages_follow_who_may_see_the_serial(personas, as_client, persona):
    own = registered(personas, 2)
    other = registered(personas, 1, prefix="OTHER", donor="second_donor")
    client = as_client(persona)
    listing = body(client.get("/eum/serials/"))
    detail = client.get(f"/eum/serials/{own[0].pk}/")
    sees_own = persona in (*MEMBERS_WHO_SEE_ALL, "donor_editor", "donor_viewer")
    sees_other = persona in (*MEMBERS_WHO_SEE_ALL, "second_donor")
    assert ("ATGM-00001" in listing) == sees_own
    assert ("OTHER-00001" in listing) == sees_other
    assert detail.status_code == (200 if sees_own else 404)
    assert client.get(f"/eum/serials/{other[0].pk}/").status_code == (200 if sees_other else 404)
    if sees_own:
        assert "delinquent" in body(detail)


@pytest.mark.django_db
def test_the_serial_list_filters_by_donor_item_unit_status_and_delinquency(personas, as_client):
    late = registered(personas, 2, prefix="LATE")
    fresh = registered(personas, 1, prefix="FRESH", days_ago=1, donor="second_donor")
    client = as_client("auditor")
    assert "FRESH-00001" not in body(client.get("/eum/serials/?delinquent=True"))
    assert "LATE-00002" in body(client.get("/eum/serials/?delinquent=True"))
    assert "LATE-00001" not in body(client.get("/eum/serials/?donor=XDB"))
    assert "FRESH-00001" in body(client.get(f"/eum/serials/?item_type={fresh[0].item_type.code}"))
    assert "FRESH-00001" not in body(client.get(f"/eum/serials/?unit={late[0].holder.code}"))
    assert "LATE-00001" not in body(client.get("/eum/serials/?status=lost"))
    assert client.get("/eum/serials/?donor=NOPE").status_code == 400


@pytest.mark.django_db
def test_the_serial_list_costs_the_same_queries_for_5_and_50_serials(personas, as_client):
    item = factories.item_type(personas, sensitive=True)
    registered(personas, 5, item=item)
    client = as_client("auditor")

    def queries_of_the_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/eum/serials/").status_code == 200
        return len(captured)

    five = queries_of_the_list()
    registered(personas, 45, prefix="MORE", item=item)
    assert Serial.objects.count() == 50
    assert queries_of_the_list() == five


@pytest.mark.django_db
def test_the_serial_page_offers_each_viewer_only_what_it_may_do(personas, as_client):
    serial = registered(personas, 1)[0]
    recipient_page = body(as_client("recipient").get(f"/eum/serials/{serial.pk}/"))
    donor_page = body(as_client("donor_editor").get(f"/eum/serials/{serial.pk}/"))
    assert f"/eum/serials/{serial.pk}/loss/" in recipient_page and f"/eum/serials/{serial.pk}/consent/" in recipient_page
    assert f"/eum/serials/{serial.pk}/loss/" not in donor_page
    assert as_client("donor_editor").get(f"/eum/serials/{serial.pk}/loss/").status_code == 403
    assert as_client("second_donor").get(f"/eum/serials/{serial.pk}/loss/").status_code == 404


@pytest.mark.django_db
def test_a_loss_is_reported_on_its_page_and_acknowledged_by_the_donor(personas, as_client, places):
    serial = registered(personas, 1)[0]
    client = as_client("recipient")
    refused = client.post(f"/eum/serials/{serial.pk}/loss/", {"kind": "lost", "occurred_on": "", "circumstances": ""})
    assert refused.status_code == 400 and not LossReport.objects.exists()
    response = client.post(
        f"/eum/serials/{serial.pk}/loss/",
        {
            "kind": "captured",
            "occurred_on": TODAY().isoformat(),
            "circumstances": "Overrun position",
            "place": places["lviv"].code,
        },
    )
    assert response.status_code == 302
    serial.refresh_from_db()
    assert serial.status == SerialStatus.CAPTURED
    report = LossReport.objects.get()
    assert as_client("second_donor").get(f"/eum/losses/{report.pk}/acknowledge/").status_code == 404
    assert as_client("recipient").get(f"/eum/losses/{report.pk}/acknowledge/").status_code == 403
    donor = as_client("donor_editor")
    assert f"/eum/losses/{report.pk}/acknowledge/" in body(donor.get(f"/eum/serials/{serial.pk}/"))
    assert donor.post(f"/eum/losses/{report.pk}/acknowledge/", {"note": "Noted"}).status_code == 302
    report.refresh_from_db()
    assert report.acknowledged_on == TODAY()


@pytest.mark.django_db
def test_a_third_party_transfer_on_the_page_waits_for_the_donors_consent(personas, as_client):
    serial = registered(personas, 1)[0]
    transfer = {"kind": "third_party", "third_party": "Allied Army", "reason": "Joint defence"}
    client = as_client("recipient")
    refused = client.post(f"/eum/serials/{serial.pk}/transfer/", transfer)
    assert refused.status_code == 400 and "consent is needed" in body(refused)
    assert client.post(f"/eum/serials/{serial.pk}/consent/", transfer).status_code == 302
    request = Transfer.objects.get()
    assert as_client("second_donor").get(f"/eum/transfers/{request.pk}/decide/").status_code == 404
    donor = as_client("donor_editor")
    no_reason = donor.post(f"/eum/transfers/{request.pk}/decide/", {"decision": "refuse", "reason": ""})
    assert no_reason.status_code == 400
    donor = as_client("donor_editor")
    assert donor.post(f"/eum/transfers/{request.pk}/decide/", {"decision": "consent"}).status_code == 302
    assert as_client("recipient").post(f"/eum/serials/{serial.pk}/transfer/", transfer).status_code == 302
    serial.refresh_from_db()
    assert serial.status == SerialStatus.TRANSFERRED and Transfer.objects.get().state == TransferState.DONE


@pytest.fixture
def places(personas):
    return factories.hub_and_city(personas)


@pytest.mark.django_db
def test_recording_an_inventory_with_two_serials_not_sighted_leaves_two_delinquent(personas, as_client, places):
    serials = registered(personas, 5)
    item = serials[0].item_type.code
    client = as_client("auditor")
    overview = body(client.get("/eum/"))
    assert delinquent_card(overview) == 5 == delinquency(personas.auditor).delinquent.count
    form = client.get("/eum/inventories/new/")
    assert form.status_code == 200
    lines = "\n".join(f"{item} {serial.serial}" for serial in serials[:3])
    response = client.post(
        "/eum/inventories/new/",
        {
            "conducted_on": TODAY().isoformat(),
            "method": "physical",
            "place": places["lviv"].code,
            "item_type": serials[0].item_type_id,
            "sightings": lines,
        },
    )
    assert response.status_code == 302, body(response)[:3000]
    inventory = Inventory.objects.get()
    assert (inventory.expected_count, inventory.sighted_count, len(inventory.not_sighted)) == (5, 3, 2)
    page = body(client.get(response["Location"]))
    assert all(f'data-serial="{serial.serial}"' in page for serial in serials)
    assert delinquent_card(body(client.get("/eum/"))) == 2 == delinquency(personas.auditor).delinquent.count
    donor_page = body(as_client("donor_editor").get("/eum/report/XDA/"))
    assert re.search(r'data-total="delinquent">2<', donor_page) and re.search(r'data-total="inventoried">3<', donor_page)
    # HQ's inventory is marked for coordination: its donor sees the sightings on its serials, not the inventory.
    assert as_client("donor_editor").get(response["Location"]).status_code == 404
    assert as_client("second_donor").get(response["Location"]).status_code == 404


@pytest.mark.django_db
def test_the_inventory_form_shows_every_problem_at_once_and_writes_nothing(personas, as_client):
    serials = registered(personas, 2)
    item = serials[0].item_type.code
    before = ChangeRecord.objects.count()
    response = as_client("recipient").post(
        "/eum/inventories/new/",
        {
            "conducted_on": (TODAY() + dt.timedelta(days=3)).isoformat(),
            "method": "photo",
            "sightings": f"{item} ATGM-00001\n{item} NOPE-1\n{item} ATGM-00001",
        },
    )
    html = body(response)
    assert response.status_code == 400
    assert "This day has not come yet." in html
    assert "Line 2 (" in html and "not in the registry" in html
    assert "Line 3 (" in html and "twice" in html
    assert ChangeRecord.objects.count() == before and not Inventory.objects.exists()


@pytest.mark.django_db
def test_ticking_the_expected_serials_sights_them(personas, as_client):
    serials = registered(personas, 3)
    unit = serials[0].holder
    client = as_client("recipient")
    shown = body(client.get(f"/eum/inventories/new/?holder={unit.pk}"))
    assert all(f"{serial.item_type.code} {serial.serial}" in shown for serial in serials)
    response = client.post(
        f"/eum/inventories/new/?holder={unit.pk}",
        {"conducted_on": TODAY().isoformat(), "method": "physical", "holder": unit.pk, "chosen": [serials[0].pk]},
    )
    assert response.status_code == 302, body(response)[:3000]
    assert Inventory.objects.get().sighted_count == 1
    assert Serial.objects.filter(last_sighted_on=TODAY()).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONA_NAMES)
def test_the_overview_counts_what_each_viewer_may_see(personas, as_client, persona):
    registered(personas, 3)
    registered(personas, 2, prefix="B", donor="second_donor")
    response = as_client(persona).get("/eum/")
    if persona in ("anonymous", "observer"):
        assert response.status_code == 302 and response["Location"] == "/eum/public/"
        return
    assert response.status_code == 200
    assert delinquent_card(body(response)) == delinquency(personas[persona]).delinquent.count
    expected = {"donor_editor": 3, "donor_viewer": 3, "second_donor": 2}.get(persona, 5)
    assert delinquency(personas[persona]).delinquent.count == expected
    assert "<svg" in body(response) and 'id="eum-over-time-table"' in body(response)


@pytest.mark.django_db
def test_the_chart_counts_month_ends_from_the_sightings_up_to_them(personas, as_client):
    registered(personas, 2, days_ago=200)
    html = body(as_client("coordinator").get("/eum/"))
    days = month_ends(TODAY())
    assert len(days) == 12 and days[-1] == TODAY()
    for day in days:
        expected = delinquency(personas.coordinator, day).delinquent.count
        row = re.search(rf'<tr data-day="{day.isoformat()}">.*?data-count>(\d+)<', html, re.S)
        assert int(row.group(1)) == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    "persona, status",
    [
        ("donor_editor", 200),
        ("donor_viewer", 200),
        ("coordinator", 200),
        ("auditor", 200),
        ("recipient", 200),
        ("second_donor", 404),
        ("observer", 404),
        ("anonymous", 302),
    ],
)
def test_a_donors_report_is_for_the_donor_the_headquarters_and_the_recipient(personas, as_client, persona, status):
    serials = registered(personas, 3)
    eum.report_loss(actor=personas.recipient, serial_id=serials[0].pk, kind="lost", occurred_on=TODAY(), circumstances="x")
    client = as_client(persona)
    response = client.get("/eum/report/XDA/")
    assert response.status_code == status
    if status != 200:
        assert client.get("/eum/report/XDA/?format=csv").status_code == status
        return
    totals = donor_report(personas[persona], personas.donor_editor.organization).totals()
    assert totals == {
        "handed_over": 3,
        "held": 2,
        "inventoried": 0,
        "awaiting_first": 0,
        "delinquent": 2,
        "lost": 1,
        "transferred": 0,
        "other": 0,
    }
    assert re.search(r'data-total="lost">1<', body(response))
    download = client.get("/eum/report/XDA/?format=csv")
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert (
        rows[0][:3] == ["Item type", "Name", "Handed over"]
        and rows[-1][0] == "Total"
        and rows[-1][2:8] == ["3", "2", "0", "0", "2", "1"]
    )
    xlsx = client.get("/eum/report/XDA/?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONA_NAMES)
def test_the_public_page_shows_counts_per_capability_area_only(personas, as_client, persona):
    serials = registered(personas, 2)
    response = as_client(persona).get("/eum/public/")
    html = body(response)
    assert response.status_code == 200
    assert "ATGM-0000" not in html and serials[0].holder.code not in html
    area = serials[0].item_type.capability_area.code
    assert re.search(rf'data-area="{area}">.*?<td class="num">2</td>', html, re.S)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONA_NAMES)
def test_units_are_kept_by_the_recipient_and_read_by_headquarters(personas, as_client, persona):
    unit = registered(personas, 1)[0].holder
    client = as_client(persona)
    sees = persona in MEMBERS_WHO_SEE_ALL
    assert (unit.code in body(client.get("/eum/units/"))) == sees
    assert client.get(f"/eum/units/{unit.pk}/").status_code == (200 if sees else 404)
    response = client.post("/eum/units/new/", {"code": "NEW-1", "name": "New depot", "kind": "depot"})
    assert response.status_code == (302 if persona in ("recipient", "anonymous") else 403)
    assert Unit.objects.filter(code="NEW-1").exists() == (persona == "recipient")
    if persona == "recipient":
        edited = client.post(
            f"/eum/units/{unit.pk}/edit/", {"code": unit.code, "name": "Renamed", "kind": "battalion", "version": unit.version}
        )
        assert edited.status_code == 302
        unit.refresh_from_db()
        assert unit.name == "Renamed"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "persona, donor, status",
    [
        ("coordinator", "", 302),
        ("donor_editor", "XDA", 302),
        ("donor_editor", "XDB", 400),
        ("recipient", "", 403),
        ("auditor", "", 403),
        ("anonymous", "", 302),
    ],
)
def test_inventory_rules_are_set_by_coordination_and_each_donor_for_its_own(personas, as_client, persona, donor, status):
    serial = registered(personas, 1, days_ago=10)[0]
    client = as_client(persona)
    assert client.get("/eum/rules/").status_code == (302 if persona == "anonymous" else 200)
    organization = {"XDA": personas.donor_editor.organization, "XDB": personas.second_donor.organization}.get(donor)
    data = {"item_type": serial.item_type_id, "initial_days": 5, "interval_days": 100, "reason": "Most sensitive"}
    if organization is not None:
        data["donor"] = organization.pk
    response = client.post("/eum/rules/", data)
    assert response.status_code == status
    serial.refresh_from_db()
    changed = status == 302 and persona != "anonymous"
    assert (serial.due_on == serial.handover_date + dt.timedelta(days=5)) == changed


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONA_NAMES)
def test_the_navigation_leads_members_to_the_overview_and_others_to_the_public_figures(as_client, persona):
    html = body(as_client(persona).get("/catalog/"))
    member = persona not in ("observer", "anonymous")
    assert ('href="/eum/"' in html) == member
    assert ('href="/eum/public/"' in html) == (not member)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["coordinator", "auditor", "donor_editor", "second_donor", "recipient", "observer"])
def test_the_dashboards_end_use_card_counts_what_the_reader_may_see(personas, as_client, persona):
    registered(personas, 3)
    registered(personas, 1, prefix="FRESH", days_ago=1)
    html = body(as_client(persona).get("/"))
    if persona in ("second_donor", "observer"):
        assert 'id="end-use"' not in html
        return
    card = html[html.index('id="end-use"') :]
    assert delinquent_card(card) == 3 and "4 serial-tracked items held" in card


@pytest.mark.django_db
def test_a_donor_sees_what_waits_for_its_decision_on_its_overview_and_acts_from_there(personas, as_client):
    serials = registered(personas, 3)
    registered(personas, 1, prefix="OTHER", donor="second_donor")
    eum.request_consent(
        actor=personas.recipient, serial_id=serials[0].pk, kind="third_party", third_party="Allied Army", reason="Defence"
    )
    eum.report_loss(actor=personas.recipient, serial_id=serials[1].pk, kind="lost", occurred_on=TODAY(), circumstances="x")
    request, loss = Transfer.objects.get(), LossReport.objects.get()
    donor = as_client("donor_editor")
    overview = body(donor.get("/eum/"))
    waiting = (
        Transfer.objects.filter(state=TransferState.REQUESTED).count()
        + LossReport.objects.filter(acknowledged_on__isnull=True).count()
    )
    assert f'data-decisions-count="{waiting}"' in overview and waiting == 2
    assert f"/eum/transfers/{request.pk}/decide/" in overview and f"/eum/losses/{loss.pk}/acknowledge/" in overview
    dashboard = body(donor.get("/"))
    assert dashboard.count('href="/eum/#eum-decisions" data-queue-count="1"') == 2
    # A viewer of the donor reads them; only an editor is offered the step.
    viewer = body(as_client("donor_viewer").get("/eum/"))
    assert 'data-decisions-count="2"' in viewer and f"/eum/transfers/{request.pk}/decide/" not in viewer
    assert 'data-decisions-count="0"' in body(as_client("second_donor").get("/eum/"))
    assert 'id="eum-decisions"' not in body(as_client("recipient").get("/eum/"))
    donor = as_client("donor_editor")
    assert donor.post(f"/eum/transfers/{request.pk}/decide/", {"decision": "consent"}).status_code == 302
    assert donor.post(f"/eum/losses/{loss.pk}/acknowledge/", {"note": "Noted"}).status_code == 302
    after = body(donor.get("/eum/"))
    assert 'data-decisions-count="0"' in after and "No consent request or loss report waits for your decision." in after


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["anonymous", "observer"])
@pytest.mark.parametrize("path", ["/eum/", "/eum/serials/", "/eum/inventories/", "/eum/units/", "/eum/rules/"])
def test_who_may_see_no_record_is_sent_to_the_public_figures(personas, as_client, persona, path):
    registered(personas, 1)
    response = as_client(persona).get(path)
    assert response.status_code == 302 and response["Location"] == "/eum/public/"


@pytest.mark.django_db
def test_a_donor_is_told_where_it_finds_what_it_may_see(personas, as_client):
    serial = registered(personas, 1)[0]
    eum.record_inventory(actor=personas.auditor, fields={"conducted_on": TODAY(), "method": "physical"}, sightings=[])
    assert InventoryRule.objects.count() == 0 and Inventory.objects.count() == 1
    donor = as_client("donor_editor")
    inventories = body(donor.get("/eum/inventories/"))
    assert "No inventory that you may see." in inventories and "each of your serials&#x27; pages" in inventories
    units = body(donor.get("/eum/units/"))
    assert "No unit that you may see." in units and "names the unit that holds it" in units
    page = body(donor.get(f"/eum/serials/{serial.pk}/"))
    assert serial.holder.name in page and "/eum/units/" not in page
    assert donor.get(f"/eum/units/{serial.holder.pk}/").status_code == 404
    assert "No rule that you may see." in body(donor.get("/eum/rules/"))
    assert 'href="/eum/units/"' not in body(as_client("donor_editor").get("/eum/"))
    assert 'href="/eum/units/"' in body(as_client("recipient").get("/eum/"))


@pytest.mark.django_db
def test_a_units_count_and_its_link_say_the_same(personas, as_client):
    serials = registered(personas, 3)
    unit = serials[0].holder
    eum.report_loss(actor=personas.recipient, serial_id=serials[0].pk, kind="destroyed", occurred_on=TODAY(), circumstances="x")
    html = body(as_client("recipient").get(f"/eum/units/{unit.pk}/"))
    held = Serial.objects.filter(holder=unit, status__in=["in_service", "under_repair"]).count()
    assert held == 2 and re.search(rf"<dt>Items held</dt><dd>{held}</dd>", html)
    assert "The serials it holds or has held" in html
    listed = body(as_client("recipient").get(f"/eum/serials/?unit={unit.code}"))
    assert all(serial.serial in listed for serial in serials)


@pytest.mark.django_db
def test_showing_the_expected_serials_never_puts_the_csrf_token_in_a_url(personas, as_client):
    serials = registered(personas, 2)
    unit = serials[0].holder
    client = as_client("recipient")
    form = body(client.get("/eum/inventories/new/"))
    assert 'formmethod="get"' not in form and 'name="show_expected"' in form
    response = client.post(
        "/eum/inventories/new/",
        {"csrfmiddlewaretoken": "x" * 32, "holder": unit.pk, "note": "secret", "show_expected": "1"},
    )
    assert response.status_code == 302 and response["Location"] == f"/eum/inventories/new/?holder={unit.pk}"
    assert "csrf" not in response["Location"] and not Inventory.objects.exists()
    assert all(serial.serial in body(client.get(response["Location"])) for serial in serials)


@pytest.mark.django_db
def test_an_unreadable_line_is_said_to_be_unreadable_with_every_other_problem(personas, as_client):
    serials = registered(personas, 1)
    item = serials[0].item_type.code
    before = ChangeRecord.objects.count()
    form = body(as_client("recipient").get("/eum/inventories/new/"))
    assert "AMM-JAVELIN USA-AMM-JAVELIN-00001" in form and "ATGM-1 AT-00017" not in form
    response = as_client("recipient").post(
        "/eum/inventories/new/",
        {
            "conducted_on": TODAY().isoformat(),
            "method": "physical",
            "sightings": f"this line is garbage\nsolitary\n{item} NOPE-1\n{item} ATGM-00001",
        },
    )
    html = body(response)
    assert response.status_code == 400
    assert "Line 1 (this line is garbage) cannot be read" in html and "Line 2 (solitary) cannot be read" in html
    assert "Line 3 (" in html and "not in the registry" in html
    assert "Line 1 (this line is garbage): " not in html
    assert ChangeRecord.objects.count() == before and not Inventory.objects.exists()


@pytest.mark.django_db
def test_the_overview_names_donors_and_places_and_says_why_a_place_is_missing(personas, as_client, places):
    registered(personas, 2)
    eum.register_serial(
        actor=personas.recipient,
        donor=personas.donor_editor.organization,
        fields={
            "item_type": factories.item_type(personas, sensitive=True),
            "serial": "PLACED-1",
            "handover_date": TODAY() - dt.timedelta(days=100),
            "handover_place": places["lviv"],
        },
    )
    html = body(as_client("coordinator").get("/eum/"))
    now = delinquency(personas.coordinator)
    donor = personas.donor_editor.organization
    assert now.by["donor"][donor.code].count == 3
    assert re.search(rf'data-key="{donor.code}">.*?>{re.escape(donor.name)} \({donor.code}\)</a>.*?data-count>3<', html, re.S)
    lviv = places["lviv"]
    assert re.search(rf'data-key="{lviv.code}"><th scope="row">{re.escape(lviv.local_name)} \({lviv.code}\)</th>', html)
    assert re.search(r'data-key="—"><th scope="row">No handover place \(registered from deliveries', html)
    assert now.by["place"]["—"].count == 2 and now.by["place"][lviv.code].count == 1


@pytest.mark.django_db
def test_the_dashboard_and_the_overview_format_numbers_alike(personas, as_client):
    item = factories.item_type(personas, sensitive=True)
    unit = registered(personas, 1, item=item)[0].holder
    Serial.objects.bulk_create(
        [
            Serial(
                owner=personas.donor_editor.organization,
                marking="coordination",
                item_type=item,
                serial=f"BULK-{number:05d}",
                handover_date=TODAY() - dt.timedelta(days=10),
                status_on=TODAY() - dt.timedelta(days=10),
                holder=unit,
                due_on=TODAY() + dt.timedelta(days=80),
            )
            for number in range(1000)
        ]
    )
    held = delinquency(personas.coordinator).held.count
    assert held == 1001
    assert "1,001 serial-tracked items held" in body(as_client("coordinator").get("/"))
    assert ">1,001</strong> serial-tracked items held" in body(as_client("coordinator").get("/eum/"))


@pytest.mark.django_db
def test_a_serials_history_says_how_it_was_registered_in_words(personas, as_client):
    serial = registered(personas, 1)[0]
    html = body(as_client("donor_editor").get(f"/eum/serials/{serial.pk}/"))
    history = html[html.index('id="history-heading"') :]
    assert f"handover date: {serial.handover_date.isoformat()}; status: in service" in history
    assert "consignment" not in history.lower() and "marking" not in history.lower()


@pytest.mark.django_db
def test_a_missed_serial_names_the_inventories_that_missed_it(personas, as_client):
    serials = registered(personas, 2)
    inventory = eum.record_inventory(
        actor=personas.recipient,
        fields={"conducted_on": TODAY(), "method": "physical", "holder": serials[0].holder},
        sightings=[{"item_type": serials[0].item_type.code, "serial": serials[0].serial}],
    )
    assert inventory.not_sighted == [serials[1].pk]
    recipient = as_client("recipient")
    missed = body(recipient.get(f"/eum/serials/{serials[1].pk}/"))
    assert f'data-missed-in="{inventory.pk}"' in missed
    assert "data-missed-in" not in body(recipient.get(f"/eum/serials/{serials[0].pk}/"))
    # The recipient's inventory is not the donor's: its page does not name it.
    assert "data-missed-in" not in body(as_client("donor_editor").get(f"/eum/serials/{serials[1].pk}/"))
    page = body(as_client("recipient").get(f"/eum/inventories/{inventory.pk}/"))
    assert "becomes delinquent only once its next inventory due date has passed" in page
    serials[1].refresh_from_db()
    assert serials[1].due_on < TODAY()
    row = re.search(rf'<tr data-serial="{serials[1].serial}">.*?</tr>', page, re.S).group(0)
    assert "data-flag" in row


@pytest.mark.django_db
def test_the_unit_list_shows_where_each_unit_is_stationed(personas, as_client):
    from umbrella.places.models import Place

    place = Place.objects.get(code="PL")
    fields = {"code": "ST-1", "name": "Stationed", "kind": "battalion", "station": place}
    stationed = eum.create_unit(actor=personas.recipient, fields=fields)
    html = body(as_client("recipient").get("/eum/units/"))
    assert "Stationed at" in html
    assert re.search(rf">{stationed.code}</a>.*?<td>{re.escape(str(place))}</td>", html, re.S)


@pytest.mark.django_db
def test_an_inventory_that_missed_many_serials_is_listed_without_a_parameter_per_serial(personas, as_client):
    """A closed inventory over a million serials may keep hundreds of thousands not sighted, past SQLite's limit of
        variables in one statement: the page reads the ids from the inventory's row in the database (and so does the API,
    tests/test_eum_api.py)."""
    serials = registered(personas, 3)
    inventory = eum.record_inventory(
        actor=personas.recipient,
        fields={"conducted_on": TODAY(), "method": "physical", "holder": serials[0].holder},
        sightings=[{"item_type": serials[0].item_type.code, "serial": serials[0].serial}],
    )
    # As if it had missed a hundred thousand more, most of them no longer (or never) in the registry.
    Inventory.objects.filter(pk=inventory.pk).update(not_sighted=[*inventory.not_sighted, *range(10**7, 10**7 + 100_000)])
    with CaptureQueriesContext(connection) as queries:
        page = body(as_client("recipient").get(f"/eum/inventories/{inventory.pk}/"))
    assert all(f'<tr data-serial="{serial.serial}">' in page for serial in serials[1:])
    assert max(len(query["sql"]) for query in queries.captured_queries) < 20_000


@pytest.mark.django_db
def test_showing_the_expected_serials_keeps_the_day_place_method_and_evidence_typed_before(personas, as_client):
    serials = registered(personas, 2)
    unit = serials[0].holder
    client = as_client("recipient")
    typed = {
        "conducted_on": (TODAY() - dt.timedelta(days=1)).isoformat(),
        "place": "UA-30",
        "method": "photo",
        "evidence_reference": "PHOTO-77",
    }
    response = client.post("/eum/inventories/new/", {**typed, "holder": unit.pk, "note": "secret", "show_expected": "1"})
    assert response.status_code == 302 and "secret" not in response["Location"]
    form = body(client.get(response["Location"]))
    assert f'value="{typed["conducted_on"]}"' in form and 'value="UA-30"' in form and 'value="PHOTO-77"' in form
    assert 'value="photo" selected' in form
    assert all(serial.serial in form for serial in serials)

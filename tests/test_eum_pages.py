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
from umbrella.eum.models import Inventory, LossReport, Serial, SerialStatus, Transfer, TransferState, Unit
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
    if persona == "anonymous":
        assert response.status_code == 302
        return
    assert response.status_code == 200
    assert delinquent_card(body(response)) == delinquency(personas[persona]).delinquent.count
    expected = {"donor_editor": 3, "donor_viewer": 3, "second_donor": 2, "observer": 0}.get(persona, 5)
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
    assert client.get("/eum/rules/").status_code == 200
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

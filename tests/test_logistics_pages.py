"""The pages the logistics flow is watched on: the hub board (load per hub and week against capacity, over-capacity
weeks flagged), what is coming (late consignments first, flagged everywhere) and the handover certificate (with
the inclusion proof of the handover's ledger entry, which the test checks by recomputing the root itself)."""

import datetime as dt
import hashlib
import json
import re
from collections import Counter
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import umbrella
from tests import factories
from tests.test_logistics import allocated, hand_over, receive, ship, step
from umbrella.core import checkpoints, ledger_tree, proofs
from umbrella.core.access import Actor
from umbrella.core.models import ChangeRecord
from umbrella.core.testing import PERSONA_NAMES
from umbrella.logistics import services as logistics
from umbrella.logistics.models import NOT_YET_ARRIVED, Consignment, Leg
from umbrella.logistics.queries import handover_entry, hub_board, iso_week
from umbrella.orgs.services import issue_token
from umbrella.places.models import PlaceKind

CONSIGNMENT_READERS = ("donor_editor", "donor_viewer", "coordinator", "hq_admin", "auditor", "recipient")
OUTSIDERS = ("second_donor", "observer", "anonymous")


def api_client(personas, name: str) -> Client:
    actor = personas[name]
    _, secret = issue_token(actor=Actor.system("tests"), user_id=actor.user.pk, organization_id=actor.organization.pk, name="t")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture
def places(personas):
    return factories.hub_and_city(personas)


@pytest.fixture
def hubs(personas, places):
    """Two small hubs: one counted in consignments (1 a week), one in tonnes (2 a week)."""
    small = factories.place(
        personas,
        "PL-SMALL",
        PlaceKind.LOGISTICS_HUB,
        places["poland"],
        hub_capacity=1,
        hub_capacity_unit="consignments",
        hub_handling_days=1,
    )
    heavy = factories.place(
        personas,
        "PL-HEAVY",
        PlaceKind.LOGISTICS_HUB,
        places["poland"],
        hub_capacity=2,
        hub_capacity_unit="tonnes",
        hub_handling_days=3,
    )
    return {**places, "small": small, "heavy": heavy}


def through(personas, hubs, allocation, hub, arrives: dt.date, *, weight=None, reference=None) -> Consignment:
    """A consignment of one unit from PL-RZE through `hub` (planned to arrive there on `arrives`) to Lviv."""
    fields = {"reference": reference or f"CN-{hub.code}-{Consignment.objects.count() + 1}"}
    if weight is not None:
        fields["weight_kg"] = Decimal(weight)
    return logistics.create_consignment(
        actor=personas.donor_editor,
        fields=fields,
        lines=[{"allocation": allocation.pk, "quantity": 1}],
        legs=[
            {"from_place": hubs["hub"], "to_place": hub, "mode": "road", "planned_arrival": arrives},
            {"from_place": hub, "to_place": hubs["lviv"], "mode": "rail", "planned_arrival": arrives + dt.timedelta(days=3)},
        ],
    )


def planned_weeks_from_the_database(hub) -> Counter:
    """Consignments planned to arrive at the hub, per ISO week, read straight from the legs."""
    legs = Leg.objects.filter(to_place=hub).exclude(consignment__state="cancelled")
    return Counter(iso_week(day) for day in legs.values_list("planned_arrival", flat=True))


@pytest.mark.django_db
def test_the_hub_board_flags_a_week_over_capacity_in_the_chart_and_the_table(personas, hubs, as_client):
    world = allocated(personas, quantity=8)
    allocation = world["allocation"]
    monday, wednesday, next_week = dt.date(2026, 6, 1), dt.date(2026, 6, 3), dt.date(2026, 6, 10)
    first = through(personas, hubs, allocation, hubs["small"], monday)
    through(personas, hubs, allocation, hubs["small"], wednesday)
    through(personas, hubs, allocation, hubs["small"], next_week)
    through(personas, hubs, allocation, hubs["heavy"], monday, weight="1200")
    through(personas, hubs, allocation, hubs["heavy"], wednesday, weight="1500")
    through(personas, hubs, allocation, hubs["heavy"], next_week)  # no weight: counts as no tonnes, and is said so
    # The first is late reaching the hub: planned in week 23, it arrived in week 24.
    step(personas, first, "dispatch", on=dt.date(2026, 5, 30))
    step(personas, first, "reach_hub", on=dt.date(2026, 6, 9))

    board = {load.hub.code: load for load in hub_board(personas.coordinator).hubs}
    small, heavy = board["PL-SMALL"], board["PL-HEAVY"]
    expected = planned_weeks_from_the_database(hubs["small"])
    assert {week.week: week.planned for week in small.weeks} == expected == {"2026-W23": 2, "2026-W24": 1}
    assert {week.week: week.actual for week in small.weeks} == {"2026-W23": 0, "2026-W24": 1}
    assert [(week.week, week.planned_over, week.actual_over) for week in small.weeks] == [
        ("2026-W23", True, False),
        ("2026-W24", False, False),
    ]
    assert {week.week: week.planned for week in heavy.weeks} == {"2026-W23": Decimal("2.7"), "2026-W24": 0}
    assert [week.over for week in heavy.weeks] == [True, False] and heavy.unweighed == 1
    # The hub consignments leave from (PL-RZE) is loaded in the week they leave it: only the first has left.
    assert [(week.week, week.planned, week.actual) for week in board["PL-RZE"].weeks] == [("2026-W22", 0, 1)]

    for persona in ("coordinator", "recipient", "donor_editor", "auditor"):
        page = as_client(persona).get("/consignments/hubs/")
        assert page.status_code == 200
        body = page.content.decode()
        section = body.split('data-hub="PL-SMALL"', 1)[1].split("</section>", 1)[0]
        chart, table = section.split("<table", 1)
        assert chart.count('class="bar flagged"') == 1 and "▲ over capacity" in chart  # W23 planned, named in words
        assert "2026-W23 planned: 2" in chart and "capacity 1 consignments per week" in chart
        over_row = table.split('data-week="2026-W23"', 1)[1].split("</tr>", 1)[0]
        assert 'class="flagged"' in over_row and "over capacity: planned" in over_row
        assert "data-planned>2<" in over_row and "data-actual>0<" in over_row
        calm_row = table.split('data-week="2026-W24"', 1)[1].split("</tr>", 1)[0]
        assert "data-flag" not in calm_row
        assert "1 consignment through this hub has no weight" in body
    # Donor B sees none of Donor A's consignments: the hubs show no load for it, and the board says it is partial.
    outsider = as_client("second_donor").get("/consignments/hubs/").content.decode()
    assert 'data-week="2026-W23"' not in outsider and "not released to you" in outsider

    api = api_client(personas, "coordinator").get("/api/v1/consignments/hub-board", {"since": "2026-06-08"}).json()
    small_api = next(hub for hub in api["hubs"] if hub["hub"] == "PL-SMALL")
    assert small_api["weeks"] == [
        {
            "week": "2026-W24",
            "starts": "2026-06-08",
            "planned": "1",
            "actual": "1",
            "capacity": 1,
            "planned_over": False,
            "actual_over": False,
        }
    ]
    printed = StringIO()
    call_command("hub-board", "--json", "--user", "cora", stdout=printed)
    assert json.loads(printed.getvalue()) == hub_board(personas.coordinator).as_dict()
    refused = as_client("coordinator").get("/consignments/hubs/", {"since": "2026-06-08", "until": "2026-06-01"})
    assert refused.status_code == 400 and "before its start" in refused.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "persona, url", [("coordinator", "/consignments/hubs/"), ("recipient", "/consignments/coming/"), ("recipient", "/")]
)
def test_the_hub_board_and_what_is_coming_ask_the_same_queries_however_many_consignments(personas, hubs, as_client, persona, url):
    world = allocated(personas, quantity=12)
    through(personas, hubs, world["allocation"], hubs["small"], dt.date(2026, 6, 1))

    def queries() -> int:
        with CaptureQueriesContext(connection) as page:
            assert as_client(persona).get(url).status_code == 200
        return len(page)

    queries()  # warms what a process reads once
    few = queries()
    for week in range(10):
        through(
            personas,
            hubs,
            world["allocation"],
            hubs["heavy" if week % 2 else "small"],
            dt.date(2026, 6, 1) + dt.timedelta(weeks=week),
        )
    assert queries() == few


@pytest.mark.django_db
def test_what_is_coming_puts_late_consignments_first_and_flags_them_everywhere(personas, places, as_client):
    world = allocated(personas, quantity=10)
    allocation = world["allocation"]
    on_time = ship(personas, places, allocation, 1, eta=dt.date(2099, 1, 1))
    latest = ship(personas, places, allocation, 2, eta=dt.date(2021, 5, 1))
    oldest = ship(personas, places, allocation, 3, eta=dt.date(2020, 1, 1))
    arrived = ship(personas, places, allocation, 4, eta=dt.date(2019, 1, 1))
    step(personas, arrived, "arrive", who="recipient")
    today = timezone.localdate()
    late_in_the_database = {
        c.reference
        for c in Consignment.objects.filter(state__in=NOT_YET_ARRIVED)
        if max(leg.planned_arrival for leg in c.legs.all()) < today
    }
    assert late_in_the_database == {latest.reference, oldest.reference}
    expected = [oldest.reference, latest.reference, on_time.reference]  # late ones first, the longest overdue first

    def order(html: str) -> list[str]:
        return re.findall(r'data-consignment="([^"]+)"', html)

    for persona in CONSIGNMENT_READERS:
        page = as_client(persona).get("/consignments/coming/")
        assert page.status_code == 200
        body = page.content.decode()
        assert order(body) == expected, persona
        assert arrived.reference not in body
        for reference in expected:
            row = body.split(f'data-consignment="{reference}"', 1)[1].split("</tr>", 1)[0]
            assert ("data-flag>late<" in row) == (reference in late_in_the_database)
        assert "PL-RZE → UA-46-LWO (road)" in body and f"3 × {world['item'].name}" in body
    for persona in OUTSIDERS:
        assert order(as_client(persona).get("/consignments/coming/").content.decode()) == []

    home = as_client("recipient").get("/").content.decode()
    section = home.split('id="consignments-coming"', 1)[1].split("</section>", 1)[0]
    assert order(section) == expected
    assert section.count("data-flag>late<") == 2 and 'data-late-count="2"' in section
    assert "What is coming" in home  # in the recipient's navigation
    api = api_client(personas, "recipient").get("/api/v1/consignments/coming").json()["items"]
    assert [(c["reference"], c["late"]) for c in api] == [
        (oldest.reference, True),
        (latest.reference, True),
        (on_time.reference, False),
    ]
    assert api[0]["current_leg"]["to_place"] == "UA-46-LWO" and api[0]["carries"] == [f"3 × {world['item'].name}"]
    # Late everywhere it appears: its own page too.
    assert "data-flag>late<" in as_client("recipient").get(oldest.get_absolute_url()).content.decode()
    assert "data-flag>late<" not in as_client("recipient").get(on_time.get_absolute_url()).content.decode()


def root_from_path(leaf: bytes, index: int, size: int, path: list[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2, written out here rather than taken from Umbrella: the root a path leads to."""
    node = lambda left, right: hashlib.sha256(b"\x01" + left + right).digest()  # noqa: E731
    fn, sn, result = index, size - 1, leaf
    for sibling in path:
        assert sn > 0, "the path is longer than the tree is deep"
        if fn & 1 or fn == sn:
            result = node(sibling, result)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    assert sn == 0, "the path is shorter than the tree is deep"
    return result


@pytest.mark.django_db
def test_the_handover_certificate_shows_the_handover_and_an_inclusion_proof_that_verifies(personas, places, as_client):
    world = allocated(personas, quantity=3, sensitive=True)
    consignment = ship(personas, places, world["allocation"], 3, serials=["HX-1", "HX-2", "HX-3"])
    step(personas, consignment, "arrive", who="recipient")
    receive(personas, consignment)
    url = f"/consignments/{consignment.pk}/certificate/"
    assert as_client("recipient").get(url).status_code == 409  # not handed over yet: no certificate
    hand_over(personas, places, consignment)
    factories.item_type(personas)  # entries after the handover: the proof is against the latest tree, not its own
    entry = handover_entry(consignment, personas.recipient)
    public_key = checkpoints.public_key_hex(checkpoints.load_or_create_key(settings.DATA_DIR))

    for persona in CONSIGNMENT_READERS:
        page = as_client(persona).get(url)
        assert page.status_code == 200, persona
        body = page.content.decode()
        handed_over_on = timezone.localdate().isoformat()
        for shown in ("A-1234 air-defence battalion", "battalion logistics officer", handed_over_on, "UA-46-LWO", "Donor A"):
            assert shown in body, (persona, shown)
        assert "HX-1, HX-2, HX-3" in body and "data-handed-over>3<" in body
        assert f'data-sequence="{entry.sequence}"' in body and entry.leaf_hash in body
        assert "data-proof-checks" in body
        tree_size = int(re.search(r"data-tree-size>(\d+)<", body)[1])
        assert tree_size == ChangeRecord.objects.count() > entry.sequence
        path = [bytes.fromhex(node) for node in re.findall(r"data-path-node>([0-9a-f]{64})<", body)]
        root = re.search(r"data-root-hash>([0-9a-f]{64})<", body)[1]
        assert root_from_path(bytes.fromhex(entry.leaf_hash), entry.sequence - 1, tree_size, path).hex() == root
        assert root == ledger_tree.root(tree_size).hex()
        document = json.loads(re.search(r"data-proof-document>(.*?)</pre>", body, re.S)[1].replace("&quot;", '"'))
        assert proofs.check_inclusion(document, public_key)
        tampered = {**document, "leaf_hash": hashlib.sha256(b"another entry").hexdigest()}
        assert not proofs.check_inclusion(tampered, public_key)
    for persona in OUTSIDERS:
        assert as_client(persona).get(url).status_code == 404, persona

    detail = as_client("recipient").get(consignment.get_absolute_url()).content.decode()
    assert url in detail  # the consignment's page links its certificate
    css = (Path(umbrella.__file__).parent / "web" / "static" / "web" / "umbrella.css").read_text()
    printed = css.split("@media print", 1)[1]
    assert "size: A4" in printed and ".top" in printed and ".foot" in printed  # no header, navigation or footer

    api = api_client(personas, "auditor").get(f"/api/v1/consignments/{consignment.pk}/certificate").json()
    assert api["entry_sequence"] == entry.sequence and proofs.check_inclusion(api["proof"], public_key)
    assert api["consignment"]["handover_unit"] == "A-1234 air-defence battalion"


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONA_NAMES)
def test_every_persona_opens_the_hub_board_and_what_is_coming_and_sees_only_its_consignments(personas, hubs, as_client, persona):
    world = allocated(personas, quantity=2)
    late = ship(personas, hubs, world["allocation"], 1, eta=dt.date(2020, 1, 1))
    client = as_client(persona)
    coming_page = client.get("/consignments/coming/")
    board = client.get("/consignments/hubs/")
    assert (coming_page.status_code, board.status_code) == (200, 200)
    sees = persona in CONSIGNMENT_READERS
    assert (late.reference in coming_page.content.decode()) == sees
    assert ('data-week="' in board.content.decode()) == sees  # its one departure loads PL-RZE for those who see it


def pledge_page_figures(page: str) -> dict[str, str]:
    return dict(re.findall(r"<dt>(Quantity (?:shipped|received|handed over))</dt><dd>([^<]*)</dd>", page))


@pytest.mark.django_db
def test_the_pledge_page_says_how_much_of_the_pledge_was_shipped_received_and_handed_over(personas, places, as_client):
    # A pledge of 14 ships 6 and 8; the first arrives: its page reads "6 of 14 received", not a bare 6.
    allocation = allocated(personas)["allocation"]
    first = ship(personas, places, allocation, 6)
    ship(personas, places, allocation, 8)
    step(personas, first, "arrive", who="recipient")
    receive(personas, first)
    page = as_client("donor_editor").get(allocation.pledge.get_absolute_url()).content.decode()
    assert pledge_page_figures(page) == {
        "Quantity shipped": "14 of 14",
        "Quantity received": "6 of 14",
        "Quantity handed over": "0 of 14",
    }
    hand_over(personas, places, first)
    page = as_client("donor_editor").get(allocation.pledge.get_absolute_url()).content.decode()
    assert pledge_page_figures(page)["Quantity handed over"] == "6 of 14"


@pytest.mark.django_db
def test_the_hub_board_shows_a_week_without_load_between_two_with_load_and_the_range_asked_for(personas, hubs):
    world = allocated(personas, quantity=2)
    through(personas, hubs, world["allocation"], hubs["small"], dt.date(2026, 6, 1))
    through(personas, hubs, world["allocation"], hubs["small"], dt.date(2026, 6, 17))

    def weeks(**dates):
        board = {load.hub.code: load for load in hub_board(personas.coordinator, **dates).hubs}
        return [(week.week, week.planned) for week in board["PL-SMALL"].weeks]

    assert weeks() == [("2026-W23", 1), ("2026-W24", 0), ("2026-W25", 1)]
    ahead = weeks(since=dt.date(2026, 6, 1), until=dt.date(2026, 7, 1))
    assert [week for week, _ in ahead] == ["2026-W23", "2026-W24", "2026-W25", "2026-W26", "2026-W27"]
    assert sum(planned for _, planned in ahead) == 2

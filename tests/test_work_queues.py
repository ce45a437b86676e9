"""What waits for each person on the dashboard: counts equal to the database's, each linked to the list showing
exactly those records; overdue requirements and pledges flagged on lists and dashboards, and nothing else."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from tests import factories
from tests.test_logistics import allocated, receive, ship, step
from umbrella.core.access import Actor
from umbrella.logistics import services as logistics
from umbrella.logistics.models import Consignment
from umbrella.matching import services as matching
from umbrella.matching.models import MatchRun, RunState
from umbrella.needs import services as needs
from umbrella.needs.models import ListState, Requirement, RequirementList
from umbrella.orgs.services import issue_token
from umbrella.pledges import services as pledges
from umbrella.pledges.models import Pledge, PledgeState

FUTURE = dt.date(2099, 1, 1)
PAST = dt.date(2020, 1, 1)


def pledge(personas, available_from, *steps, donor="donor_editor", item=None):
    item = item or factories.item_type(personas)
    created = pledges.create_pledge(
        actor=personas[donor],
        sources=[factories.source()],
        fields={"item_type": item, "quantity": 4, "available_from": available_from, "marking": "coordination"},
    )
    return factories.advance(personas, created, *steps)


def approved_list(personas, *needed_by):
    item = factories.item_type(personas)
    lst = factories.requirement_list(personas, requirements=0)
    for date in needed_by:
        needs.create_requirement(
            actor=personas.recipient, list_id=lst.pk, fields=factories.requirement_fields(item, needed_by=date)
        )
    lst.refresh_from_db()
    lst = needs.propose_requirement_list(actor=personas.recipient, list_id=lst.pk, expected_version=lst.version)
    return needs.approve_requirement_list(actor=personas.coordinator, list_id=lst.pk, expected_version=lst.version), item


@pytest.fixture
def day(personas):
    """A working day: pledges in every early state, lists to propose and approve, a run to review, a consignment
    arrived and one received."""
    lst, item = approved_list(personas, PAST, FUTURE)
    pledge(personas, FUTURE, "offer", "accept", item=item)
    matching.run_match(actor=personas.coordinator)
    pledge(personas, FUTURE)
    pledge(personas, PAST)
    pledge(personas, FUTURE, "offer")
    pledge(personas, FUTURE, "offer", donor="second_donor")
    pledge(personas, PAST, "offer", "accept", "allocate")
    places = factories.hub_and_city(personas)
    for received in (False, True):
        shipped = ship(personas, places, allocated(personas, quantity=2)["allocation"], 2)
        onward = {"from_place": places["lviv"], "to_place": places["poland"], "mode": "road"}  # two legs: counted once
        logistics.add_leg(actor=personas.donor_editor, consignment_id=shipped.pk, expected_version=shipped.version, fields=onward)
        arrived = step(personas, shipped, "arrive", "recipient")
        if received:
            receive(personas, arrived)
    factories.requirement_list(personas)
    proposed = factories.requirement_list(personas)
    needs.propose_requirement_list(actor=personas.recipient, list_id=proposed.pk, expected_version=proposed.version)
    return lst


def queue(page: str) -> dict[str, tuple[int, str]]:
    """Each queue entry's label → (count, link)."""
    section = page.split('id="work-queue"', 1)[1].split("</ul>", 1)[0]
    entries = re.findall(r'<a href="([^"]+)" data-queue-count="(\d+)">\d+</a> ([^<]+)', section)
    return {label.strip(): (int(count), url.replace("&amp;", "&")) for url, count, label in entries}


def listed(client, url: str) -> set[str]:
    """The records a list page shows, by their links."""
    return set(re.findall(r'<tr[^>]*><td[^>]*><a href="([^"]+)">', client.get(url).content.decode()))


def rows_by_link(page: str) -> dict[str, str]:
    """Each table row of a page by the record it links to first."""
    return {url: row for url, row in re.findall(r'<tr[^>]*>\s*<td[^>]*><a href="([^"]+)">(.*?)</tr>', page, re.S)}


def waiting_pledges(actor, **lookups):
    return Pledge.objects.visible_to(actor).filter(**lookups)


@pytest.mark.parametrize(
    "persona, expected",
    [
        (
            "coordinator",
            {
                "Pledges to accept": lambda a: waiting_pledges(a, state=PledgeState.OFFERED),
                "Requirement lists to approve": lambda a: RequirementList.objects.visible_to(a).filter(state=ListState.PROPOSED),
                "Match runs to review": lambda a: MatchRun.objects.visible_to(a).filter(state=RunState.PROPOSED),
                "Pledges past their availability date, not shipped": lambda a: waiting_pledges(
                    a, state__in=["announced", "offered", "accepted", "allocated"], available_from__lt=timezone.localdate()
                ),
            },
        ),
        (
            "donor_editor",
            {
                "Announced pledges to offer": lambda a: waiting_pledges(a, state=PledgeState.ANNOUNCED, owner=a.organization),
                "Allocated pledges to ship": lambda a: waiting_pledges(a, state=PledgeState.ALLOCATED, owner=a.organization),
                "Your pledges past their availability date, not shipped": lambda a: waiting_pledges(
                    a,
                    owner=a.organization,
                    state__in=["announced", "offered", "accepted", "allocated"],
                    available_from__lt=timezone.localdate(),
                ),
            },
        ),
        (
            "recipient",
            {
                "Requirement lists to propose": lambda a: RequirementList.objects.visible_to(a).filter(state=ListState.DRAFT),
                "Consignments arrived, to receive": lambda a: Consignment.objects.visible_to(a).filter(state="arrived"),
                "Consignments received, to hand over": lambda a: Consignment.objects.visible_to(a).filter(state="received"),
            },
        ),
    ],
)
def test_each_queue_counts_what_the_database_holds_and_links_to_exactly_those_records(
    as_client, personas, day, persona, expected
):
    client = as_client(persona)
    shown = queue(client.get("/").content.decode())
    actor = personas[persona]
    for label, records in expected.items():
        records_waiting = list(records(actor))
        assert records_waiting, label  # the day gives every queue something to do
        count, url = shown[label]
        assert count == len(records_waiting), label
        assert listed(client, url) == {r.get_absolute_url() for r in records_waiting}, label


def test_a_viewer_and_an_auditor_have_no_steps_waiting(as_client, day):
    for persona in ("donor_viewer", "auditor"):
        labels = queue(as_client(persona).get("/").content.decode())
        assert not {"Pledges to accept", "Announced pledges to offer"} & set(labels), persona


def test_overdue_requirements_are_flagged_on_the_dashboard_and_the_list_and_no_others(as_client, personas, day):
    overdue = Requirement.objects.get(requirement_list=day, needed_by=PAST)
    on_time = Requirement.objects.get(requirement_list=day, needed_by=FUTURE)
    client = as_client("coordinator")
    count, url = queue(client.get("/").content.decode())[
        f"Requirements past their needed-by date, not fully covered ({day.title})"
    ]
    assert count == 1
    assert listed(client, url) == {overdue.get_absolute_url()}
    page = client.get(day.get_absolute_url()).content.decode()
    rows = rows_by_link(page)
    assert "data-flag" in rows[overdue.get_absolute_url()] and "data-flag" not in rows[on_time.get_absolute_url()]
    donor_page = as_client("donor_editor").get("/").content.decode()
    open_rows = rows_by_link(donor_page)
    assert "data-flag" in open_rows[overdue.get_absolute_url()] and "data-flag" not in open_rows[on_time.get_absolute_url()]
    for persona in ("coordinator", "recipient"):
        dashboard = as_client(persona).get("/").content.decode()
        gaps = rows_by_link(dashboard[dashboard.index('id="unmet-heading"') :])
        assert "data-flag" in gaps[overdue.get_absolute_url()] and "data-flag" not in gaps[on_time.get_absolute_url()], persona


def test_overdue_pledges_are_flagged_on_the_list_and_no_others(as_client, personas, day):
    client = as_client("coordinator")
    page = client.get("/pledges/").content.decode()
    flagged = {url for url, row in rows_by_link(page).items() if "data-flag" in row}
    today = timezone.localdate()
    visible = Pledge.objects.visible_to(personas.coordinator)
    expected = {
        p.get_absolute_url()
        for p in visible
        if p.state in ("announced", "offered", "accepted", "allocated") and p.available_from < today
    }
    assert flagged == expected and expected
    assert any(p.state == "delivered" and p.available_from < today for p in visible)  # past-dated, but delivered: not flagged


def test_the_api_filters_overdue_pledges_as_the_page_does(as_client, personas, day):
    _, secret = issue_token(
        actor=Actor.system("tests"),
        user_id=personas.coordinator.user.pk,
        organization_id=personas.coordinator.organization.pk,
        name="queues",
    )
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    pages = as_client("coordinator")
    for value, page_value in (("true", "True"), ("false", "False")):
        from_api = {
            f"/pledges/{item['id']}/" for item in api.get(f"/api/v1/pledges?overdue={value}&page_size=100").json()["items"]
        }
        assert from_api == listed(pages, f"/pledges/?overdue={page_value}") and from_api, value
    overdue = waiting_pledges(
        personas.coordinator, state__in=["announced", "offered", "accepted", "allocated"], available_from__lt=timezone.localdate()
    )
    assert {item["id"] for item in api.get("/api/v1/pledges?overdue=true").json()["items"]} == {p.pk for p in overdue}


@pytest.mark.parametrize("persona", ["donor_viewer", "auditor"])
def test_a_viewer_reads_its_counts_as_information_not_as_work_waiting_for_it(as_client, personas, day, persona):
    page = as_client(persona).get("/").content.decode()
    heading = re.search(r'<h2 id="queue-heading">([^<]+)</h2>', page).group(1)
    assert heading == "For your information" and "What waits for you" not in page
    assert "an editor of your organization acts on them" in page
    overdue = waiting_pledges(
        personas[persona], state__in=["announced", "offered", "accepted", "allocated"], available_from__lt=timezone.localdate()
    )
    if persona == "donor_viewer":
        overdue = overdue.filter(owner=personas[persona].organization)
    counts = [count for count, _ in queue(page).values()]
    assert overdue.count() in counts and overdue.exists()


@pytest.mark.parametrize("persona", ["donor_editor", "coordinator", "recipient"])
def test_whoever_acts_on_its_queue_reads_it_as_what_waits_for_it(as_client, day, persona):
    page = as_client(persona).get("/").content.decode()
    assert re.search(r'<h2 id="queue-heading">([^<]+)</h2>', page).group(1) == "What waits for you"
    assert "For your information" not in page

"""Each persona's dashboard: what it shows, what it must not show, and queries that do not grow with rows."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import factories
from umbrella.matching import services as matching
from umbrella.needs import services as needs
from umbrella.pledges import services as pledges


def accepted(personas, donor, item, quantity, marking="coordination"):
    pledge = pledges.create_pledge(actor=personas[donor], sources=[factories.source()], fields={
        "item_type": item, "quantity": quantity, "available_from": dt.date(2026, 3, 1), "marking": marking})
    pledge = pledges.advance_pledge(actor=personas[donor], pledge_id=pledge.pk, step="offer", expected_version=pledge.version)
    return pledges.advance_pledge(actor=personas.coordinator, pledge_id=pledge.pk, step="accept", expected_version=pledge.version)


def build(personas, requirements=2, offers=2):
    item = factories.item_type(personas, name="Dashboard howitzer")
    lst = needs.create_requirement_list(actor=personas.recipient, fields={"series": f"D-{requirements}", "title": "Dash", "marking": "participants"})
    for _ in range(requirements):
        needs.create_requirement(actor=personas.recipient, list_id=lst.pk, fields=factories.requirement_fields(item, quantity=6, priority=1))
    lst.refresh_from_db()
    lst = needs.propose_requirement_list(actor=personas.recipient, list_id=lst.pk, expected_version=lst.version)
    needs.approve_requirement_list(actor=personas.coordinator, list_id=lst.pk, expected_version=lst.version)
    for _ in range(offers):
        accepted(personas, "donor_editor", item, 2)
    run = matching.run_match(actor=personas.coordinator)
    matching.approve_proposals(actor=personas.coordinator, run_id=run.pk, expected_version=run.version)
    matching.run_match(actor=personas.coordinator)


@pytest.mark.parametrize("persona, shows, hides", [
    ("coordinator", ["Coverage of the approved requirements", "Most urgent requirements not fully met", "Pledged, allocated and delivered value by donor", "Recent changes", "<svg"],
     ["Open needs you could still offer against", "What is coming, and when"]),
    ("donor_editor", ["Your pledges", "Open needs you could still offer against", "Dashboard howitzer"],
     ["Coverage of the approved requirements", "What is coming, and when"]),
    ("recipient", ["What is coming, and when", "Coverage of the approved requirements", "<svg"],
     ["Your pledges", "Open needs you could still offer against"]),
    ("observer", ["Pledged, allocated and delivered value by donor"], ["Coverage of the approved requirements", "Recent changes"]),
    ("anonymous", ["You see what is released to the public"], ["Coverage of the approved requirements", "Donor A"]),
])
def test_each_persona_sees_its_own_dashboard(as_client, personas, persona, shows, hides):
    build(personas)
    page = as_client(persona).get("/").content.decode()
    for text in shows:
        assert text in page, text
    for text in hides:
        assert text not in page, text


def test_a_donor_sees_what_is_still_missing_and_not_other_donors_figures(as_client, personas):
    build(personas, requirements=2, offers=2)  # 12 needed, 4 allocated
    accepted(personas, "second_donor", factories.item_type(personas, name="Second donor's secret"), 3)
    page = as_client("donor_editor").get("/").content.decode()
    assert "Second donor" not in page and "Still missing" in page


def test_dashboard_queries_do_not_grow_with_the_rows(as_client, personas):
    build(personas, requirements=2, offers=2)
    counts = {}
    for persona in ("coordinator", "donor_editor", "recipient", "observer"):
        client = as_client(persona)
        with CaptureQueriesContext(connection) as small:
            client.get("/")
        counts[persona] = len(small)
    build(personas, requirements=12, offers=10)
    for persona, before in counts.items():
        client = as_client(persona)
        with CaptureQueriesContext(connection) as large:
            client.get("/")
        assert len(large) == before, persona

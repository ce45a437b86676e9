"""Each persona's dashboard: what it shows, what it must not show, and queries that do not grow with rows."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import factories
from umbrella.matching import services as matching
from umbrella.matching.models import Allocation, AllocationState, ProposedAllocation
from umbrella.needs import services as needs
from umbrella.pledges import services as pledges


def accepted(personas, donor, item, quantity, marking="coordination"):
    pledge = pledges.create_pledge(
        actor=personas[donor],
        sources=[factories.source()],
        fields={"item_type": item, "quantity": quantity, "available_from": dt.date(2026, 3, 1), "marking": marking},
    )
    pledge = pledges.advance_pledge(actor=personas[donor], pledge_id=pledge.pk, step="offer", expected_version=pledge.version)
    return pledges.advance_pledge(actor=personas.coordinator, pledge_id=pledge.pk, step="accept", expected_version=pledge.version)


def build(personas, requirements=2, offers=2):
    item = factories.item_type(personas, name="Dashboard howitzer")
    lst = needs.create_requirement_list(
        actor=personas.recipient, fields={"series": f"D-{requirements}", "title": "Dash", "marking": "participants"}
    )
    for _ in range(requirements):
        needs.create_requirement(
            actor=personas.recipient, list_id=lst.pk, fields=factories.requirement_fields(item, quantity=6, priority=1)
        )
    lst.refresh_from_db()
    lst = needs.propose_requirement_list(actor=personas.recipient, list_id=lst.pk, expected_version=lst.version)
    needs.approve_requirement_list(actor=personas.coordinator, list_id=lst.pk, expected_version=lst.version)
    for _ in range(offers):
        accepted(personas, "donor_editor", item, 2)
    run = matching.run_match(actor=personas.coordinator)
    matching.approve_proposals(actor=personas.coordinator, run_id=run.pk, expected_version=run.version)
    matching.run_match(actor=personas.coordinator)


@pytest.mark.parametrize(
    "persona, shows, hides",
    [
        (
            "coordinator",
            [
                "Coverage of the approved requirements",
                "Most urgent requirements not fully met",
                "Pledged, allocated and delivered value by donor",
                "Recent changes",
                "<svg",
            ],
            ["Open needs you could still offer against", "What is coming, and when"],
        ),
        (
            "donor_editor",
            ["Your pledges", "Open needs you could still offer against", "Dashboard howitzer"],
            ["Coverage of the approved requirements", "What is coming, and when"],
        ),
        (
            "recipient",
            ["What is coming, and when", "Coverage of the approved requirements", "<svg"],
            ["Your pledges", "Open needs you could still offer against"],
        ),
        (
            "observer",
            ["Pledged, allocated and delivered value by donor"],
            ["Coverage of the approved requirements", "Recent changes"],
        ),
        ("anonymous", ["You see what is released to the public"], ["Coverage of the approved requirements", "Donor A"]),
    ],
)
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


def _priority_row(page: str, priority: int) -> dict[str, str]:
    """The figures of one priority in the dashboard's coverage table, as the reader sees them."""
    row = re.search(rf'<tr data-priority="{priority}">(.*?)</tr>', page, re.S).group(1)
    return {
        name: re.search(rf"data-{name}>([^<]*)<", row).group(1).strip()
        for name in ("met", "partly-met", "unmet", "covered", "percent")
    }


@pytest.mark.parametrize("persona", ["coordinator", "recipient"])
def test_coverage_counts_approved_allocations_not_the_runs_proposals(as_client, personas, persona):
    """Approving one of a run's two proposals decides one; the dashboard counts that one, and a later run
    awaiting review is shown only as what it would add."""
    howitzer, radar = (
        factories.item_type(personas, name="Coverage howitzer"),
        factories.item_type(personas, name="Coverage radar"),
    )
    lst = needs.create_requirement_list(
        actor=personas.recipient, fields={"series": "COV", "title": "Coverage", "marking": "participants"}
    )
    for item in (howitzer, radar):
        needs.create_requirement(
            actor=personas.recipient, list_id=lst.pk, fields=factories.requirement_fields(item, quantity=6, priority=1)
        )
    lst.refresh_from_db()
    lst = needs.propose_requirement_list(actor=personas.recipient, list_id=lst.pk, expected_version=lst.version)
    needs.approve_requirement_list(actor=personas.coordinator, list_id=lst.pk, expected_version=lst.version)
    accepted(personas, "donor_editor", howitzer, 2)
    accepted(personas, "donor_editor", radar, 2)
    run = matching.run_match(actor=personas.coordinator)
    proposals = list(ProposedAllocation.objects.visible_to(personas.coordinator).filter(run=run).order_by("id"))
    assert len({p.requirement_id for p in proposals}) == 2  # the run meets both partly
    approved = matching.approve_proposals(
        actor=personas.coordinator, run_id=run.pk, expected_version=run.version, proposal_ids=[proposals[0].pk]
    )
    decided = sum(a.covers for a in Allocation.objects.visible_to(personas.coordinator).filter(state=AllocationState.ACTIVE))
    assert decided == sum(a.covers for a in approved) == 2

    page = as_client(persona).get("/").content.decode()
    assert _priority_row(page, 1) == {"met": "0", "partly-met": "1", "unmet": "1", "covered": "2", "percent": "16.7 %"}
    unmet = page[page.index('id="unmet-heading"') :]
    assert re.search(
        rf"#{proposals[1].requirement_id} P1[^<]*</a>(?: <strong[^>]*>overdue</strong>)?</td><td class=\"num\">0 / 6<", unmet
    )  # proposed, declined: not covered
    assert "awaits review" not in page

    proposed = matching.run_match(actor=personas.coordinator)  # proposes the declined supply again; nothing is decided yet
    page = as_client(persona).get("/").content.decode()
    assert _priority_row(page, 1)["covered"] == "2" and _priority_row(page, 1)["percent"] == "16.7 %"
    assert "awaits review: approved in full, it would add" in page and f"If run {proposed.pk} were approved" in page
    assert "a requirement counts once, however many units it asks for" in page and "Coverage points weigh the same shares" in page


def test_value_by_donor_says_when_it_adds_up_only_what_the_reader_may_see(as_client, personas):
    build(personas)  # coordination-marked pledges: the observer may not see them
    partial = "some pledges are not released to you, so these totals are not the whole"
    assert partial in as_client("observer").get("/").content.decode()
    assert partial not in as_client("coordinator").get("/").content.decode()


def test_a_requirement_the_latest_run_plans_in_full_says_so_where_a_reason_would_be(as_client, personas):
    mortar = factories.item_type(personas, name="Planned mortar")
    lst = needs.create_requirement_list(
        actor=personas.recipient, fields={"series": "PLN", "title": "Planned", "marking": "participants"}
    )
    requirement = needs.create_requirement(
        actor=personas.recipient, list_id=lst.pk, fields=factories.requirement_fields(mortar, quantity=3, priority=1)
    )
    lst.refresh_from_db()
    lst = needs.propose_requirement_list(actor=personas.recipient, list_id=lst.pk, expected_version=lst.version)
    needs.approve_requirement_list(actor=personas.coordinator, list_id=lst.pk, expected_version=lst.version)
    accepted(personas, "donor_editor", mortar, 3)
    matching.run_match(actor=personas.coordinator)  # plans all 3; nothing approved yet
    page = as_client("coordinator").get("/").content.decode()
    unmet = page[page.index('id="unmet-heading"') :]
    row = unmet.split(f"#{requirement.pk} P1", 1)[1].split("</tr>", 1)[0]
    assert re.search(r"<td class=\"num\">0 / 3</td>\s*<td class=\"num\">3</td>", row)
    assert "The latest run plans all of it; not yet approved." in row

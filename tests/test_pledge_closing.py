"""Withdrawing or expiring a pledge: a reason is required and kept, and the pledge's allocations are released
in the same transaction, so its requirements are matched again; the pledge's history tells it, with its sources."""

import datetime as dt
import re

import pytest

from tests import factories
from umbrella.core.errors import Invalid, InvalidTransition
from umbrella.core.models import ChangeRecord
from umbrella.core.verify import verify
from umbrella.matching import services as matching
from umbrella.matching.models import Allocation, AllocationState, ProposedAllocation
from umbrella.needs import services as needs
from umbrella.pledges import services as pledges
from umbrella.pledges.models import REASON_MAX_LENGTH, Pledge, PledgeState
from umbrella.pledges.queries import pledge_history

CLOSER = {"withdraw": "donor_editor", "expire": "coordinator"}
CLOSED = {"withdraw": PledgeState.WITHDRAWN, "expire": PledgeState.EXPIRED}


def accepted_pledge(personas, item, quantity):
    pledge = pledges.create_pledge(
        actor=personas.donor_editor,
        fields={"item_type": item, "quantity": quantity, "available_from": dt.date(2026, 3, 1), "marking": "coordination"},
        sources=[factories.source()],
    )
    return factories.advance(personas, pledge, "offer", "accept")


@pytest.fixture
def allocated(personas):
    """Two requirements of 5 × A on the approved list, both allocated from one pledge of 10 × A."""
    item = factories.item_type(personas)
    lst = needs.create_requirement_list(
        actor=personas.recipient, fields={"series": "W-1", "title": "Closing", "marking": "participants"}
    )
    requirements = [
        needs.create_requirement(actor=personas.recipient, list_id=lst.pk, fields=factories.requirement_fields(item, quantity=5))
        for _ in range(2)
    ]
    lst.refresh_from_db()
    lst = needs.propose_requirement_list(actor=personas.recipient, list_id=lst.pk, expected_version=lst.version)
    needs.approve_requirement_list(actor=personas.coordinator, list_id=lst.pk, expected_version=lst.version)
    pledge = accepted_pledge(personas, item, 10)
    run = matching.run_match(actor=personas.coordinator)
    matching.approve_proposals(actor=personas.coordinator, run_id=run.pk, expected_version=run.version)
    pledge.refresh_from_db()
    assert (
        pledge.state == PledgeState.ALLOCATED
        and Allocation.objects.filter(pledge=pledge, state=AllocationState.ACTIVE).count() == 2
    )
    return {"item": item, "requirements": requirements, "pledge": pledge}


def close(personas, pledge, step, reason="Needed at home"):
    return pledges.advance_pledge(
        actor=personas[CLOSER[step]], pledge_id=pledge.pk, step=step, expected_version=pledge.version, reason=reason
    )


def active_cover(requirement) -> int:
    return sum(a.covers for a in Allocation.objects.filter(requirement=requirement, state=AllocationState.ACTIVE))


@pytest.mark.django_db
@pytest.mark.parametrize("step", ["withdraw", "expire"])
def test_closing_an_allocated_pledge_releases_its_allocations_and_its_needs_are_matched_again(
    personas, allocated, step, as_client
):
    pledge, requirements = allocated["pledge"], allocated["requirements"]
    entries = ChangeRecord.objects.count()
    closed = close(personas, pledge, step, reason="  Stocks needed at home  ")
    assert closed.state == CLOSED[step] and closed.closing_reason == "Stocks needed at home"
    released = Allocation.objects.filter(pledge=pledge).order_by("id")
    assert [a.state for a in released] == [AllocationState.RELEASED] * 2
    assert [a.release_reason for a in released] == ["Stocks needed at home"] * 2
    assert [active_cover(r) for r in requirements] == [0, 0]
    new = list(ChangeRecord.objects.filter(sequence__gt=entries).order_by("sequence"))
    assert [(e.entity, e.action) for e in new] == [
        ("pledges.pledge", step),
        ("matching.allocation", "release"),
        ("matching.allocation", "release"),
    ]
    assert new[0].after["closing_reason"] == "Stocks needed at home" and new[0].after["state"] == CLOSED[step]
    assert {e.after["release_reason"] for e in new[1:]} == {"Stocks needed at home"}
    assert "Stocks needed at home" in as_client("recipient").get(f"/matching/allocations/{released[0].pk}/").content.decode()
    replacement = accepted_pledge(personas, allocated["item"], 10)
    run = matching.run_match(actor=personas.coordinator)
    assert run.statistics["kept_allocations"] == 0
    proposed = {(p.pledge_id, p.requirement_id): p.covers for p in ProposedAllocation.objects.filter(run=run)}
    assert proposed == {(replacement.pk, requirements[0].pk): 5, (replacement.pk, requirements[1].pk): 5}
    assert verify().ok


@pytest.mark.django_db
@pytest.mark.parametrize("step", ["withdraw", "expire"])
@pytest.mark.parametrize("reason", [None, "", "   ", "x" * (REASON_MAX_LENGTH + 1)])
def test_closing_without_a_usable_reason_is_refused_and_changes_nothing(personas, allocated, step, reason):
    pledge = allocated["pledge"]
    entries = ChangeRecord.objects.count()
    with pytest.raises(Invalid) as refused:
        close(personas, pledge, step, reason=reason)
    assert set(refused.value.field_errors) == {"reason"}
    assert Pledge.objects.get(pk=pledge.pk).state == PledgeState.ALLOCATED
    assert Allocation.objects.filter(pledge=pledge, state=AllocationState.ACTIVE).count() == 2
    assert ChangeRecord.objects.count() == entries


@pytest.mark.django_db
def test_only_closing_steps_take_a_reason(personas):
    pledge = factories.pledge(personas)
    with pytest.raises(Invalid) as refused:
        pledges.advance_pledge(
            actor=personas.donor_editor, pledge_id=pledge.pk, step="offer", expected_version=pledge.version, reason="Because"
        )
    assert set(refused.value.field_errors) == {"reason"}


@pytest.mark.django_db
@pytest.mark.parametrize("step", ["withdraw", "expire"])
def test_a_shipped_pledge_is_not_closed_and_its_allocations_stay(personas, allocated, step):
    pledge = factories.advance(personas, allocated["pledge"], "ship")
    with pytest.raises(InvalidTransition):
        close(personas, pledge, step)
    assert Allocation.objects.filter(pledge=pledge, state=AllocationState.ACTIVE).count() == 2


@pytest.mark.django_db
def test_closing_a_pledge_never_allocated_releases_nothing(personas):
    pledge = factories.advance(personas, factories.pledge(personas), "offer")
    entries = ChangeRecord.objects.count()
    close(personas, pledge, "withdraw")
    assert ChangeRecord.objects.count() == entries + 1


def history_lines(page: str) -> list[str]:
    """The history of a record's page, one line of text per entry (without its time), newest first."""
    section = page.split('id="history-heading"', 1)[1].split("</section>", 1)[0]
    lines = [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in re.findall(r"<li[^>]*>(.*?)</li>", section, re.S)]
    return [line.split(" · ", 1)[1] for line in lines]


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["coordinator", "auditor", "recipient", "donor_editor", "donor_viewer"])
def test_a_pledges_history_shows_its_reason_its_sources_and_the_release_of_its_allocations(
    personas, allocated, as_client, persona
):
    pledge = allocated["pledge"]
    first_source = pledge.sources.get()
    pledges.add_pledge_source(
        actor=personas.donor_editor, pledge_id=pledge.pk, fields=factories.source(url="https://example.org/more")
    )
    pledges.delete_pledge_source(actor=personas.coordinator, source_id=first_source.pk, reason="Dead link")
    close(personas, Pledge.objects.get(pk=pledge.pk), "withdraw", reason="Stocks needed at home")
    readable = ChangeRecord.objects.visible_to(personas[persona])
    lines = history_lines(as_client(persona).get(pledge.get_absolute_url()).content.decode())
    assert any(
        line.endswith("— reason for withdrawal, expiry or closing short: “Stocks needed at home”; state allocated → withdrawn")
        for line in lines
    ), lines
    source = f"Pledge source #{first_source.pk} ({first_source.url}):"
    assert f"{source} changed by cora (Test Headquarters) — reason for removal: “Dead link”" in lines
    assert any(line.startswith(source) and " deleted by " in line for line in lines)
    assert any("(https://example.org/more): created by alice (Donor A)" in line for line in lines)
    releases = [line for line in lines if line.startswith("Allocation #") and " released by " in line]
    allocations = Allocation.objects.filter(pledge=pledge)
    expected = readable.filter(entity="matching.allocation", action="release", entity_id__in=[str(a.pk) for a in allocations])
    assert len(releases) == expected.count()
    assert all(line.endswith("— reason for release: “Stocks needed at home”; state active → released") for line in releases)
    if persona in ("coordinator", "auditor", "recipient"):
        assert len(releases) == 2
    assert len(lines) == pledge_history(pledge, personas[persona]).count()

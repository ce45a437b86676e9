"""Match runs against the database: reasons, approval into allocations, re-runs, pages and the CLI."""

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction

from tests import factories
from umbrella.catalog import services as catalog
from umbrella.core.errors import Conflict, Forbidden, InvalidTransition, NotFound
from umbrella.core.ledger import seal
from umbrella.core.models import ChangeRecord
from umbrella.core.verify import verify
from umbrella.matching import reasons as why
from umbrella.matching import services
from umbrella.matching.models import (
    Allocation,
    AllocationState,
    MatchRun,
    OfferOutcome,
    ProposedAllocation,
    RequirementOutcome,
    RunState,
)
from umbrella.needs import services as needs
from umbrella.pledges import services as pledges
from umbrella.pledges.models import Pledge, PledgeState


def accepted_pledge(personas, item, quantity, *, donor="donor_editor", available=dt.date(2026, 3, 1), destinations=""):
    fields = {
        "item_type": item,
        "quantity": quantity,
        "available_from": available,
        "marking": "coordination",
        "allowed_destinations": destinations,
    }
    pledge = pledges.create_pledge(actor=personas[donor], fields=fields, sources=[factories.source()])
    pledge = pledges.advance_pledge(actor=personas[donor], pledge_id=pledge.pk, step="offer", expected_version=pledge.version)
    return pledges.advance_pledge(actor=personas.coordinator, pledge_id=pledge.pk, step="accept", expected_version=pledge.version)


@pytest.fixture
def market(personas):
    """R1 P1 10×A and R2 P3 10×A at Lviv; R3 P2 4×B at Odesa; R4 P2 6×C at Lviv, which D substitutes 1:2.
    Pledges: 12×A; 3×A only for Kyiv; 3×D."""
    a, b, c, d = (factories.item_type(personas) for _ in range(4))
    catalog.create_compatibility(
        actor=personas.coordinator, fields={"source": d, "kind": "substitutes-for", "target": c, "ratio": Decimal(2)}
    )
    lst = needs.create_requirement_list(
        actor=personas.recipient, fields={"series": "M-1", "title": "Matching test", "marking": "participants"}
    )
    specs = [(a, 10, 1, "Lviv"), (a, 10, 3, "Lviv"), (b, 4, 2, "Odesa"), (c, 6, 2, "Lviv")]
    reqs = [
        needs.create_requirement(
            actor=personas.recipient,
            list_id=lst.pk,
            fields=factories.requirement_fields(item, quantity=q, priority=p, destination=dest),
        )
        for item, q, p, dest in specs
    ]
    lst.refresh_from_db()
    lst = needs.propose_requirement_list(actor=personas.recipient, list_id=lst.pk, expected_version=lst.version)
    lst = needs.approve_requirement_list(actor=personas.coordinator, list_id=lst.pk, expected_version=lst.version)
    offers = [
        accepted_pledge(personas, a, 12),
        accepted_pledge(personas, a, 3, donor="second_donor", destinations="Kyiv"),
        accepted_pledge(personas, d, 3),
    ]
    return {"list": lst, "requirements": reqs, "pledges": offers}


def outcome(run, requirement):
    return RequirementOutcome.objects.get(run=run, requirement=requirement)


def test_a_run_proposes_the_optimum_says_why_and_changes_no_live_record(personas, market):
    before = {p.pk: p.version for p in Pledge.objects.all()}
    entries = ChangeRecord.objects.count()
    run = services.run_match(actor=personas.coordinator, list_id=market["list"].pk)
    r1, r2, r3, r4 = market["requirements"]
    p_a, p_kyiv, p_d = market["pledges"]
    proposed = {(p.pledge_id, p.requirement_id): p.covers for p in ProposedAllocation.objects.filter(run=run)}
    assert proposed == {(p_a.pk, r1.pk): Decimal(10), (p_a.pk, r2.pk): Decimal(2), (p_d.pk, r4.pk): Decimal(6)}
    assert (outcome(run, r1).status, outcome(run, r1).reason) == (why.MET, "")
    assert (outcome(run, r2).status, outcome(run, r2).reason, outcome(run, r2).named) == (
        why.PARTLY_MET,
        why.TAKEN_BY_HIGHER_PRIORITY,
        [r1.pk],
    )
    assert (outcome(run, r3).status, outcome(run, r3).reason) == (why.UNMET, why.NO_COMPATIBLE_OFFER)
    assert (outcome(run, r4).status, outcome(run, r4).covered) == (why.MET, Decimal(6))  # three D standing in for two C each
    assert OfferOutcome.objects.get(run=run, pledge=p_kyiv).reason == why.EXCLUDED_BY_DONOR_CONDITION
    assert {p.pk: p.version for p in Pledge.objects.all()} == before
    assert ChangeRecord.objects.count() == entries + 1  # the run itself
    assert run.suggestions[0]["item_type"] == r3.item_type.code and run.suggestions[0]["quantity"] == 4


def test_the_results_digest_seals_what_the_run_stored_and_ledger_verify_checks_it(personas, market):
    run = services.run_match(actor=personas.coordinator)
    assert seal(run.sealed_results()) == run.results_digest and verify().ok
    ProposedAllocation.objects.filter(run=run).update(quantity=Decimal("1.000"))
    report = verify()
    assert [problem.message for problem in report.problems] == [
        f"row matching.matchrun {run.pk}: its proposals or reasons no longer match the digest recorded with the run."
    ]


def test_approving_all_makes_allocations_and_allocates_the_pledges(personas, market):
    run = services.run_match(actor=personas.coordinator)
    allocations = services.approve_proposals(actor=personas.coordinator, run_id=run.pk, expected_version=run.version)
    assert len(allocations) == 3
    assert Pledge.objects.get(pk=market["pledges"][0].pk).state == PledgeState.ALLOCATED
    assert Pledge.objects.get(pk=market["pledges"][1].pk).state == PledgeState.ACCEPTED
    run.refresh_from_db()
    assert run.state == RunState.DECIDED and run.decided_by == personas.coordinator.user
    actions = list(ChangeRecord.objects.filter(entity="matching.allocation").values_list("action", flat=True))
    assert actions == ["create"] * 3


def test_approving_a_selection_declines_the_rest(personas, market):
    run = services.run_match(actor=personas.coordinator)
    chosen = ProposedAllocation.objects.filter(run=run, requirement=market["requirements"][0]).get()
    services.approve_proposals(actor=personas.coordinator, run_id=run.pk, expected_version=run.version, proposal_ids=[chosen.pk])
    assert list(Allocation.objects.values_list("proposal_id", flat=True)) == [chosen.pk]
    run.refresh_from_db()
    with pytest.raises(InvalidTransition):
        services.approve_proposals(actor=personas.coordinator, run_id=run.pk, expected_version=run.version)


@pytest.mark.parametrize("persona, error", [("auditor", Forbidden), ("recipient", Forbidden), ("donor_editor", NotFound)])
def test_only_coordination_approvers_approve(personas, market, persona, error):
    run = services.run_match(actor=personas.coordinator)
    with pytest.raises(error):
        services.approve_proposals(actor=personas[persona], run_id=run.pk, expected_version=run.version)
    assert not Allocation.objects.exists()


@pytest.mark.parametrize("persona", ["donor_editor", "recipient", "auditor", "observer"])
def test_only_coordination_staff_run_matches(personas, market, persona):
    with pytest.raises(Forbidden):
        services.run_match(actor=personas[persona])


def test_a_stale_run_cannot_over_commit_and_writes_nothing(personas, market):
    first = services.run_match(actor=personas.coordinator)
    # A second run is computed on the same state; the first is superseded by it, so approve the second, then
    # re-open the first as if two staff had reviewed in parallel.
    second = services.run_match(actor=personas.coordinator)
    services.approve_proposals(actor=personas.coordinator, run_id=second.pk, expected_version=second.version)
    entries = ChangeRecord.objects.count()
    with transaction.atomic():
        MatchRun.objects.filter(pk=first.pk).update(state=RunState.PROPOSED)
    first.refresh_from_db()
    with pytest.raises(Conflict, match="over-commit"):
        services.approve_proposals(actor=personas.coordinator, run_id=first.pk, expected_version=first.version)
    assert ChangeRecord.objects.count() == entries and Allocation.objects.count() == 3


def test_a_new_run_supersedes_a_proposed_one(personas, market):
    first = services.run_match(actor=personas.coordinator)
    services.run_match(actor=personas.coordinator)
    first.refresh_from_db()
    assert first.state == RunState.SUPERSEDED


def test_a_rerun_keeps_approved_allocations_and_counts_them(personas, market):
    run = services.run_match(actor=personas.coordinator)
    services.approve_proposals(actor=personas.coordinator, run_id=run.pk, expected_version=run.version)
    again = services.run_match(actor=personas.coordinator)
    assert not ProposedAllocation.objects.filter(run=again).exists()
    r1, r2 = market["requirements"][:2]
    assert outcome(again, r1).status == why.MET and outcome(again, r2).covered == Decimal(2)
    assert outcome(again, r2).reason == why.TAKEN_BY_HIGHER_PRIORITY
    assert again.objective == pytest.approx(run.objective)  # coverage points: the kept allocations count in full


def test_a_replan_replaces_the_allocations_it_plans_again(personas, market):
    run = services.run_match(actor=personas.coordinator)
    services.approve_proposals(actor=personas.coordinator, run_id=run.pk, expected_version=run.version)
    more = accepted_pledge(personas, market["requirements"][1].item_type, 8)
    replan = services.run_match(actor=personas.coordinator, keep_approved=False)
    services.approve_proposals(actor=personas.coordinator, run_id=replan.pk, expected_version=replan.version)
    active = Allocation.objects.filter(state=AllocationState.ACTIVE)
    covered = {r.pk: sum(a.covers for a in active.filter(requirement=r)) for r in market["requirements"]}
    r1, r2, r3, r4 = market["requirements"]
    assert covered == {r1.pk: 10, r2.pk: 10, r3.pk: 0, r4.pk: 6}
    assert Allocation.objects.filter(state=AllocationState.RELEASED).count() == 3
    assert Pledge.objects.get(pk=more.pk).state == PledgeState.ALLOCATED


def test_releasing_the_last_allocation_returns_the_pledge_to_accepted(personas, market):
    run = services.run_match(actor=personas.coordinator)
    services.approve_proposals(actor=personas.coordinator, run_id=run.pk, expected_version=run.version)
    d_allocation = Allocation.objects.get(pledge=market["pledges"][2])
    services.release_allocation(actor=personas.coordinator, allocation_id=d_allocation.pk, expected_version=d_allocation.version)
    assert Pledge.objects.get(pk=market["pledges"][2].pk).state == PledgeState.ACCEPTED
    with pytest.raises(InvalidTransition):
        services.release_allocation(
            actor=personas.coordinator, allocation_id=d_allocation.pk, expected_version=d_allocation.version + 1
        )


def test_pledges_are_allocated_only_through_a_match_run(personas, market):
    pledge = market["pledges"][0]
    with pytest.raises(InvalidTransition, match="match run"):
        pledges.advance_pledge(actor=personas.coordinator, pledge_id=pledge.pk, step="allocate", expected_version=pledge.version)


def test_the_run_page_shows_coverage_reasons_and_approves(as_client, personas, market):
    client = as_client("coordinator")
    response = client.post("/matching/new/", {"keep_approved": "on", "diversity_points": "0"})
    run = MatchRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/matching/{run.pk}/"
    page = client.get(f"/matching/{run.pk}/").content.decode()
    assert "No accepted pledge offers this item or a substitute for it." in page
    assert "went to higher-priority requirements" in page and "Coverage by capability area and priority" in page
    assert "their donors&#x27; conditions exclude this destination" in page
    response = client.post(f"/matching/{run.pk}/approve/", {"version": run.version, "all": "1"})
    assert response.status_code == 200 and "Approve 3 proposals of 3 and decline the other 0?" in response.content.decode()
    assert not Allocation.objects.exists()
    response = client.post(f"/matching/{run.pk}/approve/", {"version": run.version, "all": "1", "confirmed": "1"})
    assert response.status_code == 302 and Allocation.objects.count() == 3
    exported = client.get("/matching/?format=csv").content.decode("utf-8-sig").splitlines()
    assert exported[0].startswith("id,run,state,requirement_list") and exported[1].startswith(f"{run.pk},{run.pk},decided,M-1 r1")


def test_a_donor_sees_the_allocations_of_its_own_pledges_but_no_run(as_client, personas, market):
    run = services.run_match(actor=personas.coordinator)
    services.approve_proposals(actor=personas.coordinator, run_id=run.pk, expected_version=run.version)
    second = as_client("second_donor")
    assert second.get(f"/matching/{run.pk}/").status_code == 404
    assert "No allocations yet." in second.get("/matching/allocations/").content.decode()  # its pledge was excluded
    donor = as_client("donor_editor")
    listing = donor.get("/matching/allocations/").content.decode()
    assert "3 records" in listing
    exported = donor.get("/matching/allocations/?format=csv").content.decode("utf-8-sig").splitlines()
    assert (
        len(exported) == 4
        and exported[0].startswith("id,allocation,donor,pledge")
        and all(",XDA," in row for row in exported[1:])
    )
    allocation = Allocation.objects.filter(pledge__owner__code="XDA").first()
    assert donor.get(f"/matching/allocations/{allocation.pk}/").status_code == 200
    assert as_client("second_donor").get(f"/matching/allocations/{allocation.pk}/").status_code == 404


def test_umbrella_match_prints_a_summary_with_a_reason_for_every_unmet_requirement(personas, market):
    out = io.StringIO()
    call_command("match", "--user", personas.coordinator.user.username, "--json", "--no-progress", stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["state"] == "proposed" and summary["unmet"]
    assert all(item["reason"] and item["reason_text"] for item in summary["unmet"])
    assert summary["objective"] >= summary["greedy_objective"] - 1e-9
    out = io.StringIO()
    call_command("match", "--user", personas.coordinator.user.username, "--approve", "--no-progress", stdout=out)
    assert "— decided" in out.getvalue() and Allocation.objects.count() == 3


def approve_revision(personas, source, edit):
    """Start a revision of `source`, let `edit(rows by predecessor id)` change the draft, propose and approve it."""
    draft = needs.start_new_revision(actor=personas.recipient, list_id=source.pk)
    edit({row.carried_from_id: row for row in draft.requirements.all()})
    draft.refresh_from_db()
    draft = needs.propose_requirement_list(actor=personas.recipient, list_id=draft.pk, expected_version=draft.version)
    return needs.approve_requirement_list(actor=personas.coordinator, list_id=draft.pk, expected_version=draft.version)


def test_allocations_follow_their_rows_into_an_approved_revision_and_are_not_counted_twice(personas, market, as_client):
    run = services.run_match(actor=personas.coordinator, list_id=market["list"].pk)
    services.approve_proposals(actor=personas.coordinator, run_id=run.pk, expected_version=run.version)
    r1, r2, r3, r4 = market["requirements"]

    def edit(rows):  # the recipient drops R4 and asks for 15 of R2 instead of 10
        needs.delete_requirement(actor=personas.recipient, requirement_id=rows[r4.pk].pk, expected_version=rows[r4.pk].version)
        needs.update_requirement(
            actor=personas.recipient,
            requirement_id=rows[r2.pk].pk,
            expected_version=rows[r2.pk].version,
            changes={"quantity": 15},
        )

    carries_before = ChangeRecord.objects.filter(action="carry").count()
    revision = approve_revision(personas, market["list"], edit)
    successor = {row.carried_from_id: row for row in revision.requirements.all()}
    active = Allocation.objects.filter(state=AllocationState.ACTIVE)
    assert {(a.requirement_id, a.covers) for a in active} == {
        (successor[r1.pk].pk, Decimal(10)),
        (successor[r2.pk].pk, Decimal(2)),
        (r4.pk, Decimal(6)),
    }  # R4 was dropped: it stays
    assert ChangeRecord.objects.filter(action="carry").count() == carries_before + 2
    again = services.run_match(actor=personas.coordinator, list_id=revision.pk)
    assert outcome(again, successor[r1.pk]).status == why.MET  # covered by the carried allocation, not proposed anew
    assert outcome(again, successor[r2.pk]).covered == Decimal(2)  # the 12 A are all given: nothing more to propose
    assert not ProposedAllocation.objects.filter(run=again, requirement=successor[r1.pk]).exists()
    assert verify().ok
    page = as_client("recipient").get(successor[r1.pk].get_absolute_url()).content.decode()
    assert "Copied from" in page and f"#{r1.pk}" in page


def test_a_revision_whose_approval_fails_carries_nothing(personas, market):
    run = services.run_match(actor=personas.coordinator, list_id=market["list"].pk)
    services.approve_proposals(actor=personas.coordinator, run_id=run.pk, expected_version=run.version)
    draft = needs.start_new_revision(actor=personas.recipient, list_id=market["list"].pk)
    draft = needs.propose_requirement_list(actor=personas.recipient, list_id=draft.pk, expected_version=draft.version)
    with pytest.raises(Forbidden):
        needs.approve_requirement_list(actor=personas.recipient, list_id=draft.pk, expected_version=draft.version)
    assert set(Allocation.objects.values_list("requirement__requirement_list", flat=True)) == {market["list"].pk}

"""Every write of the matching capability: storing a run, approving its proposals, releasing allocations.

Coordination staff (editor role) run matches; coordination staff with the approver role approve proposals,
which become allocations and move their pledges to `allocated`. A run reads the live data but changes none
of it; only approval does, and it checks every capacity again first, since pledges and allocations may have
changed since the run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from umbrella.core import services
from umbrella.core.access import Actor, OrganizationKind, Role, get_visible, require_role
from umbrella.core.errors import Conflict, Invalid, InvalidTransition
from umbrella.core.ledger import seal
from umbrella.matching.market import COMPLETE_PACKAGE_POINTS, Policy
from umbrella.matching.models import (
    Allocation,
    AllocationState,
    MatchRun,
    OfferOutcome,
    PackageOutcome,
    ProposedAllocation,
    RequirementOutcome,
    RunState,
    sealed_results,
)
from umbrella.matching.solving import (
    Progress,
    compute,
    latest_approved_list,
    offer_outcomes_of,
    package_outcomes_of,
    proposals_of,
    requirement_outcomes_of,
    suggestions_of,
)
from umbrella.needs.models import ListState, Requirement, RequirementList
from umbrella.pledges import services as pledges
from umbrella.pledges.models import Pledge, PledgeState

COORDINATORS = frozenset({OrganizationKind.COORDINATOR})
CLOSED_STATES = frozenset({PledgeState.WITHDRAWN, PledgeState.EXPIRED})


def require_match_runner(actor: Actor) -> None:
    require_role(actor, Role.EDITOR, kinds=COORDINATORS, doing=_("Running a match"))


def require_allocation_approver(actor: Actor) -> None:
    require_role(actor, Role.APPROVER, kinds=COORDINATORS, doing=_("Approving allocations"))


def run_match(
    *,
    actor: Actor,
    list_id: int | None = None,
    keep_approved: bool = True,
    diversity_points: float = 0.0,
    complete_packages: bool = False,
    progress: Progress = lambda stage: None,
) -> MatchRun:
    """Solve the approved list against the accepted pledges and store the run, its proposals and reasons, and
    the packages it leaves incomplete. With `complete_packages` the objective also values deliveries that put
    munitions beside the launchers that fire them (docs/matching.md)."""
    require_match_runner(actor)
    requirement_list = (
        latest_approved_list(actor) if list_id is None else get_visible(RequirementList.objects.all(), actor, pk=list_id)
    )
    if requirement_list.state != ListState.APPROVED:
        raise InvalidTransition(_("Matches run against an approved requirement list."), state=requirement_list.state)
    if not float(diversity_points) >= 0:
        raise Invalid({"diversity_points": [_("Diversity points must not be negative.")]})
    policy = Policy(
        diversity_points=float(diversity_points), package_points=COMPLETE_PACKAGE_POINTS if complete_packages else 0.0
    )
    computed = compute(
        actor=actor, requirement_list=requirement_list, keep_approved=keep_approved, policy=policy, progress=progress
    )
    proposals, requirement_outcomes, offer_outcomes, package_outcomes = (
        proposals_of(computed, policy),
        requirement_outcomes_of(computed),
        offer_outcomes_of(computed),
        package_outcomes_of(computed),
    )
    progress("saving the run")
    statistics = {
        **computed.solution.stats,
        "seconds": computed.seconds,
        "requirements": computed.rows.market.requirements,
        "pledges": computed.rows.market.offers,
        "candidate_arcs": int(len(computed.candidates.offer)),
        "kept_allocations": len(computed.rows.kept),
        "replanned_allocations": len(computed.rows.replanned),
        "objective": round(computed.solution.objective, 6),
        "greedy_objective": round(computed.greedy_objective, 6),
        "greedy_points": round(computed.greedy_points, 6),
        "points_available": round(float(computed.points.sum()), 6),
        "package_points": policy.package_points,
        "incomplete_packages": len(package_outcomes),
    }
    with services.atomic():
        for stale in MatchRun.objects.select_for_update().filter(requirement_list=requirement_list, state=RunState.PROPOSED):
            services.update_record(
                actor=actor, obj=stale, changes={"state": RunState.SUPERSEDED}, expected_version=stale.version, action="supersede"
            )
        run = services.create_record(
            actor=actor,
            obj=MatchRun(
                owner=services.acting_organization(actor),
                requirement_list=requirement_list,
                keep_approved=keep_approved,
                diversity_points=policy.diversity_points,
                complete_packages=bool(complete_packages),
                objective=round(computed.coverage_points, 6),
                statistics=statistics,
                suggestions=suggestions_of(computed),
                results_digest=seal(sealed_results(proposals, requirement_outcomes, offer_outcomes, package_outcomes)),
            ),
        )
        ProposedAllocation.objects.bulk_create(
            [
                ProposedAllocation(
                    run=run,
                    pledge_id=p["pledge"],
                    requirement_id=p["requirement"],
                    quantity=Decimal(p["quantity"]),
                    covers=Decimal(p["covers"]),
                    substitute=p["substitute"],
                    late_days=p["late_days"],
                    points=p["points"],
                )
                for p in proposals
            ],
            batch_size=1000,
        )
        RequirementOutcome.objects.bulk_create(
            [
                RequirementOutcome(
                    run=run,
                    requirement_id=o["requirement"],
                    covered=Decimal(o["covered"]),
                    status=o["status"],
                    reason=o["reason"],
                    late_days=o["late_days"],
                    named=o["named"],
                )
                for o in requirement_outcomes
            ],
            batch_size=1000,
        )
        OfferOutcome.objects.bulk_create(
            [
                OfferOutcome(
                    run=run,
                    pledge_id=o["pledge"],
                    left_over=Decimal(o["left_over"]),
                    reason=o["reason"],
                    late_days=o["late_days"],
                )
                for o in offer_outcomes
            ],
            batch_size=1000,
        )
        PackageOutcome.objects.bulk_create(
            [
                PackageOutcome(
                    run=run,
                    destination_id=o["destination"],
                    item_type_id=o["item_type"],
                    missing=o["missing"],
                    reason=o["reason"],
                    late_days=o["late_days"],
                    named=o["named"],
                    held=Decimal(o["held"]),
                    proposed=Decimal(o["proposed"]),
                )
                for o in package_outcomes
            ],
            batch_size=1000,
        )
        return run


def _release(actor: Actor, allocation: Allocation, reason: str = "") -> None:
    services.update_record(
        actor=actor,
        obj=allocation,
        changes={"state": AllocationState.RELEASED, "release_reason": reason},
        expected_version=allocation.version,
        action="release",
    )


def _capacity_problems(proposals: list[ProposedAllocation]) -> list[str]:
    """Whatever approving these would over-commit, given the allocations active now (all at once)."""
    pledge_ids = {p.pledge_id for p in proposals}
    requirement_ids = {p.requirement_id for p in proposals}
    given, covered = defaultdict(Decimal), defaultdict(Decimal)
    active = Allocation.objects.filter(state=AllocationState.ACTIVE)
    for pledge_id, quantity in active.filter(pledge_id__in=pledge_ids).values_list("pledge_id", "quantity"):
        given[pledge_id] += quantity
    for requirement_id, covers in active.filter(requirement_id__in=requirement_ids).values_list("requirement_id", "covers"):
        covered[requirement_id] += covers
    problems = []
    for p in proposals:
        given[p.pledge_id] += p.quantity
        covered[p.requirement_id] += p.covers
    for p in {p.pledge_id: p for p in proposals}.values():
        if p.pledge.state not in (PledgeState.ACCEPTED, PledgeState.ALLOCATED):
            problems.append(
                _("Pledge %(pledge)s is now %(state)s; it can no longer be allocated.")
                % {"pledge": p.pledge_id, "state": p.pledge.get_state_display()}
            )
        elif p.pledge.quantity is None:
            problems.append(_("Pledge %(pledge)s: its quantity is now undisclosed.") % {"pledge": p.pledge_id})
        elif given[p.pledge_id] > p.pledge.quantity:
            problems.append(
                _("Pledge %(pledge)s would be allocated %(given)s of %(quantity)s.")
                % {"pledge": p.pledge_id, "given": f"{given[p.pledge_id].normalize():f}", "quantity": p.pledge.quantity}
            )
    for p in {p.requirement_id: p for p in proposals}.values():
        if covered[p.requirement_id] > p.requirement.quantity:
            problems.append(
                _("Requirement %(requirement)s would be covered %(covered)s times of %(quantity)s.")
                % {
                    "requirement": p.requirement_id,
                    "covered": f"{covered[p.requirement_id].normalize():f}",
                    "quantity": p.requirement.quantity,
                }
            )
    return problems


def approve_proposals(
    *, actor: Actor, run_id: int, expected_version: int, proposal_ids: Iterable[int] | None = None
) -> list[Allocation]:
    """Turn the chosen proposals of a run (all when none are chosen) into allocations, in one transaction.
    Proposals not chosen are declined: the run is decided. A run that kept nothing fixed replaces the
    allocations it planned again (of pledges not yet shipped) for the pledges and requirements it touches."""
    with services.atomic():
        run = get_visible(MatchRun.objects.select_for_update(), actor, pk=run_id)
        require_allocation_approver(actor)
        services.check_version(run, expected_version)
        if run.state != RunState.PROPOSED:
            raise InvalidTransition(
                _("This run is %(state)s; only a proposed run is approved.") % {"state": run.get_state_display()}, state=run.state
            )
        chosen = ProposedAllocation.objects.filter(run=run).select_related("pledge", "requirement").order_by("id")
        if proposal_ids is not None:
            wanted = {int(i) for i in proposal_ids}
            chosen = chosen.filter(pk__in=wanted)
            if len(chosen) != len(wanted):
                raise Invalid({"proposals": [_("Some chosen proposals are not part of this run.")]})
            if not wanted:
                raise Invalid({"proposals": [_("Choose at least one proposal.")]})
        chosen = list(chosen)
        # Lock every pledge involved (not just one: .exists() would lock a single row) before checking capacities.
        list(Pledge.objects.select_for_update().filter(pk__in={p.pledge_id for p in chosen}).values_list("pk", flat=True))
        if not run.keep_approved:
            _release_replanned(actor, chosen)
        problems = _capacity_problems(chosen)
        if problems:
            raise Conflict(
                " ".join(
                    [
                        _(
                            "Approving would over-commit pledges or requirements (they changed since the run); "
                            "run the match again."
                        ),
                        *problems,
                    ]
                ),
                problems=problems,
            )
        allocations = [_allocate(actor, run, proposal) for proposal in chosen]
        services.update_record(
            actor=actor,
            obj=run,
            changes={"state": RunState.DECIDED, "decided_at": timezone.now(), "decided_by": actor.user},
            expected_version=run.version,
            action="decide",
        )
        return allocations


def _release_replanned(actor: Actor, chosen: list[ProposedAllocation]) -> None:
    touched = (
        Allocation.objects.select_for_update()
        .filter(state=AllocationState.ACTIVE, pledge__state=PledgeState.ALLOCATED)
        .exclude(pk__in=Allocation.objects.carried().values("pk"))
    )
    pledge_ids, requirement_ids = {p.pledge_id for p in chosen}, {p.requirement_id for p in chosen}
    for allocation in touched.filter(pledge_id__in=pledge_ids) | touched.filter(requirement_id__in=requirement_ids):
        _release(actor, allocation)
        _release_pledge_if_free(actor, allocation.pledge_id, keep=pledge_ids)


def _release_pledge_if_free(actor: Actor, pledge_id: int, keep: set[int] = frozenset()) -> None:
    if pledge_id in keep or Allocation.objects.filter(pledge_id=pledge_id, state=AllocationState.ACTIVE).exists():
        return
    if Pledge.objects.get(pk=pledge_id).state == PledgeState.ALLOCATED:
        pledges.record_allocation_step(actor=actor, pledge_id=pledge_id, step="release")


def _allocate(actor: Actor, run: MatchRun, proposal: ProposedAllocation) -> Allocation:
    allocation = services.create_record(
        actor=actor,
        obj=Allocation(
            owner=services.acting_organization(actor),
            pledge=proposal.pledge,
            requirement=proposal.requirement,
            quantity=proposal.quantity,
            covers=proposal.covers,
            proposal=proposal,
        ),
    )
    if Pledge.objects.get(pk=proposal.pledge_id).state == PledgeState.ACCEPTED:
        pledges.record_allocation_step(actor=actor, pledge_id=proposal.pledge_id, step="allocate")
    return allocation


def release_allocation(*, actor: Actor, allocation_id: int, expected_version: int) -> Allocation:
    """Undo an approved allocation of a pledge not yet shipped; the pledge goes back to accepted when it was its last."""
    with services.atomic():
        allocation = get_visible(Allocation.objects.select_for_update().select_related("pledge"), actor, pk=allocation_id)
        require_allocation_approver(actor)
        services.check_version(allocation, expected_version)
        if allocation.state != AllocationState.ACTIVE:
            raise InvalidTransition(_("This allocation is already released."), state=allocation.state)
        if allocation.pledge.state != PledgeState.ALLOCATED:
            raise InvalidTransition(
                _("The pledge is %(state)s; its allocation can no longer be released.")
                % {"state": allocation.pledge.get_state_display()},
                state=allocation.pledge.state,
            )
        # Lines of a planned consignment carry it already (umbrella.logistics): cancel that before releasing.
        if Allocation.objects.carried().filter(pk=allocation.pk).exists():
            raise InvalidTransition(
                _("A consignment is planned for this allocation; cancel it before releasing the allocation."),
                state=allocation.state,
            )
        _release(actor, allocation)
        _release_pledge_if_free(actor, allocation.pledge_id)
        return allocation


def release_closed_pledge(*, actor: Actor, pledge: Pledge, reason: str) -> list[Allocation]:
    """When a pledge is withdrawn or expires, its supply is gone: every active allocation of it is released (one
    ledger entry each, with the pledge's reason), so its requirements are open to the next match run again.
    Runs inside the step's transaction, which holds the pledge's lock; the donor withdrawing acts here too.
    Only a pledge not yet shipped closes this way, so no allocation of goods on their way or delivered is touched."""
    if pledge.state not in CLOSED_STATES:
        raise InvalidTransition(
            _("Only a withdrawn or expired pledge has its allocations released this way."), state=pledge.state
        )
    released = list(Allocation.objects.select_for_update().filter(pledge=pledge, state=AllocationState.ACTIVE).order_by("id"))
    for allocation in released:
        _release(actor, allocation, reason)
    return released


def shrink_to_delivered(*, actor: Actor, allocation: Allocation, delivered: Decimal, reason: str) -> Allocation:
    """When its pledge is closed short, an allocation keeps only what was delivered of it: its quantity drops to
    that, and what it covers drops in proportion; one delivering nothing is released. Runs inside the caller's
    transaction (umbrella.logistics), which holds the pledge's lock."""
    allocation = Allocation.objects.select_for_update().get(pk=allocation.pk)
    if allocation.state != AllocationState.ACTIVE or delivered >= allocation.quantity:
        return allocation
    if delivered <= 0:
        _release(actor, allocation, reason)
        return allocation
    covers = (allocation.covers * delivered / allocation.quantity).quantize(Decimal("0.001"))
    return services.update_record(
        actor=actor,
        obj=allocation,
        changes={"quantity": delivered, "covers": covers, "release_reason": reason},
        expected_version=allocation.version,
        action="close_short",
    )


def carry_allocations(*, actor: Actor, approved: RequirementList) -> list[Allocation]:
    """When a revision is approved, every active allocation of a row it carried over moves to the new row, so
    what was allocated stays counted against the list now in force. An allocation whose row the revision
    dropped stays where it was, on the superseded list, until it is released or a re-plan moves it."""
    successors = {
        row.carried_from_id: row for row in Requirement.objects.filter(requirement_list=approved, carried_from__isnull=False)
    }
    moving = (
        Allocation.objects.select_for_update().filter(state=AllocationState.ACTIVE, requirement_id__in=successors).order_by("id")
    )
    return [
        services.update_record(
            actor=actor,
            obj=allocation,
            changes={"requirement": successors[allocation.requirement_id]},
            expected_version=allocation.version,
            action="carry",
        )
        for allocation in moving
    ]

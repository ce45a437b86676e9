import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import ConfigDict

from umbrella.core.access import Actor, get_visible
from umbrella.core.api import Pagination, created, expected_version, with_etag
from umbrella.core.listing import filtered, params_of, sort_type
from umbrella.matching import services
from umbrella.matching.models import Allocation, AllocationState, MatchRun, RunState
from umbrella.matching.queries import ALLOCATIONS, RUNS, allocations, match_runs, proposals_for, summarize

router = Router()


class RunOut(Schema):
    id: int
    state: str
    requirement_list: int = Field(alias="requirement_list_id")
    keep_approved: bool
    diversity_points: float
    complete_packages: bool
    coverage_points: float = Field(alias="objective")
    created_at: dt.datetime
    version: int


class RunSummaryOut(Schema):
    """The run with what the page shows: coverage by priority and area, differences, reasons, suggestions."""

    id: int
    version: int
    summary: dict[str, Any]


class RunIn(Schema):
    model_config = ConfigDict(extra="forbid")
    keep_approved: bool = Field(
        True, description="Keep approved allocations fixed (false: plan again those of pledges not shipped)"
    )
    diversity_points: float = Field(
        0.0, ge=0, le=1e9, description="Points given up per extra type of crew-served system per area and destination"
    )
    complete_packages: bool = Field(
        False, description="Also value deliveries that put munitions beside the launchers that fire them (and the other way)"
    )


class ApproveIn(Schema):
    model_config = ConfigDict(extra="forbid")
    proposals: list[int] | None = Field(None, max_length=100_000, description="Proposal ids to approve; omit to approve all")


class ProposalOut(Schema):
    id: int
    pledge: int = Field(alias="pledge_id")
    requirement: int = Field(alias="requirement_id")
    quantity: Decimal
    covers: Decimal
    substitute: bool
    late_days: int
    leaves_incomplete_package: bool = Field(
        description="The item stays without its partner at the destination (munitions for a system, a system for munitions)"
    )


class AllocationOut(Schema):
    id: int
    pledge: int = Field(alias="pledge_id")
    requirement: int = Field(alias="requirement_id")
    quantity: Decimal
    covers: Decimal
    state: str
    version: int


def _run(request, run_id: int) -> MatchRun:
    return get_visible(MatchRun.objects.select_related("requirement_list"), request.actor, pk=run_id)


def _summary(run: MatchRun, actor: Actor) -> SimpleNamespace:
    return SimpleNamespace(id=run.pk, version=run.version, summary=summarize(run, actor).as_json())


class RunFilters(Schema):
    state: RunState | None = None
    sort: sort_type(RUNS) | None = Field(None, description="Prefix - to reverse")


class AllocationFilters(Schema):
    q: str | None = None
    state: AllocationState | None = None
    priority: int | None = Field(None, ge=1, le=5, description="The requirement's priority")
    sort: sort_type(ALLOCATIONS) | None = Field(None, description="Prefix - to reverse")


@router.get("/match-runs", response=list[RunOut], summary="Match runs, newest first (coordination staff and the recipient)")
@paginate(Pagination, page_size=50)
def list_runs(request, filters: Query[RunFilters]):
    return filtered(RUNS, match_runs(request.actor), params_of(filters), request.actor)


@router.post(
    "/match-runs", response={201: RunSummaryOut}, summary="Run a match on the latest approved list (coordination editors)"
)
def create_run(request, data: RunIn):
    run = services.run_match(
        actor=request.actor,
        keep_approved=data.keep_approved,
        diversity_points=data.diversity_points,
        complete_packages=data.complete_packages,
    )
    return created(RunSummaryOut, _summary(_run(request, run.pk), request.actor), f"/api/v1/match-runs/{run.pk}")


@router.get("/match-runs/{run_id}", response=RunSummaryOut, summary="One run's summary, with its ETag")
def get_run(request, run_id: int, response: HttpResponse):
    run = _run(request, run_id)
    with_etag(response, run.version)
    return _summary(run, request.actor)


@router.get("/match-runs/{run_id}/proposals", response=list[ProposalOut], summary="A run's proposed allocations")
@paginate(Pagination, page_size=200)
def list_proposals(request, run_id: int):
    return proposals_for(_run(request, run_id), request.actor).order_by("id")


@router.post(
    "/match-runs/{run_id}/approve",
    response=RunSummaryOut,
    summary="Approve all or the chosen proposals; the rest are declined (coordination approvers, If-Match required)",
)
def approve_run(request, run_id: int, data: ApproveIn, response: HttpResponse):
    _run(request, run_id)
    services.approve_proposals(
        actor=request.actor, run_id=run_id, expected_version=expected_version(request), proposal_ids=data.proposals
    )
    run = _run(request, run_id)
    with_etag(response, run.version)
    return _summary(run, request.actor)


@router.get(
    "/allocations",
    response=list[AllocationOut],
    summary="Allocations, by the requirement's priority (a donor sees those of its own pledges)",
)
@paginate(Pagination, page_size=100)
def list_allocations(request, filters: Query[AllocationFilters]):
    return filtered(ALLOCATIONS, allocations(request.actor), params_of(filters), request.actor)


@router.get("/allocations/{allocation_id}", response=AllocationOut, summary="One allocation, with its ETag")
def get_allocation(request, allocation_id: int, response: HttpResponse):
    allocation = get_visible(Allocation.objects.all(), request.actor, pk=allocation_id)
    with_etag(response, allocation.version)
    return allocation


@router.post(
    "/allocations/{allocation_id}/release",
    response=AllocationOut,
    summary="Release an allocation of a pledge not yet shipped (coordination approvers, If-Match required)",
)
def release_allocation(request, allocation_id: int, response: HttpResponse):
    get_visible(Allocation.objects.all(), request.actor, pk=allocation_id)
    allocation = services.release_allocation(
        actor=request.actor, allocation_id=allocation_id, expected_version=expected_version(request)
    )
    with_etag(response, allocation.version)
    return allocation

"""Consignments over the API: list and detail, planning, steps, receipt and handover, and closing a pledge short.
Writes take If-Match (the consignment's or the pledge's ETag); creates take an Idempotency-Key."""

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import ConfigDict

from umbrella.core.access import Marking, get_visible
from umbrella.core.api import Pagination, created, expected_version, idempotent, scope_of, with_etag
from umbrella.core.errors import Conflict, Invalid
from umbrella.core.ledger import ledger_size, signed_inclusion
from umbrella.core.listing import filtered, params_of, sort_type
from umbrella.logistics import services
from umbrella.logistics.exports import manifest_response
from umbrella.logistics.models import Consignment, ConsignmentState, DiscrepancyKind, TransportMode
from umbrella.logistics.queries import (
    CONSIGNMENTS,
    coming,
    coming_rows,
    consignments,
    destination_warnings,
    handover_entry,
    hub_board,
    is_late,
)
from umbrella.pledges.api import PledgeOut
from umbrella.pledges.models import REASON_MAX_LENGTH
from umbrella.pledges.queries import pledges
from umbrella.ui.pages import EXPORT_CONTENT_TYPES

router = Router()


class LineOut(Schema):
    id: int
    allocation: int = Field(alias="allocation_id")
    pledge: int
    item_type: str
    quantity: int
    serials: list[str]
    lots: list[str]
    quantity_received: int | None
    received_serials: list[str]
    missing_serials: list[str] = Field(description="Shipped but not received")
    extra_serials: list[str] = Field(description="Received but not shipped")
    discrepancy: str
    discrepancy_note: str
    evidence_reference: str

    @staticmethod
    def resolve_pledge(obj) -> int:
        return obj.allocation.pledge_id

    @staticmethod
    def resolve_item_type(obj) -> str:
        return obj.allocation.pledge.item_type.code


class LegOut(Schema):
    id: int
    from_place: str
    to_place: str
    mode: str
    planned_departure: dt.date | None
    planned_arrival: dt.date | None
    actual_departure: dt.date | None
    actual_arrival: dt.date | None

    @staticmethod
    def resolve_from_place(obj) -> str:
        return obj.from_place.code

    @staticmethod
    def resolve_to_place(obj) -> str:
        return obj.to_place.code


class ConsignmentOut(Schema):
    id: int
    reference: str
    donor: str
    weight_kg: Decimal | None
    state: str
    eta: dt.date | None = Field(description="The last leg's planned arrival")
    late: bool = Field(description="The ETA is past and the consignment has not arrived")
    cancel_reason: str
    received_on: dt.date | None
    handover_unit: str
    handover_place: str | None
    handover_date: dt.date | None
    handover_officer_role: str
    marking: str
    version: int
    lines: list[LineOut]
    legs: list[LegOut]

    @staticmethod
    def resolve_donor(obj) -> str:
        return obj.owner.code

    @staticmethod
    def resolve_eta(obj):
        return getattr(obj, "eta", None)

    @staticmethod
    def resolve_late(obj) -> bool:
        return is_late(obj)

    @staticmethod
    def resolve_handover_place(obj) -> str | None:
        return obj.handover_place.code if obj.handover_place_id else None

    @staticmethod
    def resolve_lines(obj) -> list:
        return list(obj.lines.all())

    @staticmethod
    def resolve_legs(obj) -> list:
        return list(obj.legs.all())


class ConsignmentDetailOut(ConsignmentOut):
    destination_warnings: list[str] = Field(
        default_factory=list,
        description="For each line whose requirement's destination neither is nor contains where the consignment ends "
        "(the last leg's 'to' place), a warning naming both; a warning, never a refusal",
    )


class LineIn(Schema):
    model_config = ConfigDict(extra="forbid")
    allocation: int = Field(ge=1, le=2**63 - 1)
    quantity: int = Field(ge=1, le=2_000_000_000)
    serials: list[str] = Field(default_factory=list, description="One per unit of a serial-tracked item type")
    lots: list[str] = Field(default_factory=list, description="Lot numbers of ammunition and other bulk supply")


class LegIn(Schema):
    model_config = ConfigDict(extra="forbid")
    from_place: str = Field(description="Place code")
    to_place: str = Field(description="Place code")
    mode: TransportMode
    planned_departure: dt.date | None = None
    planned_arrival: dt.date | None = None


class ConsignmentCreate(Schema):
    model_config = ConfigDict(extra="forbid")
    reference: str = Field(max_length=80)
    weight_kg: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=1)
    marking: Marking | None = None
    lines: list[LineIn] = Field(min_length=1)
    legs: list[LegIn] = Field(default_factory=list)


class StepIn(Schema):
    model_config = ConfigDict(extra="forbid")
    on: dt.date | None = Field(None, description="The day it happened (today when not given)")
    reason: str | None = Field(None, max_length=REASON_MAX_LENGTH, description="For cancel (required there)")


class ReceiptLineIn(Schema):
    model_config = ConfigDict(extra="forbid")
    line: int
    quantity_received: int = Field(ge=0, le=2_000_000_000)
    serials: list[str] = Field(default_factory=list)
    discrepancy: DiscrepancyKind | None = None
    note: str = Field("", max_length=REASON_MAX_LENGTH)
    evidence_reference: str = Field("", max_length=200)


class ReceiptIn(Schema):
    model_config = ConfigDict(extra="forbid")
    received_on: dt.date | None = None
    lines: list[ReceiptLineIn] = Field(min_length=1)


class HandoverIn(Schema):
    model_config = ConfigDict(extra="forbid")
    unit: str = Field(max_length=200)
    place: str = Field(description="Place code")
    date: dt.date
    officer_role: str = Field(max_length=200)


class CloseShortIn(Schema):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(max_length=REASON_MAX_LENGTH)


class ConsignmentFilters(Schema):
    q: str | None = None
    state: ConsignmentState | None = None
    late: bool | None = Field(None, description="True: ETA passed and not arrived; False: the others")
    sort: sort_type(CONSIGNMENTS) | None = Field(None, description="Prefix - to reverse")


def visible_pledge(actor, pledge_id: int):
    return get_visible(pledges(actor), actor, pk=pledge_id)


def _visible(actor, consignment_id: int) -> Consignment:
    return get_visible(consignments(actor), actor, pk=consignment_id)


def _answer(request, response: HttpResponse, consignment: Consignment) -> Consignment:
    with_etag(response, consignment.version)
    return _visible(request.actor, consignment.pk)


@router.get("/consignments", response=list[ConsignmentOut], summary="List consignments (the page's filters)")
@paginate(Pagination, page_size=50)
def list_consignments(request, filters: Query[ConsignmentFilters]):
    return filtered(CONSIGNMENTS, consignments(request.actor), params_of(filters), request.actor)


@router.post("/consignments", response={201: ConsignmentOut}, summary="Plan a consignment (the donor, or coordination staff)")
def create_consignment(request, data: ConsignmentCreate):
    def create():
        fields = data.model_dump(exclude_none=True, exclude={"lines", "legs"})
        consignment = services.create_consignment(
            actor=request.actor,
            fields=fields,
            lines=[line.model_dump() for line in data.lines],
            legs=[leg.model_dump(exclude_none=True) for leg in data.legs],
        )
        return created(ConsignmentOut, _visible(request.actor, consignment.pk), f"/api/v1/consignments/{consignment.pk}")

    return idempotent(request, scope_of(request.actor), create)


class WeekLoadOut(Schema):
    week: str = Field(description="ISO week, e.g. 2026-W23")
    starts: dt.date = Field(description="Its Monday")
    planned: Decimal = Field(description="Load from planned dates, in the hub's unit")
    actual: Decimal = Field(description="Load from actual dates, in the hub's unit")
    capacity: int
    planned_over: bool
    actual_over: bool


class HubLoadOut(Schema):
    hub: str = Field(description="Place code")
    name: str
    unit: str = Field(description="consignments or tonnes (per week)")
    capacity: int
    handling_days: int | None
    unweighed: int = Field(description="Consignments without a weight at a hub counted in tonnes (counted as none)")
    weeks: list[WeekLoadOut]


class HubBoardOut(Schema):
    partial: bool = Field(description="Some consignments through these hubs are not yours to see")
    hubs: list[HubLoadOut]


class HubBoardFilters(Schema):
    since: dt.date | None = Field(None, description="Only loads on or after this day")
    until: dt.date | None = Field(None, description="Only loads on or before this day")


@router.get(
    "/consignments/hub-board",
    response=HubBoardOut,
    summary="Each hub's planned and actual load per ISO week against its capacity (over-capacity weeks flagged)",
)
def get_hub_board(request, filters: Query[HubBoardFilters]):
    if filters.since and filters.until and filters.since > filters.until:
        raise Invalid({"until": [_("The end of the time range is before its start.")]})
    return hub_board(request.actor, since=filters.since, until=filters.until).as_dict()


class ComingOut(Schema):
    id: int
    reference: str
    donor: str
    state: str
    eta: dt.date | None
    late: bool = Field(description="The ETA is past and the consignment has not arrived")
    current_leg: LegOut | None = Field(description="Where it is: the first leg it has not finished")
    carries: list[str]


def _coming_out(row: dict) -> dict:
    consignment = row["consignment"]
    return {
        "id": consignment.pk,
        "reference": consignment.reference,
        "donor": consignment.owner.code,
        "state": consignment.state,
        "eta": consignment.eta,
        "late": row["late"],
        "current_leg": row["leg"],
        "carries": row["carries"],
    }


@router.get(
    "/consignments/coming",
    response=list[ComingOut],
    summary="What is coming: consignments not yet arrived, late ones (ETA passed) first, then by ETA",
)
@paginate(Pagination, page_size=50)
def list_coming(request):
    return _LazyRows(coming(request.actor))


class _LazyRows:
    """A queryset the paginator slices first, each page then turned into rows (so a page reads only its own)."""

    def __init__(self, queryset) -> None:
        self.queryset = queryset

    def count(self) -> int:
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, window):
        return [_coming_out(row) for row in coming_rows(self.queryset[window])]


class ProofOut(Schema):
    sequence: int
    tree_size: int
    leaf_hash: str
    path: list[str]
    checkpoint: dict


class CertificateOut(Schema):
    consignment: ConsignmentOut
    entry_sequence: int | None = Field(description="The handover's ledger entry (null when it is not released to you)")
    proof: ProofOut | None = Field(description="Its inclusion proof, for core.proofs.check_inclusion")


@router.get(
    "/consignments/{consignment_id}/certificate",
    response=CertificateOut,
    summary="A handed-over consignment's certificate: the handover, its ledger entry and the entry's inclusion proof",
)
def get_certificate(request, consignment_id: int):
    consignment = _visible(request.actor, consignment_id)
    if consignment.state != ConsignmentState.HANDED_OVER:
        raise Conflict(
            _("%(consignment)s has not been handed over, so it has no handover certificate yet.") % {"consignment": consignment}
        )
    entry = handover_entry(consignment, request.actor)
    proof = signed_inclusion(entry.sequence, ledger_size()) if entry is not None else None
    return {"consignment": consignment, "entry_sequence": entry.sequence if entry else None, "proof": proof}


@router.get("/consignments/{consignment_id}", response=ConsignmentDetailOut, summary="One consignment, with its ETag")
def get_consignment(request, consignment_id: int, response: HttpResponse):
    consignment = _visible(request.actor, consignment_id)
    with_etag(response, consignment.version)
    consignment.destination_warnings = destination_warnings(request.actor, consignment)
    return consignment


class ManifestFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    HXL = "hxl"


@router.get(
    "/consignments/{consignment_id}/manifest",
    response={200: None},
    summary="The consignment's manifest as CSV, XLSX or HXL: one row per serial number (the manifest import's columns)",
    openapi_extra={
        "responses": {
            200: {
                "description": "The manifest file (HXL: CSV with a row of hashtags under the header)",
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    EXPORT_CONTENT_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
                },
            }
        }
    },
)
def get_manifest(request, consignment_id: int, format: ManifestFormat = ManifestFormat.CSV):  # noqa: A002  (the query parameter)
    return manifest_response(request.actor, _visible(request.actor, consignment_id), format.value)


@router.post(
    "/consignments/{consignment_id}/steps/{step}",
    response=ConsignmentOut,
    summary="Move a consignment: dispatch, reach_hub, leave_hub, cancel (the donor); arrive (the recipient)",
)
def advance_consignment(request, consignment_id: int, step: str, data: StepIn, response: HttpResponse):
    _visible(request.actor, consignment_id)
    consignment = services.advance_consignment(
        actor=request.actor,
        consignment_id=consignment_id,
        step=step,
        expected_version=expected_version(request),
        on=data.on,
        reason=data.reason,
    )
    return _answer(request, response, consignment)


@router.post(
    "/consignments/{consignment_id}/legs",
    response=ConsignmentOut,
    summary="Add a leg to a consignment not yet arrived (the donor, or coordination staff; If-Match)",
)
def add_leg(request, consignment_id: int, data: LegIn, response: HttpResponse):
    _visible(request.actor, consignment_id)
    services.add_leg(
        actor=request.actor,
        consignment_id=consignment_id,
        expected_version=expected_version(request),
        fields=data.model_dump(exclude_none=True),
    )
    return _answer(request, response, _visible(request.actor, consignment_id))


@router.post(
    "/consignments/{consignment_id}/receipt",
    response=ConsignmentOut,
    summary="Record (or correct) what arrived, line by line (the recipient)",
)
def record_receipt(request, consignment_id: int, data: ReceiptIn, response: HttpResponse):
    _visible(request.actor, consignment_id)
    consignment = services.record_receipt(
        actor=request.actor,
        consignment_id=consignment_id,
        expected_version=expected_version(request),
        received_on=data.received_on,
        lines=[line.model_dump() for line in data.lines],
    )
    return _answer(request, response, consignment)


@router.post(
    "/consignments/{consignment_id}/handover",
    response=ConsignmentOut,
    summary="Record the handover; title passes to the recipient (the recipient)",
)
def hand_over(request, consignment_id: int, data: HandoverIn, response: HttpResponse):
    _visible(request.actor, consignment_id)
    consignment = services.hand_over(
        actor=request.actor, consignment_id=consignment_id, expected_version=expected_version(request), **data.model_dump()
    )
    return _answer(request, response, consignment)


@router.post(
    "/pledges/{pledge_id}/close-short",
    response=PledgeOut,
    summary="Close a partly delivered pledge at what arrived, with a reason (the donor); its allocations drop to that",
)
def close_short(request, pledge_id: int, data: CloseShortIn, response: HttpResponse):
    visible_pledge(request.actor, pledge_id)
    pledge = services.close_pledge_short(
        actor=request.actor, pledge_id=pledge_id, expected_version=expected_version(request), reason=data.reason
    )
    with_etag(response, pledge.version)
    return visible_pledge(request.actor, pledge.pk)

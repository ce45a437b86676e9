import datetime as dt
from decimal import Decimal

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import ConfigDict

from umbrella.catalog.api import MarkingChange
from umbrella.catalog.models import ValuationBasis
from umbrella.catalog.queries import visible_item_type
from umbrella.core.access import Marking, get_visible
from umbrella.core.api import Pagination, created, expected_version, idempotent, scope_of, with_etag
from umbrella.core.listing import filtered, params_of, sort_type
from umbrella.funding.models import Instrument
from umbrella.pledges import services
from umbrella.pledges.models import REASON_MAX_LENGTH, Pledge, PledgeSource, PledgeState, SourceKind
from umbrella.pledges.queries import PLEDGES, pledges

router = Router()


class SourceOut(Schema):
    id: int
    kind: str
    url: str
    document_reference: str
    date: dt.date
    note: str
    added_by: str | None = Field(description="Code of the organization that added the source (null: the system)")

    @staticmethod
    def resolve_added_by(obj) -> str | None:
        return obj.added_by.code if obj.added_by_id is not None else None


class SourceIn(Schema):
    model_config = ConfigDict(extra="forbid")
    kind: SourceKind
    url: str = Field("", max_length=500)
    document_reference: str = Field("", max_length=200)
    date: dt.date
    note: str = Field("", max_length=300)


class PayerOut(Schema):
    organization: str = Field(description="Code of the paying organization")
    share: Decimal = Field(description="Of the pledge's value; a pledge's payers' shares add up to 1")

    @staticmethod
    def resolve_organization(obj) -> str:
        return obj.organization.code


class PayerIn(Schema):
    model_config = ConfigDict(extra="forbid")
    organization: str = Field(description="Organization code")
    share: Decimal = Field(gt=0, le=1, max_digits=5, decimal_places=4)


class PledgeOut(Schema):
    id: int
    donor: str
    item_type: str
    quantity: int
    quantity_shipped: int = Field(description="Units on dispatched consignments (sum over the pledge's consignments)")
    quantity_delivered: int = Field(description="Units received")
    quantity_handed_over: int
    closed_short: bool = Field(description="The donor closed it at what arrived; closing_reason says why")
    available_from: dt.date
    value_eur: Decimal
    valuation_basis: str
    end_use_restrictions: str
    allowed_destinations: list[str] = Field(description="Codes of the places the donor allows (empty: anywhere)")
    allowed_destination_names: list[str] = Field(description="Their names in English, in the same order")
    retransfer_requires_consent: bool
    instrument: str
    supplier: str | None = Field(description="Code of the organization that delivers (null: the donor)")
    origin: str = Field(description="ISO 3166-1 alpha-3 code of the country where it is made (empty: not given)")
    payers: list[PayerOut] = Field(description="Who pays what share; empty: the donor pays all of it")
    state: str
    closing_reason: str = Field(description="Why the pledge was withdrawn or marked expired (empty otherwise)")
    reference: str
    notes: str
    marking: str
    version: int
    sources: list[SourceOut]
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_donor(obj) -> str:
        return obj.owner.code

    @staticmethod
    def resolve_item_type(obj) -> str:
        return obj.item_type.code

    @staticmethod
    def resolve_allowed_destinations(obj) -> list[str]:
        return [place.code for place in obj.destination_list]

    @staticmethod
    def resolve_allowed_destination_names(obj) -> list[str]:
        return [place.name_en for place in obj.destination_list]

    @staticmethod
    def resolve_sources(obj) -> list:
        return list(obj.sources.all())

    @staticmethod
    def resolve_supplier(obj) -> str | None:
        return obj.supplier.code if obj.supplier_id is not None else None

    @staticmethod
    def resolve_payers(obj) -> list:
        return list(obj.payers.all())


class PledgeChange(Schema):
    """Fields a donor may set. Owner, marking, state, version and creator are refused."""

    model_config = ConfigDict(extra="forbid")
    item_type: str | None = Field(None, description="Item type code")
    quantity: int | None = Field(None, ge=1, le=2_000_000_000)
    available_from: dt.date | None = None
    value_eur: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2)
    valuation_basis: ValuationBasis | None = None
    end_use_restrictions: str | None = None
    allowed_destinations: list[str] | None = Field(
        None,
        description="A donor's condition: only to these places, each a code, name or alias; a country or region "
        "includes the places within it (empty: anywhere)",
    )
    retransfer_requires_consent: bool | None = None
    instrument: Instrument | None = Field(None, description="How it is given; docs/funding.md says which count")
    supplier: str | None = Field(None, max_length=16, description="Code of the organization that delivers (null: the donor)")
    origin: str | None = Field(None, pattern=r"^([A-Z]{3})?$", description="ISO 3166-1 alpha-3 code of where it is made")
    payers: list[PayerIn] | None = Field(
        None, description="Who pays what share, the shares adding up to exactly 1 (empty: the donor pays all of it)"
    )
    reference: str | None = Field(None, max_length=80)
    notes: str | None = None


class PledgeCreate(PledgeChange):
    item_type: str = Field(description="Item type code")
    quantity: int = Field(ge=1, le=2_000_000_000)
    available_from: dt.date
    sources: list[SourceIn] = Field(min_length=1, description="At least one source")


class StepIn(Schema):
    model_config = ConfigDict(extra="forbid")
    quantity_delivered: int | None = Field(None, ge=1, description="For the deliver step: the quantity that arrived")
    reason: str | None = Field(
        None,
        max_length=REASON_MAX_LENGTH,
        description="For the withdraw and expire steps (required there): why; kept in the ledger",
    )


class PledgeFilters(Schema):
    q: str | None = None
    state: PledgeState | None = None
    donor: str | None = Field(None, description="Donor organization code; one that names no donor is a 422")
    area: str | None = Field(None, description="Capability area code; an unknown one is a 422")
    marking: Marking | None = None
    overdue: bool | None = Field(
        None, description="True: pledges past their availability date and not shipped; False: the others"
    )
    sort: sort_type(PLEDGES) | None = Field(None, description="Prefix - to reverse")


def _fields(actor, data: Schema) -> dict:
    values = data.model_dump(exclude_unset=True, exclude={"sources"})
    if "item_type" in values:
        values["item_type"] = visible_item_type(actor, values["item_type"], "item_type")
    if "allowed_destinations" in values:
        values["allowed_destinations"] = values["allowed_destinations"] or []
    if "payers" in values:
        values["payers"] = values["payers"] or []
    if "supplier" in values:
        values["supplier"] = values["supplier"] or ""
    for name in ("end_use_restrictions", "reference", "notes", "origin"):
        if name in values and values[name] is None:
            values[name] = ""
    return values


def _visible(actor, pledge_id: int) -> Pledge:
    return get_visible(
        Pledge.objects.select_related("owner", "item_type", "supplier").prefetch_related(
            "sources__added_by", "destination_links__place", "payers__organization"
        ),
        actor,
        pk=pledge_id,
    )


@router.get("/pledges", response=list[PledgeOut], summary="List pledges (the pages' filters)")
@paginate(Pagination, page_size=50)
def list_pledges(request, filters: Query[PledgeFilters]):
    return filtered(PLEDGES, pledges(request.actor), params_of(filters), request.actor)


@router.post("/pledges", response={201: PledgeOut}, summary="Announce a pledge (donor editors)")
def create_pledge(request, data: PledgeCreate):
    def create():
        sources = [source.model_dump() for source in data.sources]
        pledge = services.create_pledge(actor=request.actor, fields=_fields(request.actor, data), sources=sources)
        return created(PledgeOut, _visible(request.actor, pledge.pk), f"/api/v1/pledges/{pledge.pk}")

    return idempotent(request, scope_of(request.actor), create)


@router.get("/pledges/{pledge_id}", response=PledgeOut, summary="One pledge, with its ETag")
def get_pledge(request, pledge_id: int, response: HttpResponse):
    pledge = _visible(request.actor, pledge_id)
    with_etag(response, pledge.version)
    return pledge


@router.patch("/pledges/{pledge_id}", response=PledgeOut, summary="Change an announced or offered pledge (If-Match required)")
def update_pledge(request, pledge_id: int, data: PledgeChange, response: HttpResponse):
    _visible(request.actor, pledge_id)
    pledge = services.update_pledge(
        actor=request.actor, pledge_id=pledge_id, expected_version=expected_version(request), changes=_fields(request.actor, data)
    )
    with_etag(response, pledge.version)
    return _visible(request.actor, pledge.pk)


@router.put("/pledges/{pledge_id}/marking", response=PledgeOut, summary="Change who may see a pledge (If-Match required)")
def mark_pledge(request, pledge_id: int, data: MarkingChange, response: HttpResponse):
    _visible(request.actor, pledge_id)
    pledge = services.update_pledge(
        actor=request.actor, pledge_id=pledge_id, expected_version=expected_version(request), changes={"marking": data.marking}
    )
    with_etag(response, pledge.version)
    return _visible(request.actor, pledge.pk)


@router.post(
    "/pledges/{pledge_id}/steps/{step}",
    response=PledgeOut,
    summary="Move a pledge along its lifecycle: offer, accept, allocate, ship, deliver, hand_over, withdraw, expire",
)
def advance_pledge(request, pledge_id: int, step: str, data: StepIn, response: HttpResponse):
    _visible(request.actor, pledge_id)
    pledge = services.advance_pledge(
        actor=request.actor,
        pledge_id=pledge_id,
        step=step,
        expected_version=expected_version(request),
        quantity_delivered=data.quantity_delivered,
        reason=data.reason,
    )
    with_etag(response, pledge.version)
    return _visible(request.actor, pledge.pk)


@router.delete("/pledges/{pledge_id}", response={204: None}, summary="Delete an announced pledge (If-Match required)")
def delete_pledge(request, pledge_id: int):
    _visible(request.actor, pledge_id)
    services.delete_pledge(actor=request.actor, pledge_id=pledge_id, expected_version=expected_version(request))
    return Status(204, None)


@router.get("/pledges/{pledge_id}/sources", response=list[SourceOut], summary="A pledge's sources")
def list_sources(request, pledge_id: int):
    return list(_visible(request.actor, pledge_id).sources.all())


@router.post("/pledges/{pledge_id}/sources", response={201: SourceOut}, summary="Add a source to a pledge")
def add_source(request, pledge_id: int, data: SourceIn):
    _visible(request.actor, pledge_id)

    def create():
        source = services.add_pledge_source(actor=request.actor, pledge_id=pledge_id, fields=data.model_dump())
        return created(SourceOut, source, f"/api/v1/pledges/{pledge_id}/sources")

    return idempotent(request, scope_of(request.actor), create)


class SourceRemoval(Schema):
    reason: str | None = Field(
        None,
        max_length=REASON_MAX_LENGTH,
        description="Why (required of coordination staff removing a source another organization added); kept in the ledger",
    )


@router.delete(
    "/sources/{source_id}",
    response={204: None},
    summary="Remove a source: the organization that added it, or coordination staff with a reason (a pledge keeps at least one)",
)
def delete_source(request, source_id: int, removal: Query[SourceRemoval]):
    get_visible(PledgeSource.objects.all(), request.actor, pk=source_id)
    services.delete_pledge_source(actor=request.actor, source_id=source_id, reason=removal.reason)
    return Status(204, None)

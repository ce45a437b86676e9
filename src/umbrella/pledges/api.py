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
from umbrella.pledges.models import REASON_MAX_LENGTH, AidPackage, Pledge, PledgeSource, PledgeState, SourceKind
from umbrella.pledges.queries import AID_PACKAGES, PLEDGES, aid_package_figures, aid_package_rate_warning, aid_packages, pledges

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


class TrancheOut(Schema):
    date: dt.date
    quantity: int


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
    quantity: int | None = Field(description="Null: not disclosed (a line of an aid package, valued from it)")
    quantity_disclosed: bool = Field(
        description="False: the quantity is undisclosed; the pledge cannot be matched, allocated or shipped until it is given"
    )
    aid_package: int | None = Field(description="Id of the aid package the pledge was announced in")
    tranches: list[TrancheOut] = Field(description="The donor's schedule of deliveries, by date")
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
    def resolve_aid_package(obj) -> int | None:
        return obj.aid_package_id

    @staticmethod
    def resolve_tranches(obj) -> list:
        return list(obj.tranches.all())

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
    quantity: int | None = Field(
        None, ge=1, le=2_000_000_000, description="Null: undisclosed (only for a line of an aid package)"
    )
    aid_package: int | None = Field(None, description="Id of one of the donor's aid packages")
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
    quantity: int | None = Field(
        None, ge=1, le=2_000_000_000, description="Leave out only for a line of an aid package whose quantity is undisclosed"
    )
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
    if values.get("aid_package") is not None:
        values["aid_package"] = get_visible(AidPackage.objects.all(), actor, pk=values["aid_package"])
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
            "sources__added_by", "destination_links__place", "tranches", "payers__organization"
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


class TrancheIn(Schema):
    model_config = ConfigDict(extra="forbid")
    date: dt.date
    quantity: int = Field(ge=1, le=2_000_000_000)


class ScheduleIn(Schema):
    model_config = ConfigDict(extra="forbid")
    tranches: list[TrancheIn] = Field(max_length=1000, description="The whole schedule; an empty list clears it")


@router.put(
    "/pledges/{pledge_id}/tranches",
    response=PledgeOut,
    summary="Replace a pledge's schedule of tranches, checked whole (If-Match required)",
)
def set_tranches(request, pledge_id: int, data: ScheduleIn, response: HttpResponse):
    _visible(request.actor, pledge_id)
    pledge = services.set_tranches(
        actor=request.actor,
        pledge_id=pledge_id,
        expected_version=expected_version(request),
        tranches=[tranche.model_dump() for tranche in data.tranches],
    )
    with_etag(response, pledge.version)
    return _visible(request.actor, pledge.pk)


class AidPackageLineOut(Schema):
    pledge: int
    item_type: str
    quantity: int | None
    value_eur: Decimal = Field(description="An undisclosed line's value is its share of the announced value")


class AidPackageOut(Schema):
    id: int
    donor: str
    reference: str
    announced_on: dt.date
    announced_amount: Decimal = Field(description="The total as announced, in `currency`")
    currency: str
    fx_date: dt.date
    units_per_eur: Decimal = Field(description="The rate used: units of the currency per euro")
    rate_date: dt.date = Field(description="The date of the rate used (the latest on or before fx_date)")
    value_eur: Decimal = Field(description="The announced total in euros at the rate used")
    rate_warning: str = Field(description="Not empty when the rate used is older than the configured number of days")
    notes: str
    marking: str
    version: int
    sources: list[SourceOut]
    lines: list[AidPackageLineOut] = Field(description="Its pledges that the reader may see")
    lines_whole: bool = Field(description="False: some of its pledges are not released to the reader")
    catalog_eur: Decimal | None = Field(description="The lines with a disclosed quantity, at their value (null unless whole)")
    difference_eur: Decimal | None = Field(description="Announced value minus catalog_eur (null unless whole)")

    @staticmethod
    def resolve_donor(obj) -> str:
        return obj.owner.code

    @staticmethod
    def resolve_rate_warning(obj) -> str:
        return aid_package_rate_warning(obj)

    @staticmethod
    def resolve_sources(obj) -> list:
        return list(obj.sources.all())

    @staticmethod
    def resolve_lines(obj) -> list[dict]:
        return [
            {"pledge": line.pk, "item_type": line.item_type.code, "quantity": line.quantity, "value_eur": line.value_eur}
            for line in obj.figures.lines
        ]

    @staticmethod
    def resolve_lines_whole(obj) -> bool:
        return obj.figures.whole

    @staticmethod
    def resolve_catalog_eur(obj) -> Decimal | None:
        return obj.figures.catalog_eur if obj.figures.whole else None

    @staticmethod
    def resolve_difference_eur(obj) -> Decimal | None:
        return obj.value_eur - obj.figures.catalog_eur if obj.figures.whole else None


class AidPackageSummaryOut(Schema):
    id: int
    donor: str
    reference: str
    announced_on: dt.date
    announced_amount: Decimal
    currency: str
    value_eur: Decimal
    rate_date: dt.date
    rate_warning: str
    marking: str

    @staticmethod
    def resolve_donor(obj) -> str:
        return obj.owner.code

    @staticmethod
    def resolve_rate_warning(obj) -> str:
        return aid_package_rate_warning(obj)


class AidPackageCreate(Schema):
    model_config = ConfigDict(extra="forbid")
    reference: str = Field(min_length=1, max_length=80)
    announced_on: dt.date
    announced_amount: Decimal = Field(gt=0, max_digits=18, decimal_places=2)
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$")
    fx_date: dt.date | None = Field(None, description="Value on the rate of this day (default: the announcement's)")
    notes: str = ""
    marking: Marking = Marking.COORDINATION
    sources: list[SourceIn] = Field(min_length=1, description="At least one source")


class AidPackageFilters(Schema):
    q: str | None = None
    donor: str | None = Field(None, description="Donor organization code; one that names no donor is a 422")
    marking: Marking | None = None
    sort: sort_type(AID_PACKAGES) | None = Field(None, description="Prefix - to reverse")


def _visible_aid_package(actor, aid_package_id: int) -> AidPackage:
    aid_package = get_visible(aid_packages(actor), actor, pk=aid_package_id)
    aid_package.figures = aid_package_figures(aid_package, actor)
    return aid_package


@router.get("/aid-packages", response=list[AidPackageSummaryOut], summary="List aid packages as announced")
@paginate(Pagination, page_size=50)
def list_aid_packages(request, filters: Query[AidPackageFilters]):
    return filtered(AID_PACKAGES, aid_packages(request.actor), params_of(filters), request.actor)


@router.post("/aid-packages", response={201: AidPackageOut}, summary="Record an aid package as announced (donor editors)")
def create_aid_package(request, data: AidPackageCreate):
    def create():
        fields = data.model_dump(exclude={"sources"})
        if fields["fx_date"] is None:
            del fields["fx_date"]
        sources = [source.model_dump() for source in data.sources]
        aid_package = services.create_aid_package(actor=request.actor, fields=fields, sources=sources)
        return created(
            AidPackageOut, _visible_aid_package(request.actor, aid_package.pk), f"/api/v1/aid-packages/{aid_package.pk}"
        )

    return idempotent(request, scope_of(request.actor), create)


@router.get(
    "/aid-packages/{aid_package_id}",
    response=AidPackageOut,
    summary="One aid package: announced value, its lines, the difference, any rate warning",
)
def get_aid_package(request, aid_package_id: int, response: HttpResponse):
    aid_package = _visible_aid_package(request.actor, aid_package_id)
    with_etag(response, aid_package.version)
    return aid_package

"""End-use monitoring over the API: serials (list, detail), the recipient's units, inventories with their sightings,
loss reports and their acknowledgement, transfers and the donor's consent, inventory rules, and what is due and
delinquent on a day; the public gets aggregate counts only. Creates take an Idempotency-Key; a transfer that needs
the donor's consent and does not have it is a 409 problem."""

import datetime as dt

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import ConfigDict

from umbrella.catalog.models import ItemType
from umbrella.core.access import get_visible
from umbrella.core.api import Pagination, created, idempotent, scope_of, with_etag
from umbrella.core.errors import Invalid
from umbrella.core.listing import filtered, params_of, sort_type
from umbrella.eum import services
from umbrella.eum.models import (
    ACCOUNTABLE,
    Inventory,
    InventoryRule,
    LossKind,
    LossReport,
    Serial,
    SerialStatus,
    SightingMethod,
    Transfer,
    TransferKind,
    Unit,
    UnitKind,
)
from umbrella.eum.queries import SERIALS, current_due, delinquency, due_rows, not_sighted, row_of, serials
from umbrella.eum.reads import public_counts
from umbrella.orgs.models import Organization
from umbrella.orgs.queries import donor_codes
from umbrella.pledges.models import REASON_MAX_LENGTH

router = Router()
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]*$"


def _code(obj) -> str | None:
    return obj.code if obj is not None else None


# --- serials ----------------------------------------------------------------------------------------------------


class SerialOut(Schema):
    id: int
    item_type: str
    serial: str
    donor: str
    pledge: int | None = Field(alias="pledge_id")
    consignment: int | None = Field(alias="consignment_id")
    handover_date: dt.date
    handover_place: str | None
    holder: str | None = Field(description="The unit holding it (its code)")
    status: SerialStatus
    status_on: dt.date
    retransfer_requires_consent: bool
    last_sighted_on: dt.date | None
    last_sighting_place: str | None
    last_sighting_method: str
    due_on: dt.date | None = Field(description="The next inventory's deadline; null once the item is no longer held")
    delinquent: bool = Field(description="Held, and its due date has passed with no sighting")
    marking: str
    version: int

    @staticmethod
    def resolve_item_type(obj) -> str:
        return obj.item_type.code

    @staticmethod
    def resolve_donor(obj) -> str:
        return obj.owner.code

    @staticmethod
    def resolve_handover_place(obj) -> str | None:
        return _code(obj.handover_place)

    @staticmethod
    def resolve_holder(obj) -> str | None:
        return _code(obj.holder)

    @staticmethod
    def resolve_last_sighting_place(obj) -> str | None:
        return _code(obj.last_sighting_place)

    @staticmethod
    def resolve_delinquent(obj) -> bool:
        return obj.status in ACCOUNTABLE and obj.due_on is not None and obj.due_on < timezone.localdate()


class SerialFilters(Schema):
    q: str | None = None
    donor: str | None = Field(None, description="Donor organization code; one that names no donor is a 422")
    item_type: str | None = Field(None, description="Serial-tracked item type code; an unknown one is a 422")
    unit: str | None = Field(None, description="Holding unit's code; an unknown one is a 422")
    status: SerialStatus | None = None
    delinquent: bool | None = Field(None, description="True: held and past the due date; False: the others")
    sort: sort_type(SERIALS) | None = Field(None, description="Prefix - to reverse")


@router.get("/eum/serials", response=list[SerialOut], summary="List serial-tracked items handed over (as you may see them)")
@paginate(Pagination, page_size=50)
def list_serials(request, filters: Query[SerialFilters]):
    return filtered(SERIALS, serials(request.actor), params_of(filters), request.actor)


@router.get("/eum/serials/{serial_id}", response=SerialOut, summary="One serial, with its ETag")
def get_serial(request, serial_id: int, response: HttpResponse):
    serial = get_visible(serials(request.actor), request.actor, pk=serial_id)
    with_etag(response, serial.version)
    return serial


# --- units ------------------------------------------------------------------------------------------------------


class UnitOut(Schema):
    id: int
    code: str
    name: str
    kind: UnitKind
    parent: str | None = Field(description="The unit it is part of (its code)")
    version: int

    @staticmethod
    def resolve_parent(obj) -> str | None:
        return _code(obj.parent)


class UnitCreate(Schema):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=40, pattern=r"^[A-Z0-9][A-Z0-9-]*$")
    name: str = Field(max_length=200)
    kind: UnitKind = UnitKind.OTHER
    parent: str | None = Field(None, max_length=40, description="The code of the unit it is part of")


def _unit(actor, code: str | None, field: str) -> Unit | None:
    if not code:
        return None
    unit = Unit.objects.visible_to(actor).filter(code__iexact=code.strip()).first()
    if unit is None:
        raise Invalid({field: [_("No unit %(name)s that you can see.") % {"name": code}]})
    return unit


@router.get("/eum/units", response=list[UnitOut], summary="The recipient's units that hold items")
@paginate(Pagination, page_size=100)
def list_units(request):
    return Unit.objects.visible_to(request.actor).select_related("parent").order_by("code", "pk")


@router.post("/eum/units", response={201: UnitOut}, summary="Add a unit (the recipient)")
def create_unit(request, data: UnitCreate):
    def create():
        fields = {**data.model_dump(exclude={"parent"}), "parent": _unit(request.actor, data.parent, "parent")}
        unit = services.create_unit(actor=request.actor, fields=fields)
        return created(UnitOut, unit, f"/api/v1/eum/units?page=1#{unit.pk}")

    return idempotent(request, scope_of(request.actor), create)


# --- inventories ------------------------------------------------------------------------------------------------


class SightingIn(Schema):
    model_config = ConfigDict(extra="forbid")
    item_type: str = Field(max_length=40, description="Item type code")
    serial: str = Field(max_length=80)
    status: SerialStatus = SerialStatus.IN_SERVICE
    place: str | None = Field(None, max_length=200, description="Place code or name; the inventory's place when not given")
    evidence_reference: str = Field("", max_length=300)


class InventoryCreate(Schema):
    model_config = ConfigDict(extra="forbid")
    conducted_on: dt.date
    method: SightingMethod
    place: str | None = Field(None, max_length=200, description="Place code or name")
    evidence_reference: str = Field("", max_length=300, description="Where the photo, video or scan is kept (remote)")
    evidence_digest: str = Field("", max_length=64, description="Its SHA-256, 64 lower-case hex digits (remote)")
    unit: str | None = Field(None, max_length=40, description="Scope: the unit inspected (its code)")
    item_type: str | None = Field(None, max_length=40, description="Scope: one item type (its code)")
    donor: str | None = Field(None, max_length=16, description="Scope: one donor's serials (its code)")
    note: str = Field("", max_length=2000)
    sightings: list[SightingIn] = Field(default_factory=list, max_length=100_000)


class NotSightedOut(Schema):
    id: int
    item_type: str
    serial: str


class InventoryOut(Schema):
    id: int
    inspector: str = Field(description="The organization that inspected")
    conducted_on: dt.date
    place: str | None
    method: SightingMethod
    evidence_reference: str
    evidence_digest: str
    unit: str | None
    item_type: str | None
    donor: str | None
    closed: bool
    expected: int = Field(description="Serials in the inventory's scope, held on its day")
    sighted: int
    not_sighted: list[NotSightedOut] = Field(description="Expected and not sighted (as far as you may see them)")
    note: str
    version: int

    @staticmethod
    def resolve_inspector(obj) -> str:
        return obj.owner.code

    @staticmethod
    def resolve_place(obj) -> str | None:
        return _code(obj.place)

    @staticmethod
    def resolve_unit(obj) -> str | None:
        return _code(obj.holder)

    @staticmethod
    def resolve_item_type(obj) -> str | None:
        return _code(obj.item_type)

    @staticmethod
    def resolve_donor(obj) -> str | None:
        return _code(obj.donor)

    @staticmethod
    def resolve_expected(obj) -> int:
        return obj.expected_count

    @staticmethod
    def resolve_sighted(obj) -> int:
        return obj.sighted_count

    @staticmethod
    def resolve_not_sighted(obj) -> list[dict]:
        return getattr(obj, "not_sighted_rows", [])


def _inventory(actor, inventory_id: int) -> Inventory:
    inventory = get_visible(
        Inventory.objects.select_related("owner", "place", "holder", "item_type", "donor"), actor, pk=inventory_id
    )
    missing = not_sighted(actor, inventory).order_by("item_type__code", "serial").values_list("pk", "item_type__code", "serial")
    inventory.not_sighted_rows = [{"id": pk, "item_type": item, "serial": serial} for pk, item, serial in missing]
    return inventory


def _scope(actor, data: InventoryCreate) -> dict:
    problems: dict[str, list[str]] = {}
    scope: dict = {}
    try:
        scope["holder"] = _unit(actor, data.unit, "unit")
    except Invalid as error:
        problems.update(error.field_errors)
    if data.item_type:
        scope["item_type"] = ItemType.objects.visible_to(actor).filter(code__iexact=data.item_type).first()
        if scope["item_type"] is None:
            problems["item_type"] = [_("No item type %(code)s.") % {"code": data.item_type}]
    if data.donor:
        scope["donor"] = _donor(data.donor, "donor", problems)
    if problems:
        raise Invalid(problems)
    return scope


def _donor(code: str, field: str, problems: dict[str, list[str]]) -> Organization | None:
    if code.upper() not in donor_codes():
        problems[field] = [_("No such donor: %(value)s.") % {"value": repr(code)}]
        return None
    return Organization.objects.get(code=code.upper())


@router.post(
    "/eum/inventories",
    response={201: InventoryOut},
    summary="Record an inventory with its sightings (an inspector); every problem of every sighting at once, or nothing",
)
def create_inventory(request, data: InventoryCreate):
    def create():
        fields = {
            **data.model_dump(include={"conducted_on", "method", "place", "evidence_reference", "evidence_digest", "note"}),
            **_scope(request.actor, data),
        }
        inventory = services.record_inventory(
            actor=request.actor, fields=fields, sightings=[sighting.model_dump() for sighting in data.sightings]
        )
        return created(InventoryOut, _inventory(request.actor, inventory.pk), f"/api/v1/eum/inventories/{inventory.pk}")

    return idempotent(request, scope_of(request.actor), create)


@router.get(
    "/eum/inventories/{inventory_id}",
    response=InventoryOut,
    summary="One inventory: serials expected, sighted, and those not sighted",
)
def get_inventory(request, inventory_id: int, response: HttpResponse):
    inventory = _inventory(request.actor, inventory_id)
    with_etag(response, inventory.version)
    return inventory


# --- losses -----------------------------------------------------------------------------------------------------


class LossCreate(Schema):
    model_config = ConfigDict(extra="forbid")
    kind: LossKind
    occurred_on: dt.date
    circumstances: str = Field(max_length=5000)
    place: str | None = Field(None, max_length=200, description="Place code or name")
    evidence_reference: str = Field("", max_length=300)


class LossOut(Schema):
    id: int
    serial: int = Field(alias="serial_id")
    kind: LossKind
    occurred_on: dt.date
    place: str | None
    circumstances: str
    evidence_reference: str
    acknowledged_on: dt.date | None
    acknowledgement_note: str

    @staticmethod
    def resolve_place(obj) -> str | None:
        return _code(obj.place)


class AcknowledgeIn(Schema):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(None, max_length=REASON_MAX_LENGTH)


def _visible_serial(actor, serial_id: int) -> Serial:
    return get_visible(Serial.objects.all(), actor, pk=serial_id)


@router.post(
    "/eum/serials/{serial_id}/losses",
    response={201: LossOut},
    summary="Report an item lost, destroyed or captured (the recipient); the serial leaves the schedule",
)
def report_loss(request, serial_id: int, data: LossCreate):
    _visible_serial(request.actor, serial_id)

    def create():
        report = services.report_loss(actor=request.actor, serial_id=serial_id, **data.model_dump())
        return created(LossOut, report, f"/api/v1/eum/serials/{serial_id}")

    return idempotent(request, scope_of(request.actor), create)


@router.post(
    "/eum/losses/{loss_id}/acknowledge", response=LossOut, summary="Acknowledge a loss report of one of your items (the donor)"
)
def acknowledge_loss(request, loss_id: int, data: AcknowledgeIn):
    get_visible(LossReport.objects.all(), request.actor, pk=loss_id)
    return services.acknowledge_loss(actor=request.actor, loss_id=loss_id, note=data.note)


# --- transfers --------------------------------------------------------------------------------------------------


class ConsentRequestIn(Schema):
    model_config = ConfigDict(extra="forbid")
    kind: TransferKind = Field(description="third_party or end_use (a move between own units needs no consent)")
    reason: str = Field(max_length=REASON_MAX_LENGTH)
    third_party: str = Field("", max_length=200)
    end_use: str = Field("", max_length=300)


class TransferIn(ConsentRequestIn):
    kind: TransferKind
    on: dt.date | None = Field(None, description="The day of the transfer (today when not given)")
    to_unit: str | None = Field(None, max_length=40, description="For a move between own units: the unit's code")


class DecisionIn(Schema):
    model_config = ConfigDict(extra="forbid")
    consent: bool
    reason: str | None = Field(None, max_length=REASON_MAX_LENGTH, description="Required for a refusal")


class TransferOut(Schema):
    id: int
    serial: int = Field(alias="serial_id")
    kind: TransferKind
    state: str
    to_unit: str | None
    third_party: str
    end_use: str
    reason: str
    transferred_on: dt.date | None
    decided_on: dt.date | None
    decision_reason: str

    @staticmethod
    def resolve_to_unit(obj) -> str | None:
        return _code(obj.to_unit)


@router.post(
    "/eum/serials/{serial_id}/consent-requests",
    response={201: TransferOut},
    summary="Ask the donor's consent to a transfer to a third party or a change of end use (the recipient)",
)
def request_consent(request, serial_id: int, data: ConsentRequestIn):
    _visible_serial(request.actor, serial_id)

    def create():
        record = services.request_consent(actor=request.actor, serial_id=serial_id, **data.model_dump())
        return created(TransferOut, record, f"/api/v1/eum/serials/{serial_id}")

    return idempotent(request, scope_of(request.actor), create)


@router.post(
    "/eum/transfers/{transfer_id}/decision",
    response=TransferOut,
    summary="Consent to, or refuse (with a reason), a transfer of one of your items (the donor)",
)
def decide_consent(request, transfer_id: int, data: DecisionIn):
    get_visible(Transfer.objects.all(), request.actor, pk=transfer_id)
    return services.decide_consent(actor=request.actor, transfer_id=transfer_id, consent=data.consent, reason=data.reason)


@router.post(
    "/eum/serials/{serial_id}/transfers",
    response={201: TransferOut},
    summary="Record a transfer (the recipient); one that needs the donor's consent and lacks it is a 409",
)
def transfer(request, serial_id: int, data: TransferIn):
    _visible_serial(request.actor, serial_id)

    def create():
        # Who may record a transfer is said before whether its unit exists (a donor is refused, not told of units).
        services.require_recipient_editor(request.actor, doing=_("Recording a transfer"))
        to_unit = _unit(request.actor, data.to_unit, "to_unit")
        record = services.transfer(
            actor=request.actor, serial_id=serial_id, to_unit=to_unit, **data.model_dump(exclude={"to_unit"})
        )
        return created(TransferOut, record, f"/api/v1/eum/serials/{serial_id}")

    return idempotent(request, scope_of(request.actor), create)


# --- inventory rules --------------------------------------------------------------------------------------------


class RuleOut(Schema):
    id: int
    item_type: str | None = Field(description="null: every item type")
    donor: str | None = Field(description="null: every donor")
    initial_days: int
    interval_days: int
    reason: str
    version: int

    @staticmethod
    def resolve_item_type(obj) -> str | None:
        return _code(obj.item_type)

    @staticmethod
    def resolve_donor(obj) -> str | None:
        return _code(obj.donor)


class RuleIn(Schema):
    model_config = ConfigDict(extra="forbid")
    item_type: str | None = Field(None, max_length=40, description="Item type code; null for every item type")
    donor: str | None = Field(None, max_length=16, description="Donor code; null for every donor")
    initial_days: int = Field(90, ge=1, le=3650)
    interval_days: int = Field(365, ge=1, le=3650)
    reason: str | None = Field(None, max_length=REASON_MAX_LENGTH)


@router.get("/eum/rules", response=list[RuleOut], summary="Inventory rules (where none applies: 90 days, then 365)")
@paginate(Pagination, page_size=100)
def list_rules(request):
    return InventoryRule.objects.visible_to(request.actor).select_related("item_type", "donor").order_by("pk")


@router.put(
    "/eum/rules",
    response=RuleOut,
    summary="Set the rule for an item type, a donor programme or both (coordination staff; a donor for its own)",
)
def set_rule(request, data: RuleIn):
    problems: dict[str, list[str]] = {}
    item = None
    if data.item_type:
        item = ItemType.objects.visible_to(request.actor).filter(code__iexact=data.item_type).first()
        if item is None:
            problems["item_type"] = [_("No item type %(code)s.") % {"code": data.item_type}]
    donor = _donor(data.donor, "donor", problems) if data.donor else None
    if problems:
        raise Invalid(problems)
    return services.set_rule(
        actor=request.actor,
        item_type=item,
        donor=donor,
        initial_days=data.initial_days,
        interval_days=data.interval_days,
        reason=data.reason,
    )


# --- due, delinquent, public ----------------------------------------------------------------------------------


class DueOut(Schema):
    id: int
    item_type: str
    serial: str
    donor: str
    holder: str
    handover_date: dt.date
    last_sighted_on: dt.date | None
    due_on: dt.date
    delinquent: bool
    days_overdue: int


class DueFilters(Schema):
    as_of: dt.date | None = Field(None, description="The day (today when not given); an earlier day is rebuilt")
    donor: str | None = Field(None, description="Donor organization code; one that names no donor is a 422")
    within: int = Field(0, ge=0, le=3650, description="Also list serials due within this many days after as_of")


@router.get(
    "/eum/due",
    response=list[DueOut],
    summary="Serials delinquent on a day, and due within `within` days after it, by due date (as you may see them)",
)
@paginate(Pagination, page_size=100)
def list_due(request, filters: Query[DueFilters]):
    if filters.donor:
        problems: dict[str, list[str]] = {}
        _donor(filters.donor, "donor", problems)
        if problems:
            raise Invalid(problems)
    return _DueRows(request.actor, filters.as_of or timezone.localdate(), filters.donor, filters.within)


class _DueRows:
    """What the paginator slices: on today or later a query, so a page reads only its own rows of a million; on an
    earlier day every row, rebuilt from the sightings (`due_rows`)."""

    def __init__(self, actor, as_of: dt.date, donor: str | None, within: int) -> None:
        self.as_of = as_of
        self.queryset = current_due(actor, as_of, donor_code=donor, within_days=within)
        self.rows = None if self.queryset is not None else list(due_rows(actor, as_of, donor_code=donor, within_days=within))

    def __len__(self) -> int:
        return self.queryset.count() if self.queryset is not None else len(self.rows)

    def __getitem__(self, window: slice) -> list[dict]:
        if self.queryset is not None:
            return [row_of(serial, self.as_of).as_dict() for serial in self.queryset[window]]
        return [row.as_dict() for row in self.rows[window]]


class TallyOut(Schema):
    count: int
    value_eur: str = Field(description="At catalog unit value, EUR, two decimals")


class DelinquencyOut(Schema):
    as_of: dt.date
    held: TallyOut
    delinquent: TallyOut
    by: dict[str, dict[str, TallyOut]] = Field(description="Delinquent, by donor, item_type, unit and place")


@router.get(
    "/eum/delinquency",
    response=DelinquencyOut,
    summary="Serials held and delinquent on a day, counts and value, whole and by donor, item type, unit and place",
)
def get_delinquency(request, as_of: dt.date | None = None):
    return delinquency(request.actor, as_of).as_dict()


class PublicCountOut(Schema):
    capability_area: str
    name: str
    handed_over: int
    held: int
    lost: int = Field(description="Reported lost, destroyed or captured")


@router.get(
    "/eum/public",
    response=list[PublicCountOut],
    summary="What anyone may know: per capability area, items handed over, held and lost (never a serial, place or unit)",
)
def get_public_counts(request):
    return public_counts()

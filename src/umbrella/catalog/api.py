import datetime as dt
from decimal import Decimal

from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import ConfigDict

from umbrella.catalog import services
from umbrella.catalog.models import (
    CapabilityArea,
    Compatibility,
    CompatibilityKind,
    ItemType,
    PackageRule,
    UnitOfIssue,
    ValuationBasis,
)
from umbrella.catalog.queries import ITEM_TYPES, Package, item_types, package_of, visible_item_type
from umbrella.core.access import Marking, get_visible
from umbrella.core.api import Pagination, created, expected_version, idempotent, scope_of, with_etag
from umbrella.core.errors import Invalid, NotFound
from umbrella.core.listing import filtered, params_of, sort_type

router = Router()


class ItemTypeOut(Schema):
    id: int
    code: str
    name: str
    nsn: str = Field(description="NNNN-NN-NNN-NNNN, or empty")
    nsn_country: str | None
    capability_area: str
    unit_of_issue: str
    unit_value_eur: Decimal
    valuation_basis: str
    standard: str
    sensitive: bool
    bulk: bool
    crew_size: int | None
    description: str
    marking: str
    owner: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_nsn(obj) -> str:
        return str(obj.parsed_nsn) if obj.parsed_nsn else ""

    @staticmethod
    def resolve_nsn_country(obj) -> str | None:
        return obj.parsed_nsn.country if obj.parsed_nsn else None

    @staticmethod
    def resolve_capability_area(obj) -> str:
        return obj.capability_area.code

    @staticmethod
    def resolve_owner(obj) -> str:
        return obj.owner.code


class ItemTypeChange(Schema):
    """Fields a client may set. Owner, marking, version and creator are refused (see the marking operation)."""

    model_config = ConfigDict(extra="forbid")
    code: str | None = Field(None, max_length=40)
    name: str | None = Field(None, max_length=200)
    capability_area: str | None = Field(None, description="Capability area code, e.g. artillery")
    nsn: str | None = Field(None, max_length=20)
    unit_of_issue: UnitOfIssue | None = None
    unit_value_eur: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2)
    valuation_basis: ValuationBasis | None = None
    standard: str | None = Field(None, max_length=60)
    sensitive: bool | None = None
    bulk: bool | None = None
    crew_size: int | None = Field(None, ge=1, le=1000)
    description: str | None = None


class ItemTypeCreate(ItemTypeChange):
    code: str = Field(max_length=40)
    name: str = Field(max_length=200)
    capability_area: str
    unit_value_eur: Decimal = Field(ge=0, max_digits=16, decimal_places=2)


class MarkingChange(Schema):
    model_config = ConfigDict(extra="forbid")
    marking: Marking


class ItemTypeFilters(Schema):
    q: str | None = Field(
        None,
        description=(
            "Search in code, name, standard and description; in NSNs for a whole NSN or its groups (1410-01-563, 1550-), "
            "not for a bare shorter number such as 155"
        ),
    )
    area: str | None = Field(None, description="Capability area code; an unknown one is a 422")
    sensitive: bool | None = None
    bulk: bool | None = None
    sort: sort_type(ITEM_TYPES) | None = Field(None, description="Prefix - to reverse")


class CompatibilityOut(Schema):
    id: int
    item: str
    kind: str
    related_item: str
    ratio: Decimal
    note: str
    source: str = Field(description="Where the link is documented")
    version: int

    @staticmethod
    def resolve_item(obj) -> str:
        return obj.source.code

    @staticmethod
    def resolve_source(obj) -> str:
        return obj.citation

    @staticmethod
    def resolve_related_item(obj) -> str:
        return obj.target.code


class CompatibilityCreate(Schema):
    model_config = ConfigDict(extra="forbid")
    item: str = Field(description="Item type code")
    kind: CompatibilityKind
    related_item: str = Field(description="Item type code")
    ratio: Decimal = Field(Decimal(1), gt=0, max_digits=12, decimal_places=4)
    note: str = Field("", max_length=300)
    source: str = Field("", max_length=500, description="Where the link is documented")


def _fields(actor, data: Schema) -> dict:
    values = data.model_dump(exclude_unset=True)
    if "capability_area" in values:
        area = CapabilityArea.objects.filter(code=values["capability_area"]).first()
        if area is None:
            raise Invalid({"capability_area": [_("No capability area %(code)s.") % {"code": repr(values["capability_area"])}]})
        values["capability_area"] = area
    for name in ("nsn", "standard", "description"):
        if name in values and values[name] is None:
            values[name] = ""
    return values


@router.get("/item-types", response=list[ItemTypeOut], summary="List item types (the pages' filters)")
@paginate(Pagination, page_size=50)
def list_item_types(request, filters: Query[ItemTypeFilters]):
    return filtered(ITEM_TYPES, item_types(request.actor), params_of(filters), request.actor)


@router.post("/item-types", response={201: ItemTypeOut}, summary="Create an item type (coordination editors)")
def create_item_type(request, data: ItemTypeCreate):
    def create():
        item = services.create_item_type(actor=request.actor, fields=_fields(request.actor, data))
        return created(ItemTypeOut, item, f"/api/v1/item-types/{item.pk}")

    return idempotent(request, scope_of(request.actor), create)


@router.get("/item-types/{item_type_id}", response=ItemTypeOut, summary="One item type, with its ETag")
def get_item_type(request, item_type_id: int, response: HttpResponse):
    item = get_visible(ItemType.objects.select_related("capability_area", "owner"), request.actor, pk=item_type_id)
    with_etag(response, item.version)
    return item


@router.patch("/item-types/{item_type_id}", response=ItemTypeOut, summary="Change an item type (If-Match required)")
def update_item_type(request, item_type_id: int, data: ItemTypeChange, response: HttpResponse):
    get_visible(ItemType.objects.all(), request.actor, pk=item_type_id)
    item = services.update_item_type(
        actor=request.actor,
        item_type_id=item_type_id,
        expected_version=expected_version(request),
        changes=_fields(request.actor, data),
    )
    with_etag(response, item.version)
    return item


@router.put(
    "/item-types/{item_type_id}/marking", response=ItemTypeOut, summary="Change who may see an item type (If-Match required)"
)
def mark_item_type(request, item_type_id: int, data: MarkingChange, response: HttpResponse):
    get_visible(ItemType.objects.all(), request.actor, pk=item_type_id)
    item = services.update_item_type(
        actor=request.actor,
        item_type_id=item_type_id,
        expected_version=expected_version(request),
        changes={"marking": data.marking},
    )
    with_etag(response, item.version)
    return item


@router.delete("/item-types/{item_type_id}", response={204: None}, summary="Delete an unused item type (If-Match required)")
def delete_item_type(request, item_type_id: int):
    get_visible(ItemType.objects.all(), request.actor, pk=item_type_id)
    services.delete_item_type(actor=request.actor, item_type_id=item_type_id, expected_version=expected_version(request))
    return Status(204, None)


@router.get("/compatibilities", response=list[CompatibilityOut], summary="List compatibility links")
@paginate(Pagination, page_size=100)
def list_compatibilities(
    request,
    item: str | None = Query(None, description="Item type code (either end); an unknown one is a 422"),
    kind: CompatibilityKind | None = None,
):
    visible = ItemType.objects.visible_to(request.actor)
    links = (
        Compatibility.objects.visible_to(request.actor)
        .filter(source__in=visible, target__in=visible)
        .select_related("source", "target")
        .order_by("source__code", "kind", "target__code", "pk")
    )
    if item:
        named = visible_item_type(request.actor, item, "item")
        links = links.filter(source=named) | links.filter(target=named)
    if kind:
        links = links.filter(kind=kind)
    return links


@router.post("/compatibilities", response={201: CompatibilityOut}, summary="Link two item types (coordination editors)")
def create_compatibility(request, data: CompatibilityCreate):
    def create():
        fields = {
            "source": visible_item_type(request.actor, data.item, "item"),
            "kind": data.kind,
            "target": visible_item_type(request.actor, data.related_item, "related_item"),
            "ratio": data.ratio,
            "note": data.note,
            "citation": data.source,
        }
        link = services.create_compatibility(actor=request.actor, fields=fields)
        return created(CompatibilityOut, link, f"/api/v1/compatibilities/{link.pk}")

    return idempotent(request, scope_of(request.actor), create)


@router.get("/compatibilities/{compatibility_id}", response=CompatibilityOut, summary="One compatibility link")
def get_compatibility(request, compatibility_id: int, response: HttpResponse):
    link = get_visible(Compatibility.objects.select_related("source", "target"), request.actor, pk=compatibility_id)
    with_etag(response, link.version)
    return link


@router.delete("/compatibilities/{compatibility_id}", response={204: None}, summary="Remove a link (If-Match required)")
def delete_compatibility(request, compatibility_id: int):
    get_visible(Compatibility.objects.all(), request.actor, pk=compatibility_id)
    services.delete_compatibility(
        actor=request.actor, compatibility_id=compatibility_id, expected_version=expected_version(request)
    )
    return Status(204, None)


class PackageOut(Schema):
    """What one crew-served system needs beside itself, written out from its package rule."""

    system: str = Field(description="Item type code of the system")
    crew_size: int
    crews_per_system: int
    people_per_system: int = Field(description="crews_per_system × crew_size")
    rounds_per_day: Decimal
    days_of_supply: int
    rounds_per_system: Decimal = Field(description="rounds_per_day × days_of_supply, over everything it fires")
    munitions: list[str] = Field(description="Codes of the item types it fires")
    spare_kits_per_system: Decimal
    spares: list[str] = Field(description="Codes of the item types linked as spares for it")
    source: str
    marking: str
    version: int


class PackageChange(Schema):
    model_config = ConfigDict(extra="forbid")
    crews_per_system: int = Field(1, ge=1, le=32767)
    rounds_per_day: Decimal = Field(Decimal(0), ge=0, max_digits=10, decimal_places=2)
    days_of_supply: int = Field(30, ge=1, le=32767)
    spare_kits_per_system: Decimal = Field(Decimal(0), ge=0, max_digits=8, decimal_places=2)
    source: str = Field(max_length=500, min_length=1)


def _package_out(package: Package) -> dict:
    rule = package.rule
    return PackageOut(
        system=rule.system.code,
        crew_size=package.crew_size,
        crews_per_system=rule.crews_per_system,
        people_per_system=package.people_per_system,
        rounds_per_day=rule.rounds_per_day,
        days_of_supply=rule.days_of_supply,
        rounds_per_system=package.rounds_per_system,
        munitions=[item.code for item in package.munitions],
        spare_kits_per_system=rule.spare_kits_per_system,
        spares=[item.code for item in package.spares],
        source=rule.source,
        marking=rule.marking,
        version=rule.version,
    ).model_dump(mode="json")


@router.get(
    "/item-types/{item_type_id}/package",
    response=PackageOut,
    summary="What a crew-served system needs: crews, munitions in days of supply, spares (404 without a rule)",
)
def get_package(request, item_type_id: int, response: HttpResponse):
    system = get_visible(ItemType.objects.all(), request.actor, pk=item_type_id)
    package = package_of(request.actor, system)
    if package is None:
        raise NotFound(_("%(code)s has no package rule.") % {"code": system.code})
    with_etag(response, package.rule.version)
    return _package_out(package)


@router.put(
    "/item-types/{item_type_id}/package",
    response={200: PackageOut, 201: PackageOut},
    summary="Set a system's package (coordination editors): 201 when new, else If-Match required",
)
def put_package(request, item_type_id: int, data: PackageChange):
    system = get_visible(ItemType.objects.all(), request.actor, pk=item_type_id)
    values = data.model_dump()
    rule = PackageRule.objects.visible_to(request.actor).filter(system=system).first()
    if rule is None:
        services.create_package_rule(actor=request.actor, fields={"system": system, **values})
    else:
        services.update_package_rule(
            actor=request.actor, rule_id=rule.pk, expected_version=expected_version(request), changes=values
        )
    package = package_of(request.actor, system)
    response = JsonResponse(_package_out(package), status=201 if rule is None else 200)
    with_etag(response, package.rule.version)
    return response

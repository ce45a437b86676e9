"""Imports of item types and compatibility links, through the core pipeline (their exports: exports.py)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

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
from umbrella.core import imports
from umbrella.core.access import Marking, OrganizationKind
from umbrella.core.imports import Column, ImportContext


def capability_area(value: str, context: ImportContext) -> CapabilityArea:
    key = ("area", value.lower())
    if key not in context.cache:
        context.cache[key] = CapabilityArea.objects.filter(Q(code__iexact=value) | Q(name__iexact=value)).first()
    if context.cache[key] is None:
        codes = ", ".join(CapabilityArea.objects.values_list("code", flat=True))
        raise ValueError(_("not a capability area; use one of: %(codes)s") % {"codes": codes})
    return context.cache[key]


def nullable_integer(value: str, context: ImportContext) -> int:
    return imports.integer(minimum=1, maximum=1000)(value, context)


def non_negative_decimal(value: str, context: ImportContext) -> Decimal:
    try:
        number = Decimal(value.replace(",", "."))
    except InvalidOperation:
        raise ValueError(_("not a number")) from None
    if not number.is_finite():
        raise ValueError(_("not a number"))
    if number < 0:
        raise ValueError(_("must not be negative"))
    return number


item_type_by_code = imports.visible_lookup(ItemType.objects.visible_to, "code", gettext_lazy("item type"))


@imports.register
class ItemTypeImporter(imports.Importer):
    rows_read_earlier_rows = True
    organization_kinds = frozenset({OrganizationKind.COORDINATOR})
    example = {
        "code": "SHELL-155-HE",
        "name": "155 mm high-explosive shell",
        "capability_area": "artillery",
        "unit_value_eur": "3500",
        "nsn": "1320-01-234-5678",
        "unit_of_issue": "RD",
        "standard": "155 mm NATO",
        "sensitive": "no",
        "bulk": "yes",
    }
    kind = "item-types"
    label = gettext_lazy("Item types")
    columns = (
        Column("code", imports.text(40)),
        Column("name", imports.text(200)),
        Column("capability_area", capability_area),
        Column("unit_value_eur", imports.money),
        Column("nsn", imports.text(20), required=False),
        Column("unit_of_issue", imports.choice(UnitOfIssue), required=False, default=UnitOfIssue.EACH),
        Column("valuation_basis", imports.choice(ValuationBasis), required=False, default=ValuationBasis.REPLACEMENT),
        Column("standard", imports.text(60), required=False),
        Column("sensitive", imports.boolean, required=False, default=False),
        Column("bulk", imports.boolean, required=False, default=False),
        Column("crew_size", nullable_integer, required=False),
        Column("description", imports.text(5000), required=False),
        Column("marking", imports.choice(Marking), required=False, default=Marking.PARTICIPANTS),
    )

    def write(self, values: dict[str, Any], context: ImportContext) -> ItemType:
        return services.create_item_type(actor=context.actor, fields=values)


@imports.register
class CompatibilityImporter(imports.Importer):
    rows_read_earlier_rows = True
    organization_kinds = frozenset({OrganizationKind.COORDINATOR})
    example = {"item": "HOW-155-SP", "kind": "fires", "related_item": "SHELL-155-HE", "note": "standard load"}
    kind = "compatibilities"
    label = gettext_lazy("Compatibility links")
    columns = (
        Column("item", item_type_by_code, field="source"),
        Column("kind", imports.choice(CompatibilityKind)),
        Column("related_item", item_type_by_code, field="target"),
        Column("ratio", imports.positive_decimal, required=False),
        Column("note", imports.text(300), required=False),
        Column("source", imports.text(500), required=False, field="citation", help=gettext_lazy("Where the link is documented.")),
    )

    def write(self, values: dict[str, Any], context: ImportContext) -> Compatibility:
        citation = values.pop("source", None) or ""
        fields = {"source": values.pop("item"), "target": values.pop("related_item"), "citation": citation, **values}
        if fields.get("ratio") is None:
            fields.pop("ratio", None)
        return services.create_compatibility(actor=context.actor, fields=fields)


@imports.register
class PackageRuleImporter(imports.Importer):
    """One row per crew-served system: its crews, its munitions in days of supply, its spares, and where the
    figures come from. A system that has a rule already is a row problem (change it on its page or the API)."""

    rows_read_earlier_rows = True
    organization_kinds = frozenset({OrganizationKind.COORDINATOR})
    example = {
        "system": "HOW-155-SP",
        "crews_per_system": "2",
        "rounds_per_day": "75",
        "days_of_supply": "30",
        "spare_kits_per_system": "1",
        "source": "Planning assumption of the coordination staff, 2026-01",
    }
    kind = "package-rules"
    label = gettext_lazy("Package rules")
    columns = (
        Column("system", item_type_by_code),
        Column("crews_per_system", imports.integer(minimum=1, maximum=1000), required=False, default=1),
        Column("rounds_per_day", non_negative_decimal, required=False, default=Decimal(0)),
        Column("days_of_supply", imports.integer(minimum=1, maximum=1000), required=False, default=30),
        Column("spare_kits_per_system", non_negative_decimal, required=False, default=Decimal(0)),
        Column("source", imports.text(500)),
        Column("marking", imports.choice(Marking), required=False, default=Marking.PARTICIPANTS),
    )

    def write(self, values: dict[str, Any], context: ImportContext) -> PackageRule:
        return services.create_package_rule(actor=context.actor, fields=values)

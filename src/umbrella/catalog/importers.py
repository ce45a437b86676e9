"""Imports of item types and compatibility links, through the core pipeline (their exports: exports.py)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from umbrella.catalog import services
from umbrella.catalog.models import CapabilityArea, Compatibility, CompatibilityKind, ItemType, UnitOfIssue, ValuationBasis
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

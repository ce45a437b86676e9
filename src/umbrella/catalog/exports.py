"""Exports of item types and compatibility links, through the core pipeline; each file imports back."""

from __future__ import annotations

from umbrella.catalog.models import Compatibility, ItemType, PackageRule
from umbrella.core import exports


@exports.register
class ItemTypeExporter(exports.Exporter):
    kind = "item-types"
    columns = (
        exports.ExportColumn("code", lambda o: o.code),
        exports.ExportColumn("name", lambda o: o.name),
        exports.ExportColumn("capability_area", lambda o: o.capability_area.code),
        exports.ExportColumn("unit_value_eur", lambda o: o.unit_value_eur),
        exports.ExportColumn("nsn", lambda o: str(o.parsed_nsn) if o.parsed_nsn else ""),
        exports.ExportColumn("unit_of_issue", lambda o: o.unit_of_issue),
        exports.ExportColumn("valuation_basis", lambda o: o.valuation_basis),
        exports.ExportColumn("standard", lambda o: o.standard),
        exports.ExportColumn("sensitive", lambda o: o.sensitive),
        exports.ExportColumn("bulk", lambda o: o.bulk),
        exports.ExportColumn("crew_size", lambda o: o.crew_size),
        exports.ExportColumn("description", lambda o: o.description),
        exports.ExportColumn("marking", lambda o: o.marking),
    )

    def queryset(self, actor):
        return ItemType.objects.visible_to(actor).select_related("capability_area").order_by("code")


@exports.register
class CompatibilityExporter(exports.Exporter):
    kind = "compatibilities"
    columns = (
        exports.ExportColumn("item", lambda o: o.source.code),
        exports.ExportColumn("kind", lambda o: o.kind),
        exports.ExportColumn("related_item", lambda o: o.target.code),
        exports.ExportColumn("ratio", lambda o: o.ratio),
        exports.ExportColumn("note", lambda o: o.note),
        exports.ExportColumn("source", lambda o: o.citation),
    )

    def queryset(self, actor):
        visible_items = ItemType.objects.visible_to(actor)
        return (
            Compatibility.objects.visible_to(actor)
            .filter(source__in=visible_items, target__in=visible_items)
            .select_related("source", "target")
        )


@exports.register
class PackageRuleExporter(exports.Exporter):
    kind = "package-rules"
    columns = (
        exports.ExportColumn("system", lambda o: o.system.code),
        exports.ExportColumn("crews_per_system", lambda o: o.crews_per_system),
        exports.ExportColumn("rounds_per_day", lambda o: o.rounds_per_day),
        exports.ExportColumn("days_of_supply", lambda o: o.days_of_supply),
        exports.ExportColumn("spare_kits_per_system", lambda o: o.spare_kits_per_system),
        exports.ExportColumn("source", lambda o: o.source),
        exports.ExportColumn("marking", lambda o: o.marking),
    )

    def queryset(self, actor):
        return (
            PackageRule.objects.visible_to(actor)
            .filter(system__in=ItemType.objects.visible_to(actor))
            .select_related("system")
            .order_by("system__code")
        )

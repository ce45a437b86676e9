"""Exports of requirements, through the core pipeline. An export carries `list_series`, so it imports back into that series'
next draft."""

from __future__ import annotations

from umbrella.core import exports
from umbrella.needs.models import Requirement, RequirementList


@exports.register
class RequirementExporter(exports.Exporter):
    kind = "requirements"
    columns = (
        exports.ExportColumn("item_type", lambda o: o.item_type.code),
        exports.ExportColumn("quantity", lambda o: o.quantity),
        exports.ExportColumn("priority", lambda o: o.priority),
        exports.ExportColumn("needed_by", lambda o: o.needed_by),
        exports.ExportColumn("destination", lambda o: o.destination.code),
        exports.ExportColumn("accept_substitutes", lambda o: o.accept_substitutes),
        exports.ExportColumn("notes", lambda o: o.notes),
        exports.ExportColumn("marking", lambda o: o.marking),
        exports.ExportColumn("list_series", lambda o: o.requirement_list.series),
    )

    def queryset(self, actor):
        return (
            Requirement.objects.visible_to(actor)
            .filter(requirement_list__in=RequirementList.objects.visible_to(actor))
            .select_related("requirement_list", "item_type", "destination")
            .order_by("requirement_list__series", "requirement_list__revision", "priority", "id")
        )

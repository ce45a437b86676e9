"""The gazetteer exported in the importer's columns, so a file imports back (a row whose code exists updates it)."""

from __future__ import annotations

from umbrella.core import exports
from umbrella.places.models import Place


def _number(value):
    return "" if value is None else value


@exports.register
class PlaceExporter(exports.Exporter):
    kind = "places"
    columns = (
        exports.ExportColumn("code", lambda o: o.code),
        exports.ExportColumn("kind", lambda o: o.kind),
        exports.ExportColumn("parent", lambda o: o.parent.code if o.parent_id else ""),
        exports.ExportColumn("name_en", lambda o: o.name_en),
        exports.ExportColumn("name_uk", lambda o: o.name_uk),
        exports.ExportColumn("aliases", lambda o: "; ".join(o.alias_list())),
        exports.ExportColumn("latitude", lambda o: _number(o.latitude)),
        exports.ExportColumn("longitude", lambda o: _number(o.longitude)),
        exports.ExportColumn("hub_capacity", lambda o: _number(o.hub_capacity)),
        exports.ExportColumn("hub_capacity_unit", lambda o: o.hub_capacity_unit),
        exports.ExportColumn("hub_handling_days", lambda o: _number(o.hub_handling_days)),
        exports.ExportColumn("source", lambda o: o.source),
        exports.ExportColumn("marking", lambda o: o.marking),
    )

    def queryset(self, actor):
        return Place.objects.visible_to(actor).select_related("parent").order_by("path")

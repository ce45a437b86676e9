"""Allocations as CSV, XLSX or HXL: what the Allocations page shows, for the reader's own tools."""

from umbrella.core import exports
from umbrella.matching.models import Allocation, MatchRun, RunState
from umbrella.matching.queries import with_decisions


@exports.register
class AllocationExporter(exports.Exporter):
    kind = "allocations"
    columns = (
        exports.ExportColumn("allocation", lambda o: o.pk),
        exports.ExportColumn("donor", lambda o: o.pledge.owner.code),
        exports.ExportColumn("pledge", lambda o: o.pledge_id),
        exports.ExportColumn("item_type", lambda o: o.pledge.item_type.code),
        exports.ExportColumn("quantity", lambda o: o.quantity),
        exports.ExportColumn("requirement", lambda o: o.requirement_id),
        exports.ExportColumn("requirement_item_type", lambda o: o.requirement.item_type.code),
        exports.ExportColumn("covers", lambda o: o.covers),
        exports.ExportColumn("priority", lambda o: o.requirement.priority),
        exports.ExportColumn("destination", lambda o: o.requirement.destination.code),
        exports.ExportColumn("needed_by", lambda o: o.requirement.needed_by),
        exports.ExportColumn("available_from", lambda o: o.pledge.available_from),
        exports.ExportColumn("state", lambda o: o.state),
        exports.ExportColumn("pledge_state", lambda o: o.pledge.state),
    )
    hxl = {
        "donor": "#org+donor+code",
        "item_type": "#item+code",
        "quantity": "#indicator+num+allocated",
        "requirement_item_type": "#item+code+requested",
        "priority": "#priority",
        "destination": "#loc+name",
        "needed_by": "#date+needed",
        "available_from": "#date+available",
        "state": "#status",
        "pledge_state": "#status+pledge",
    }

    def queryset(self, actor):
        return (
            Allocation.objects.visible_to(actor)
            .select_related("pledge__owner", "pledge__item_type", "requirement__item_type", "requirement__destination")
            .order_by("id")
        )


@exports.register
class MatchRunExporter(exports.Exporter):
    kind = "match-runs"
    columns = (
        exports.ExportColumn("run", lambda o: o.pk),
        exports.ExportColumn("state", lambda o: o.state),
        exports.ExportColumn("requirement_list", lambda o: f"{o.requirement_list.series} r{o.requirement_list.revision}"),
        exports.ExportColumn("created_at", lambda o: o.created_at),
        exports.ExportColumn("coverage_points", lambda o: o.objective),  # planned, were every proposal approved
        exports.ExportColumn(
            "approved_coverage_points", lambda o: o.approved_points or 0.0 if o.state == RunState.DECIDED else None
        ),
        exports.ExportColumn("points_available", lambda o: o.statistics.get("points_available")),
        exports.ExportColumn("greedy_points", lambda o: o.statistics.get("greedy_points")),
        exports.ExportColumn("proposals", lambda o: o.statistics.get("allocated_arcs")),
        exports.ExportColumn("keep_approved", lambda o: o.keep_approved),
        exports.ExportColumn("diversity_points", lambda o: o.diversity_points),
        exports.ExportColumn("results_digest", lambda o: o.results_digest),
    )

    def queryset(self, actor):
        return with_decisions(MatchRun.objects.visible_to(actor).select_related("requirement_list")).order_by("-id")

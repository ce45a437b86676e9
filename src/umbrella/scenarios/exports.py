"""Saved withdrawal scenarios as CSV or XLSX: what the Scenarios page lists."""

from umbrella.core import exports
from umbrella.scenarios.models import WithdrawalScenario
from umbrella.scenarios.queries import lost_total


@exports.register
class ScenarioExporter(exports.Exporter):
    kind = "scenarios"
    columns = (
        exports.ExportColumn("name", lambda o: o.name),
        exports.ExportColumn("donors", lambda o: ", ".join(o.donors)),
        exports.ExportColumn("role", lambda o: o.role),
        exports.ExportColumn("as_of", lambda o: o.as_of),
        exports.ExportColumn("coverage_points_before", lambda o: o.results["coverage_points_before"]),
        exports.ExportColumn("coverage_points_after", lambda o: o.results["coverage_points_after"]),
        exports.ExportColumn("requirements_losing_coverage", lambda o: len(o.results["uncovered"])),
        exports.ExportColumn("lost_eur", lost_total),
        exports.ExportColumn("created_at", lambda o: o.created_at),
    )

    def queryset(self, actor):
        return WithdrawalScenario.objects.visible_to(actor).order_by("-id")

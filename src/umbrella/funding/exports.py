"""Exports of funding, exchange rates and GDP figures, the IATI activity file and Umbrella's figures in the Kiel tracker's
columns, through the core pipeline."""

from __future__ import annotations

from umbrella.core import exports
from umbrella.funding.iati import iati_activities
from umbrella.funding.importers import FUNDING_COLUMNS
from umbrella.funding.kiel_table import HEADER as KIEL_HEADER
from umbrella.funding.kiel_table import kiel_rows
from umbrella.funding.models import Funding, FxRate
from umbrella.orgs.models import GdpFigure


@exports.register
class FundingExporter(exports.Exporter):
    kind = "funding"
    columns = (
        exports.ExportColumn("donor", lambda o: o.owner.code),
        *(exports.ExportColumn(name, lambda o, name=name: getattr(o, name)) for name in FUNDING_COLUMNS),
        exports.ExportColumn("state", lambda o: o.state),
        exports.ExportColumn("units_per_eur", lambda o: o.units_per_eur),
        exports.ExportColumn("value_eur", lambda o: o.value_eur),
    )

    hxl = {
        "donor": "#org+donor+code",
        "reference": "#activity+code",
        "year": "#date+year",
        "amount": "#value",
        "currency": "#currency",
        "fx_date": "#date+rate",
        "category": "#sector+category",
        "instrument": "#modality+instrument",
        "channel": "#modality",
        "source_url": "#meta+url",
        "source_document": "#meta+source",
        "notes": "#description",
        "marking": "#meta+marking",
        "state": "#status",
        "units_per_eur": "#rate+eur",
        "value_eur": "#value+eur",
    }

    def queryset(self, actor):
        return Funding.objects.visible_to(actor).select_related("owner").order_by("owner__code", "year", "id")


@exports.register
class FxRateExporter(exports.Exporter):
    kind = "fx-rates"
    columns = tuple(
        exports.ExportColumn(name, lambda o, name=name: getattr(o, name))
        for name in ("currency", "date", "units_per_eur", "source")
    )

    def queryset(self, actor):
        return FxRate.objects.visible_to(actor).order_by("currency", "date")


@exports.register
class GdpExporter(exports.Exporter):
    kind = "gdp"
    columns = (
        exports.ExportColumn("organization", lambda o: o.organization.code),
        exports.ExportColumn("year", lambda o: o.year),
        exports.ExportColumn("gdp_bn", lambda o: o.amount_bn),
        exports.ExportColumn("currency", lambda o: o.currency),
        exports.ExportColumn("source", lambda o: o.source),
    )

    def queryset(self, actor):
        return GdpFigure.objects.select_related("organization").order_by("organization__code", "year")


exports.register_document("iati", "xml", iati_activities)


@exports.register
class KielTableExporter(exports.Exporter):
    """Umbrella's figures in the Kiel tracker's data_explorer.csv columns (see funding/kiel_table.py)."""

    kind = "kiel-table"
    carries_record_id = False
    columns = tuple(exports.ExportColumn(name, lambda row, i=i: row[i]) for i, name in enumerate(KIEL_HEADER))

    def queryset(self, actor):
        return Funding.objects.none()

    def rows(self, actor, queryset=None):
        return kiel_rows(actor)

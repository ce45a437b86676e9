"""Import and export of funding, exchange rates and GDP figures, through the core pipeline.

A donor imports its own funding (one row per annual portion); coordination staff import exchange rates
(ECB convention: units of the currency per euro) and GDP figures (billions, with their source).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from umbrella.core import exports, imports
from umbrella.core.access import Marking, OrganizationKind
from umbrella.core.errors import Invalid
from umbrella.core.imports import Column, ImportContext
from umbrella.funding import services
from umbrella.funding.iati import iati_activities
from umbrella.funding.kiel_table import HEADER as KIEL_HEADER
from umbrella.funding.kiel_table import kiel_rows
from umbrella.funding.models import Category, Channel, Funding, FxRate
from umbrella.orgs import services as orgs
from umbrella.orgs.models import GdpFigure, Organization

FUNDING_COLUMNS = ("reference", "year", "amount", "currency", "fx_date", "category", "channel", "source_url",
                   "source_document", "notes", "marking")


def currency(value: str, context: ImportContext) -> str:
    code = value.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValueError(_("must be a three-letter currency code such as EUR or USD"))
    return code


def donor_by_code(value: str, context: ImportContext) -> Organization:
    found = Organization.objects.filter(code=value.strip(), kind=OrganizationKind.DONOR).first()
    if found is None:
        raise ValueError(_("is not the code of a donor organization"))
    return found


@imports.register
class FundingImporter(imports.Importer):
    organization_kinds = frozenset({OrganizationKind.DONOR})
    example = {"reference": "FUND-2026-01", "year": "2026", "amount": "250000000", "currency": "EUR", "fx_date": "2026-01-15",
               "category": "purchase", "channel": "bilateral", "source_url": "https://example.org/budget", "marking": "coordination"}
    kind = "funding"
    label = gettext_lazy("Funding (annual portions)")
    columns = (
        Column("reference", imports.text(80)),
        Column("year", imports.integer(minimum=2014, maximum=2100)),
        Column("amount", imports.positive_decimal),
        Column("currency", currency, required=False, default="EUR"),
        Column("fx_date", imports.date),
        Column("category", imports.choice(Category)),
        Column("channel", imports.choice(Channel), required=False, default=Channel.BILATERAL),
        Column("source_url", imports.text(500), required=False),
        Column("source_document", imports.text(200), required=False),
        Column("notes", imports.text(5000), required=False),
        Column("marking", imports.choice(Marking), required=False, default=Marking.COORDINATION),
        Column("donor", imports.text(16), required=False, field="owner"),
    )
    export_only_columns = ("state", "units_per_eur", "value_eur")

    def write(self, values: dict[str, Any], context: ImportContext) -> Funding:
        donor = values.pop("donor", None)
        own_code = context.actor.organization.code if context.actor.organization else None
        if donor and donor != own_code:
            raise Invalid({"owner": [_("You import funding of %(own)s only, not of %(donor)s.") % {"own": own_code or _("no organization"), "donor": donor}]})
        return services.create_funding(actor=context.actor, fields=imports.pick(values, FUNDING_COLUMNS))


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

    hxl = {"donor": "#org+donor+code", "reference": "#activity+code", "year": "#date+year", "amount": "#value",
           "currency": "#currency", "fx_date": "#date+rate", "category": "#sector+category", "channel": "#modality",
           "source_url": "#meta+url", "source_document": "#meta+source", "notes": "#description", "marking": "#meta+marking",
           "state": "#status", "units_per_eur": "#rate+eur", "value_eur": "#value+eur"}

    def queryset(self, actor):
        return Funding.objects.visible_to(actor).select_related("owner").order_by("owner__code", "year", "id")


@imports.register
class FxRateImporter(imports.Importer):
    organization_kinds = frozenset({OrganizationKind.COORDINATOR})
    example = {"currency": "USD", "date": "2026-01-15", "units_per_eur": "1.08", "source": "ECB reference rate"}
    kind = "fx-rates"
    label = gettext_lazy("Exchange rates (units per euro)")
    columns = (
        Column("currency", currency),
        Column("date", imports.date),
        Column("units_per_eur", imports.positive_decimal),
        Column("source", imports.text(300)),
    )

    def write(self, values: dict[str, Any], context: ImportContext) -> FxRate:
        return services.record_rate(actor=context.actor, fields=values)


@exports.register
class FxRateExporter(exports.Exporter):
    kind = "fx-rates"
    columns = tuple(exports.ExportColumn(name, lambda o, name=name: getattr(o, name)) for name in ("currency", "date", "units_per_eur", "source"))

    def queryset(self, actor):
        return FxRate.objects.visible_to(actor).order_by("currency", "date")


@imports.register
class GdpImporter(imports.Importer):
    organization_kinds = frozenset({OrganizationKind.COORDINATOR})
    example = {"organization": "DEU", "year": "2025", "gdp_bn": "4300", "currency": "EUR", "source": "IMF World Economic Outlook"}
    kind = "gdp"
    label = gettext_lazy("GDP figures (billions, by year)")
    columns = (
        Column("organization", donor_by_code),
        Column("year", imports.integer(minimum=1990, maximum=2100)),
        Column("gdp_bn", imports.positive_decimal, field="amount_bn"),
        Column("currency", currency),
        Column("source", imports.text(300)),
    )

    def write(self, values: dict[str, Any], context: ImportContext) -> GdpFigure:
        organization = values.pop("organization")
        return orgs.record_gdp(actor=context.actor, organization_id=organization.pk, amount_bn=values.pop("gdp_bn"), **values)


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

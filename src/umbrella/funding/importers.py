"""Imports of funding, exchange rates and GDP figures, through the core pipeline (their exports: exports.py).

A donor imports its own funding (one row per annual portion); coordination staff import exchange rates
(ECB convention: units of the currency per euro) and GDP figures (billions, with their source).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from umbrella.core import imports
from umbrella.core.access import DONOR_KINDS, Marking, OrganizationKind
from umbrella.core.errors import Invalid
from umbrella.core.imports import Column, ImportContext
from umbrella.funding import services
from umbrella.funding.models import Category, Channel, Funding, FxRate, Instrument
from umbrella.funding.rates import rate_and_date_on, rate_warning
from umbrella.orgs import services as orgs
from umbrella.orgs.models import GdpFigure, Organization

FUNDING_COLUMNS = (
    "reference",
    "year",
    "amount",
    "currency",
    "fx_date",
    "category",
    "instrument",
    "channel",
    "source_url",
    "source_document",
    "notes",
    "marking",
)


def currency(value: str, context: ImportContext) -> str:
    code = value.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValueError(_("must be a three-letter currency code such as EUR or USD"))
    return code


def donor_by_code(value: str, context: ImportContext) -> Organization:
    found = Organization.objects.filter(code=value.strip(), kind__in=DONOR_KINDS).first()
    if found is None:
        raise ValueError(_("is not the code of a donor organization"))
    return found


@imports.register
class FundingImporter(imports.Importer):
    organization_kinds = DONOR_KINDS
    example = {
        "reference": "FUND-2026-01",
        "year": "2026",
        "amount": "250000000",
        "currency": "EUR",
        "fx_date": "2026-01-15",
        "category": "purchase",
        "instrument": "grant",
        "channel": "bilateral",
        "source_url": "https://example.org/budget",
        "marking": "coordination",
    }
    kind = "funding"
    label = gettext_lazy("Funding (annual portions)")
    columns = (
        Column("reference", imports.text(80)),
        Column("year", imports.integer(minimum=2014, maximum=2100)),
        Column("amount", imports.positive_decimal),
        Column("currency", currency, required=False, default="EUR"),
        Column("fx_date", imports.date),
        Column("category", imports.choice(Category)),
        Column("instrument", imports.choice(Instrument), required=False, default=Instrument.GRANT),
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
            raise Invalid(
                {
                    "owner": [
                        _("You import funding of %(own)s only, not of %(donor)s.")
                        % {"own": own_code or _("no organization"), "donor": donor}
                    ]
                }
            )
        return services.create_funding(actor=context.actor, fields=imports.pick(values, FUNDING_COLUMNS))

    def warnings(self, record: Funding, context: ImportContext) -> list[tuple[str, str]]:
        """A rate older than the settings allow values the row: said on preview, as on its page and in the API."""
        if record.currency == "EUR":
            return []
        key = ("rate date", record.currency, record.fx_date)
        if key not in context.cache:
            context.cache[key] = rate_and_date_on(record.currency, record.fx_date)[1]
        warning = rate_warning(record.currency, record.fx_date, context.cache[key])
        return [("fx_date", warning)] if warning else []


@imports.register
class FxRateImporter(imports.Importer):
    rows_read_earlier_rows = True
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


@imports.register
class GdpImporter(imports.Importer):
    rows_read_earlier_rows = True
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

"""Imports of pledges, through the core pipeline (their export: exports.py).

A donor imports its own pledges; each row is one pledge with one source. An exported file imports again as
announced pledges: `state` and `quantity_delivered`, which the export adds for reading, are ignored.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from umbrella.catalog.importers import item_type_by_code
from umbrella.catalog.models import ValuationBasis
from umbrella.core import imports
from umbrella.core.access import DONOR_KINDS, Marking
from umbrella.core.errors import Invalid
from umbrella.core.imports import Column, ImportContext
from umbrella.funding.models import Instrument
from umbrella.places.importers import place_references
from umbrella.pledges import services
from umbrella.pledges.models import Pledge, SourceKind

PLEDGE_COLUMNS = (
    "item_type",
    "quantity",
    "available_from",
    "value_eur",
    "valuation_basis",
    "end_use_restrictions",
    "allowed_destinations",
    "retransfer_requires_consent",
    "instrument",
    "supplier",
    "origin",
    "payers",
    "reference",
    "notes",
    "marking",
)
SOURCE_COLUMNS = {
    "source_kind": "kind",
    "source_url": "url",
    "source_document": "document_reference",
    "source_date": "date",
    "source_note": "note",
}


@imports.register
class PledgeImporter(imports.Importer):
    organization_kinds = DONOR_KINDS
    example = {
        "item_type": "AMM-155-M795",
        "quantity": "1000",
        "available_from": "2026-03-01",
        "value_eur": "3500000",
        "reference": "PKG-2026-01",
        "marking": "coordination",
        "source_kind": "official",
        "source_url": "https://example.org/announcement",
        "source_date": "2026-01-15",
    }
    kind = "pledges"
    label = gettext_lazy("Pledges")
    columns = (
        Column("item_type", item_type_by_code),
        Column("quantity", imports.integer(minimum=1)),
        Column("available_from", imports.date),
        Column("value_eur", imports.money, required=False),
        Column("valuation_basis", imports.choice(ValuationBasis), required=False),
        Column("end_use_restrictions", imports.text(5000), required=False),
        Column("allowed_destinations", place_references, required=False),
        Column("retransfer_requires_consent", imports.boolean, required=False, default=True),
        Column("instrument", imports.choice(Instrument), required=False, default=Instrument.IN_KIND),
        Column("supplier", imports.text(16), required=False),
        Column("origin", imports.text(3), required=False),
        Column("payers", imports.text(2000), required=False),
        Column("reference", imports.text(80), required=False),
        Column("notes", imports.text(5000), required=False),
        Column("marking", imports.choice(Marking), required=False, default=Marking.COORDINATION),
        Column("source_kind", imports.choice(SourceKind), field="kind"),
        Column("source_url", imports.text(500), required=False, field="url"),
        Column("source_document", imports.text(200), required=False, field="document_reference"),
        Column("source_date", imports.date, field="date"),
        Column("source_note", imports.text(300), required=False, field="note"),
        Column("donor", imports.text(16), required=False, field="owner"),
    )
    export_only_columns = ("state", "quantity_delivered")

    def write(self, values: dict[str, Any], context: ImportContext) -> Pledge:
        donor = values.pop("donor", None)
        own_code = context.actor.organization.code if context.actor.organization else None
        if donor and donor != own_code:
            raise Invalid(
                {
                    "owner": [
                        _("You import pledges of %(own)s only, not of %(donor)s.")
                        % {"own": own_code or _("no organization"), "donor": donor}
                    ]
                }
            )
        source = {SOURCE_COLUMNS[name]: values.pop(name) for name in list(values) if name in SOURCE_COLUMNS}
        fields = imports.pick(values, PLEDGE_COLUMNS)
        return services.create_pledge(actor=context.actor, fields=fields, sources=[source])

"""Import and export of pledges, through the core pipeline.

A donor imports its own pledges; each row is one pledge with one source. The export adds the donor, the
state and the delivered quantity for reading; importing that file again creates announced pledges and
ignores `state` and `quantity_delivered`. A pledge with several sources exports its earliest one.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from umbrella.catalog.importers import item_type_by_code
from umbrella.catalog.models import ValuationBasis
from umbrella.core import exports, imports
from umbrella.core.access import Marking, OrganizationKind
from umbrella.core.errors import Invalid
from umbrella.core.imports import Column, ImportContext
from umbrella.pledges import services
from umbrella.pledges.models import Pledge, SourceKind

PLEDGE_COLUMNS = (
    "item_type", "quantity", "available_from", "value_eur", "valuation_basis", "end_use_restrictions", "allowed_destinations",
    "retransfer_requires_consent", "reference", "notes", "marking",
)
SOURCE_COLUMNS = {"source_kind": "kind", "source_url": "url", "source_document": "document_reference",
                  "source_date": "date", "source_note": "note"}


@imports.register
class PledgeImporter(imports.Importer):
    organization_kinds = frozenset({OrganizationKind.DONOR})
    example = {"item_type": "SHELL-155-HE", "quantity": "1000", "available_from": "2026-03-01", "value_eur": "3500000",
               "reference": "PKG-2026-01", "marking": "coordination", "source_kind": "official",
               "source_url": "https://example.org/announcement", "source_date": "2026-01-15"}
    kind = "pledges"
    label = gettext_lazy("Pledges")
    columns = (
        Column("item_type", item_type_by_code),
        Column("quantity", imports.integer(minimum=1)),
        Column("available_from", imports.date),
        Column("value_eur", imports.money, required=False),
        Column("valuation_basis", imports.choice(ValuationBasis), required=False),
        Column("end_use_restrictions", imports.text(5000), required=False),
        Column("allowed_destinations", imports.text(2000), required=False),
        Column("retransfer_requires_consent", imports.boolean, required=False, default=True),
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
            raise Invalid({"owner": [_("You import pledges of %(own)s only, not of %(donor)s.") % {"own": own_code or _("no organization"), "donor": donor}]})
        source = {SOURCE_COLUMNS[name]: values.pop(name) for name in list(values) if name in SOURCE_COLUMNS}
        fields = imports.pick(values, PLEDGE_COLUMNS)
        return services.create_pledge(actor=context.actor, fields=fields, sources=[source])


def _first_source(pledge: Pledge):
    sources = list(pledge.sources.all())
    return sources[0] if sources else None


def _source_value(attribute: str):
    def value(pledge: Pledge) -> Any:
        source = _first_source(pledge)
        return getattr(source, attribute) if source is not None else ""
    return value


@exports.register
class PledgeExporter(exports.Exporter):
    kind = "pledges"
    columns = (
        exports.ExportColumn("donor", lambda o: o.owner.code),
        exports.ExportColumn("item_type", lambda o: o.item_type.code),
        exports.ExportColumn("quantity", lambda o: o.quantity),
        exports.ExportColumn("available_from", lambda o: o.available_from),
        exports.ExportColumn("value_eur", lambda o: o.value_eur),
        exports.ExportColumn("valuation_basis", lambda o: o.valuation_basis),
        exports.ExportColumn("end_use_restrictions", lambda o: o.end_use_restrictions),
        exports.ExportColumn("allowed_destinations", lambda o: "; ".join(o.destination_list)),
        exports.ExportColumn("retransfer_requires_consent", lambda o: o.retransfer_requires_consent),
        exports.ExportColumn("reference", lambda o: o.reference),
        exports.ExportColumn("notes", lambda o: o.notes),
        exports.ExportColumn("marking", lambda o: o.marking),
        exports.ExportColumn("source_kind", _source_value("kind")),
        exports.ExportColumn("source_url", _source_value("url")),
        exports.ExportColumn("source_document", _source_value("document_reference")),
        exports.ExportColumn("source_date", _source_value("date")),
        exports.ExportColumn("source_note", _source_value("note")),
        exports.ExportColumn("state", lambda o: o.state),
        exports.ExportColumn("quantity_delivered", lambda o: o.quantity_delivered),
    )

    hxl = {"donor": "#org+donor+code", "item_type": "#item+code", "quantity": "#indicator+num+pledged",
           "available_from": "#date+available", "value_eur": "#value+eur", "valuation_basis": "#meta+valuation",
           "end_use_restrictions": "#description+restrictions", "allowed_destinations": "#loc+allowed",
           "reference": "#activity+code", "notes": "#description", "marking": "#meta+marking", "source_url": "#meta+url",
           "source_document": "#meta+source", "source_date": "#date+source", "state": "#status",
           "quantity_delivered": "#indicator+num+delivered"}

    def queryset(self, actor):
        return (
            Pledge.objects.visible_to(actor)
            .select_related("owner", "item_type")
            .prefetch_related("sources")
            .order_by("owner__code", "id")
        )

"""Exports of pledges, through the core pipeline: the donor, the state and the delivered quantity are added for reading, and a
pledge with several sources exports its earliest one; importing the file again ignores what was added."""

from __future__ import annotations

from typing import Any

from umbrella.core import exports
from umbrella.pledges.models import Pledge
from umbrella.pledges.services import payers_text


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
        exports.ExportColumn("allowed_destinations", lambda o: "; ".join(place.code for place in o.destination_list)),
        exports.ExportColumn("retransfer_requires_consent", lambda o: o.retransfer_requires_consent),
        exports.ExportColumn("instrument", lambda o: o.instrument),
        exports.ExportColumn("supplier", lambda o: o.supplier.code if o.supplier_id else ""),
        exports.ExportColumn("origin", lambda o: o.origin),
        exports.ExportColumn("payers", payers_text),
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

    hxl = {
        "donor": "#org+donor+code",
        "item_type": "#item+code",
        "quantity": "#indicator+num+pledged",
        "available_from": "#date+available",
        "value_eur": "#value+eur",
        "valuation_basis": "#meta+valuation",
        "end_use_restrictions": "#description+restrictions",
        "allowed_destinations": "#loc+allowed",
        "instrument": "#modality+instrument",
        "supplier": "#org+supplier+code",
        "origin": "#country+code+origin",
        "payers": "#org+funder+share",
        "reference": "#activity+code",
        "notes": "#description",
        "marking": "#meta+marking",
        "source_url": "#meta+url",
        "source_document": "#meta+source",
        "source_date": "#date+source",
        "state": "#status",
        "quantity_delivered": "#indicator+num+delivered",
    }

    def queryset(self, actor):
        return (
            Pledge.objects.visible_to(actor)
            .select_related("owner", "item_type", "supplier")
            .prefetch_related("sources", "destination_links__place", "payers__organization")
            .order_by("owner__code", "id")
        )

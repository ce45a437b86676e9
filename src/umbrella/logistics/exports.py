"""A consignment's manifest, through the core export pipeline: one row per unit of a serial-tracked line (its
serial), one row per line otherwise (its lots, separated by "; "). The columns are those of the manifest import
(importers.py), so a manifest exported and edited imports again; `item_name` is there for reading only."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.http import HttpResponse
from django.utils.text import slugify

from umbrella.core import exports
from umbrella.core.access import Actor
from umbrella.logistics.models import Consignment, ConsignmentLine
from umbrella.ui.pages import EXPORT_CONTENT_TYPES

LIST_SEPARATOR = "; "


@dataclass(frozen=True)
class ManifestRow:
    """One row of a manifest: a line, its number within its consignment, and one serial (quantity 1) or none (the
    whole line)."""

    line: ConsignmentLine
    number: int
    serial: str
    quantity: int


@exports.register
class ManifestExporter(exports.Exporter):
    kind = "manifest"
    columns = (
        exports.ExportColumn("consignment", lambda row: row.line.consignment.reference),
        exports.ExportColumn("line", lambda row: row.number),
        exports.ExportColumn("allocation", lambda row: row.line.allocation_id),
        exports.ExportColumn("pledge", lambda row: row.line.allocation.pledge_id),
        exports.ExportColumn("item_type", lambda row: row.line.allocation.pledge.item_type.code),
        exports.ExportColumn("item_name", lambda row: row.line.allocation.pledge.item_type.name),
        exports.ExportColumn("serials", lambda row: row.serial),
        exports.ExportColumn("lots", lambda row: LIST_SEPARATOR.join(row.line.lots)),
        exports.ExportColumn("quantity", lambda row: row.quantity),
    )
    hxl = {
        "consignment": "#meta+consignment",
        "line": "#meta+line",
        "allocation": "#meta+allocation+id",
        "pledge": "#meta+pledge+id",
        "item_type": "#item+code",
        "item_name": "#item+name",
        "serials": "#meta+serial",
        "lots": "#meta+lot",
        "quantity": "#indicator+num+shipped",
    }

    def queryset(self, actor: Actor):
        return (
            ConsignmentLine.objects.visible_to(actor)
            .select_related("consignment", "allocation__pledge__item_type")
            .order_by("consignment_id", "id")
        )

    def rows(self, actor: Actor, queryset=None) -> Iterable[list[Any]]:
        """Each line as its rows, numbered 1, 2, … within its consignment (the `line` an import groups rows by);
        the first cell is the line's id."""
        for row in manifest_rows(queryset if queryset is not None else self.queryset(actor)):
            yield [row.line.pk, *(exports.plain(column.value(row)) for column in self.columns)]


def manifest_rows(lines) -> Iterator[ManifestRow]:
    """One row per serial of a serial-tracked line, one per line otherwise, for lines ordered by consignment."""
    consignment_id, number = None, 0
    for line in lines.iterator(chunk_size=2000):
        number = number + 1 if line.consignment_id == consignment_id else 1
        consignment_id = line.consignment_id
        if line.serials:
            yield from (ManifestRow(line, number, serial, 1) for serial in line.serials)
        else:
            yield ManifestRow(line, number, "", line.quantity)


def lines_of(actor: Actor, consignment_id: int):
    """The lines of one consignment the actor may see, in the exporter's order (none when it may not see it)."""
    return exports.exporter_for(ManifestExporter.kind).queryset(actor).filter(consignment_id=consignment_id)


def manifest_response(actor: Actor, consignment: Consignment, fmt: str) -> HttpResponse:
    """One consignment's manifest as a file to download (csv, xlsx, or hxl: CSV with its HXL hashtags). The caller
    found the consignment among those the actor may see; the lines are read through the same visibility."""
    exporter = exports.exporter_for(ManifestExporter.kind)
    content = exports.render(exporter, actor, fmt, queryset=lines_of(actor, consignment.pk))
    response = HttpResponse(content, content_type=EXPORT_CONTENT_TYPES[fmt])
    name = slugify(f"manifest {consignment.reference}") or f"manifest-{consignment.pk}"
    response["Content-Disposition"] = f'attachment; filename="{name}.{"csv" if fmt == exports.HXL else fmt}"'
    return response

"""The one export pipeline: rows an actor may see → CSV or XLSX, safe to open in a spreadsheet.

A text cell that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return)
gets a leading apostrophe, so an exported file never carries a formula someone typed into Umbrella.
Numbers stay numbers. Export columns use the import column names, so an export can be imported again;
the first column is the record's id (RECORD_ID), so a row in a spreadsheet leads back to its record, and
an import accepts and ignores it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from django.db import models
from django.utils.translation import gettext as _

from umbrella.core.access import Actor
from umbrella.core.errors import UnreadableFile

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMATS = ("csv", "xlsx")
HXL = "hxl"  # CSV with a row of HXL hashtags under the header, for kinds that declare them
RECORD_ID = "id"


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def plain(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, Decimal)):
        return value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return neutralise(str(value))


@dataclass(frozen=True)
class ExportColumn:
    name: str
    value: Callable[[Any], Any]


class Exporter:
    kind: ClassVar[str]
    columns: ClassVar[tuple[ExportColumn, ...]]
    hxl: ClassVar[dict[str, str]] = {}  # column name → HXL hashtag (https://hxlstandard.org)
    # False for a table in another tool's fixed layout whose rows are not Umbrella records (the Kiel table).
    carries_record_id: ClassVar[bool] = True

    def queryset(self, actor: Actor) -> models.QuerySet:
        raise NotImplementedError

    def rows(self, actor: Actor, queryset: models.QuerySet | None = None) -> Iterable[list[Any]]:
        for obj in (queryset if queryset is not None else self.queryset(actor)).iterator(chunk_size=2000):
            cells = [plain(column.value(obj)) for column in self.columns]
            yield [obj.pk, *cells] if self.carries_record_id else cells

    @property
    def header(self) -> list[str]:
        names = [column.name for column in self.columns]
        return [RECORD_ID, *names] if self.carries_record_id else names


REGISTRY: dict[str, Exporter] = {}


def register(exporter_class: type[Exporter]) -> type[Exporter]:
    REGISTRY[exporter_class.kind] = exporter_class()
    return exporter_class


def exporter_for(kind: str) -> Exporter:
    try:
        return REGISTRY[kind]
    except KeyError:
        raise UnreadableFile(
            _("Nothing exports %(kind)s; choose one of: %(known)s.") % {"kind": repr(kind), "known": ", ".join(sorted(REGISTRY))}
        ) from None


# Whole documents in another tool's format (an IATI activity file): kind → (file suffix, writer).
DOCUMENTS: dict[str, tuple[str, Callable[[Actor], bytes]]] = {}


def register_document(kind: str, suffix: str, writer: Callable[[Actor], bytes]) -> None:
    DOCUMENTS[kind] = (suffix, writer)


def to_csv(header: list[str], rows: Iterable[list[Any]], tags: list[str] | None = None) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    if tags is not None:
        writer.writerow(tags)
    for row in rows:
        writer.writerow(["" if cell is None else cell for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(header: list[str], rows: Iterable[list[Any]], title: str) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def render(exporter: Exporter, actor: Actor, fmt: str, queryset: models.QuerySet | None = None) -> bytes:
    if fmt == HXL:
        if not exporter.hxl:
            raise UnreadableFile(_("%(kind)s has no HXL tags; use csv or xlsx.") % {"kind": exporter.kind})
        return to_csv(
            exporter.header,
            exporter.rows(actor, queryset),
            tags=[{RECORD_ID: "#meta+id", **exporter.hxl}.get(name, "") for name in exporter.header],
        )
    if fmt not in FORMATS:
        raise UnreadableFile(_("Unknown format %(format)s; use csv, xlsx or hxl.") % {"format": repr(fmt)})
    rows = exporter.rows(actor, queryset)
    return to_csv(exporter.header, rows) if fmt == "csv" else to_xlsx(exporter.header, rows, exporter.kind)

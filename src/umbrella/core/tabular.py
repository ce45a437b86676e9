"""Reading CSV and XLSX files safely into a header and rows of text.

Everything that makes a file unreadable as a whole (wrong type, wrong encoding, hostile archive, too large)
raises UnreadableFile with one clear message before any row is looked at.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.utils.translation import gettext as _

from umbrella.core.errors import UnreadableFile

ZIP_MAGIC = b"PK\x03\x04"
MAX_ZIP_ENTRIES = 1_000
MAX_UNCOMPRESSED_BYTES = 200_000_000
MAX_COMPRESSION_RATIO = 200
PROLOG_BYTES = 4_096
MAX_ROWS = 200_000
DELIMITERS = ",;\t|"


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (spreadsheet row number, cells); the header is row 1


def read_table(data: bytes, filename: str, *, max_bytes: int) -> Table:
    if len(data) > max_bytes:
        raise UnreadableFile(_("%(file)s is %(size)s bytes; the limit is %(limit)s.") % {"file": filename, "size": f"{len(data):,}", "limit": f"{max_bytes:,}"})
    if not data.strip():
        raise UnreadableFile(_("%(file)s is empty.") % {"file": filename})
    suffix = Path(filename).suffix.lower()
    looks_zipped = data.startswith(ZIP_MAGIC)
    if suffix == ".xlsx" or (looks_zipped and suffix not in (".csv", ".txt")):
        if not looks_zipped:
            raise UnreadableFile(_("%(file)s is not an XLSX workbook (an .xlsx file is a zip archive).") % {"file": filename})
        return _read_xlsx(data, filename)
    if suffix in (".csv", ".txt", ".tsv", ""):
        if looks_zipped:
            raise UnreadableFile(_("%(file)s is a zip archive (perhaps an XLSX workbook), not CSV text.") % {"file": filename})
        return _read_csv(data, filename)
    raise UnreadableFile(_("%(file)s: only .csv and .xlsx files can be imported.") % {"file": filename})


def _decode(data: bytes, filename: str) -> str:
    if b"\x00" in data[:PROLOG_BYTES]:
        raise UnreadableFile(_("%(file)s is a binary file, not CSV text.") % {"file": filename})
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnreadableFile(
            _("%(file)s is not UTF-8 text (byte 0x%(byte)02x at position %(position)d); save it as 'CSV UTF-8'.")
            % {"file": filename, "byte": data[error.start], "position": error.start}
        ) from None


def _delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first_line = text.splitlines()[0] if text else ""
        return max(DELIMITERS, key=first_line.count)


def _read_csv(data: bytes, filename: str) -> Table:
    text = _decode(data, filename)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
        lines = list(reader)
    except csv.Error as error:
        raise UnreadableFile(_("%(file)s is not well-formed CSV: %(error)s.") % {"file": filename, "error": error}) from None
    return _table(lines, filename)


def _table(lines: list[list[str]], filename: str) -> Table:
    numbered = [(number, [cell.strip() for cell in cells]) for number, cells in enumerate(lines, start=1)]
    numbered = [(number, cells) for number, cells in numbered if any(cells)]
    if not numbered:
        raise UnreadableFile(_("%(file)s has no header row.") % {"file": filename})
    (_header_row, header), rows = numbered[0], numbered[1:]
    if len(rows) > MAX_ROWS:
        raise UnreadableFile(_("%(file)s has %(rows)s rows; the limit is %(limit)s.") % {"file": filename, "rows": f"{len(rows):,}", "limit": f"{MAX_ROWS:,}"})
    header = [name.strip().lower() for name in header]
    width = len(header)
    padded = [(number, (cells + [""] * width)[: max(width, len(cells))]) for number, cells in rows]
    return Table(header=header, rows=padded)


def check_archive(data: bytes, filename: str) -> None:
    """Refuse zip bombs and XML entity tricks before any XML parser sees the workbook."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise UnreadableFile(_("%(file)s is not a readable XLSX workbook (damaged zip archive).") % {"file": filename}) from None
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ZIP_ENTRIES:
            raise UnreadableFile(_("%(file)s holds %(count)s files; a workbook holds far fewer. Refused.") % {"file": filename, "count": f"{len(entries):,}"})
        total = sum(entry.file_size for entry in entries)
        if total > MAX_UNCOMPRESSED_BYTES:
            raise UnreadableFile(_("%(file)s would expand to %(size)s bytes; the limit is %(limit)s. Refused.")
                                 % {"file": filename, "size": f"{total:,}", "limit": f"{MAX_UNCOMPRESSED_BYTES:,}"})
        for entry in entries:
            if entry.compress_size and entry.file_size / entry.compress_size > MAX_COMPRESSION_RATIO:
                raise UnreadableFile(
                    _("%(file)s: %(entry)s is compressed %(ratio)d:1, the mark of a zip bomb. Refused.")
                    % {"file": filename, "entry": entry.filename, "ratio": entry.file_size // entry.compress_size}
                )
        for entry in entries:
            if entry.filename.endswith((".xml", ".rels")):
                with archive.open(entry) as member:
                    prolog = member.read(PROLOG_BYTES).upper()
                if b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog:
                    raise UnreadableFile(_("%(file)s: %(entry)s declares XML entities or a DTD. Refused.") % {"file": filename, "entry": entry.filename})


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return str(Decimal(repr(value)))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _read_xlsx(data: bytes, filename: str) -> Table:
    check_archive(data, filename)
    import openpyxl  # openpyxl parses with defusedxml when it is installed (it is a dependency)

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for damaged workbooks
        raise UnreadableFile(_("%(file)s is not a readable XLSX workbook (%(error)s).") % {"file": filename, "error": type(error).__name__}) from None
    try:
        sheet = workbook.worksheets[0]
        lines = [[_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    return _table(lines, filename)

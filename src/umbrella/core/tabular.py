"""Reading CSV and XLSX files safely into a header and rows of text.

Everything that makes a file unreadable as a whole (wrong type, wrong encoding, hostile archive, too large,
too wide, too long) raises UnreadableFile with one clear message. Nothing trusts what a file says about its
own size: a CSV line is measured before it is split or sniffed, and every cell of a workbook is counted and
placed by a streaming scan before the workbook is opened, so no row is ever padded out to a far column.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO
from xml.parsers import expat

from django.utils.translation import gettext as _

from umbrella.core.errors import UnreadableFile

ZIP_MAGIC = b"PK\x03\x04"
MAX_ZIP_ENTRIES = 1_000
MAX_UNCOMPRESSED_BYTES = 200_000_000
MAX_COMPRESSION_RATIO = 200
PROLOG_BYTES = 4_096
MAX_ROWS = 2_000_000  # rows below the header of a CSV file, read one at a time
MAX_SHEET_ROWS = 200_000  # rows of a workbook, whose cells are counted and placed before it is opened
MAX_COLUMNS = 200
MAX_LINE_CHARS = 200_000  # one CSV record; Python's csv module also refuses a single cell over 131,072
MAX_CELLS = 2_000_000  # cells written in a workbook (empty formatted ones too), and its shared strings
MAX_XML_ELEMENTS = 10_000_000  # in all of a workbook's XML parts together
SNIFF_LINES = 20
SNIFF_CHARS = 32_768
LINE_READ_BYTES = MAX_LINE_CHARS * 4 + 4  # a line within the limit, in UTF-8, fits in one read
DELIMITERS = ",;\t|"

Row = tuple[int, list[str]]  # (spreadsheet row number, cells); the header is row 1


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: Iterator[Row]  # read once, as the file is read: a million-row file is never whole in memory


def read_table(source: bytes | BinaryIO, filename: str, *, max_bytes: int) -> Table:
    """The header and the rows of a CSV or XLSX file, from its bytes or an open binary file."""
    return _table(read_rows(source, filename, max_bytes=max_bytes), filename)


def read_rows(source: bytes | BinaryIO, filename: str, *, max_bytes: int) -> Iterator[Row]:
    """The file's rows as they are read, within the limits. Problems with the file as a whole are raised
    here, before the first row; a row beyond a limit raises when it is reached."""
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    if size > max_bytes:
        raise UnreadableFile(
            _("%(file)s is %(size)s bytes; the limit is %(limit)s.")
            % {"file": filename, "size": f"{size:,}", "limit": f"{max_bytes:,}"}
        )
    prolog = stream.read(PROLOG_BYTES)
    stream.seek(0)
    if not _has_text(stream):
        raise UnreadableFile(_("%(file)s is empty.") % {"file": filename})
    suffix = Path(filename).suffix.lower()
    looks_zipped = prolog.startswith(ZIP_MAGIC)
    if suffix == ".xlsx" or (looks_zipped and suffix not in (".csv", ".txt")):
        if not looks_zipped:
            raise UnreadableFile(_("%(file)s is not an XLSX workbook (an .xlsx file is a zip archive).") % {"file": filename})
        return _xlsx_rows(stream.read(), filename)
    if suffix in (".csv", ".txt", ".tsv", ""):
        if looks_zipped:
            raise UnreadableFile(_("%(file)s is a zip archive (perhaps an XLSX workbook), not CSV text.") % {"file": filename})
        if b"\x00" in prolog:
            raise UnreadableFile(_("%(file)s is a binary file, not CSV text.") % {"file": filename})
        return _csv_rows(stream, filename)
    raise UnreadableFile(_("%(file)s: only .csv and .xlsx files can be imported.") % {"file": filename})


def _has_text(stream: BinaryIO) -> bool:
    """Whether anything but white space is in the file, read a block at a time."""
    try:
        while block := stream.read(1 << 16):
            if block.strip():
                return True
        return False
    finally:
        stream.seek(0)


def _lines(stream: BinaryIO, filename: str) -> Iterator[str]:
    """The physical lines as text, each measured before anything splits it into cells, decoded one at a time
    (a line that is too long is counted to its end, never held)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    position = 0
    for number in itertools.count(1):
        raw = stream.readline(LINE_READ_BYTES)
        if not raw:
            return
        line = _decoded(decoder, raw, position, filename)
        position += len(raw)
        if len(line) > MAX_LINE_CHARS or not raw.endswith(b"\n") and len(raw) == LINE_READ_BYTES:
            length = len(line) + _rest_of_line(stream, decoder, position, filename)
            raise UnreadableFile(
                _("%(file)s: line %(line)s is %(length)s characters long; the limit is %(limit)s.")
                % {"file": filename, "line": f"{number:,}", "length": f"{length:,}", "limit": f"{MAX_LINE_CHARS:,}"}
            )
        yield line


def _decoded(decoder: codecs.IncrementalDecoder, raw: bytes, position: int, filename: str) -> str:
    try:
        return decoder.decode(raw)
    except UnicodeDecodeError as error:
        raise UnreadableFile(
            _("%(file)s is not UTF-8 text (byte 0x%(byte)02x at position %(position)d); save it as 'CSV UTF-8'.")
            % {"file": filename, "byte": raw[error.start], "position": position + error.start}
        ) from None


def _rest_of_line(stream: BinaryIO, decoder: codecs.IncrementalDecoder, position: int, filename: str) -> int:
    length = 0
    while raw := stream.readline(LINE_READ_BYTES):
        length += len(_decoded(decoder, raw, position, filename))
        position += len(raw)
        if raw.endswith(b"\n"):
            break
    return length


def _delimiter(sample: str) -> str:
    # The sniffer's cost grows faster than its sample (regular expressions, per-character counts per line):
    # it sees a bounded sample, whatever the file holds.
    sample = sample[:SNIFF_CHARS]
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first_line = sample.splitlines()[0] if sample else ""
        return max(DELIMITERS, key=first_line.count)


def _csv_rows(stream: BinaryIO, filename: str) -> Iterator[Row]:
    lines = _lines(stream, filename)
    first = list(itertools.islice(lines, SNIFF_LINES))
    records = csv.reader(itertools.chain(first, lines), delimiter=_delimiter("".join(first)))
    return _checked_records(records, filename)


def _checked_records(records: Iterator[list[str]], filename: str) -> Iterator[Row]:
    try:
        for number, cells in enumerate(records, start=1):
            _check_width(filename, number, len(cells))
            length = sum(map(len, cells))
            if length > MAX_LINE_CHARS:
                raise UnreadableFile(
                    _("%(file)s: row %(row)s is %(length)s characters long; the limit is %(limit)s.")
                    % {"file": filename, "row": f"{number:,}", "length": f"{length:,}", "limit": f"{MAX_LINE_CHARS:,}"}
                )
            yield number, cells
    except csv.Error as error:
        raise UnreadableFile(_("%(file)s is not well-formed CSV: %(error)s.") % {"file": filename, "error": error}) from None


def _check_width(filename: str, row: int, columns: int) -> None:
    if columns > MAX_COLUMNS:
        raise UnreadableFile(
            _("%(file)s: row %(row)s has %(columns)s columns; the limit is %(limit)s.")
            % {"file": filename, "row": f"{row:,}", "columns": f"{columns:,}", "limit": f"{MAX_COLUMNS:,}"}
        )


def _table(rows: Iterator[Row], filename: str) -> Table:
    """The header (the first row with anything in it) read now, the rest as they are asked for."""
    header: list[str] | None = None
    for _row_number, cells in rows:
        stripped = [cell.strip() for cell in cells]
        if any(stripped):
            header = [name.lower() for name in stripped]
            break
    if header is None:
        raise UnreadableFile(_("%(file)s has no header row.") % {"file": filename})
    return Table(header=header, rows=_body(rows, len(header), filename))


def _body(rows: Iterator[Row], width: int, filename: str) -> Iterator[Row]:
    kept = 0
    for number, cells in rows:
        stripped = [cell.strip() for cell in cells]
        if not any(stripped):
            continue
        kept += 1
        if kept > MAX_ROWS:
            raise UnreadableFile(_("%(file)s has more than %(limit)s rows.") % {"file": filename, "limit": f"{MAX_ROWS:,}"})
        yield number, stripped + [""] * (width - len(stripped))


def check_archive(data: bytes, filename: str) -> None:
    """Refuse zip bombs and XML entity tricks before any XML parser sees the workbook."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise UnreadableFile(_("%(file)s is not a readable XLSX workbook (damaged zip archive).") % {"file": filename}) from None
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ZIP_ENTRIES:
            raise UnreadableFile(
                _("%(file)s holds %(count)s files; a workbook holds far fewer. Refused.")
                % {"file": filename, "count": f"{len(entries):,}"}
            )
        total = sum(entry.file_size for entry in entries)
        if total > MAX_UNCOMPRESSED_BYTES:
            raise UnreadableFile(
                _("%(file)s would expand to %(size)s bytes; the limit is %(limit)s. Refused.")
                % {"file": filename, "size": f"{total:,}", "limit": f"{MAX_UNCOMPRESSED_BYTES:,}"}
            )
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
                    raise UnreadableFile(
                        _("%(file)s: %(entry)s declares XML entities or a DTD. Refused.")
                        % {"file": filename, "entry": entry.filename}
                    )


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


SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
ROW_TAG, CELL_TAG, DIMENSION_TAG, SHARED_STRING_TAG = (f"{SHEET_NS} {name}" for name in ("row", "c", "dimension", "si"))


class _WorkbookScan:
    """Counts and places every cell of every XML part with expat callbacks (no tree is built), refusing as
    soon as a row, a column or a count passes its limit. The extent it finds bounds what openpyxl reads."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.elements = self.cells = self.strings = 0
        self.row = self.column = 0
        self.last_row = self.last_column = 0

    def scan(self, archive: zipfile.ZipFile) -> None:
        for entry in archive.infolist():
            if entry.filename.endswith((".xml", ".rels")):
                self._scan_part(archive, entry.filename)

    def _scan_part(self, archive: zipfile.ZipFile, part: str) -> None:
        self.row = self.column = 0
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.StartElementHandler = self._start
        parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = lambda *_: self._refuse_dtd(part)
        with archive.open(part) as member:
            try:
                parser.ParseFile(member)
            except expat.ExpatError as error:
                raise UnreadableFile(
                    _("%(file)s is not a readable XLSX workbook (%(error)s).")
                    % {"file": self.filename, "error": f"{part}: {error}"}
                ) from None

    def _refuse_dtd(self, part: str) -> None:
        raise UnreadableFile(
            _("%(file)s: %(entry)s declares XML entities or a DTD. Refused.") % {"file": self.filename, "entry": part}
        )

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        self.elements += 1
        if self.elements > MAX_XML_ELEMENTS:
            raise UnreadableFile(_("%(file)s holds more than %(limit)s XML elements. Refused.") % self._limit(MAX_XML_ELEMENTS))
        if name == ROW_TAG:
            self.row = self._row_number(attributes.get("r"))
            self.column = 0
        elif name == CELL_TAG:
            self._cell(attributes.get("r"))
        elif name == SHARED_STRING_TAG:
            self.strings += 1
            if self.strings > MAX_CELLS:
                raise UnreadableFile(_("%(file)s holds more than %(limit)s shared strings. Refused.") % self._limit(MAX_CELLS))
        elif name == DIMENSION_TAG:
            self._declared(attributes.get("ref", ""))

    def _row_number(self, text: str | None) -> int:
        if text is None:
            return self.row + 1
        try:
            number = float(text)  # openpyxl accepts "3.0"
        except ValueError:
            number = float("nan")
        if not number.is_integer():
            raise UnreadableFile(
                _("%(file)s is not a readable XLSX workbook (%(error)s).")
                % {"file": self.filename, "error": f"row {text[:20]!r}"}
            )
        return int(number)

    def _cell(self, reference: str | None) -> None:
        from openpyxl.utils.cell import coordinate_to_tuple

        self.cells += 1
        if self.cells > MAX_CELLS:
            raise UnreadableFile(_("%(file)s holds more than %(limit)s cells. Refused.") % self._limit(MAX_CELLS))
        row, column = self.row, self.column + 1
        if reference:
            try:
                row, column = coordinate_to_tuple(reference)
            except ValueError:
                raise UnreadableFile(
                    _("%(file)s is not a readable XLSX workbook (%(error)s).")
                    % {"file": self.filename, "error": f"cell {reference[:20]!r}"}
                ) from None
        self.column = column
        last_row = max(row, self.row)
        if column > MAX_COLUMNS or last_row > MAX_SHEET_ROWS + 1:
            raise UnreadableFile(
                _("%(file)s has a cell at %(cell)s, beyond the limits of %(columns)s columns and %(rows)s rows.")
                % {
                    "file": self.filename,
                    "cell": reference or f"R{last_row}C{column}",
                    "columns": f"{MAX_COLUMNS:,}",
                    "rows": f"{MAX_SHEET_ROWS + 1:,}",
                }
            )
        self.last_row, self.last_column = max(self.last_row, last_row), max(self.last_column, column)

    def _declared(self, reference: str) -> None:
        from openpyxl.utils.cell import range_boundaries

        try:
            _first_column, _first_row, columns, rows = range_boundaries(reference)
        except (ValueError, TypeError):
            return  # openpyxl refuses a malformed dimension itself when it opens the workbook
        if (columns or 0) > MAX_COLUMNS or (rows or 0) > MAX_SHEET_ROWS + 1:
            raise UnreadableFile(
                _("%(file)s declares a sheet of %(reference)s, beyond the limits of %(columns)s columns and %(rows)s rows.")
                % {
                    "file": self.filename,
                    "reference": reference[:40],
                    "columns": f"{MAX_COLUMNS:,}",
                    "rows": f"{MAX_SHEET_ROWS + 1:,}",
                }
            )

    def _limit(self, limit: int) -> dict[str, str]:
        return {"file": self.filename, "limit": f"{limit:,}"}


def _xlsx_rows(data: bytes, filename: str) -> Iterator[Row]:
    check_archive(data, filename)
    scan = _WorkbookScan(filename)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        scan.scan(archive)
    import openpyxl  # openpyxl parses with defusedxml when it is installed (it is a dependency)

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for damaged workbooks
        raise UnreadableFile(
            _("%(file)s is not a readable XLSX workbook (%(error)s).") % {"file": filename, "error": type(error).__name__}
        ) from None
    return _sheet_rows(workbook, scan.last_row, scan.last_column)


def _sheet_rows(workbook, last_row: int, last_column: int) -> Iterator[Row]:
    try:
        if not (last_row and last_column and workbook.worksheets):
            return
        # Bounded by the cells the scan found, never by the dimension the sheet declares (which may be far too
        # large, making openpyxl pad every row, or too small, making it drop rows).
        rows = workbook.worksheets[0].iter_rows(max_row=last_row, max_col=last_column, values_only=True)
        for number, values in enumerate(rows, start=1):
            if values.count(None) < len(values):
                yield number, [_cell_text(value) for value in values]
    finally:
        workbook.close()

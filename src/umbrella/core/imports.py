"""The one import pipeline: read → parse every cell → run every row through the services → report → commit.

Every row is parsed, and every parsed row goes through the real service inside one transaction, on the
bulk write path (`core.bulk`), so the report lists every problem (row, column, value, reason) that a commit
would meet: malformed cells, unknown references, permissions, duplicates, model rules. If there is any
problem, or the run is a dry run, the transaction is rolled back and nothing is written.
"""

from __future__ import annotations

import calendar
import datetime as dt
import gc
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from django.db import models, transaction
from django.utils.dates import MONTHS
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from umbrella.core import bulk
from umbrella.core.access import Actor, Role, allowed, require_role
from umbrella.core.errors import DomainError, Invalid, RowError, UnreadableFile
from umbrella.core.exports import RECORD_ID
from umbrella.core.money import eur
from umbrella.core.tabular import Table

Parser = Callable[[str, "ImportContext"], Any]
Progress = Callable[[int, int], None]

_TRUE = {"true", "yes", "y", "1", "x"}
_FALSE = {"false", "no", "n", "0", ""}


@dataclass
class ImportContext:
    actor: Actor
    options: dict[str, Any]
    cache: dict[Any, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Column:
    name: str
    parse: Parser
    required: bool = True
    default: Any = None
    field: str | None = None  # the model field the service reports errors under, when named differently
    help: str = ""

    @property
    def field_name(self) -> str:
        return self.field or self.name


@dataclass
class PreviewRow:
    row: int
    values: dict[str, str]
    ok: bool


@dataclass
class ImportReport:
    kind: str
    rows: int
    errors: list[RowError]
    preview: list[PreviewRow]
    written: bool
    dry_run: bool
    records: list[models.Model] = field(default_factory=list)  # the first RECORDS_KEPT a commit wrote, in file order
    # What the reader should know about rows that are valid and may be written (a rate older than the settings
    # allow): said with the report, never a reason to write nothing.
    warnings: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "rows": self.rows,
            "written": self.written,
            "dry_run": self.dry_run,
            "errors": [error.__dict__ for error in self.errors],
            "warnings": [warning.__dict__ for warning in self.warnings],
        }


class Importer:
    """One kind of record that can be imported. Subclasses give the columns and write one row."""

    kind: ClassVar[str]
    label: ClassVar[str]
    columns: ClassVar[tuple[Column, ...]]
    # Columns an export writes for people to read (a state, a delivered count): accepted, never imported.
    export_only_columns: ClassVar[tuple[str, ...]] = ()
    # The least role the services behind this importer ask for; someone below it cannot write a single row.
    required_role: ClassVar[str] = Role.EDITOR
    # The kinds of organization the services behind this importer write for (None: any); the others could not
    # write a single row either.
    organization_kinds: ClassVar[frozenset[str] | None] = None
    # Whether a row's service reads what earlier rows of the file wrote (a uniqueness rule, an update of a row
    # that exists): then the bulk path writes every earlier row before each row (`core.bulk`).
    rows_read_earlier_rows: ClassVar[bool] = False
    # One row a person can copy: column name → example cell, for the template file the import page offers.
    example: ClassVar[dict[str, str]] = {}
    # Whether the import page offers it: not a kind whose file goes into a record its own page names (sightings
    # into an inventory: `umbrella import sightings --inventory ID`, or the inventory's page).
    on_import_page: ClassVar[bool] = True

    def warnings(self, record: models.Model, context: ImportContext) -> list[tuple[str, str]]:
        """What to tell the reader about a row written as `record`, as (column, message) pairs (none by default)."""
        return []

    def require_role(self, actor: Actor) -> None:
        """Refuse someone without the role or of another kind of organization before their file is opened
        (Forbidden). Which organizations may write which rows the services decide row by row."""
        require_role(
            actor, self.required_role, kinds=self.organization_kinds, doing=_("Importing %(kind)s") % {"kind": self.kind}
        )

    def template_rows(self) -> tuple[list[str], list[str]]:
        """The header and one example row of a file this importer reads."""
        header = [column.name for column in self.columns]
        return header, [self.example.get(name, "") for name in header]

    def prepare(self, context: ImportContext) -> None:
        """Check the options before any row is read; raise UnreadableFile for a run that cannot start."""

    def write(self, values: dict[str, Any], context: ImportContext) -> models.Model:
        raise NotImplementedError

    def finish(self, context: ImportContext) -> None:
        """After every row passed and was written, in the same transaction and off the bulk path (earlier rows
        are in the tables): what follows from the rows as a whole (the schedule sightings move). Not called on a
        dry run or when any row has a problem."""


REGISTRY: dict[str, Importer] = {}


def register(importer_class: type[Importer]) -> type[Importer]:
    REGISTRY[importer_class.kind] = importer_class()
    return importer_class


def importer_for(kind: str) -> Importer:
    try:
        return REGISTRY[kind]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise UnreadableFile(
            _("Nothing imports %(kind)s; choose one of: %(known)s.") % {"kind": repr(kind), "known": known}
        ) from None


def importers_for(actor: Actor) -> list[Importer]:
    """The kinds the import page offers this actor: those its role and organization could import at least one
    row of, by kind."""
    return [
        importer
        for kind, importer in sorted(REGISTRY.items())
        if importer.on_import_page and allowed(importer.require_role, actor)
    ]


def check_header(importer: Importer, table: Table, filename: str) -> None:
    known = {column.name for column in importer.columns} | set(importer.export_only_columns) | {RECORD_ID}
    required = [column.name for column in importer.columns if column.required]
    missing = [name for name in required if name not in table.header]
    unknown = [name for name in table.header if name and name not in known]
    duplicated = sorted(name for name, count in Counter(table.header).items() if name and count > 1)
    problems = []
    if missing:
        problems.append(_("missing columns: %(names)s") % {"names": ", ".join(missing)})
    if unknown:
        problems.append(_("unknown columns: %(names)s") % {"names": ", ".join(unknown)})
    if duplicated:
        problems.append(_("repeated columns: %(names)s") % {"names": ", ".join(duplicated)})
    if problems:
        expected = ", ".join(column.name for column in importer.columns)
        raise UnreadableFile(
            _("%(file)s: %(problems)s. The columns for %(kind)s are: %(expected)s.")
            % {"file": filename, "problems": "; ".join(problems), "kind": importer.kind, "expected": expected}
        )


def _parse_row(
    importer: Importer, header: list[str], number: int, cells: list[str], context: ImportContext
) -> tuple[dict[str, Any], list[RowError]]:
    raw = dict(zip(header, cells, strict=False))
    if importer.example and _is_the_example(importer.example, raw):
        return {}, [
            RowError(number, "", "", _("This is the template's example row: replace it with your own data or delete it."))
        ]
    values: dict[str, Any] = {}
    errors: list[RowError] = []
    for column in importer.columns:
        text = raw.get(column.name, "").strip()
        if not text:
            if column.required and column.default is None:
                errors.append(RowError(number, column.name, text, _("a value is required")))
            elif column.default is not None:
                values[column.name] = column.default
            continue
        try:
            values[column.name] = column.parse(text, context)
        except ValueError as error:
            errors.append(RowError(number, column.name, text, str(error)))
    return values, errors


def _is_the_example(example: Mapping[str, str], raw: Mapping[str, str]) -> bool:
    """A row left as the template's example would import as real data (a pledge nobody made)."""
    return all(raw.get(name, "").strip() == value for name, value in example.items())


def _errors_from(error: DomainError, importer: Importer, number: int, raw: Mapping[str, str]) -> list[RowError]:
    if not isinstance(error, Invalid):
        return [RowError(number, "", "", error.message)]
    by_field = {column.field_name: column.name for column in importer.columns}
    found = []
    for field_name, messages in error.field_errors.items():
        column = by_field.get(field_name, "" if field_name == "__all__" else field_name)
        for message in messages:
            found.append(RowError(number, column, raw.get(column, ""), message))
    return found


PREVIEW_ROWS = 200  # rows of a report kept to show (the page shows these, and counts the rest)
RECORDS_KEPT = 200  # records of a commit kept to show; the report counts them all


def run_import(
    importer: Importer,
    *,
    actor: Actor,
    table: Table,
    filename: str,
    dry_run: bool,
    options: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Run every row of the table through the importer's service, on the bulk write path (`core.bulk`): one
    transaction, rows written in chunks, nothing kept unless every row is valid and this is no dry run. The
    table's rows are read as they come, so memory holds one chunk, the problems and a preview."""
    check_header(importer, table, filename)
    context = ImportContext(actor=actor, options=dict(options or {}))
    report = ImportReport(importer.kind, 0, [], [], written=False, dry_run=dry_run)
    deferred = bulk.deferred_writes(writing=not dry_run, rows_read_earlier_rows=importer.rows_read_earlier_rows)
    with _older_objects_left_out_of_collection(), transaction.atomic():
        with deferred as batch:
            importer.prepare(context)
            for number, cells in table.rows:
                report.rows += 1
                row_errors = _import_row(importer, table.header, number, cells, context, batch, report)
                if row_errors:
                    report.errors.extend(row_errors)
                    batch.writing = False
                if progress is not None:
                    progress(report.rows, None)
        report.written = not report.errors and not dry_run
        if report.written:
            importer.finish(context)
        else:
            transaction.set_rollback(True)
    if not report.written:
        report.records = []
    return report


@contextmanager
def _older_objects_left_out_of_collection() -> Iterator[None]:
    """The objects that exist when an import starts (Django, the modules, the apps' caches: over a hundred
    thousand) are set aside from Python's cyclic garbage collection while it runs, and given back after. A
    hundred thousand rows make enough objects to start about twenty full collections, and each walked all of
    those again: 1.2 s, about 4 % of the import's processor time (0.16 s with them set aside). Left alone
    where something else has set objects aside."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _import_row(
    importer: Importer,
    header: list[str],
    number: int,
    cells: list[str],
    context: ImportContext,
    batch: bulk.Batch,
    report: ImportReport,
) -> list[RowError]:
    values, row_errors = _parse_row(importer, header, number, cells, context)
    if not row_errors:
        batch.start_row()
        try:
            record = importer.write(values, context)
        except DomainError as error:
            batch.discard_row()
            row_errors = _errors_from(error, importer, number, dict(zip(header, cells, strict=False)))
        else:
            if len(report.records) < RECORDS_KEPT:
                report.records.append(record)
            batch.row_done()
            cells_by_column = dict(zip(header, cells, strict=False))
            report.warnings.extend(
                RowError(number, column, cells_by_column.get(column, ""), message)
                for column, message in importer.warnings(record, context)
            )
    if len(report.preview) < PREVIEW_ROWS:
        report.preview.append(PreviewRow(row=number, values=dict(zip(header, cells, strict=False)), ok=not row_errors))
    return row_errors


# Cell parsers: each takes the cell's text and raises ValueError with a reason a person can act on.


def text(max_length: int) -> Parser:
    def parse(value: str, context: ImportContext) -> str:
        if len(value) > max_length:
            raise ValueError(_("longer than %(limit)d characters") % {"limit": max_length})
        return value

    return parse


def integer(minimum: int | None = None, maximum: int | None = None) -> Parser:
    def parse(value: str, context: ImportContext) -> int:
        cleaned = value.replace(" ", "").replace("\u00a0", "").replace(",", "").replace("_", "")
        try:
            result = int(cleaned)  # what Decimal reads as a whole number, read directly: most cells are digits
        except ValueError:
            result = _whole_number(cleaned)
        if minimum is not None and result < minimum:
            raise ValueError(_("must be at least %(minimum)d") % {"minimum": minimum})
        if maximum is not None and result > maximum:
            raise ValueError(_("must be at most %(maximum)d") % {"maximum": maximum})
        return result

    return parse


def _whole_number(text: str) -> int:
    """A whole number written as a decimal ("12.0", "1e3")."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(_("not a whole number")) from None
    if not number.is_finite() or number != number.to_integral_value():
        raise ValueError(_("not a whole number"))
    return int(number)


def money(value: str, context: ImportContext) -> Decimal:
    try:
        amount = eur(value.replace(",", "") if value.count(",") and value.count(".") else value.replace(",", "."))
    except ValueError:
        raise ValueError(_("not an amount")) from None
    if amount < 0:
        raise ValueError(_("must not be negative"))
    return amount


def date(value: str, context: ImportContext) -> dt.date:
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise ValueError(_not_a_day(value[:10])) from None


def _not_a_day(text: str) -> str:
    """Why a YYYY-MM-DD text names no day (a month or day out of range), or that it is not in that form."""
    shaped = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    if not shaped:
        return _("not a date in the form YYYY-MM-DD")
    year, month, _day = (int(part) for part in shaped.groups())
    if not 1 <= month <= 12:
        return _("no such day: there is no month %(month)d") % {"month": month}
    days = calendar.monthrange(max(year, 1), month)[1]
    return ngettext(
        "no such day: %(month)s %(year)d has %(days)d day", "no such day: %(month)s %(year)d has %(days)d days", days
    ) % {"month": MONTHS[month], "year": year, "days": days}


def boolean(value: str, context: ImportContext) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(_("use yes or no"))


def choice(choices: type[models.TextChoices]) -> Parser:
    by_text = {}
    for member in choices:
        by_text[str(member.value).lower()] = member.value
        by_text[str(member.label).lower()] = member.value

    def parse(value: str, context: ImportContext) -> str:
        try:
            return by_text[value.strip().lower()]
        except KeyError:
            allowed = ", ".join(str(member.value) for member in choices)
            raise ValueError(_("not one of: %(allowed)s") % {"allowed": allowed}) from None

    return parse


def visible_lookup(queryset_for: Callable[[Actor], models.QuerySet], field_name: str, noun: str) -> Parser:
    """Resolve a cell to one record the importing actor may see, by a unique field (cached per run, under this
    parser: a key naming the lazily translated noun would translate it again for every row to hash it)."""

    def parse(value: str, context: ImportContext) -> Any:
        key = (parse, value)
        if key not in context.cache:
            context.cache[key] = queryset_for(context.actor).filter(**{field_name: value}).first()
        found = context.cache[key]
        if found is None:
            raise ValueError(
                _("no %(noun)s with %(field)s %(value)s") % {"noun": noun, "field": field_name, "value": repr(value)}
            )
        return found

    return parse


def pick(values: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    return {name: values[name] for name in names if name in values}


def positive_decimal(value: str, context: ImportContext) -> Decimal:
    try:
        number = Decimal(value.replace(",", "."))
    except InvalidOperation:
        raise ValueError(_("not a number")) from None
    if not number.is_finite() or number <= 0:
        raise ValueError(_("must be a number above zero"))
    return number

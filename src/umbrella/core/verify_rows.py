"""Comparing the rows of the ledgered tables with the ledger, for `core.verify`: each row must be as the latest
entry about it left it, every row must have one, and every row an entry says exists must exist.

A table is read as tuples, each snapshotted (`snapshot_values`, as `snapshot` would a model instance) and
compared with its latest entry's `after`, read by sequence number a chunk at a time (so only the latest entry's
number of each row is held, not its snapshot); a row that differs is read as a model instance to be reported,
as is every row of a table whose rows seal others (`sealed_rows_problem`). A big table is checked in two halves by key, which two
processes can take.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from django.db import models

from umbrella.core.ledger import snapshot, snapshot_fields, snapshot_values
from umbrella.core.models import ChangeRecord
from umbrella.core.verify_entries import MAX_PROBLEMS, Problem, json_value, raw_rows

CHUNK = 2000
SPLIT_FROM = 20_000  # rows: a table this big is checked in two halves


@dataclass
class RowFindings:
    problems: list[Problem] = field(default_factory=list)
    rows_checked: int = 0

    @property
    def full(self) -> bool:
        return len(self.problems) >= MAX_PROBLEMS

    def add(self, problem: Problem) -> None:
        if not self.full:
            self.problems.append(problem)


@dataclass(frozen=True)
class TablePart:
    """The rows of one table with `low` <= key < `high` (None: unbounded)."""

    model: type[models.Model]
    low: Any = None
    high: Any = None


def _snapshot_problem(row: models.Model, entity: str, recorded: Any) -> str | None:
    if recorded is None:
        return f"row {entity} {row.pk} has no ledger entry."
    current = snapshot(row, recorded)
    if current != recorded:
        fields = sorted(name for name in set(current) | set(recorded) if current.get(name) != recorded.get(name))
        return f"row {entity} {row.pk} differs from the ledger in: {', '.join(fields)}."
    if hasattr(row, "sealed_rows_problem") and (problem := row.sealed_rows_problem()):
        return f"row {entity} {row.pk}: {problem}"
    return None


def _afters(sequences: list[int]) -> dict[int, Any]:
    if not sequences:
        return {}
    found = ChangeRecord.objects.filter(sequence__in=sequences).values_list("sequence", "after")
    return {sequence: json_value(after) for sequence, after in raw_rows(found)}


def _chunks(rows: Iterator[Any]) -> Iterator[list[Any]]:
    while chunk := list(islice(rows, CHUNK)):
        yield chunk


def table_parts(model: type[models.Model], ids: set[str] | None) -> list[TablePart]:
    """The table whole, or in two halves by key when all of it is to be checked and it is big."""
    if ids is not None:
        return [TablePart(model)]
    keys = model.objects.order_by("pk").values_list("pk", flat=True)
    count = keys.count()
    if count < SPLIT_FROM:
        return [TablePart(model)]
    middle = keys[count // 2]
    if not isinstance(middle, int):  # Python and the database might order other keys differently
        return [TablePart(model)]
    return [TablePart(model, high=middle), TablePart(model, low=middle)]


class TableCheck:
    """One part of one table against `latest` (entity id -> the sequence number of the latest entry about the row,
    negative when that entry deleted it)."""

    def __init__(self, findings: RowFindings, part: TablePart, latest: dict[str, int]) -> None:
        self.findings, self.part, self.latest = findings, part, latest
        self.model = part.model
        self.entity = self.model._meta.label_lower
        self.fields = snapshot_fields(self.model)
        self.by_instance = hasattr(self.model, "sealed_rows_problem")

    def _key(self, entity_id: str) -> Any:
        try:
            return self.model._meta.pk.to_python(entity_id)
        except Exception:  # an id no row of the table could have: missing, reported by the part without a low bound
            return None

    def _in_part(self, key: Any) -> bool:
        if key is None:
            return self.part.low is None
        return (self.part.low is None or key >= self.part.low) and (self.part.high is None or key < self.part.high)

    def _rows(self, ids: set[str] | None) -> Iterator[Any]:
        rows = self.model.objects.order_by("pk")
        if self.part.low is not None:
            rows = rows.filter(pk__gte=self.part.low)
        if self.part.high is not None:
            rows = rows.filter(pk__lt=self.part.high)
        if not self.by_instance:
            rows = rows.values_list(*(f.attname for f in self.fields))
        if ids is None:
            yield from self._pages(rows)
            return
        keys = [key for key in map(self._key, ids) if key is not None]
        for start in range(0, len(keys), CHUNK):  # a few thousand keys a query, as a database takes them
            yield from rows.filter(pk__in=keys[start : start + CHUNK])

    def _pages(self, rows: models.QuerySet) -> Iterator[Any]:
        """Every row, CHUNK at a time by key: each page a plain query over a range of the primary key's index.
        (A streaming cursor costs PostgreSQL a few round trips per table before the first row, which on a
        database of many small tables was most of a verify.)"""
        key_of = self._page_key()
        if key_of is None:
            yield from rows.iterator(chunk_size=CHUNK)
            return
        last = None
        while True:
            page = list((rows if last is None else rows.filter(pk__gt=last))[:CHUNK])
            yield from page
            if len(page) < CHUNK:
                return
            last = key_of(page[-1])

    def _page_key(self):
        """How to read a row's key off the rows `_rows` reads, if they hold it."""
        if self.by_instance:
            return lambda row: row.pk
        attnames = [f.attname for f in self.fields]
        if self.model._meta.pk.attname not in attnames:
            return None
        position = attnames.index(self.model._meta.pk.attname)
        return lambda row: row[position]

    def check(self, ids: set[str] | None = None) -> None:
        """Every row of the part (or those with the given ids), then the rows the ledger has but the table lacks."""
        expected = {entity_id for entity_id, sequence in self.latest.items() if sequence > 0}
        if self.part.low is not None or self.part.high is not None:
            expected = {entity_id for entity_id in expected if self._in_part(self._key(entity_id))}
        key_position = None if self.by_instance else next(i for i, f in enumerate(self.fields) if f.primary_key)
        for chunk in _chunks(self._rows(ids)):
            keys = [str(row.pk if key_position is None else row[key_position]) for row in chunk]
            afters = _afters([self.latest[key] for key in keys if self.latest.get(key, 0) > 0])
            for key, row in zip(keys, chunk, strict=True):
                self.findings.rows_checked += 1
                expected.discard(key)
                recorded = afters.get(self.latest.get(key, 0))
                if key_position is not None and snapshot_values(self.model, self.fields, row, recorded) == recorded:
                    continue
                if not self.findings.full:
                    self._report(
                        row if key_position is None else self.model.objects.filter(pk=row[key_position]).first(), recorded
                    )
        for missing in sorted(expected, key=lambda value: (len(value), value)):
            self.findings.add(
                Problem(
                    "row", f"row {self.entity} {missing} is in the ledger but not in the table.", row=f"{self.entity} {missing}"
                )
            )

    def _report(self, row: models.Model | None, recorded: Any) -> None:
        if row is not None and (problem := _snapshot_problem(row, self.entity, recorded)):
            self.findings.add(Problem("row", problem, row=f"{self.entity} {row.pk}"))


def check_parts(parts: list[TablePart], latest: dict[str, dict[str, int]], only_touched: bool) -> RowFindings:
    """Each part against `latest` (by entity, then entity id); `only_touched`: only the rows `latest` names."""
    findings = RowFindings()
    for part in parts:
        table_latest = latest.get(part.model._meta.label_lower, {})
        TableCheck(findings, part, table_latest).check(set(table_latest) if only_touched else None)
    return findings

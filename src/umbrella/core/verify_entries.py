"""Reading and checking a run of ledger entries, for `core.verify`: each entry re-hashed from its content, its
sequence number and its link to the entry before it checked, its leaf hash kept for the tree and its row noted.

This is most of a verify's time, so entries are read as the database driver gives them (Django's converters
cost more than the hashing), and a run is a unit one of two processes can take: it reports the link of its
first entry for the caller to check against the run before it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models
from django.utils.dateparse import parse_datetime

from umbrella.core.ledger import CONTENT_FIELDS, hash_content, timestamp
from umbrella.core.models import ChangeRecord

MAX_PROBLEMS = 50
READ_CHUNK = 5000
LEAF_SIZE = 32
ENTRY_FIELDS = (*CONTENT_FIELDS, "leaf_hash")
SEQUENCE, AT, ENTITY, ENTITY_ID, BEFORE, AFTER, PREVIOUS_HASH, LEAF_HASH = (
    ENTRY_FIELDS.index(name)
    for name in ("sequence", "at", "entity", "entity_id", "before", "after", "previous_hash", "leaf_hash")
)
RowKey = tuple[str, str]  # (entity, entity id)


@dataclass
class Problem:
    kind: str  # entry, chain, checkpoint, tree, row, head
    message: str
    sequence: int | None = None
    row: str | None = None


def raw_rows(queryset: models.QuerySet) -> list[tuple[Any, ...]]:
    """The rows of a values_list query as the database driver gives them, without Django's converters."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def json_value(value: Any) -> Any:
    """A JSON column's raw value as JSONField reads it (both drivers give text, as Django sets psycopg up)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _timestamp(value: Any) -> str:
    """An entry's raw `at` as `ledger.timestamp` puts it in the hashed content. PostgreSQL gives a datetime;
    SQLite gives the text Django stored (str() of the UTC time), rewritten here without parsing it."""
    if isinstance(value, dt.datetime):
        return timestamp(value)
    if isinstance(value, str) and value[10:11] == " ":
        if len(value) == 26 and value[19] == ".":
            return f"{value[:10]}T{value[11:]}+00:00"
        if len(value) == 19:
            return f"{value[:10]}T{value[11:]}.000000+00:00"
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None:
        return str(value)  # not a time: the entry will not match its hash
    return timestamp(moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))


def _content(values: tuple[Any, ...]) -> dict[str, Any]:
    content = dict(zip(CONTENT_FIELDS, values, strict=False))
    content["at"] = _timestamp(values[AT])
    content["before"] = json_value(values[BEFORE])
    content["after"] = json_value(values[AFTER])
    return content


def _leaf_bytes(leaf_hash: str) -> bytes:
    """A stored leaf hash as bytes for the tree; one that is no hash (reported already) as zeros."""
    try:
        leaf = bytes.fromhex(leaf_hash)
    except (TypeError, ValueError):
        return bytes(LEAF_SIZE)
    return leaf if len(leaf) == LEAF_SIZE else bytes(LEAF_SIZE)


def _entries(after_sequence: int, through_sequence: int | None) -> Iterator[tuple[Any, ...]]:
    """The ENTRY_FIELDS of the entries after one sequence number, through another, in order, a chunk at a time."""
    while True:
        entries = ChangeRecord.objects.filter(sequence__gt=after_sequence)
        if through_sequence is not None:
            entries = entries.filter(sequence__lte=through_sequence)
        chunk = raw_rows(entries.order_by("sequence").values_list(*ENTRY_FIELDS)[:READ_CHUNK])
        yield from chunk
        if len(chunk) < READ_CHUNK:
            return
        after_sequence = chunk[-1][SEQUENCE]


@dataclass
class EntryRun:
    """What reading a run of consecutive entries found. The first entry's link (`first_previous`) is the caller's
    to check, against the last leaf hash of the run before."""

    position: int  # how many entries come before the run
    problems: list[Problem] = field(default_factory=list)
    leaves: bytearray = field(default_factory=bytearray)  # the stored leaf hashes, LEAF_SIZE bytes each
    latest: dict[RowKey, int] = field(default_factory=dict)  # each row's latest entry (negative: it deleted the row)
    first_sequence: int | None = None
    first_previous: str | None = None
    last_hash: str | None = None

    @property
    def count(self) -> int:
        return len(self.leaves) // LEAF_SIZE

    def add(self, problem: Problem) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)


def check_entries(position: int, after_sequence: int, through_sequence: int | None = None) -> EntryRun:
    """Reads the entries after `after_sequence` (through `through_sequence`; to the end if None), the first being
    the one at `position` + 1 in the ledger: each is re-hashed, must carry the next sequence number and follow
    the one before it within the run."""
    run = EntryRun(position)
    expected, previous = position + 1, None
    for values in _entries(after_sequence, through_sequence):
        sequence, leaf_hash = values[SEQUENCE], values[LEAF_HASH]
        if sequence != expected:
            run.add(Problem("chain", f"entry {expected} is missing; the next entry is {sequence}.", sequence=expected))
        if previous is None:
            run.first_sequence, run.first_previous = sequence, values[PREVIOUS_HASH]
        elif values[PREVIOUS_HASH] != previous:
            run.add(Problem("chain", f"entry {sequence} does not follow the entry before it.", sequence=sequence))
        if hash_content(_content(values)).hex() != leaf_hash:
            run.add(Problem("entry", f"entry {sequence} does not match its hash: it was changed.", sequence=sequence))
        run.leaves += _leaf_bytes(leaf_hash)
        run.latest[(values[ENTITY], values[ENTITY_ID])] = -sequence if values[AFTER] is None else sequence
        previous = leaf_hash
        expected += 1
    run.last_hash = previous
    return run


def link_problem(run: EntryRun, previous: str) -> Problem | None:
    """The problem, if any, with the link of the run's first entry to the leaf hash before it."""
    if run.first_sequence is None or run.first_previous == previous:
        return None
    return Problem("chain", f"entry {run.first_sequence} does not follow the entry before it.", sequence=run.first_sequence)

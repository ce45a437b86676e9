"""Verifying the ledger: every leaf recomputed, the chain and the tree checked against a checkpoint, and
every entry replayed to confirm it reproduces the current state of every ledgered table. A ledgered row
that seals derived rows by a digest (a match run's proposals) checks them with `sealed_rows_problem()`.

`verify` checks everything, including the tree's stored nodes and the head's frontier (`core.ledger_tree`),
which it recomputes from the leaves. `verify_since` checks what was appended after a checkpoint someone kept,
in time proportional to that: the stored nodes must reproduce the checkpoint's signed root, which vouches for
the tree it covered, and only the new entries and the rows they touched are read (`SINCE_LEAVES_UNCHECKED`
says what it therefore cannot see).

Reads the tables directly (not through the services): this is the check of what the services wrote.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import reduce
from itertools import islice
from operator import or_
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection, models
from django.utils.dateparse import parse_datetime

from umbrella.core import checkpoints, ledger_tree, merkle
from umbrella.core.ledger import (
    CONTENT_FIELDS,
    GENESIS_HASH,
    hash_content,
    snapshot,
    snapshot_fields,
    snapshot_matches,
    timestamp,
)
from umbrella.core.models import ChangeRecord, LedgerHead, LedgerNode

MAX_PROBLEMS = 50
READ_CHUNK = 5000
Progress = Callable[[int, int], None]
RowKey = tuple[str, str]  # (entity, entity id)

SINCE_LEAVES_UNCHECKED = (
    "entries before the checkpoint are not re-hashed: one whose content was changed but whose stored hash was "
    "left alone goes unseen (its hash, and so the signed root, still match)",
    "rows no entry since the checkpoint is about are not compared with the ledger: one changed behind the "
    "application's back goes unseen",
    "a full `umbrella ledger verify` checks both",
)


@dataclass
class Problem:
    kind: str  # entry, chain, checkpoint, tree, row, head
    message: str
    sequence: int | None = None
    row: str | None = None


@dataclass
class VerifyReport:
    size: int
    root: str
    problems: list[Problem] = field(default_factory=list)
    checkpoint_size: int | None = None
    rows_checked: int = 0
    since: int | None = None  # the checkpoint's size, when only what came after it was checked
    not_checked: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def full(self) -> bool:
        """Whether no more problems would be kept (later ones need not be worked out)."""
        return len(self.problems) >= MAX_PROBLEMS

    def add(self, problem: Problem) -> None:
        if not self.full:
            self.problems.append(problem)

    def as_dict(self) -> dict[str, Any]:
        first = self.problems[0] if self.problems else None
        return {
            "ok": self.ok,
            "size": self.size,
            "root": self.root,
            "checkpoint_size": self.checkpoint_size,
            "rows_checked": self.rows_checked,
            "since": self.since,
            "not_checked": list(self.not_checked),
            "first_problem": asdict(first) if first else None,
            "problems": [asdict(problem) for problem in self.problems],
        }


def ledgered_models() -> list[type[models.Model]]:
    return [model for model in apps.get_models() if getattr(model, "ledgered", False)]


ENTRY_FIELDS = (*CONTENT_FIELDS, "leaf_hash")
SEQUENCE, AT, ENTITY, ENTITY_ID, BEFORE, AFTER, PREVIOUS_HASH, LEAF_HASH = (
    ENTRY_FIELDS.index(name)
    for name in ("sequence", "at", "entity", "entity_id", "before", "after", "previous_hash", "leaf_hash")
)


def _raw(queryset: models.QuerySet) -> list[tuple[Any, ...]]:
    """The rows of a values_list query as the database driver gives them, without Django's converters: for a
    million entries, Django parsing each time and JSON value costs more than hashing the entries."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _json(value: Any) -> Any:
    """A JSON column's value as JSONField reads it (the drivers give text on SQLite and, as Django sets up
    psycopg, on PostgreSQL)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _timestamp(value: Any) -> str:
    """An entry's `at` as `ledger.timestamp` writes it into the hashed content. PostgreSQL gives a datetime;
    SQLite gives the text Django stored, str() of the UTC time, rewritten here without parsing it."""
    if isinstance(value, dt.datetime):
        return timestamp(value)
    if isinstance(value, str) and value[10:11] == " ":
        if len(value) == 26 and value[19] == ".":
            return f"{value[:10]}T{value[11:]}+00:00"
        if len(value) == 19:
            return f"{value[:10]}T{value[11:]}.000000+00:00"
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None:
        return str(value)  # not a time: the entry no longer matches its hash
    return timestamp(moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))


def _entries_after(sequence: int) -> Iterator[tuple[Any, ...]]:
    """The ENTRY_FIELDS of every entry after `sequence`, in order, as raw tuples read a chunk at a time."""
    while True:
        chunk = _raw(
            ChangeRecord.objects.filter(sequence__gt=sequence).order_by("sequence").values_list(*ENTRY_FIELDS)[:READ_CHUNK]
        )
        yield from chunk
        if len(chunk) < READ_CHUNK:
            return
        sequence = chunk[-1][SEQUENCE]


def _content(values: tuple[Any, ...]) -> dict[str, Any]:
    content = dict(zip(CONTENT_FIELDS, values, strict=False))
    content["at"] = _timestamp(values[AT])
    content["before"] = _json(values[BEFORE])
    content["after"] = _json(values[AFTER])
    return content


def _leaf_bytes(leaf_hash: str) -> bytes:
    try:
        return bytes.fromhex(leaf_hash) if len(leaf_hash) == 64 else b""
    except ValueError:
        return b""


@dataclass
class _Walk:
    """Reading the entries in order: the chain so far, the tree they grow, and what they say each row holds."""

    report: VerifyReport
    frontier: merkle.Frontier
    previous: str
    stored_nodes: dict[merkle.Node, str]
    stop_at: int | None = None  # a tree size whose root to keep (the checkpoint's)
    root_at_stop: bytes | None = None
    latest: dict[RowKey, int] = field(default_factory=dict)  # each row's latest entry (negative: it deleted the row)
    tree_problems: list[Problem] = field(default_factory=list)

    def read(self, first_sequence: int, progress: Progress | None, total: int) -> None:
        expected = first_sequence
        for values in _entries_after(first_sequence - 1):
            sequence, leaf_hash = values[SEQUENCE], values[LEAF_HASH]
            if sequence != expected:
                self.report.add(
                    Problem("chain", f"entry {expected} is missing; the next entry is {sequence}.", sequence=expected)
                )
            if values[PREVIOUS_HASH] != self.previous:
                self.report.add(Problem("chain", f"entry {sequence} does not follow the entry before it.", sequence=sequence))
            if hash_content(_content(values)).hex() != leaf_hash:
                self.report.add(Problem("entry", f"entry {sequence} does not match its hash: it was changed.", sequence=sequence))
            self._grow(_leaf_bytes(leaf_hash))
            self.previous = leaf_hash
            self.latest[(values[ENTITY], values[ENTITY_ID])] = -sequence if values[AFTER] is None else sequence
            if progress is not None and expected % 1000 == 0:
                progress(expected, total)
            expected += 1

    def _grow(self, leaf: bytes) -> None:
        for level, index, node_root in self.frontier.append(leaf, from_level=ledger_tree.STORED_LEVEL):
            if self.stored_nodes.pop((level, index), None) != node_root.hex():
                first, last = (index << level) + 1, (index + 1) << level
                self.tree_problems.append(
                    Problem("tree", f"the stored tree node over entries {first} to {last} does not match those entries.")
                )
        if self.frontier.size == self.stop_at:
            self.root_at_stop = self.frontier.root()

    def check_end(self) -> None:
        """The head and the stored nodes against the tree the entries grew; stored nodes no entry completed."""
        report = self.report
        head = LedgerHead.objects.get(pk=1)
        if (head.size, head.last_hash) != (self.frontier.size, self.previous):
            report.add(Problem("head", f"The ledger head says {head.size} entries; the table holds {self.frontier.size}."))
        elif head.frontier != [node_root.hex() for node_root in self.frontier.roots]:
            report.add(Problem("head", "The ledger head's frontier does not match the tree of its entries."))
        for level, index in sorted(self.stored_nodes):
            first, last = (index << level) + 1, (index + 1) << level
            self.tree_problems.append(
                Problem("tree", f"a stored tree node covers entries {first} to {last}, beyond the {self.frontier.size} entries.")
            )


def _stored_nodes(after_size: int = 0) -> dict[merkle.Node, str]:
    """The stored nodes that entries after the first `after_size` complete (all of them by default)."""
    nodes = LedgerNode.objects.all()
    if after_size:
        levels = range(ledger_tree.STORED_LEVEL, 64)
        nodes = nodes.filter(reduce(or_, (models.Q(level=level, index__gte=after_size >> level) for level in levels)))
    return {(level, index): root_hash for level, index, root_hash in nodes.values_list("level", "index", "root_hash")}


def _signature_ok(report: VerifyReport, checkpoint: dict[str, Any]) -> bool:
    try:
        report.checkpoint_size = int(checkpoint.get("tree_size", -1))
    except (TypeError, ValueError):
        report.checkpoint_size = -1
    key = checkpoints.load_or_create_key(settings.DATA_DIR)
    if not checkpoints.verify_signature(checkpoint, checkpoints.public_key_hex(key)):
        report.add(Problem("checkpoint", "The checkpoint's signature is not valid for this ledger's key."))
        return False
    return True


def _check_checkpoint_root(report: VerifyReport, size: int, root_at_checkpoint: bytes | None, checkpoint: dict[str, Any]) -> None:
    if report.checkpoint_size > size:
        report.add(Problem("checkpoint", f"The ledger has {size} entries, fewer than the checkpoint's {report.checkpoint_size}."))
    elif (root_at_checkpoint or merkle.EMPTY_ROOT).hex() != checkpoint["root_hash"]:
        report.add(
            Problem(
                "checkpoint", f"The first {report.checkpoint_size} entries no longer match the checkpoint: history was rewritten."
            )
        )


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
    return {sequence: _json(after) for sequence, after in _raw(found)}


def _chunks(rows: Iterator[Any], size: int = 2000) -> Iterator[list[Any]]:
    while chunk := list(islice(rows, size)):
        yield chunk


class _Table:
    """One ledgered table checked against the ledger: each row read as a tuple and compared with the latest entry
    about it (`snapshot_matches`); a row that differs, or a table whose rows seal others, is read as a model
    instance to be reported or checked exactly as `snapshot` and `sealed_rows_problem` say."""

    def __init__(self, report: VerifyReport, model: type[models.Model], latest: dict[str, int]) -> None:
        self.report, self.model, self.latest = report, model, latest
        self.entity = model._meta.label_lower
        self.fields = snapshot_fields(model)
        self.by_instance = hasattr(model, "sealed_rows_problem")

    def rows(self, ids: set[str] | None) -> Iterator[Any]:
        """Every row (ordered by key), or only those with the given ids; instances or tuples of `fields`."""
        rows = self.model.objects.order_by("pk")
        if ids is not None:
            keys = []
            for entity_id in ids:
                try:
                    keys.append(self.model._meta.pk.to_python(entity_id))
                except Exception:  # an id the table could not hold: the row is reported as missing below
                    continue
            rows = rows.filter(pk__in=keys)
        if self.by_instance:
            return rows.iterator(chunk_size=2000)
        return rows.values_list(*(field.attname for field in self.fields)).iterator(chunk_size=2000)

    def check(self, ids: set[str] | None = None) -> None:
        expected = {entity_id for entity_id, sequence in self.latest.items() if sequence > 0}
        pk_position = next(i for i, field in enumerate(self.fields) if field.primary_key) if not self.by_instance else None
        for chunk in _chunks(self.rows(ids)):
            keys = [str(row.pk if pk_position is None else row[pk_position]) for row in chunk]
            afters = _afters([self.latest[key] for key in keys if self.latest.get(key, 0) > 0])
            for key, row in zip(keys, chunk, strict=True):
                self.report.rows_checked += 1
                expected.discard(key)
                recorded = afters.get(self.latest.get(key, 0))
                if pk_position is not None and recorded is not None and snapshot_matches(self.model, self.fields, row, recorded):
                    continue
                if self.report.full:
                    continue
                instance = row if pk_position is None else self.model.objects.filter(pk=row[pk_position]).first()
                if instance is not None and (problem := _snapshot_problem(instance, self.entity, recorded)):
                    self.report.add(Problem("row", problem, row=f"{self.entity} {key}"))
        for missing in sorted(expected, key=lambda value: (len(value), value)):
            self.report.add(
                Problem(
                    "row", f"row {self.entity} {missing} is in the ledger but not in the table.", row=f"{self.entity} {missing}"
                )
            )


def _check_rows(report: VerifyReport, latest: dict[RowKey, int], only_touched: bool = False) -> None:
    """Each row against the latest entry about it: every row of every ledgered table, or (`only_touched`) only
    the rows `latest` names."""
    by_entity: dict[str, dict[str, int]] = {}
    for (entity, entity_id), sequence in latest.items():
        by_entity.setdefault(entity, {})[entity_id] = sequence
    for model in ledgered_models():
        table_latest = by_entity.get(model._meta.label_lower, {})
        if only_touched and not table_latest:
            continue
        _Table(report, model, table_latest).check(set(table_latest) if only_touched else None)


def verify(checkpoint: dict[str, Any] | None = None, progress: Progress | None = None) -> VerifyReport:
    """Everything: each entry re-hashed, the chain, the tree and its stored nodes, the head, the checkpoint, and
    every row of every ledgered table against the replay of the entries."""
    report = VerifyReport(size=0, root="")
    signed = checkpoint is not None and _signature_ok(report, checkpoint)
    walk = _Walk(report, merkle.Frontier(), GENESIS_HASH, _stored_nodes(), stop_at=report.checkpoint_size if signed else None)
    walk.read(1, progress, total=ChangeRecord.objects.count() if progress else 0)
    report.size = walk.frontier.size
    report.root = walk.frontier.root().hex()
    walk.check_end()
    if signed:
        _check_checkpoint_root(report, report.size, walk.root_at_stop if report.checkpoint_size else None, checkpoint)
    for problem in walk.tree_problems:
        report.add(problem)
    _check_rows(report, walk.latest)
    return report


def _old_tree(report: VerifyReport, checkpoint: dict[str, Any]) -> tuple[merkle.Frontier, str] | None:
    """The tree of the checkpoint's size from the stored nodes, and its last leaf hash, once both are shown to be
    the ones the checkpoint signed (its root, and the last leaf's inclusion proof against it); else None."""
    size = report.checkpoint_size
    head_size = LedgerHead.objects.values_list("size", flat=True).get(pk=1)
    if size < 1 or size > head_size:
        report.add(Problem("checkpoint", f"The ledger has {head_size} entries; the checkpoint names {size}."))
        return None
    rewritten = Problem(
        "checkpoint", f"The first {size} entries no longer match the checkpoint: history or the stored tree was rewritten."
    )
    try:
        parts = merkle.perfect_parts(0, size)
        roots = ledger_tree.subtree_roots(parts)
        frontier = merkle.Frontier(size, [roots[part] for part in parts])
        path, _root = ledger_tree.inclusion_proof(size - 1, size)
        last_leaf = ledger_tree.leaf_hash_run(size - 1, size)[0]
    except ledger_tree.TreeDamaged as error:
        report.add(Problem("tree", f"The stored tree cannot give the checkpoint's root: {error}."))
        return None
    signed_root = bytes.fromhex(checkpoint["root_hash"])
    if frontier.root() != signed_root or not merkle.verify_inclusion(last_leaf, size - 1, size, path, signed_root):
        report.add(rewritten)
        return None
    return frontier, last_leaf.hex()


def verify_since(checkpoint: dict[str, Any], progress: Progress | None = None) -> VerifyReport:
    """What was appended after a checkpoint someone kept, in time proportional to it: the signature; the stored
    tree reproducing the signed root; each new entry re-hashed and chained to the checkpoint's last entry; the tree
    they grow against the stored nodes and the head; and each row they touched against its latest entry. What
    this leaves unchecked is `SINCE_LEAVES_UNCHECKED`, also in the report."""
    report = VerifyReport(size=0, root="", not_checked=SINCE_LEAVES_UNCHECKED)
    signed = _signature_ok(report, checkpoint)
    report.since = report.checkpoint_size
    if not signed:
        return report
    old = _old_tree(report, checkpoint)
    if old is None:
        return report
    frontier, last_hash = old
    walk = _Walk(report, frontier, last_hash, _stored_nodes(after_size=frontier.size))
    head_size = LedgerHead.objects.values_list("size", flat=True).get(pk=1)
    walk.read(frontier.size + 1, progress, total=head_size)
    report.size = walk.frontier.size
    report.root = walk.frontier.root().hex()
    walk.check_end()
    for problem in walk.tree_problems:
        report.add(problem)
    _check_rows(report, walk.latest, only_touched=True)
    return report

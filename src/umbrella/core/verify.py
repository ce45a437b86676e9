"""Verifying the ledger: every leaf recomputed, the chain and the tree checked against a checkpoint, and
every entry replayed to confirm it reproduces the current state of every ledgered table. A ledgered row
that seals derived rows by a digest (a match run's proposals) checks them with `sealed_rows_problem()`.

`verify` checks everything, including the tree's stored nodes and the head's frontier (`core.ledger_tree`),
which it recomputes from the leaves. `verify_since` checks what was appended after a checkpoint someone kept,
in time proportional to that: the stored nodes must reproduce the checkpoint's signed root, which vouches for
the tree it covered, and only the new entries and the rows they touched are read (`SINCE_LEAVES_UNCHECKED`
says what it therefore cannot see).

The entries (`core.verify_entries`) and the rows (`core.verify_rows`) are each checked in two halves, one in a
second process, when the ledger is big enough for that to pay: re-hashing a million entries and comparing half
a million rows is Python work that a second core halves.

Reads the tables directly (not through the services): this is the check of what the services wrote.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import reduce
from operator import or_
from typing import Any, TypeVar

from django.apps import apps
from django.conf import settings
from django.db import connection, connections, models

from umbrella.core import checkpoints, ledger_tree, merkle
from umbrella.core.errors import LedgerDamaged
from umbrella.core.ledger import GENESIS_HASH
from umbrella.core.models import ChangeRecord, LedgerHead, LedgerNode
from umbrella.core.verify_entries import LEAF_SIZE, MAX_PROBLEMS, EntryRun, Problem, RowKey, check_entries, link_problem
from umbrella.core.verify_rows import RowFindings, TablePart, check_parts, table_parts

__all__ = ["Problem", "VerifyReport", "ledgered_models", "verify", "verify_since"]

PARALLEL_FROM = 100_000  # entries: below this a second process costs more than it saves
SINCE_LEAVES_UNCHECKED = (
    "entries up to the checkpoint are not read again: a change to one of them (to its content, even with its stored "
    "hash recomputed to match) can go unseen, as the stored tree that the signed root vouches for stands in for them",
    "rows that no entry after the checkpoint is about are not compared with the ledger: one changed behind the "
    "application's back goes unseen",
    "a full `umbrella ledger verify` checks both",
)
T = TypeVar("T")


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

    def add(self, problem: Problem) -> None:
        if len(self.problems) < MAX_PROBLEMS:
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


def _in_second_process(work: Callable[[], T]) -> Callable[[], T]:
    """Starts `work` in a forked copy of this process, which opens its own database connection (this one's are
    closed first, so the two never share one); returns the function that waits for its result."""
    connections.close_all()
    receiving, sending = multiprocessing.Pipe(duplex=False)

    def run() -> None:
        try:
            sending.send((True, work()))
        except BaseException as error:  # whatever it is, the first process must hear of it
            sending.send((False, f"{type(error).__name__}: {error}"))
        finally:
            connections.close_all()

    process = multiprocessing.get_context("fork").Process(target=run, daemon=True)
    process.start()
    sending.close()

    def result() -> T:
        try:
            succeeded, value = receiving.recv()
        except EOFError:
            succeeded, value = False, "it stopped without an answer"
        process.join()
        if not succeeded:
            raise RuntimeError(f"verify's second process failed: {value}")
        return value

    return result


def _side_by_side(here: Callable[[], T], there: Callable[[], T], parallel: bool) -> list[T]:
    """The results of both, `there` run in a second process when `parallel`."""
    if not parallel:
        return [here(), there()]
    later = _in_second_process(there)
    return [here(), later()]


def _parallel(entries: int, asked: bool | None) -> bool:
    """Whether to use a second process: as asked, else for a big ledger on more than one core; never inside a
    transaction, whose uncommitted writes another connection could not see."""
    wanted = asked if asked is not None else entries >= PARALLEL_FROM and (os.cpu_count() or 1) > 1
    return wanted and not connection.in_atomic_block


class _Tree:
    """Grows the tree from leaf hashes, checking each stored node it completes, and keeps its root at one size."""

    def __init__(self, frontier: merkle.Frontier, stored_nodes: dict[merkle.Node, str], keep_root_at: int | None = None):
        self.frontier, self.stored_nodes, self.keep_root_at = frontier, stored_nodes, keep_root_at
        self.kept_root = merkle.EMPTY_ROOT if keep_root_at == 0 else None
        self.problems: list[Problem] = []

    def grow(self, leaves: bytes | bytearray) -> None:
        append, stored, level_from = self.frontier.append, self.stored_nodes, ledger_tree.STORED_LEVEL
        for offset in range(0, len(leaves), LEAF_SIZE):
            for level, index, node_root in append(bytes(leaves[offset : offset + LEAF_SIZE]), from_level=level_from):
                if stored.pop((level, index), None) != node_root.hex():
                    first, last = (index << level) + 1, (index + 1) << level
                    self.problems.append(
                        Problem("tree", f"the stored tree node over entries {first} to {last} does not match those entries.")
                    )
            if self.frontier.size == self.keep_root_at:
                self.kept_root = self.frontier.root()

    def check_end(self, report: VerifyReport, last_hash: str) -> None:
        """The head against the tree grown; then every problem with the stored nodes, including those left over."""
        head = LedgerHead.objects.get(pk=1)
        if (head.size, head.last_hash) != (self.frontier.size, last_hash):
            report.add(Problem("head", f"The ledger head says {head.size} entries; the table holds {self.frontier.size}."))
        elif head.frontier != [node_root.hex() for node_root in self.frontier.roots]:
            report.add(Problem("head", "The ledger head's frontier does not match the tree of its entries."))
        for level, index in sorted(self.stored_nodes):
            first, last = (index << level) + 1, (index + 1) << level
            self.problems.append(
                Problem("tree", f"a stored tree node covers entries {first} to {last}, beyond the {self.frontier.size} entries.")
            )


def _stored_nodes(after_size: int = 0) -> dict[merkle.Node, str]:
    """The stored nodes that entries after the first `after_size` complete (all of them by default)."""
    nodes = LedgerNode.objects.all()
    if after_size:
        levels = range(ledger_tree.STORED_LEVEL, 64)
        nodes = nodes.filter(reduce(or_, (models.Q(level=level, index__gte=after_size >> level) for level in levels)))
    return {(level, index): root_hash for level, index, root_hash in nodes.values_list("level", "index", "root_hash")}


def _entry_runs(entries: int, parallel: bool) -> list[EntryRun]:
    """Every entry checked, in one run or (in parallel) in two halves."""
    if not parallel or entries < 2:
        return [check_entries(0, 0)]
    half = entries // 2
    middle = ChangeRecord.objects.order_by("sequence").values_list("sequence", flat=True)[half - 1]
    return _side_by_side(lambda: check_entries(0, 0, middle), lambda: check_entries(half, middle), parallel)


def _take_runs(report: VerifyReport, tree: _Tree, runs: list[EntryRun], previous: str) -> tuple[dict[RowKey, int], str]:
    """The runs' problems and leaves, in order, each run's first link checked; their rows' latest entries and the
    last leaf hash."""
    latest: dict[RowKey, int] = {}
    for run in runs:
        if problem := link_problem(run, previous):
            report.add(problem)
        for problem in run.problems:
            report.add(problem)
        tree.grow(run.leaves)
        latest.update(run.latest)
        previous = run.last_hash or previous
    return latest, previous


def _check_rows(report: VerifyReport, latest: dict[RowKey, int], only_touched: bool, parallel: bool) -> None:
    """Each row against the latest entry about it: every row of every ledgered table, or (`only_touched`) only the
    rows `latest` names; in parallel, the second halves of the big tables in a second process."""
    by_entity: dict[str, dict[str, int]] = {}
    for (entity, entity_id), sequence in latest.items():
        by_entity.setdefault(entity, {})[entity_id] = sequence
    parts: list[TablePart] = []
    for model in ledgered_models():
        touched = by_entity.get(model._meta.label_lower)
        if not only_touched or touched:
            parts += table_parts(model, set(touched) if only_touched else None)
    here = [part for part in parts if part.low is None]
    there = [part for part in parts if part.low is not None]
    findings: list[RowFindings] = _side_by_side(
        lambda: check_parts(here, by_entity, only_touched),
        lambda: check_parts(there, by_entity, only_touched),
        parallel and bool(there),
    )
    for found in findings:
        report.rows_checked += found.rows_checked
        for problem in found.problems:
            report.add(problem)


def _signature_ok(report: VerifyReport, checkpoint: dict[str, Any]) -> bool:
    try:
        report.checkpoint_size = int(checkpoint.get("tree_size", -1))
    except (TypeError, ValueError):
        report.checkpoint_size = -1
    key = checkpoints.load_or_create_key(settings.DATA_DIR)
    if not checkpoints.verify_signature(checkpoint, checkpoints.public_key_hex(key)):
        suspect = "The checkpoint was not signed by this ledger's key, or was edited after it was signed."
        report.add(Problem("checkpoint", suspect))
        return False
    return True


def _check_checkpoint_root(report: VerifyReport, tree: _Tree, checkpoint: dict[str, Any]) -> None:
    if report.checkpoint_size > report.size:
        report.add(
            Problem("checkpoint", f"The ledger has {report.size} entries, fewer than the checkpoint's {report.checkpoint_size}.")
        )
    elif tree.kept_root is None or tree.kept_root.hex() != checkpoint["root_hash"]:
        report.add(
            Problem(
                "checkpoint", f"The first {report.checkpoint_size} entries no longer match the checkpoint: history was rewritten."
            )
        )


def verify(checkpoint: dict[str, Any] | None = None, parallel: bool | None = None) -> VerifyReport:
    """Everything: each entry re-hashed, the chain, the tree and its stored nodes, the head, the checkpoint, and
    every row of every ledgered table against the replay of the entries. `parallel`: use a second process (by
    default, for a big ledger on more than one core)."""
    report = VerifyReport(size=0, root="")
    signed = checkpoint is not None and _signature_ok(report, checkpoint)
    tree = _Tree(merkle.Frontier(), _stored_nodes(), keep_root_at=report.checkpoint_size if signed else None)
    entries = ChangeRecord.objects.count()
    parallel = _parallel(entries, parallel)
    latest, last_hash = _take_runs(report, tree, _entry_runs(entries, parallel), GENESIS_HASH)
    report.size, report.root = tree.frontier.size, tree.frontier.root().hex()
    tree.check_end(report, last_hash)
    if signed:
        _check_checkpoint_root(report, tree, checkpoint)
    for problem in tree.problems:
        report.add(problem)
    _check_rows(report, latest, only_touched=False, parallel=parallel)
    return report


def _old_tree(report: VerifyReport, checkpoint: dict[str, Any]) -> tuple[merkle.Frontier, str] | None:
    """The tree of the checkpoint's size from the stored nodes, and its last leaf hash, once both are shown to be
    the ones the checkpoint signed (its root, and the last leaf's inclusion proof against it); else None."""
    size = report.checkpoint_size
    head_size = LedgerHead.objects.values_list("size", flat=True).get(pk=1)
    if size < 1 or size > head_size:
        report.add(Problem("checkpoint", f"The ledger has {head_size} entries; the checkpoint names {size}."))
        return None
    try:
        parts = merkle.perfect_parts(0, size)
        roots = ledger_tree.subtree_roots(parts)
        frontier = merkle.Frontier(size, [roots[part] for part in parts])
        path, _root = ledger_tree.inclusion_proof(size - 1, size)
        last_leaf = ledger_tree.leaf_hash_run(size - 1, size)[0]
    except LedgerDamaged as error:
        report.add(Problem("tree", f"The stored tree cannot give the checkpoint's root: {error}."))
        return None
    signed_root = bytes.fromhex(checkpoint["root_hash"])
    if frontier.root() != signed_root or not merkle.verify_inclusion(last_leaf, size - 1, size, path, signed_root):
        report.add(
            Problem(
                "checkpoint",
                f"The first {size} entries no longer match the checkpoint: history or the stored tree was rewritten.",
            )
        )
        return None
    return frontier, last_leaf.hex()


def verify_since(checkpoint: dict[str, Any]) -> VerifyReport:
    """What was appended after a checkpoint someone kept, in time proportional to it: the signature; the stored
    tree reproducing the signed root; each new entry re-hashed and chained to the checkpoint's last entry; the tree
    they grow against the stored nodes and the head; and each row they touched against its latest entry. What
    this leaves unchecked is `SINCE_LEAVES_UNCHECKED`, also in the report."""
    report = VerifyReport(size=0, root="", not_checked=SINCE_LEAVES_UNCHECKED)
    signed = _signature_ok(report, checkpoint)
    report.since = report.checkpoint_size
    if not signed or (old := _old_tree(report, checkpoint)) is None:
        return report
    frontier, last_hash = old
    tree = _Tree(frontier, _stored_nodes(after_size=frontier.size))
    latest, last_hash = _take_runs(report, tree, [check_entries(frontier.size, frontier.size)], last_hash)
    report.size, report.root = tree.frontier.size, tree.frontier.root().hex()
    tree.check_end(report, last_hash)
    for problem in tree.problems:
        report.add(problem)
    _check_rows(report, latest, only_touched=True, parallel=False)
    return report

"""Verifying the ledger: every leaf recomputed, the chain and the tree checked against a checkpoint, and
every entry replayed to confirm it reproduces the current state of every ledgered table. A ledgered row
that seals derived rows by a digest (a match run's proposals) checks them with `sealed_rows_problem()`.

Reads the tables directly (not through the services): this is the check of what the services wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models

from umbrella.core import checkpoints, merkle
from umbrella.core.ledger import GENESIS_HASH, compute_leaf_hash, snapshot
from umbrella.core.models import ChangeRecord, LedgerHead

MAX_PROBLEMS = 50
Progress = Callable[[int, int], None]


@dataclass
class Problem:
    kind: str  # entry, chain, checkpoint, row, head
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
            "first_problem": asdict(first) if first else None,
            "problems": [asdict(problem) for problem in self.problems],
        }


def ledgered_models() -> list[type[models.Model]]:
    return [model for model in apps.get_models() if getattr(model, "ledgered", False)]


def _check_entries(report: VerifyReport, progress: Progress | None) -> tuple[list[bytes], dict[tuple[str, str], Any]]:
    leaves: list[bytes] = []
    state: dict[tuple[str, str], Any] = {}
    previous = GENESIS_HASH
    total = ChangeRecord.objects.count()
    for expected, entry in enumerate(ChangeRecord.objects.order_by("sequence").iterator(chunk_size=2000), start=1):
        if entry.sequence != expected:
            report.add(Problem("chain", f"entry {expected} is missing; the next entry is {entry.sequence}.", sequence=expected))
        if entry.previous_hash != previous:
            report.add(Problem("chain", f"entry {entry.sequence} does not follow the entry before it.", sequence=entry.sequence))
        if compute_leaf_hash(entry) != entry.leaf_hash:
            report.add(
                Problem("entry", f"entry {entry.sequence} does not match its hash: it was changed.", sequence=entry.sequence)
            )
        leaves.append(bytes.fromhex(entry.leaf_hash) if len(entry.leaf_hash) == 64 else b"")
        previous = entry.leaf_hash
        key = (entry.entity, entry.entity_id)
        if entry.after is None:
            state.pop(key, None)
        else:
            state[key] = entry.after
        if progress is not None and expected % 1000 == 0:
            progress(expected, total)
    return leaves, state


def _check_checkpoint(report: VerifyReport, leaves: list[bytes], checkpoint: dict[str, Any]) -> None:
    report.checkpoint_size = int(checkpoint.get("tree_size", -1))
    key = checkpoints.load_or_create_key(settings.DATA_DIR)
    if not checkpoints.verify_signature(checkpoint, checkpoints.public_key_hex(key)):
        report.add(Problem("checkpoint", "The checkpoint's signature is not valid for this ledger's key."))
        return
    if report.checkpoint_size > len(leaves):
        report.add(
            Problem("checkpoint", f"The ledger has {len(leaves)} entries, fewer than the checkpoint's {report.checkpoint_size}.")
        )
        return
    if merkle.root(leaves[: report.checkpoint_size]).hex() != checkpoint["root_hash"]:
        report.add(
            Problem(
                "checkpoint", f"The first {report.checkpoint_size} entries no longer match the checkpoint: history was rewritten."
            )
        )


def _check_rows(report: VerifyReport, state: dict[tuple[str, str], Any]) -> None:
    for model in ledgered_models():
        entity = model._meta.label_lower
        expected_ids = {entity_id for (name, entity_id) in state if name == entity}
        for row in model.objects.order_by("pk").iterator(chunk_size=2000):
            report.rows_checked += 1
            key = (entity, str(row.pk))
            expected_ids.discard(key[1])
            recorded = state.get(key)
            if recorded is None:
                report.add(Problem("row", f"row {entity} {row.pk} has no ledger entry.", row=f"{entity} {row.pk}"))
            elif (current := snapshot(row, recorded)) != recorded:
                fields = sorted(name for name in set(current) | set(recorded) if current.get(name) != recorded.get(name))
                report.add(
                    Problem(
                        "row", f"row {entity} {row.pk} differs from the ledger in: {', '.join(fields)}.", row=f"{entity} {row.pk}"
                    )
                )
            elif hasattr(row, "sealed_rows_problem") and (problem := row.sealed_rows_problem()):
                report.add(Problem("row", f"row {entity} {row.pk}: {problem}", row=f"{entity} {row.pk}"))
        for missing in sorted(expected_ids, key=lambda value: (len(value), value)):
            report.add(
                Problem("row", f"row {entity} {missing} is in the ledger but not in the table.", row=f"{entity} {missing}")
            )


def verify(checkpoint: dict[str, Any] | None = None, progress: Progress | None = None) -> VerifyReport:
    report = VerifyReport(size=0, root="")
    leaves, state = _check_entries(report, progress)
    report.size = len(leaves)
    report.root = merkle.root(leaves).hex()
    head = LedgerHead.objects.get(pk=1)
    last = ChangeRecord.objects.order_by("-sequence").values_list("leaf_hash", flat=True).first() or GENESIS_HASH
    if (head.size, head.last_hash) != (report.size, last):
        report.add(Problem("head", f"The ledger head says {head.size} entries; the table holds {report.size}."))
    if checkpoint is not None:
        _check_checkpoint(report, leaves, checkpoint)
    _check_rows(report, state)
    return report

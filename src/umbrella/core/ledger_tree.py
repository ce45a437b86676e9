"""The ledger's Merkle tree, served from what the append path stores instead of from every leaf.

`record_changes` keeps two things beside the entries, in the same transaction: the head's frontier (the roots of
the perfect subtrees that make up the whole tree, so the current root is a fold of at most 64 hashes) and a
`LedgerNode` for each perfect subtree of 2**STORED_LEVEL leaves or more it completes (about one row per 128
entries). Any subtree a checkpoint or proof names is a run of perfect subtrees (`merkle.perfect_parts`): those at
STORED_LEVEL and above are read from the table, the smaller ones are hashed from the leaf hashes of at most a few
aligned runs of 2**STORED_LEVEL entries (read by sequence, the primary key). So a proof at a million entries
reads a few dozen rows, not a million.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import reduce
from operator import or_

from django.db import models

from umbrella.core import merkle
from umbrella.core.errors import LedgerDamaged
from umbrella.core.models import ChangeRecord, LedgerHead, LedgerNode

STORED_LEVEL = 8  # subtrees of 256 leaves and up are stored; smaller ones are hashed from at most 255 leaves each


def frontier_of(head: LedgerHead) -> merkle.Frontier:
    try:
        return merkle.Frontier(head.size, [bytes.fromhex(root) for root in head.frontier])
    except (TypeError, ValueError) as error:
        raise LedgerDamaged(f"the ledger head's frontier does not fit its {head.size} entries ({error})") from None


def keep_frontier(head: LedgerHead, frontier: merkle.Frontier) -> None:
    head.frontier = [root.hex() for root in frontier.roots]


def store_nodes(completed: Iterable[tuple[int, int, bytes]]) -> None:
    LedgerNode.objects.bulk_create(
        [LedgerNode(level=level, index=index, root_hash=root.hex()) for level, index, root in completed], batch_size=2000
    )


def leaf_hash_run(start: int, end: int) -> list[bytes]:
    """The leaf hashes of the entries at tree indexes [start, end) (sequences start + 1 to end)."""
    hashes = ChangeRecord.objects.filter(sequence__gt=start, sequence__lte=end).order_by("sequence")
    try:
        found = [bytes.fromhex(value) for value in hashes.values_list("leaf_hash", flat=True)]
    except ValueError:
        raise LedgerDamaged(f"a leaf hash of entries {start + 1} to {end} is not a hash") from None
    if len(found) != end - start:
        raise LedgerDamaged(f"entries {start + 1} to {end} are not all in the ledger")
    return found


def _stored_roots(nodes: Sequence[merkle.Node]) -> dict[merkle.Node, bytes]:
    if not nodes:
        return {}
    by_level: dict[int, list[int]] = defaultdict(list)
    for level, index in nodes:
        by_level[level].append(index)
    condition = reduce(or_, (models.Q(level=level, index__in=indexes) for level, indexes in by_level.items()))
    rows = LedgerNode.objects.filter(condition).values_list("level", "index", "root_hash")
    roots = {(level, index): bytes.fromhex(root_hash) for level, index, root_hash in rows}
    if missing := sorted(set(nodes) - set(roots)):
        raise LedgerDamaged(f"stored nodes {missing[:5]} of the ledger's tree are missing")
    return roots


def _hashed_roots(nodes: Sequence[merkle.Node]) -> dict[merkle.Node, bytes]:
    """Roots of small subtrees from their leaves: one read per aligned run of 2**STORED_LEVEL entries they fall in."""
    by_run: dict[int, list[merkle.Node]] = defaultdict(list)
    for level, index in nodes:
        by_run[(index << level) >> STORED_LEVEL].append((level, index))
    roots = {}
    for members in by_run.values():
        start = min(index << level for level, index in members)
        end = max((index + 1) << level for level, index in members)
        leaves = leaf_hash_run(start, end)
        for level, index in members:
            roots[(level, index)] = merkle.root(leaves[(index << level) - start : ((index + 1) << level) - start])
    return roots


def subtree_roots(nodes: Iterable[merkle.Node]) -> dict[merkle.Node, bytes]:
    wanted = set(nodes)
    return {
        **_stored_roots([node for node in wanted if node[0] >= STORED_LEVEL]),
        **_hashed_roots([node for node in wanted if node[0] < STORED_LEVEL]),
    }


def span_roots(spans: Sequence[merkle.Span]) -> list[bytes]:
    """MTH of each span of leaves (each a subtree of an RFC 6962 tree), from a few reads for all of them."""
    parts = [merkle.perfect_parts(start, end) for start, end in spans]
    roots = subtree_roots(node for span_parts in parts for node in span_parts)
    return [merkle.fold([roots[node] for node in span_parts]) for span_parts in parts]


def root(size: int) -> bytes:
    """The root of the tree of the first `size` entries."""
    return span_roots([(0, size)])[0] if size else merkle.EMPTY_ROOT


def inclusion_proof(index: int, size: int) -> tuple[list[bytes], bytes]:
    """PATH(index, D[size]) and the root of D[size]."""
    spans = merkle.inclusion_ranges(index, size)
    *path, tree_root = span_roots([*spans, (0, size)])
    return path, tree_root


def consistency_proof(old_size: int, size: int) -> tuple[list[bytes], bytes]:
    """PROOF(old_size, D[size]) and the root of D[size]."""
    spans = merkle.consistency_ranges(old_size, size)
    *path, tree_root = span_roots([*spans, (0, size)])
    return path, tree_root

"""RFC 6962 Merkle trees (SHA-256, 0x00 leaf and 0x01 node prefixes): roots, proofs, and their verifiers.

Pure: no Django. A nation that keeps a checkpoint (tree size and root) can check, with only this module,
that an entry is in the ledger (inclusion) and that today's ledger extends the one it checkpointed
(consistency). The verifiers follow RFC 9162, sections 2.1.3.2 and 2.1.4.2.

A tree too big to re-hash for every proof is served from stored nodes: every subtree the RFC's MTH, PATH and
PROOF name is a run of perfect, aligned subtrees (`perfect_parts`), each named by its level and index, and its
root is their `fold`. `inclusion_ranges` and `consistency_ranges` name the subtrees of a proof, and `Frontier`
keeps the roots a tree needs to grow a leaf at a time (its compact range). The whole-list functions (`root`,
`inclusion_proof`, `consistency_proof`) stay as the plain definitions the others are tested against.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes, in O(n) with a stack of complete subtrees."""
    if not leaves:
        return EMPTY_ROOT
    stack: list[tuple[int, bytes]] = []  # (height, hash) of complete subtrees, left to right
    for leaf in leaves:
        height, current = 0, leaf
        while stack and stack[-1][0] == height:
            current = node_hash(stack.pop()[1], current)
            height += 1
        stack.append((height, current))
    current = stack.pop()[1]
    while stack:
        current = node_hash(stack.pop()[1], current)
    return current


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, D[n]) of RFC 6962 section 2.1.1."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"index {index} is outside a tree of size {len(leaves)}")
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return inclusion_proof(leaves[:k], index) + [root(leaves[k:])]
    return inclusion_proof(leaves[k:], index - k) + [root(leaves[:k])]


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(old_size, D[n]) of RFC 6962 section 2.1.2."""
    if not 0 < old_size <= len(leaves):
        raise ValueError(f"cannot prove size {old_size} against a tree of size {len(leaves)}")
    return _subproof(leaves, old_size, True)


def _subproof(leaves: Sequence[bytes], m: int, complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root(leaves)]
    k = _split(n)
    if m <= k:
        return _subproof(leaves[:k], m, complete) + [root(leaves[k:])]
    return _subproof(leaves[k:], m - k, False) + [root(leaves[:k])]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes) -> bool:
    if not 0 <= index < size:
        return False
    fn, sn, current = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            current = node_hash(sibling, current)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            current = node_hash(current, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and current == expected_root


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    if old_size < 1 or old_size > new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is itself a node of the new tree
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    old_hash = new_hash = path[0]
    for node in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            old_hash = node_hash(node, old_hash)
            new_hash = node_hash(node, new_hash)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            new_hash = node_hash(new_hash, node)
        fn >>= 1
        sn >>= 1
    return sn == 0 and old_hash == old_root and new_hash == new_root


Node = tuple[int, int]  # (level, index): the perfect subtree over leaves [index * 2**level, (index + 1) * 2**level)
Span = tuple[int, int]  # [start, end): a run of leaves


def perfect_parts(start: int, end: int) -> list[Node]:
    """The perfect subtrees whose roots, folded, give MTH(D[start:end]), largest first: one per set bit of the
    length. Every subtree of an RFC 6962 tree starts at a multiple of its largest part, so the parts are aligned
    nodes; a span that does not is refused."""
    length = end - start
    if length < 1 or start < 0 or start % (1 << (length.bit_length() - 1)):
        raise ValueError(f"[{start}, {end}) is not a subtree of an RFC 6962 tree")
    parts = []
    position = start
    for level in range(length.bit_length() - 1, -1, -1):
        if length >> level & 1:
            parts.append((level, position >> level))
            position += 1 << level
    return parts


def fold(roots: Sequence[bytes]) -> bytes:
    """MTH of consecutive perfect subtrees given their roots largest first (as `perfect_parts` names them):
    the smallest two join first, as the RFC's split puts the larger power of two on the left."""
    if not roots:
        return EMPTY_ROOT
    current = roots[-1]
    for left in reversed(roots[:-1]):
        current = node_hash(left, current)
    return current


def inclusion_ranges(index: int, size: int) -> list[Span]:
    """The subtrees whose roots are PATH(index, D[size]), in the proof's order (nearest the leaf first)."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is outside a tree of size {size}")
    spans: list[Span] = []
    start, end = 0, size
    while end - start > 1:
        middle = start + _split(end - start)
        if index < middle:
            spans.append((middle, end))
            end = middle
        else:
            spans.append((start, middle))
            start = middle
    spans.reverse()
    return spans


def consistency_ranges(old_size: int, size: int) -> list[Span]:
    """The subtrees whose roots are PROOF(old_size, D[size]), in the proof's order."""
    if not 0 < old_size <= size:
        raise ValueError(f"cannot prove size {old_size} against a tree of size {size}")
    spans: list[Span] = []
    start, end, m, complete = 0, size, old_size, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            spans.append((start + k, end))
            end = start + k
        else:
            spans.append((start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        spans.append((start, end))
    spans.reverse()
    return spans


class Frontier:
    """The roots of the perfect subtrees that make up a tree of `size` leaves, largest first (one per set bit
    of the size; RFC 9162's compact range [0, size)): all a tree needs to take one more leaf and to give its
    root. Appending a leaf joins the equal-sized subtrees at the end, amortised one node hash per leaf."""

    def __init__(self, size: int = 0, roots: Iterable[bytes] = ()) -> None:
        self.size = size
        self.roots = list(roots)
        if size < 0 or len(self.roots) != size.bit_count():
            raise ValueError(f"a tree of {size} leaves has {size.bit_count()} perfect subtrees, not {len(self.roots)}")

    def append(self, leaf: bytes, from_level: int = 1) -> list[tuple[int, int, bytes]]:
        """Adds a leaf; returns the perfect subtrees it completes at `from_level` and above, as (level, index,
        root), smallest first."""
        completed = []
        current, level, size = leaf, 0, self.size
        while size >> level & 1:
            current = node_hash(self.roots.pop(), current)
            level += 1
            if level >= from_level:
                completed.append((level, size >> level, current))
        self.roots.append(current)
        self.size = size + 1
        return completed

    def root(self) -> bytes:
        return fold(self.roots)

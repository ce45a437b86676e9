"""The proof verifiers accept every correct proof for every tree size 1..64 and reject every mutation."""

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from umbrella.core import merkle

pytestmark = pytest.mark.database_independent

MAX = 64


def leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(f"entry {i}".encode()) for i in range(n)]


def reference_root(hashes):
    """MTH straight from the RFC's recursive definition, to check the stack-based root."""
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return merkle.node_hash(reference_root(hashes[:k]), reference_root(hashes[k:]))


def mutations(proof: list[bytes]):
    """Flipped bit in each element, truncated, extended, and (when possible) two elements swapped."""
    for i, node in enumerate(proof):
        flipped = bytes([node[0] ^ 0x01]) + node[1:]
        yield proof[:i] + [flipped] + proof[i + 1 :]
    if proof:
        yield proof[:-1]
    yield proof + [hashlib.sha256(b"extra").digest()]
    if len(proof) > 1 and proof[0] != proof[1]:
        yield [proof[1], proof[0], *proof[2:]]


def test_the_root_matches_the_rfc_definition_and_the_empty_tree():
    assert merkle.root([]) == hashlib.sha256(b"").digest()
    for n in range(1, MAX + 1):
        assert merkle.root(leaves(n)) == reference_root(leaves(n))


@pytest.mark.parametrize("size", range(1, MAX + 1))
def test_inclusion_proofs_verify_for_every_leaf_and_no_mutation_does(size):
    hashes = leaves(size)
    tree_root = merkle.root(hashes)
    for index in range(size):
        proof = merkle.inclusion_proof(hashes, index)
        assert merkle.verify_inclusion(hashes[index], index, size, proof, tree_root)
        for bad in mutations(proof):
            assert not merkle.verify_inclusion(hashes[index], index, size, bad, tree_root)
        assert not merkle.verify_inclusion(hashes[index], index, size * 2, proof, tree_root)  # wrong size
        assert not merkle.verify_inclusion(hashes[index], index, size, proof, merkle.leaf_hash(b"x"))  # swapped root
        if size > 1:
            assert not merkle.verify_inclusion(hashes[(index + 1) % size], index, size, proof, tree_root)  # wrong leaf


@pytest.mark.parametrize("new_size", range(1, MAX + 1))
def test_consistency_proofs_verify_for_every_earlier_size_and_no_mutation_does(new_size):
    hashes = leaves(new_size)
    new_root = merkle.root(hashes)
    for old_size in range(1, new_size + 1):
        old_root = merkle.root(hashes[:old_size])
        proof = merkle.consistency_proof(hashes, old_size)
        assert merkle.verify_consistency(old_size, new_size, old_root, new_root, proof)
        for bad in mutations(proof):
            assert not merkle.verify_consistency(old_size, new_size, old_root, new_root, bad)
        assert not merkle.verify_consistency(
            old_size, new_size, new_root if old_size < new_size else merkle.leaf_hash(b"x"), new_root, proof
        )
        assert not merkle.verify_consistency(old_size, new_size * 2, old_root, new_root, proof)
        if old_size > 1:
            assert not merkle.verify_consistency(old_size - 1, new_size, old_root, new_root, proof)


@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n))))
def test_a_rewritten_history_is_never_consistent_with_its_checkpoint(sizes):
    new_size, old_size = sizes
    honest = leaves(new_size)
    forged = list(honest)
    forged[old_size - 1] = merkle.leaf_hash(b"forged")
    proof = merkle.consistency_proof(forged, old_size)
    assert not merkle.verify_consistency(old_size, new_size, merkle.root(honest[:old_size]), merkle.root(forged), proof)


# Trees served from stored nodes: every proof built from perfect subtrees equals the plain definition.

SIZES = range(1, 301)


class PerfectSubtrees(dict):
    """The root of each perfect aligned subtree of a tree over `hashes`, as a table of stored nodes gives it
    (computed by the plain `merkle.root`, once each)."""

    def __init__(self, hashes: list[bytes]):
        super().__init__()
        self.hashes = hashes

    def __missing__(self, node):
        level, index = node
        self[node] = merkle.root(self.hashes[index << level : (index + 1) << level])
        return self[node]

    def span_root(self, span) -> bytes:
        return merkle.fold([self[part] for part in merkle.perfect_parts(*span)])


@pytest.mark.parametrize("size", SIZES)
def test_inclusion_proofs_from_perfect_subtrees_equal_the_definition_for_every_index(size):
    hashes = leaves(size)
    subtrees = PerfectSubtrees(hashes)
    assert subtrees.span_root((0, size)) == merkle.root(hashes)
    for index in range(size):
        from_subtrees = [subtrees.span_root(span) for span in merkle.inclusion_ranges(index, size)]
        assert from_subtrees == merkle.inclusion_proof(hashes, index)


@pytest.mark.parametrize("size", SIZES)
def test_consistency_proofs_from_perfect_subtrees_equal_the_definition_for_every_earlier_size(size):
    hashes = leaves(size)
    subtrees = PerfectSubtrees(hashes)
    for old_size in range(1, size + 1):
        from_subtrees = [subtrees.span_root(span) for span in merkle.consistency_ranges(old_size, size)]
        assert from_subtrees == merkle.consistency_proof(hashes, old_size)


def test_the_frontier_grows_a_leaf_at_a_time_to_every_root_and_names_every_subtree_it_completes():
    hashes = leaves(max(SIZES))
    subtrees = PerfectSubtrees(hashes)
    frontier = merkle.Frontier()
    completed = {}
    for size, leaf in enumerate(hashes, start=1):
        for level, index, node_root in frontier.append(leaf):
            completed[(level, index)] = node_root
        assert frontier.root() == merkle.root(hashes[:size])
        assert frontier.roots == [subtrees[part] for part in merkle.perfect_parts(0, size)]
        assert merkle.Frontier(size, frontier.roots).root() == frontier.root()
    assert completed == {node: subtrees[node] for node in completed}
    assert len(completed) == len(hashes) - len(hashes).bit_count()  # each join of two subtrees completes one
    for wrong in (frontier.roots[:-1], [*frontier.roots, hashes[0]]):
        with pytest.raises(ValueError):
            merkle.Frontier(frontier.size, wrong)


def test_the_frontier_reports_only_the_levels_asked_for():
    frontier = merkle.Frontier()
    reported = [node[:2] for leaf in leaves(1024) for node in frontier.append(leaf, from_level=8)]
    assert reported == [(8, 0), (8, 1), (9, 0), (8, 2), (8, 3), (9, 1), (10, 0)]


@given(st.integers(1, 3000).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1), st.integers(1, n))))
def test_proofs_from_perfect_subtrees_equal_the_definition_at_random_larger_sizes(case):
    size, index, old_size = case
    hashes = leaves(size)
    subtrees = PerfectSubtrees(hashes)
    assert [subtrees.span_root(span) for span in merkle.inclusion_ranges(index, size)] == merkle.inclusion_proof(hashes, index)
    assert [subtrees.span_root(span) for span in merkle.consistency_ranges(old_size, size)] == merkle.consistency_proof(
        hashes, old_size
    )


class LazyTree:
    """A tree of any size in which only the leaves a test names are hashed: a perfect subtree holding none of
    them stands for its own unknown leaves with an arbitrary root, as a stored node stands for the leaves it covers.
    Proofs need nothing else, so those built from perfect subtrees can be checked by the verifiers at 2**50 leaves."""

    def __init__(self, named: set[int]):
        self.named = named
        self.cache: dict[tuple[int, int], bytes] = {}

    def __getitem__(self, node) -> bytes:
        if node not in self.cache:
            level, index = node
            start, end = index << level, (index + 1) << level
            if level == 0:
                self.cache[node] = merkle.leaf_hash(f"entry {index}".encode())
            elif any(start <= leaf < end for leaf in self.named):
                self.cache[node] = merkle.node_hash(self[(level - 1, 2 * index)], self[(level - 1, 2 * index + 1)])
            else:
                self.cache[node] = hashlib.sha256(f"subtree {level} {index}".encode()).digest()
        return self.cache[node]

    def span_root(self, span) -> bytes:
        return merkle.fold([self[part] for part in merkle.perfect_parts(*span)])


@given(st.integers(2, 2**50).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1), st.integers(1, n - 1))))
def test_proofs_from_perfect_subtrees_verify_at_huge_sizes(case):
    size, index, old_size = case
    tree = LazyTree({index, old_size - 1, old_size, size - 1})
    new_root, old_root = tree.span_root((0, size)), tree.span_root((0, old_size))
    spans = merkle.inclusion_ranges(index, size)
    assert merkle.verify_inclusion(tree[(0, index)], index, size, [tree.span_root(span) for span in spans], new_root)
    tiles = sorted([*spans, (index, index + 1)])  # the path and the leaf cover the tree once
    assert [start for start, _end in tiles] == [0] + [end for _start, end in tiles[:-1]] and tiles[-1][1] == size
    proof = [tree.span_root(span) for span in merkle.consistency_ranges(old_size, size)]
    assert merkle.verify_consistency(old_size, size, old_root, new_root, proof)


def test_a_span_that_is_not_a_subtree_is_refused():
    for start, end in ((1, 3), (2, 6), (0, 0), (5, 4), (-1, 0)):
        with pytest.raises(ValueError):
            merkle.perfect_parts(start, end)
    assert merkle.perfect_parts(8, 15) == [(2, 2), (1, 6), (0, 14)]
    assert merkle.fold([]) == merkle.EMPTY_ROOT

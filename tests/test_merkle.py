"""The proof verifiers accept every correct proof for every tree size 1..64 and reject every mutation."""

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from umbrella.core import merkle

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

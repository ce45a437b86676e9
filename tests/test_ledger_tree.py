"""The ledger's tree from stored nodes: the frontier and the nodes record_changes keeps, proofs computed from
them, verify reporting them when they disagree with the leaves, and `verify --since` a kept checkpoint."""

import datetime as dt
import io
import json
import random
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.test import Client

from tests import factories
from tests.conftest import ensure_base_data
from tests.test_ledger import LEDGER, execute, fix_head
from umbrella.core import ledger_tree, merkle, verify_entries, verify_rows
from umbrella.core.access import Marking
from umbrella.core.errors import LedgerDamaged
from umbrella.core.ledger import (
    Change,
    canonical_json,
    compute_leaf_hash,
    content_json,
    current_checkpoint,
    leaf_hashes,
    record_changes,
    snapshot,
    snapshot_fields,
    snapshot_values,
    timestamp,
)
from umbrella.core.ledger import last_recorded as ledger_last_recorded
from umbrella.core.models import ChangeRecord, LedgerHead, LedgerNode
from umbrella.core.testing import load_personas
from umbrella.core.verify import ledgered_models, verify, verify_since
from umbrella.orgs.services import issue_token
from umbrella.pledges.models import Pledge

NODES = LedgerNode._meta.db_table
HEAD = LedgerHead._meta.db_table
fill_tree = __import__("umbrella.core.migrations.0004_ledger_tree_nodes", fromlist=["fill_tree"]).fill_tree


def grow(personas, entries: int, per_call: int = 1) -> Pledge:
    """Appends `entries` honest entries about one pledge (each records it as it is), `per_call` at a time."""
    pledge = Pledge.objects.order_by("pk").first() or factories.pledge(personas)
    state = snapshot(pledge)
    while entries > 0:
        batch = min(per_call, entries)
        with transaction.atomic():
            record_changes(actor=personas.donor_editor, changes=[Change("touch", pledge, state, state)] * batch)
        entries -= batch
    return pledge


def tree_of_the_leaves() -> tuple[list[str], dict[tuple[int, int], str]]:
    """The frontier and the stored nodes a recomputation from the leaf hashes gives."""
    frontier = merkle.Frontier()
    nodes = {}
    for leaf in leaf_hashes():
        for level, index, node_root in frontier.append(leaf, from_level=ledger_tree.STORED_LEVEL):
            nodes[(level, index)] = node_root.hex()
    return [node_root.hex() for node_root in frontier.roots], nodes


def stored_tree() -> tuple[list[str], dict[tuple[int, int], str]]:
    nodes = {
        (level, index): root_hash for level, index, root_hash in LedgerNode.objects.values_list("level", "index", "root_hash")
    }
    return LedgerHead.objects.get(pk=1).frontier, nodes


@pytest.mark.django_db
def test_the_append_path_keeps_the_frontier_and_stored_nodes_of_the_leaves(personas):
    grow(personas, 300, per_call=1)
    grow(personas, 700, per_call=97)  # batches that complete subtrees in their middle
    grow(personas, 600, per_call=600)
    frontier, nodes = stored_tree()
    assert (frontier, nodes) == tree_of_the_leaves()
    assert {level for level, _index in nodes} == {8, 9, 10}
    assert bytes.fromhex(current_checkpoint()["root_hash"]) == merkle.root(leaf_hashes())


@pytest.mark.django_db
def test_roots_and_proofs_from_the_stored_tree_equal_the_plain_definitions(personas):
    grow(personas, 1100, per_call=1100)
    leaves = leaf_hashes()
    rng = random.Random(6962)
    sizes = {1, 2, 255, 256, 257, 511, 512, 513, 767, 768, 769, 1023, 1024, 1025, len(leaves)}
    sizes |= {rng.randint(1, len(leaves)) for _ in range(10)}
    for size in sorted(sizes):
        assert ledger_tree.root(size) == merkle.root(leaves[:size])
        for index in {0, size - 1, size // 2, rng.randrange(size), min(size - 1, 256), min(size - 1, 511)}:
            assert ledger_tree.inclusion_proof(index, size) == (
                merkle.inclusion_proof(leaves[:size], index),
                merkle.root(leaves[:size]),
            )
        for old_size in {1, size, (size + 1) // 2, rng.randint(1, size), min(size, 256), min(size, 512)}:
            assert ledger_tree.consistency_proof(old_size, size) == (
                merkle.consistency_proof(leaves[:size], old_size),
                merkle.root(leaves[:size]),
            )


@pytest.mark.django_db
def test_the_api_serves_proofs_from_the_stored_tree(personas):
    grow(personas, 600, per_call=600)
    leaves = leaf_hashes()
    inclusion = Client().get("/api/v1/ledger/proofs/inclusion?sequence=300&tree_size=520").json()
    assert inclusion["path"] == [node.hex() for node in merkle.inclusion_proof(leaves[:520], 299)]
    assert inclusion["leaf_hash"] == leaves[299].hex() and inclusion["checkpoint"]["root_hash"] == merkle.root(leaves[:520]).hex()
    consistency = Client().get("/api/v1/ledger/proofs/consistency?first=257").json()
    assert consistency["path"] == [node.hex() for node in merkle.consistency_proof(leaves, 257)]
    assert Client().get("/api/v1/ledger/checkpoint").json()["root_hash"] == merkle.root(leaves).hex()


@pytest.mark.django_db
def test_the_upgrade_fills_the_tree_of_an_existing_ledger(personas):
    grow(personas, 800, per_call=800)
    kept = stored_tree()
    execute(f"DELETE FROM {NODES}")
    execute(f"UPDATE {HEAD} SET frontier = %s WHERE id = 1", ["[]"])
    fill_tree(apps, None)
    assert stored_tree() == kept == tree_of_the_leaves()


def change_a_node() -> None:
    execute(f"UPDATE {NODES} SET root_hash = %s WHERE level = 9", ["ab" * 32])


def remove_a_node() -> None:
    LedgerNode.objects.filter(level=8, index=1).delete()


def add_a_node_beyond_the_ledger() -> None:
    LedgerNode.objects.create(level=8, index=7, root_hash="ab" * 32)


def change_the_frontier() -> None:
    size = LedgerHead.objects.get(pk=1).size
    LedgerHead.objects.filter(pk=1).update(frontier=["ab" * 32] * size.bit_count())


@pytest.mark.django_db
@pytest.mark.parametrize(
    "tamper, reported",
    [
        (change_a_node, "the stored tree node over entries 1 to 512 does not match those entries."),
        (remove_a_node, "the stored tree node over entries 257 to 512 does not match those entries."),
        (add_a_node_beyond_the_ledger, "a stored tree node covers entries 1793 to 2048, beyond the"),
        (change_the_frontier, "The ledger head's frontier does not match the tree of its entries."),
    ],
)
def test_a_stored_node_or_frontier_that_disagrees_with_the_leaves_is_reported(personas, tamper, reported):
    grow(personas, 600, per_call=600)
    assert verify().ok
    tamper()
    report = verify()
    assert [problem.message[: len(reported)] for problem in report.problems] == [reported], report.as_dict()


def rewrite_history(start: int) -> None:
    """The strongest forger: rewrites entry `start`, re-hashes and relinks every later entry, then rebuilds the
    stored tree and the head's frontier from the forged leaves (as the upgrade would)."""
    previous = ChangeRecord.objects.get(sequence=start - 1).leaf_hash if start > 1 else "0" * 64
    for entry in ChangeRecord.objects.filter(sequence__gte=start).order_by("sequence"):
        if entry.sequence == start:
            entry.actor_user = "someone-else"
        entry.previous_hash = previous
        entry.leaf_hash = compute_leaf_hash(entry)
        execute(
            f"UPDATE {LEDGER} SET actor_user = %s, previous_hash = %s, leaf_hash = %s WHERE sequence = %s",
            [entry.actor_user, entry.previous_hash, entry.leaf_hash, entry.sequence],
        )
        previous = entry.leaf_hash
    fix_head()
    execute(f"DELETE FROM {NODES}")
    fill_tree(apps, None)


@pytest.mark.django_db
def test_verify_since_a_checkpoint_checks_the_new_entries_and_the_rows_they_touched(personas, monkeypatch):
    monkeypatch.setattr(verify_rows, "CHUNK", 2)  # rows read a few keys a query, as thousands are
    grow(personas, 520, per_call=520)
    kept = current_checkpoint()
    later = factories.pledge(personas)
    factories.advance(personas, later, "offer")
    grow(personas, 300, per_call=300)
    report = verify_since(kept)
    assert report.ok, report.as_dict()
    assert (report.since, report.size) == (kept["tree_size"], ChangeRecord.objects.count())
    assert report.root == merkle.root(leaf_hashes()).hex() == verify().root
    touched = set(ChangeRecord.objects.filter(sequence__gt=kept["tree_size"]).values_list("entity", "entity_id"))
    assert report.rows_checked == len(touched) < verify().rows_checked


@pytest.mark.django_db
def test_verify_since_finds_a_changed_new_entry_a_changed_touched_row_and_a_rewritten_history(personas):
    grow(personas, 300, per_call=300)
    kept = current_checkpoint()
    later = factories.pledge(personas)
    new_entry = ChangeRecord.objects.filter(entity="pledges.pledge", entity_id=str(later.pk)).first()
    with transaction.atomic():
        execute(f"UPDATE {LEDGER} SET action = 'forged' WHERE sequence = %s", [new_entry.sequence])
        assert [problem.kind for problem in verify_since(kept).problems] == ["entry"]
        transaction.set_rollback(True)
    with transaction.atomic():
        execute(f"UPDATE {Pledge._meta.db_table} SET quantity = quantity + 1 WHERE id = %s", [later.pk])
        assert [problem.row for problem in verify_since(kept).problems] == [f"pledges.pledge {later.pk}"]
        transaction.set_rollback(True)
    for start in (1, 200, kept["tree_size"]):
        with transaction.atomic():
            rewrite_history(start)
            report = verify_since(kept)
            assert [problem.kind for problem in report.problems] == ["checkpoint"], (start, report.as_dict())
            assert "rewritten" in report.problems[0].message
            transaction.set_rollback(True)
    assert verify_since(kept).ok and verify(kept).ok


@pytest.mark.django_db
def test_what_verify_since_does_not_check_a_full_verify_does(personas):
    grow(personas, 300, per_call=300)
    pledge = Pledge.objects.order_by("pk").first()
    kept = current_checkpoint()
    factories.pledge(personas)
    execute(f"UPDATE {LEDGER} SET request_id = 'edited' WHERE sequence = 10")  # an old entry, its stored hash left alone
    execute(f"UPDATE {Pledge._meta.db_table} SET quantity = quantity + 1 WHERE id = %s", [pledge.pk])  # untouched since
    report = verify_since(kept)
    assert report.ok and len(report.not_checked) == 3
    full = verify(kept)
    assert {problem.kind for problem in full.problems} == {"entry", "row"}


@pytest.mark.django_db
def test_verify_since_refuses_a_checkpoint_it_cannot_trust(personas):
    grow(personas, 10, per_call=10)
    kept = current_checkpoint()
    assert verify_since({**kept, "signature": "00" * 64}).problems[0].kind == "checkpoint"
    execute(f"DELETE FROM {LEDGER} WHERE sequence = %s", [kept["tree_size"]])
    fix_head()
    report = verify_since(kept)
    assert not report.ok and report.problems[0].kind == "checkpoint"


@pytest.mark.django_db
def test_the_command_verifies_since_a_kept_checkpoint_and_says_what_it_left_out(personas, tmp_path):
    grow(personas, 30, per_call=30)
    out = io.StringIO()
    call_command("ledger", "checkpoint", json=True, stdout=out)
    kept = tmp_path / "kept.json"
    kept.write_text(out.getvalue())
    factories.pledge(personas)
    out = io.StringIO()
    call_command("ledger", "verify", since=kept, stdout=out)
    assert "Ledger OK since the checkpoint" in out.getvalue() and "Not checked by --since" in out.getvalue()
    out = io.StringIO()
    call_command("ledger", "verify", since=kept, json=True, stdout=out)
    report = json.loads(out.getvalue())
    assert report["ok"] and report["since"] == json.loads(kept.read_text())["tree_size"] and report["not_checked"]
    later = Pledge.objects.order_by("-pk").first()
    execute(f"UPDATE {Pledge._meta.db_table} SET quantity = 999 WHERE id = %s", [later.pk])
    with pytest.raises(CommandError) as failure:
        call_command("ledger", "verify", since=kept, json=True, stdout=io.StringIO())
    assert failure.value.returncode == 1
    kept.write_text("[1, 2]")
    with pytest.raises(CommandError) as failure:
        call_command("ledger", "verify", since=kept, stdout=io.StringIO())
    assert failure.value.returncode == 2


def findings(report) -> tuple[bool, int, set[tuple[str, str]]]:
    return report.ok, report.rows_checked, {(problem.kind, problem.message) for problem in report.problems}


@pytest.mark.django_db(transaction=True)
def test_two_processes_find_what_one_finds(monkeypatch):
    """Committed data (a second process cannot see a test's open transaction); every table of ten rows or more
    split in two halves by key, as the pledges of a big ledger are."""
    ensure_base_data()
    personas = load_personas()
    monkeypatch.setattr(verify_rows, "SPLIT_FROM", 10)
    for _ in range(12):
        factories.pledge(personas)
    grow(personas, 600, per_call=600)
    assert verify(parallel=True).ok and findings(verify(parallel=True)) == findings(verify(parallel=False))
    size = ChangeRecord.objects.count()
    second_half, junction = ChangeRecord.objects.get(sequence=size - 3), ChangeRecord.objects.get(sequence=size // 2 + 1)
    last_pledge = Pledge.objects.order_by("-pk").first()
    changes = [  # (table, column, key column, key, tampered value, original value)
        (LEDGER, "action", "sequence", second_half.sequence, "forged", second_half.action),
        (LEDGER, "previous_hash", "sequence", junction.sequence, "ab" * 32, junction.previous_hash),
        (Pledge._meta.db_table, "quantity", "id", last_pledge.pk, 777, last_pledge.quantity),
    ]
    for table, column, key_column, key, tampered, original in changes:
        execute(f"UPDATE {table} SET {column} = %s WHERE {key_column} = %s", [tampered, key])
        in_two, in_one = verify(parallel=True), verify(parallel=False)
        assert not in_two.ok and findings(in_two) == findings(in_one), (column, in_two.as_dict(), in_one.as_dict())
        execute(f"UPDATE {table} SET {column} = %s WHERE {key_column} = %s", [original, key])
    assert verify(parallel=True).ok


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(2026, 11, 25, 23, 46, 56, 412128, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 25, 23, 46, 56, tzinfo=dt.UTC),  # str() leaves out a zero fraction
        dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
    ],
)
def test_an_entrys_time_read_raw_from_sqlite_hashes_as_the_model_would(moment):
    stored = str(moment.replace(tzinfo=None))  # what Django writes into SQLite
    assert verify_entries._timestamp(stored) == timestamp(moment) == verify_entries._timestamp(moment)
    assert verify_entries._timestamp(stored.replace(" ", "T")) == timestamp(moment)  # another form parses the same
    assert verify_entries._timestamp("not a time") == "not a time"


@pytest.mark.django_db
def test_a_row_read_as_a_tuple_snapshots_as_its_model_instance_does_in_every_ledgered_table(personas):
    pledge = factories.pledge(personas)
    factories.advance(personas, pledge, "offer", "accept")
    factories.requirement_list(personas, requirements=2)
    editor = personas.donor_editor
    issue_token(actor=editor, user_id=editor.user.pk, organization_id=editor.organization.pk, name="t")
    compared = set()
    for model in ledgered_models():
        fields = snapshot_fields(model)
        key = [field.primary_key for field in fields].index(True)
        for values in model.objects.order_by("pk").values_list(*(field.attname for field in fields))[:20]:
            row = model.objects.get(pk=values[key])
            recorded = ledger_last_recorded(row)
            assert snapshot_values(model, fields, values, recorded) == snapshot(row, recorded) == recorded, model
            compared.add(model._meta.label_lower)
    assert {"pledges.pledge", "pledges.pledgesource", "auth.user", "orgs.apitoken", "needs.requirement"} <= compared, compared


@pytest.mark.django_db
def test_a_stored_tree_missing_what_a_proof_needs_is_named_not_guessed(personas):
    grow(personas, 600, per_call=600)
    kept = current_checkpoint()
    LedgerNode.objects.filter(level=9).delete()
    with pytest.raises(LedgerDamaged, match="missing"):
        ledger_tree.inclusion_proof(0, kept["tree_size"])
    report = verify_since(kept)
    assert [problem.kind for problem in report.problems] == ["tree"], report.as_dict()


def test_canonical_json_is_the_json_every_existing_leaf_was_hashed_over():
    documents = [
        {"b": 1, "a": [1, 2.5, None, True, "Київ", {"z": "Türkiye", "y": 10**30}], "é": '\u2028"\\\n'},
        {"amount": Decimal("12.30"), "day": dt.date(2026, 1, 2), "at": dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)},
        [float("nan"), float("inf"), -0.0, 1e16, 1e-7, {}, []],
        "plain text",
        42,
        None,
    ]
    for document in documents:
        written = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder)
        assert canonical_json(document) == written.encode("utf-8")


def test_an_entry_hashed_from_its_encoded_images_hashes_its_canonical_content():
    """record_changes encodes each image once and splices it into the content it hashes: the text must be what
    canonical_json writes for the whole content, or verify would find every entry changed."""
    images = [None, {}, {"name": 'Київ \u2028"\\', "id": 7, "ok": True, "none": None, "tags": ["a", {"b": 1.5}]}]
    for before in images:
        for after in images:
            content = {
                "sequence": 10**12 + 3,
                "at": "2026-11-26T04:05:06.000001+00:00",
                "actor_user": "ügur\t",
                "actor_organization": "Ukraine — MoD",
                "request_id": random.choice(["", None, "req-1"]),
                "action": "create",
                "entity": "pledges.pledge",
                "entity_id": "12",
                "before": before,
                "after": after,
                "marking": Marking.COORDINATION,
                "owner": "DEU",
                "salt": "00ff",
                "previous_hash": "0" * 64,
            }
            encoded = {key: canonical_json(image).decode() for key, image in (("before", before), ("after", after))}
            assert content_json(content, encoded["before"], encoded["after"]) == canonical_json(content)

"""The ledger through the API: entries (in full where the actor may see the record, else only the salted
hash), a signed checkpoint of the current tree, and inclusion and consistency proofs.

People are shown only to those who may know them: the username of whoever made a change goes to coordination
staff and to the organization it acted for (others see only that organization); an entry about a user
account is read only by coordination staff and that user's own organizations; an e-mail address is never
given. What an entry leaves out for these reasons is named in its `withheld`."""

import datetime as dt
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from umbrella.core import checkpoints, ledger_tree
from umbrella.core.access import Actor
from umbrella.core.errors import Invalid, NotFound
from umbrella.core.ledger import PRIVATE_KEYS, entry_visible_to, ledger_size, may_know_actor, signed_inclusion, timestamp
from umbrella.core.models import ChangeRecord, LedgerHead

router = Router()
PAGE = 200


class EntryOut(Schema):
    sequence: int
    leaf_hash: str
    redacted: bool = Field(description="True when you may not see this entry: only its hash is given")
    at: str | None = None
    actor_user: str | None = None
    actor_organization: str | None = None
    request_id: str | None = None
    action: str | None = None
    entity: str | None = None
    entity_id: str | None = None
    before: Any = None
    after: Any = None
    marking: str | None = None
    owner: str | None = None
    salt: str | None = None
    previous_hash: str | None = None
    withheld: list[str] | None = Field(
        None,
        description=(
            "What this entry leaves out about people (actor_user, before.email, after.email): the leaf hash "
            "covers them, so such an entry cannot be re-hashed from what is shown"
        ),
    )


class EntryPage(Schema):
    items: list[EntryOut]
    next_after: int | None = Field(description="Pass as `after` for the next page; null at the end")


class CheckpointOut(Schema):
    tree_size: int
    root_hash: str
    timestamp: str
    public_key: str
    signature: str


class InclusionOut(Schema):
    sequence: int
    tree_size: int
    leaf_hash: str
    path: list[str]
    checkpoint: CheckpointOut


class ConsistencyOut(Schema):
    first: int
    second: int
    path: list[str]
    checkpoint: CheckpointOut


def _without_private(snapshot: Any, side: str, withheld: list[str]) -> Any:
    if not isinstance(snapshot, dict):
        return snapshot
    withheld += [f"{side}.{key}" for key in PRIVATE_KEYS if key in snapshot]
    return {key: value for key, value in snapshot.items() if key not in PRIVATE_KEYS}


def _entry(entry: ChangeRecord, actor: Actor) -> dict[str, Any]:
    if not entry_visible_to(entry, actor):
        return {"sequence": entry.sequence, "leaf_hash": entry.leaf_hash, "redacted": True}
    fields = {
        name: getattr(entry, name)
        for name in (
            "sequence",
            "leaf_hash",
            "actor_user",
            "actor_organization",
            "request_id",
            "action",
            "entity",
            "entity_id",
            "marking",
            "owner",
            "salt",
            "previous_hash",
        )
    }
    withheld: list[str] = []
    if not may_know_actor(entry, actor):
        fields["actor_user"] = None
        withheld.append("actor_user")
    before = _without_private(entry.before, "before", withheld)
    after = _without_private(entry.after, "after", withheld)
    return {**fields, "before": before, "after": after, "at": timestamp(entry.at), "redacted": False, "withheld": withheld}


def _signed(size: int, tree_root: bytes) -> dict[str, Any]:
    key = checkpoints.load_or_create_key(settings.DATA_DIR)
    return checkpoints.sign(key, size, tree_root.hex(), dt.datetime.now(dt.UTC))


def _size(tree_size: int | None) -> int:
    """The tree size asked for (the whole ledger when none is), refused unless the ledger has that many entries."""
    whole = ledger_size()
    size = whole if tree_size is None else tree_size
    if not 1 <= size <= whole:
        raise Invalid({"tree_size": [_("Give a size from 1 to %(size)d.") % {"size": whole}]})
    return size


@router.get("/entries", response=EntryPage, summary="Ledger entries in order; redacted to a hash where you may not see them")
def list_entries(request, after: int = Query(0, ge=0), limit: int = Query(PAGE, ge=1, le=1000)):
    rows = list(ChangeRecord.objects.filter(sequence__gt=after).order_by("sequence")[: limit + 1])
    items = [_entry(row, request.actor) for row in rows[:limit]]
    return {"items": items, "next_after": rows[limit - 1].sequence if len(rows) > limit else None}


@router.get("/entries/{sequence}", response=EntryOut, summary="One ledger entry")
def get_entry(request, sequence: int):
    entry = ChangeRecord.objects.filter(sequence=sequence).first()
    if entry is None:
        raise NotFound(_("No such ledger entry."))
    return _entry(entry, request.actor)


@router.get("/checkpoint", response=CheckpointOut, summary="A signed checkpoint of the ledger as it is now")
def checkpoint(request):
    frontier = ledger_tree.frontier_of(LedgerHead.objects.get(pk=1))
    if not frontier.size:
        raise NotFound(_("The ledger is empty."))
    return _signed(frontier.size, frontier.root())


@router.get("/proofs/inclusion", response=InclusionOut, summary="Proof that an entry is in the tree of a given size")
def inclusion(request, sequence: int = Query(..., ge=1), tree_size: int | None = Query(None, ge=1)):
    size = _size(tree_size)
    if sequence > size:
        raise Invalid(
            {"sequence": [_("Entry %(sequence)d is not in a tree of size %(size)d.") % {"sequence": sequence, "size": size}]}
        )
    return signed_inclusion(sequence, size)


@router.get(
    "/proofs/consistency", response=ConsistencyOut, summary="Proof that the tree of size `second` extends the one of size `first`"
)
def consistency(request, first: int = Query(..., ge=1), second: int | None = Query(None, ge=1)):
    size = _size(second)
    if first > size:
        raise Invalid({"first": [_("Give a size from 1 to %(size)d.") % {"size": size}]})
    path, tree_root = ledger_tree.consistency_proof(first, size)
    return {"first": first, "second": size, "path": [node.hex() for node in path], "checkpoint": _signed(size, tree_root)}

"""The ledger: every service appends one entry per change, inside the change's own transaction.

Entries are hash-linked (each names the leaf hash of the one before) and form an RFC 6962 Merkle tree
(`core.merkle`), so a signed checkpoint of (size, root) taken today proves tomorrow that nothing before it
was changed, removed, inserted or reordered. `record_changes` is the only writer; it also keeps the tree's
frontier and stored nodes (`core.ledger_tree`) from which checkpoints and proofs are computed.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import operator
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, models, router
from django.utils import timezone

from umbrella.core import checkpoints, ledger_tree, merkle
from umbrella.core.access import Actor, Marking, visible_markings
from umbrella.core.inserts import JSONText, insert_values
from umbrella.core.models import ChangeRecord, LedgerCheckpoint, LedgerHead, account_entity, reads_every_account

GENESIS_HASH = "0" * 64
CONTENT_FIELDS = (
    "sequence",
    "at",
    "actor_user",
    "actor_organization",
    "request_id",
    "action",
    "entity",
    "entity_id",
    "before",
    "after",
    "marking",
    "owner",
    "salt",
    "previous_hash",
)


_CANONICAL = DjangoJSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# The same encoder's C core, made once and without the check for circular references (a snapshot has none):
# what `_CANONICAL.encode` does for a container, a little faster for the million entries verify hashes.
_ENCODE_CONTAINER = json.encoder.c_make_encoder and json.encoder.c_make_encoder(
    None, _CANONICAL.default, json.encoder.encode_basestring, None, ":", ",", True, False, True
)


def canonical_json(value: Any) -> bytes:
    if _ENCODE_CONTAINER and isinstance(value, dict | list):
        return "".join(_ENCODE_CONTAINER(value, 0)).encode("utf-8")
    return _CANONICAL.encode(value).encode("utf-8")


def seal(*documents: Any) -> str:
    """The SHA-256 that seals rows derived from ledgered records (a run's proposals, a tracker release's rows):
    written in bulk and not ledgered one by one, they are covered by this digest in their parent's entry."""
    return hashlib.sha256(b"\n".join(canonical_json(document) for document in documents)).hexdigest()


def still_sealed(digest: str, *documents: Any) -> bool:
    """Whether the documents still hash to the digest recorded when they were sealed. Releases before 2026-11-25
    sealed the same JSON with every non-ASCII character escaped (a tracker release naming Türkiye, a reason
    naming a city in Cyrillic); their digests, kept in the ledger and never rewritten, are checked in that form."""
    escaped = b"\n".join(
        json.dumps(document, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder).encode() for document in documents
    )
    return digest in (seal(*documents), hashlib.sha256(escaped).hexdigest())


def _stored_value(field: models.Field, value: Any) -> Any:
    """The value as the database gives it back, so a replay compares equal to a fresh read."""
    if isinstance(value, Decimal) and isinstance(field, models.DecimalField):
        return value.quantize(Decimal(1).scaleb(-field.decimal_places))
    return value


def secret_digest(value: str, salt: str | None = None) -> str:
    """What the ledger keeps of a secret column (a password hash, a token's hash): a salted SHA-256 of it.

    An entry then shows that the secret changed, and verify can tell whether the row still holds the value
    the ledger saw, while whoever reads the entry learns nothing usable: the value digested is itself a
    salted hash (or the hash of a random token), so a guess cannot be tested against the digest."""
    salt = salt or secrets.token_hex(16)
    return f"sha256${salt}${hashlib.sha256(f'{salt}{value}'.encode()).hexdigest()}"


def _digest_like(value: str, recorded: Any) -> str:
    """The digest of `value` with the salt of the digest the ledger recorded (a fresh salt if none)."""
    parts = recorded.split("$") if isinstance(recorded, str) else []
    return secret_digest(value, parts[1] if len(parts) == 3 and parts[1] else None)


def snapshot_fields(model: type[models.Model]) -> list[models.Field]:
    """The columns a snapshot of the model's rows holds, in order (all but `ledger_ignored_fields`)."""
    return list(_snapshot_fields(model))


@functools.cache
def _snapshot_fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    ignored = getattr(model, "ledger_ignored_fields", frozenset())
    return tuple(field for field in model._meta.concrete_fields if field.attname not in ignored)


def snapshot(obj: models.Model, recorded: dict[str, Any] | None = None) -> dict[str, Any]:
    """The stored values of a row, as canonical JSON-ready data (foreign keys by id).

    A model names columns the ledger leaves out (`ledger_ignored_fields`: a user's last sign-in) and secret
    columns it keeps only as a salted digest (`ledger_secret_fields`); `recorded`, the snapshot the ledger
    holds, lends its digests' salts, so the same row snapshots equal to it."""
    model = type(obj)
    fields, attnames, read = _snapshot_reader(model)
    values = read(obj) if len(attnames) > 1 else (read(obj),)
    return _snapshot(model, fields, attnames, values, recorded)


@functools.cache
def _snapshot_reader(model: type[models.Model]) -> tuple[tuple[models.Field, ...], tuple[str, ...], Any]:
    fields = _snapshot_fields(model)
    attnames = tuple(field.attname for field in fields)
    return fields, attnames, operator.attrgetter(*attnames)


def snapshot_values(
    model: type[models.Model], fields: Sequence[models.Field], values: Sequence[Any], recorded: dict[str, Any] | None = None
) -> dict[str, Any]:
    """`snapshot` of a row read as the values of `fields` (`snapshot_fields(model)`), as values_list reads them:
    verify compares a million rows this way without making a model instance of each."""
    return _snapshot(model, fields, [field.attname for field in fields], values, recorded)


def _snapshot(
    model: type[models.Model],
    fields: Sequence[models.Field],
    attnames: Sequence[str],
    values: Sequence[Any],
    recorded: dict[str, Any] | None,
) -> dict[str, Any]:
    secret = getattr(model, "ledger_secret_fields", frozenset())
    if not secret:  # most models: every column taken as it is, or written as JSON writes it
        return {
            attname: value
            if (kind := type(value)) in _JSON_NATIVE_TYPES
            else (convert(value) if (convert := _BY_TYPE.get(kind)) else _json_column(field, value))
            for attname, field, value in zip(attnames, fields, values, strict=True)
        }
    taken = {}
    for field, value in zip(fields, values, strict=True):
        if type(value) in _JSON_NATIVE and field.attname not in secret:  # most columns, taken as they are
            taken[field.attname] = value
            continue
        value = _stored_value(field, value)
        if field.attname in secret:
            value = _digest_like(value, (recorded or {}).get(field.attname))
        taken[field.attname] = _json_value(value)
    return taken


_ENCODER = DjangoJSONEncoder()
_JSON_NATIVE = (str, int, bool, type(None))
_JSON_NATIVE_TYPES = frozenset(_JSON_NATIVE)
_AS_TEXT = frozenset({dt.date, dt.datetime, Decimal})  # exact types the encoder writes as text


def _json_column(field: models.Field, value: Any) -> Any:
    """A column's value (no secret) as the ledger's JSON gives it back."""
    if isinstance(value, str) and type(value) not in _BY_TYPE:  # a choice's enum member: its text, whatever the column
        _BY_TYPE[type(value)] = str.__str__
    value = _stored_value(field, value)
    return _ENCODER.default(value) if type(value) in _AS_TEXT else _json_value(value)


# By exact type, how a value other than a JSON-native one is written whatever its column: what `_json_column`
# gives, without its checks (a Decimal's depends on its column, so it is not here). Enum types join as met.
_BY_TYPE: dict[type, Any] = {dt.date: dt.date.isoformat, dt.datetime: _ENCODER.default}


def _json_value(value: Any) -> Any:
    """The value as the ledger's JSON gives it back: what `json.loads(canonical_json(value))` returns, without
    writing and reading the text for the plain values most columns hold."""
    if type(value) in _JSON_NATIVE:
        return value
    if isinstance(value, str):  # a choice's enum member is written as its text
        return str.__str__(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, dict | list | float):
        return json.loads(canonical_json(value))
    return _ENCODER.default(value)


def last_recorded(obj: models.Model) -> dict[str, Any] | None:
    """The row as the ledger's latest entry about it left it. One plain statement: every API request reads it
    for its token and membership (`orgs.services.token_actor`), and building the ORM's query cost more than
    running it."""
    connection = connections[router.db_for_read(ChangeRecord)]
    table = connection.ops.quote_name(ChangeRecord._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {connection.ops.quote_name('after')} FROM {table} WHERE entity = %s AND entity_id = %s"
            " ORDER BY sequence DESC LIMIT 1",
            [entity_name(obj), str(obj.pk)],
        )
        row = cursor.fetchone()
    return None if row is None or row[0] is None else json.loads(row[0])


def matches_ledger(obj: models.Model) -> bool:
    """Whether the row is as the ledger's latest entry about it left it (what verify checks, for one row)."""
    recorded = last_recorded(obj)
    return recorded is not None and snapshot(obj, recorded) == recorded


def snapshot_before_change(obj: models.Model) -> dict[str, Any]:
    """The row as it stands, with its secrets digested under the salts of the ledger's last entry for it,
    so an unchanged secret reads the same in that entry's `after` and the new entry's `before`."""
    if not getattr(obj, "ledger_secret_fields", None):
        return snapshot(obj)
    return snapshot(obj, last_recorded(obj))


def entity_name(obj: models.Model) -> str:
    return obj._meta.label_lower


def marking_of(obj: models.Model) -> str:
    if hasattr(obj, "marking"):
        return obj.marking
    if hasattr(obj, "ledger_marking"):
        return obj.ledger_marking
    parent = getattr(obj, "ledger_parent", None)
    return marking_of(parent) if parent is not None else Marking.PARTICIPANTS


def owner_of(obj: models.Model, codes: dict[int, str] | None = None) -> str:
    """The code of the organization that owns the row; `codes` lends the codes of organizations in hand, so
    that a write by a member to its own organization's row reads none."""
    owner_id = getattr(obj, "owner_id", None)
    if owner_id is not None:
        if codes is not None and owner_id in codes:
            return codes[owner_id]
        return obj.owner.code
    if hasattr(obj, "ledger_owner_code"):
        return obj.ledger_owner_code
    parent = getattr(obj, "ledger_parent", None)
    return owner_of(parent, codes) if parent is not None else ""


def timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def content(entry: ChangeRecord) -> dict[str, Any]:
    values = {name: getattr(entry, name) for name in CONTENT_FIELDS}
    values["at"] = timestamp(entry.at)
    return values


def hash_content(values: dict[str, Any]) -> bytes:
    """The leaf hash of an entry's content: its CONTENT_FIELDS, `at` as its `timestamp`."""
    return merkle.leaf_hash(canonical_json(values))


_ENCODE_TEXT = json.encoder.encode_basestring  # what the canonical encoder writes a string as (ensure_ascii off)


def _json_scalar(value: Any) -> str:
    if type(value) is str:
        return _ENCODE_TEXT(value)
    if type(value) is int:
        return int.__repr__(value)  # as the encoder writes a whole number
    return canonical_json(value).decode("utf-8")


def content_json(values: dict[str, Any], before_json: str, after_json: str) -> bytes:
    """`canonical_json(values)` for an entry's content whose `before` and `after` are already encoded (as
    `canonical_json` would encode them): the entry stores that same text in its columns, so each snapshot is
    encoded once, not once for the hash and again for the column. The keys are CONTENT_FIELDS, sorted."""
    v = values
    s = _json_scalar
    text = (
        f'{{"action":{s(v["action"])},"actor_organization":{s(v["actor_organization"])},"actor_user":{s(v["actor_user"])},'
        f'"after":{after_json},"at":{s(v["at"])},"before":{before_json},"entity":{s(v["entity"])},'
        f'"entity_id":{s(v["entity_id"])},"marking":{s(v["marking"])},"owner":{s(v["owner"])},'
        f'"previous_hash":{s(v["previous_hash"])},"request_id":{s(v["request_id"])},"salt":{s(v["salt"])},'
        f'"sequence":{s(v["sequence"])}}}'
    )
    return text.encode("utf-8")


def _encoded_snapshot(snapshot: dict[str, Any] | None) -> JSONText | None:
    """A before or after image as the canonical JSON text its column stores (SQL NULL for none)."""
    return None if snapshot is None else JSONText(canonical_json(snapshot).decode("utf-8"))


def leaf_hash_of(entry: ChangeRecord) -> bytes:
    return hash_content(content(entry))


def compute_leaf_hash(entry: ChangeRecord) -> str:
    return leaf_hash_of(entry).hex()


@dataclass(frozen=True)
class Change:
    """One change to append: what was done to which row, and the row before and after it."""

    action: str
    obj: models.Model
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def record_change(
    *, actor: Actor, action: str, obj: models.Model, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> None:
    record_changes(actor=actor, changes=[Change(action, obj, before, after)])


def record_changes(*, actor: Actor, changes: Iterable[Change], chunk_size: int = 2000) -> int:
    """Append one entry per change, in order, under one lock of the ledger head: the single-record path and
    the bulk path (an import of a hundred thousand rows) write entries the same way, the bulk one in chunks.
    Each leaf also grows the head's frontier, and the subtrees it completes are stored (`core.ledger_tree`).
    An entry is hashed from its content as `content()` reads it back, and inserted without a model instance; its
    before and after images are encoded once, for the hash and for their columns."""
    head = _locked_head()
    frontier = ledger_tree.frontier_of(head)
    user = actor.user.get_username() if actor.user is not None else actor.label()
    organization = actor.organization.name if actor.organization is not None else actor.label()
    codes = {actor.organization.pk: actor.organization.code} if actor.organization is not None else {}
    pending: list[tuple[Any, ...]] = []
    completed: list[tuple[int, int, bytes]] = []
    written = 0
    salts = _salts()
    for change in changes:
        at = timezone.now()
        values = {
            "sequence": head.size + 1,
            "at": timestamp(at),
            "actor_user": user,
            "actor_organization": organization,
            "request_id": actor.request_id,
            "action": change.action,
            "entity": entity_name(change.obj),
            "entity_id": str(change.obj.pk),
            "before": change.before,
            "after": change.after,
            "marking": marking_of(change.obj),
            "owner": owner_of(change.obj, codes),
            "salt": next(salts),
            "previous_hash": head.last_hash,
        }
        before, after = _encoded_snapshot(change.before), _encoded_snapshot(change.after)
        leaf = merkle.leaf_hash(content_json(values, before or "null", after or "null"))
        completed += frontier.append(leaf, from_level=ledger_tree.STORED_LEVEL)
        head.size, head.last_hash = values["sequence"], leaf.hex()
        v = values
        pending.append(
            (v["sequence"], v["actor_user"], v["actor_organization"], v["request_id"], v["action"], v["entity"], v["entity_id"],
             before, after, v["marking"], v["owner"], v["salt"], v["previous_hash"], at, head.last_hash)
        )  # fmt: skip
        written += 1
        if len(pending) >= chunk_size:
            insert_values(ChangeRecord, _INSERTED_COLUMNS, pending)
            pending = []
    insert_values(ChangeRecord, _INSERTED_COLUMNS, pending)
    ledger_tree.store_nodes(completed)
    ledger_tree.keep_frontier(head, frontier)
    _save_head(head)
    return written


def _locked_head() -> LedgerHead:
    """The ledger head, locked until the transaction ends (on SQLite the IMMEDIATE transaction already holds
    the database's write lock). Read, like `_save_head` writes it, with one plain statement: every ledgered
    write does both, and building the ORM's query cost more than running it."""
    connection = connections[router.db_for_write(LedgerHead)]
    table = connection.ops.quote_name(LedgerHead._meta.db_table)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT size, last_hash, frontier FROM {table} WHERE id = 1{lock}")
        row = cursor.fetchone()
    if row is None:
        raise LedgerHead.DoesNotExist("the ledger has no head row")
    size, last_hash, frontier = row
    return LedgerHead(pk=1, size=size, last_hash=last_hash, frontier=json.loads(frontier) if frontier else [])


def _save_head(head: LedgerHead) -> None:
    connection = connections[router.db_for_write(LedgerHead)]
    table = connection.ops.quote_name(LedgerHead._meta.db_table)
    frontier = LedgerHead._meta.get_field("frontier").get_db_prep_save(head.frontier, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET size = %s, last_hash = %s, frontier = %s WHERE id = 1", [head.size, head.last_hash, frontier]
        )


_INSERTED_COLUMNS = (*(name for name in CONTENT_FIELDS if name != "at"), "at", "leaf_hash")  # as record_changes lists them
SALT_BYTES = 16


def _salts(per_draw: int = 256) -> Iterator[str]:
    """Each entry's salt: 16 random bytes from the system's secure source, as hex (what secrets.token_hex(16)
    gives), drawn for many entries at a time instead of one system call each."""
    while True:
        drawn = secrets.token_bytes(SALT_BYTES * per_draw)
        for start in range(0, len(drawn), SALT_BYTES):
            yield drawn[start : start + SALT_BYTES].hex()


def history(obj: models.Model) -> models.QuerySet[ChangeRecord]:
    return ChangeRecord.objects.filter(entity=entity_name(obj), entity_id=str(obj.pk)).order_by("-sequence")


def entry_visible_to(entry: ChangeRecord, actor: Actor) -> bool:
    """An actor reads an entry in full if it may see the record it is about; otherwise only its hash. The rule
    of `ChangeRecord.objects.visible_to`, for one entry."""
    if actor.is_system:
        return True
    if entry.entity == account_entity() and not reads_every_account(actor):
        return ChangeRecord.objects.filter(pk=entry.pk).visible_to(actor).exists()
    if actor.organization is not None and entry.owner == actor.organization.code:
        return True
    return entry.marking in visible_markings(actor)


PRIVATE_KEYS = ("email",)  # never shown, through the API or the pages, to anyone


def may_know_actor(entry: ChangeRecord, actor: Actor) -> bool:
    """Whether the reader may know who made the change: coordination staff and the organization that acted.
    The system and the public are not people (their entries carry the same label as user and organization)."""
    if entry.actor_user == entry.actor_organization or reads_every_account(actor):
        return True
    return actor.organization is not None and entry.actor_organization == actor.organization.name


def with_known_actor(entries: models.QuerySet[ChangeRecord], actor: Actor) -> models.QuerySet[ChangeRecord]:
    """The entries whose maker the reader may know (the rule of `may_know_actor`), so that filtering by a
    person does not tell a reader who did what where it may not know."""
    if reads_every_account(actor):
        return entries
    known = models.Q(actor_user=models.F("actor_organization"))
    if actor.organization is not None:
        known |= models.Q(actor_organization=actor.organization.name)
    return entries.filter(known)


def recent_changes(actor: Actor, limit: int = 10) -> list[ChangeRecord]:
    """The latest entries the actor may read in full."""
    return list(ChangeRecord.objects.visible_to(actor).order_by("-sequence")[:limit])


def leaf_hashes() -> list[bytes]:
    return [bytes.fromhex(value) for value in ChangeRecord.objects.order_by("sequence").values_list("leaf_hash", flat=True)]


def current_checkpoint() -> dict[str, Any]:
    """Sign and keep a checkpoint of the ledger as it is now: its root is the fold of the head's frontier."""
    frontier = ledger_tree.frontier_of(LedgerHead.objects.get(pk=1))
    key = checkpoints.load_or_create_key(settings.DATA_DIR)
    signed = checkpoints.sign(key, frontier.size, frontier.root().hex())
    LedgerCheckpoint.objects.create(**signed)
    return signed


def ledger_size() -> int:
    return LedgerHead.objects.values_list("size", flat=True).get(pk=1)


def signed_inclusion(sequence: int, size: int) -> dict[str, Any]:
    """The proof that entry `sequence` is in the tree of the first `size` entries, with a checkpoint of that tree
    signed now: exactly what `core.proofs.check_inclusion` checks against the ledger's public key, outside
    Umbrella (the API's inclusion proof and a handover certificate give this)."""
    path, tree_root = ledger_tree.inclusion_proof(sequence - 1, size)
    key = checkpoints.load_or_create_key(settings.DATA_DIR)
    return {
        "sequence": sequence,
        "tree_size": size,
        "leaf_hash": ledger_tree.leaf_hash_run(sequence - 1, sequence)[0].hex(),
        "path": [node.hex() for node in path],
        "checkpoint": checkpoints.sign(key, size, tree_root.hex()),
    }

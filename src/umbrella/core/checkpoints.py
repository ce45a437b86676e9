"""Signed checkpoints of the ledger (tree size, root hash, time), Ed25519 via `cryptography`.

The signing key is generated once into the data directory (mode 0600). A nation keeps the JSON of a
checkpoint and the public key outside Umbrella; `verify_signature` needs nothing but those.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.utils.translation import gettext as _

KEY_FILE = "ledger_signing_key.pem"
DOMAIN = b"umbrella-ledger-checkpoint-v1\n"


def message(tree_size: int, root_hash: str, timestamp: str) -> bytes:
    body = {"root_hash": root_hash, "timestamp": timestamp, "tree_size": tree_size}
    return DOMAIN + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def load_or_create_key(directory: Path) -> Ed25519PrivateKey:
    path = directory / KEY_FILE
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(_("%(path)s does not hold an Ed25519 private key.") % {"path": path})
    return key


def public_key_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def sign(key: Ed25519PrivateKey, tree_size: int, root_hash: str, moment: dt.datetime | None = None) -> dict[str, Any]:
    stamp = (moment or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat(timespec="seconds")
    signature = key.sign(message(tree_size, root_hash, stamp))
    return {
        "tree_size": tree_size,
        "root_hash": root_hash,
        "timestamp": stamp,
        "public_key": public_key_hex(key),
        "signature": signature.hex(),
    }


JSON_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}
FIELDS_HEX = {"root_hash": 32, "public_key": 32, "signature": 64}  # field: its length in bytes


def checkpoint_problems(data: object) -> list[str]:
    """What keeps `data` (a parsed JSON file) from being a checkpoint's fields, every problem at once; none for a
    well-formed one (whose signature may still fail: that is `verify_signature`'s question)."""
    if not isinstance(data, dict):
        kind = JSON_KINDS.get(type(data), type(data).__name__)
        return [_("it holds a JSON %(kind)s, not an object with a checkpoint's fields") % {"kind": kind}]
    problems = []
    size = data.get("tree_size")
    if "tree_size" not in data:
        problems.append(_("tree_size is missing"))
    elif isinstance(size, bool) or not isinstance(size, int) or size < 0:
        problems.append(_("tree_size is %(value)s, not a whole number of entries") % {"value": json.dumps(size)})
    for name, length in FIELDS_HEX.items():
        if name not in data:
            problems.append(_("%(field)s is missing") % {"field": name})
        elif not _is_hex(data[name], length):
            problems.append(_("%(field)s is not %(digits)d hexadecimal digits") % {"field": name, "digits": 2 * length})
    stamp = data.get("timestamp")
    if "timestamp" not in data:
        problems.append(_("timestamp is missing"))
    elif not isinstance(stamp, str) or _moment(stamp) is None:
        problems.append(_("timestamp is %(value)s, not an ISO 8601 date and time") % {"value": json.dumps(stamp)})
    return problems


def _is_hex(value: object, length: int) -> bool:
    if not isinstance(value, str) or len(value) != 2 * length:
        return False
    try:
        bytes.fromhex(value)
    except ValueError:
        return False
    return True


def _moment(stamp: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(stamp)
    except ValueError:
        return None


def verify_signature(checkpoint: dict[str, Any], public_key: str | None = None) -> bool:
    """True when the checkpoint was signed by `public_key` (hex; by default the one it names)."""
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key or checkpoint["public_key"]))
        key.verify(
            bytes.fromhex(checkpoint["signature"]),
            message(int(checkpoint["tree_size"]), checkpoint["root_hash"], checkpoint["timestamp"]),
        )
        return True
    except (InvalidSignature, KeyError, ValueError, TypeError):
        return False

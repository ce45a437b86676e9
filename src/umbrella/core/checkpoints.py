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
        raise ValueError(f"{path} does not hold an Ed25519 private key")
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

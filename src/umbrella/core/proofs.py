"""What a nation runs, outside Umbrella, on a proof from the API and the checkpoint it kept. Pure: needs
only this module, `core.merkle`, `core.checkpoints` and the ledger's public key (hex) it pinned earlier.

    check_inclusion(response, public_key)                 the entry is in the signed tree
    check_consistency(response, my_checkpoint, public_key) today's signed tree extends the one I kept
"""

from __future__ import annotations

from typing import Any

from umbrella.core import checkpoints, merkle


def _signed(checkpoint: dict[str, Any], public_key: str) -> bool:
    return checkpoints.verify_signature(checkpoint, public_key)


def check_inclusion(response: dict[str, Any], public_key: str) -> bool:
    try:
        checkpoint = response["checkpoint"]
        if not _signed(checkpoint, public_key) or int(checkpoint["tree_size"]) != int(response["tree_size"]):
            return False
        return merkle.verify_inclusion(
            bytes.fromhex(response["leaf_hash"]),
            int(response["sequence"]) - 1,
            int(response["tree_size"]),
            [bytes.fromhex(node) for node in response["path"]],
            bytes.fromhex(checkpoint["root_hash"]),
        )
    except (KeyError, TypeError, ValueError):
        return False


def check_consistency(response: dict[str, Any], my_checkpoint: dict[str, Any], public_key: str) -> bool:
    try:
        newer = response["checkpoint"]
        if not (_signed(newer, public_key) and _signed(my_checkpoint, public_key)):
            return False
        if int(response["first"]) != int(my_checkpoint["tree_size"]) or int(response["second"]) != int(newer["tree_size"]):
            return False
        return merkle.verify_consistency(
            int(my_checkpoint["tree_size"]),
            int(newer["tree_size"]),
            bytes.fromhex(my_checkpoint["root_hash"]),
            bytes.fromhex(newer["root_hash"]),
            [bytes.fromhex(node) for node in response["path"]],
        )
    except (KeyError, TypeError, ValueError):
        return False

"""Uploaded import files kept between the preview and the commit, readable only by their uploader."""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from umbrella.core.errors import NotFound

TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,40}$")
KEEP_SECONDS = 24 * 3600


@dataclass(frozen=True)
class PendingImport:
    token: str
    user_id: int
    organization_id: int | None
    kind: str
    filename: str
    list_reference: str


def _folder() -> Path:
    folder = Path(settings.DATA_DIR) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sweep(now: float | None = None) -> None:
    """Forget uploads left in preview for more than a day."""
    limit = (now or time.time()) - KEEP_SECONDS
    for path in _folder().glob("*.*"):
        if path.suffix in (".bin", ".json") and path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)


def keep(
    data: bytes, *, user_id: int, organization_id: int | None, kind: str, filename: str, list_reference: str
) -> PendingImport:
    sweep()
    pending = PendingImport(secrets.token_urlsafe(18), user_id, organization_id, kind, Path(filename).name, list_reference)
    (_folder() / f"{pending.token}.bin").write_bytes(data)
    (_folder() / f"{pending.token}.json").write_text(json.dumps(asdict(pending)))
    return pending


def fetch(token: str, *, user_id: int) -> tuple[PendingImport, bytes]:
    meta = _folder() / f"{token}.json"
    if not TOKEN.match(token) or not meta.exists():
        raise NotFound(_("That upload is gone; upload the file again."))
    pending = PendingImport(**json.loads(meta.read_text()))
    if pending.user_id != user_id:
        raise NotFound(_("That upload is gone; upload the file again."))
    return pending, (_folder() / f"{token}.bin").read_bytes()


def discard(token: str) -> None:
    if TOKEN.match(token):
        for suffix in (".bin", ".json"):
            (_folder() / f"{token}{suffix}").unlink(missing_ok=True)

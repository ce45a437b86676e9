"""Whether an error means the database cannot take a write just now, rather than a fault in Umbrella.

Two such states, one question asked by the API (503 with Retry-After), the pages (the 503 page) and the command
line (exit status 75, EX_TEMPFAIL):

- busy: another transaction holds the lock for longer than we wait (a long import, say): SQLite's "database is
  locked" after its busy timeout; on PostgreSQL `lock_timeout`, a statement timeout, a serialization failure,
  a deadlock, or no connection slot left;
- full: the disk is full (SQLite "database or disk is full", PostgreSQL disk_full, or ENOSPC from the system).

Either way the transaction was rolled back, so nothing was written and the same request may simply be repeated.
"""

from __future__ import annotations

import errno
import sqlite3
from dataclasses import dataclass

from django.db import OperationalError
from django.utils.translation import gettext as _

EX_TEMPFAIL = 75  # sysexits.h: a temporary failure; the caller is invited to retry

BUSY, FULL = "busy", "full"
RETRY_AFTER_SECONDS = {BUSY: 5, FULL: 300}

SQLITE_MESSAGES = {"database is locked": BUSY, "database table is locked": BUSY, "database or disk is full": FULL}
POSTGRES_STATES = {
    "55P03": BUSY,  # lock_not_available (lock_timeout)
    "57014": BUSY,  # query_canceled (statement_timeout)
    "40001": BUSY,  # serialization_failure
    "40P01": BUSY,  # deadlock_detected
    "53300": BUSY,  # too_many_connections
    "53100": FULL,  # disk_full
}
NO_SPACE = {errno.ENOSPC, errno.EDQUOT}


@dataclass(frozen=True)
class Unavailable:
    reason: str  # BUSY or FULL

    @property
    def retry_after(self) -> int:
        return RETRY_AFTER_SECONDS[self.reason]

    @property
    def message(self) -> str:
        if self.reason == FULL:
            return _(
                "The server's disk is full, so nothing was saved. Try again later; the administrator has to free space first."
            )
        return _("The database is busy with another change (a long import, say), so nothing was saved. Try again in a moment.")


def unavailable(error: BaseException) -> Unavailable | None:
    """Busy or full when `error`, or an error it was raised from, says so; None for any other error."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        reason = _reason(current)
        if reason is not None:
            return Unavailable(reason)
        current = current.__cause__ or current.__context__
    return None


def _reason(error: BaseException) -> str | None:
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if state in POSTGRES_STATES:
        return POSTGRES_STATES[state]
    if isinstance(error, OSError) and error.errno in NO_SPACE:
        return FULL
    if not isinstance(error, (OperationalError, sqlite3.OperationalError)):
        return None
    text = str(error).lower()
    return next((reason for message, reason in SQLITE_MESSAGES.items() if message in text), None)

"""Sign-in throttling: slow a password guesser down without letting anyone lock the real user out.

Refused or unfinished password checks in the last WINDOW are counted three ways:

- one user name from one address: after PER_PAIR, that pair waits until its failures age out;
- one address, whatever the user names: after PER_ADDRESS, that address waits, except for a user name
  that has signed in from it before (so one person mistyping or guessing behind a shared address does
  not lock out the colleagues who sign in from it every day);
- one user name from every address: after ACCOUNT_FREE, each further check from an address it has not
  signed in from waits twice as long after the latest failure as the one before (ACCOUNT_FIRST_DELAY,
  then double, up to WINDOW). From an address it signed in from within KNOWN_FOR there is no such wait,
  so naming an account never locks its owner out.

A refused attempt checks no password and counts for nothing. A check is reserved before the password is
checked, under a lock on the user name's and the address's gate rows (SELECT … FOR UPDATE on PostgreSQL;
SQLite's BEGIN IMMEDIATE already runs one writer at a time), and counts as a failure until it succeeds:
parallel attempts queue on the lock and cannot all pass the same count.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from umbrella.core.errors import Throttled
from umbrella.orgs.models import SignInAttempt, SignInGate

WINDOW = dt.timedelta(minutes=15)
PER_PAIR = 5
PER_ADDRESS = 20
ACCOUNT_FREE = 10
ACCOUNT_FIRST_DELAY = dt.timedelta(seconds=1)
KNOWN_FOR = dt.timedelta(days=90)
Outcome = SignInAttempt.Outcome
log = logging.getLogger("umbrella.signin")


def reserve(username: str, address: str, *, now: dt.datetime | None = None) -> int:
    """Count and reserve one password check (the id of the pending attempt), or raise Throttled."""
    now = now or timezone.now()
    username = username.lower()
    keys = sorted({f"address:{address}", f"user:{username}"})
    SignInGate.objects.bulk_create([SignInGate(key=key, touched=now) for key in keys], ignore_conflicts=True)
    with transaction.atomic():
        _lock(keys, now)
        reason = _refusal(username, address, now)
        if reason:
            log.warning("throttled sign-in for %r from %s (%s)", username, address, reason)
            raise Throttled(reason)
        return SignInAttempt.objects.create(username=username, address=address, at=now).pk


def finish(attempt_id: int, *, succeeded: bool, now: dt.datetime | None = None) -> None:
    """Record how a reserved check ended, and forget what no longer counts."""
    now = now or timezone.now()
    with transaction.atomic():
        attempt = SignInAttempt.objects.get(pk=attempt_id)
        if succeeded:
            # The user proved the address is theirs: its failures stop counting against them (checks still
            # running in parallel stay, to be finished).
            SignInAttempt.objects.filter(username=attempt.username, address=attempt.address).exclude(
                Q(pk=attempt.pk) | Q(outcome=Outcome.PENDING)
            ).delete()
        else:
            log.warning("refused sign-in for %r from %s", attempt.username, attempt.address)
        outcome = Outcome.SUCCEEDED if succeeded else Outcome.FAILED
        SignInAttempt.objects.filter(pk=attempt.pk).update(outcome=outcome)
        SignInAttempt.objects.filter(
            Q(at__lt=now - KNOWN_FOR) | (Q(at__lt=now - WINDOW) & ~Q(outcome=Outcome.SUCCEEDED))
        ).delete()
        SignInGate.objects.filter(touched__lt=now - WINDOW).delete()


def account_delay(failures: int) -> dt.timedelta:
    """How long after its latest failure an account with this many recent failures waits (from elsewhere)."""
    if failures < ACCOUNT_FREE:
        return dt.timedelta(0)
    doublings = min(failures - ACCOUNT_FREE, 20)
    return min(ACCOUNT_FIRST_DELAY * 2**doublings, WINDOW)


def _lock(keys: list[str], now: dt.datetime) -> None:
    # Always in key order, so two attempts sharing a gate never wait on each other in a circle. A gate
    # purged since the insert above is put back and locked again.
    while True:
        locked = list(SignInGate.objects.select_for_update().filter(key__in=keys).order_by("key").values_list("pk", flat=True))
        if len(locked) == len(keys):
            SignInGate.objects.filter(pk__in=locked).update(touched=now)
            return
        SignInGate.objects.bulk_create([SignInGate(key=key, touched=now) for key in keys], ignore_conflicts=True)


def _refusal(username: str, address: str, now: dt.datetime) -> str:
    counted = SignInAttempt.objects.filter(at__gte=now - WINDOW).exclude(outcome=Outcome.SUCCEEDED)
    if counted.filter(username=username, address=address).count() >= PER_PAIR:
        return "pair"
    known = SignInAttempt.objects.filter(
        username=username, address=address, outcome=Outcome.SUCCEEDED, at__gte=now - KNOWN_FOR
    ).exists()
    if known:
        return ""
    if counted.filter(address=address).count() >= PER_ADDRESS:
        return "address"
    account = counted.filter(username=username).aggregate(failures=Count("pk"), latest=Max("at"))
    if account["failures"] >= ACCOUNT_FREE and now < account["latest"] + account_delay(account["failures"]):
        return "account"
    return ""

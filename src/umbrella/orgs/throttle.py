"""Sign-in throttling: after too many refused attempts for one user name, or from one address, within a
window, further attempts are refused without checking the password until the window has passed."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from umbrella.orgs.models import FailedSignIn

WINDOW = dt.timedelta(minutes=15)
PER_USERNAME = 5
PER_ADDRESS = 20
log = logging.getLogger("umbrella.signin")


def is_throttled(username: str, address: str) -> bool:
    since = timezone.now() - WINDOW
    recent = FailedSignIn.objects.filter(at__gte=since)
    return recent.filter(username=username.lower()).count() >= PER_USERNAME or recent.filter(address=address).count() >= PER_ADDRESS


def record_failure(username: str, address: str) -> None:
    FailedSignIn.objects.create(username=username.lower(), address=address)
    FailedSignIn.objects.filter(at__lt=timezone.now() - WINDOW).delete()
    log.warning("refused sign-in for %r from %s", username, address)


def clear(username: str) -> None:
    FailedSignIn.objects.filter(username=username.lower()).delete()

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from umbrella.core.errors import Throttled
from umbrella.orgs import throttle


def client_address(request) -> str:
    """The address a request comes from. Behind trusted proxies (UMBRELLA_TRUSTED_PROXIES) it is the
    right-most X-Forwarded-For entry that is not a trusted proxy: entries left of it were written by the
    client and could say anything. From any other peer the header is ignored."""
    hops = [request.META.get("REMOTE_ADDR") or "", *reversed(_forwarded_for(request))]
    for hop in hops[:-1]:
        if not _is_trusted_proxy(hop):
            return _normalized(hop)
    return _normalized(hops[-1])


def _forwarded_for(request) -> list[str]:
    header = request.META.get("HTTP_X_FORWARDED_FOR") or ""
    return [entry.strip() for entry in header.split(",") if entry.strip()]


def _parsed(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    return getattr(parsed, "ipv4_mapped", None) or parsed


def _is_trusted_proxy(address: str) -> bool:
    parsed = _parsed(address)
    return parsed is not None and any(parsed in network for network in settings.TRUSTED_PROXIES)


def _normalized(address: str) -> str:
    parsed = _parsed(address)
    return (str(parsed) if parsed else address or "unknown")[:64]


class ThrottledSignIn:
    """Checks a sign-in form's password only when the throttle reserves a check for it; mixed into the
    site's and the admin's sign-in forms, so neither is a way around the other's limits."""

    throttle_messages = {
        "throttled": _("Too many failed sign-ins. Wait 15 minutes and try again."),
        "throttled_account": _(
            "Too many failed sign-ins for this user name from other places. Try again later, or sign in "
            "from a network you have signed in from before."
        ),
    }

    def clean(self):
        username = self.cleaned_data.get("username")
        if not username or not self.cleaned_data.get("password"):
            return super().clean()
        try:
            attempt = throttle.reserve(username, client_address(self.request))
        except Throttled as refusal:
            code = "throttled_account" if refusal.reason == "account" else "throttled"
            raise ValidationError(self.throttle_messages[code], code=code) from None
        try:
            return super().clean()
        finally:
            # The password was right when a user was found, even if that user may not sign in here.
            throttle.finish(attempt, succeeded=self.user_cache is not None)


class ThrottledSignInForm(ThrottledSignIn, AuthenticationForm):
    pass


class ThrottledAdminSignInForm(ThrottledSignIn, AdminAuthenticationForm):
    pass

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from umbrella.core.errors import Invalid, Throttled
from umbrella.orgs import throttle
from umbrella.orgs.services import set_password


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


class PasswordChangeForm(forms.Form):
    """Django's password change, written through `orgs.services.set_password` so the ledger records it."""

    current = forms.CharField(
        label=_("Current password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    new = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 12 characters, not a common password, not like your user name."),
    )
    repeated = forms.CharField(
        label=_("New password again"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_current(self):
        if not self.user.check_password(self.cleaned_data["current"]):
            raise ValidationError(_("That is not your current password."), code="password_incorrect")
        return self.cleaned_data["current"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("new") and cleaned.get("repeated") and cleaned["new"] != cleaned["repeated"]:
            self.add_error("repeated", _("The two new passwords differ."))
        return cleaned


@login_required
def change_password(request: HttpRequest) -> HttpResponse:
    """Every signed-in person changes their own password here (the admin's link leads here too)."""
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = set_password(actor=request.actor, user_id=request.user.pk, password=form.cleaned_data["new"])
        except Invalid as error:
            form.add_error("new", " ".join(message for messages in error.field_errors.values() for message in messages))
        else:
            update_session_auth_hash(request, user)
            messages.success(request, _("Your password was changed."))
            return redirect("home")
    page = {
        "title": _("Change your password"),
        "forms": [form],
        "submit_label": _("Change password"),
        "cancel_url": reverse("home"),
    }
    return render(request, "ui/form_page.html", {"page": page}, status=400 if form.errors else 200)


def admin_password_change(request: HttpRequest, extra_context=None) -> HttpResponse:
    return redirect("change-password")


def refusing_signed_in_people(admin_login: Callable[..., HttpResponse], site: AdminSite) -> Callable[..., HttpResponse]:
    """The admin's sign-in, except that someone already signed in without admin rights is told so (403) instead
    of being offered a second sign-in form, which reads as if their password had not worked."""

    @functools.wraps(admin_login)
    def login(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if request.user.is_authenticated and not site.has_permission(request):
            return render(request, "403.html", {"message": _("Your account has no rights in the admin.")}, status=403)
        return admin_login(request, extra_context)

    return login

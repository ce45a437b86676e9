from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from umbrella.core.api import problem
from umbrella.core.errors import DomainError, Forbidden, NotFound


class DomainErrorMiddleware:
    """Maps domain errors a view did not handle: NotFound → 404, Forbidden → 403; any other refusal is a
    409 page for a GET, and for a form or button (POST) a message on the page the person came from."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, NotFound):
            return render(request, "404.html", {"message": exception.message}, status=404)
        if isinstance(exception, Forbidden):
            return render(request, "403.html", {"message": exception.message}, status=403)
        if not isinstance(exception, DomainError):
            return None
        referer = request.headers.get("Referer", "")
        came_from_here = url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}, require_https=request.is_secure())
        if request.method == "POST" and came_from_here:
            messages.error(request, exception.message)
            return HttpResponseRedirect(referer)
        return render(request, "409.html", {"message": exception.message}, status=409)


class RefuseNulCharacters:
    """Refuses, before any view runs, a request whose parameters or JSON body hold a NUL character (U+0000):
    PostgreSQL can neither store nor compare such text, so it would fail deep inside a query. Uploaded files
    are not looked at (a workbook holds NUL bytes); their cells are checked by the importer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not _holds_nul(request):
            return self.get_response(request)
        message = _("The request holds a NUL character (U+0000), which Umbrella does not accept.")
        if request.path.startswith("/api/"):
            return problem(400, message)
        return render(request, "400.html", {"message": message}, status=400)


def _holds_nul(request) -> bool:
    if "\x00" in request.path or _any_nul(request.GET.lists()):
        return True
    if request.content_type == "application/json":
        try:
            return _nested_nul(json.loads(request.body or b"null"))
        except (ValueError, RecursionError):
            return False  # not JSON it can read: the API answers that itself
    if request.method == "POST" and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return _any_nul(request.POST.lists())
    return False


def _any_nul(parameters) -> bool:
    return any("\x00" in name or any("\x00" in value for value in values) for name, values in parameters)


def _nested_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_nested_nul(key) or _nested_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_nested_nul(item) for item in value)
    return False

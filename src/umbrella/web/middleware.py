from __future__ import annotations

import json
import sys

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found
from django.views.defaults import server_error as server_error_page

from umbrella.core.api import internal_error_problem, problem, unexpected_error_response
from umbrella.core.database import unavailable
from umbrella.core.errors import DomainError, Forbidden, Invalid, NotFound


def _unavailable_response(request, error: BaseException):
    """The 503 for a database that is busy or full (None for any other error): problem+json under /api/,
    else the 503 page in the request's language; both say when to try again."""
    state = unavailable(error)
    if state is None:
        return None
    if request.path.startswith("/api/"):
        return unexpected_error_response(error)
    response = render(request, "503.html", {"message": state.message}, status=503)
    response["Retry-After"] = str(state.retry_after)
    return response


def server_error(request):
    """handler500: what escaped every view and middleware. A busy or full database is a 503; under /api/
    anything else is a problem+json 500 too, never an HTML page (Django has logged the error already)."""
    error = sys.exc_info()[1]
    if error is not None:
        response = _unavailable_response(request, error)
        if response is not None:
            return response
    if request.path.startswith("/api/"):
        return internal_error_problem()
    return server_error_page(request)


def not_found(request, exception):
    """handler404: a path no route knows. Under /api/ a problem+json like every other API answer."""
    if request.path.startswith("/api/"):
        return problem(404, _("No such resource."))
    return page_not_found(request, exception)


class DomainErrorMiddleware:
    """Maps domain errors a view did not handle: NotFound → 404, Forbidden → 403, a busy or full database →
    503; an invalid query (an unknown filter value) is a 400 page for a GET, any other refusal a 409 page;
    for a form or button (POST) a refusal is a message on the page the person came from."""

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
            return _unavailable_response(request, exception)
        referer = request.headers.get("Referer", "")
        came_from_here = url_has_allowed_host_and_scheme(
            referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        if request.method == "POST" and came_from_here:
            messages.error(request, exception.message)
            return HttpResponseRedirect(referer)
        if isinstance(exception, Invalid):
            problems = " ".join(message for messages_ in exception.field_errors.values() for message in messages_)
            return render(request, "400.html", {"message": problems}, status=400)
        refusal = {
            "message": exception.message,
            "reason": exception.context.get("reason"),
            "next_steps": exception.context.get("next_steps", []),
            "back_url": exception.context.get("url"),
            "back_to": exception.context.get("record"),
            "messages": _messages_besides(request, exception.message),
        }
        return render(request, "409.html", refusal, status=409)


def _messages_besides(request, shown: str) -> list:
    """The messages waiting for the page, without the one it shows itself: a refused form sends the browser back to
    the page it came from with the refusal as a message, and that page may refuse the same step again."""
    return [waiting for waiting in messages.get_messages(request) if str(waiting) != shown]


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

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

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

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render

from umbrella.core.errors import DomainError, Forbidden, NotFound


class DomainErrorMiddleware:
    """Maps domain errors a view did not handle: NotFound → 404, Forbidden → 403, the rest → a message."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, NotFound):
            return render(request, "404.html", {"message": exception.message}, status=404)
        if isinstance(exception, Forbidden):
            return render(request, "403.html", {"message": exception.message}, status=403)
        if isinstance(exception, DomainError):
            messages.error(request, exception.message)
            return HttpResponseRedirect(request.path)
        return None

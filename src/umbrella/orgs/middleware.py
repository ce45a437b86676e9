from __future__ import annotations

import uuid

from umbrella.orgs.queries import SESSION_ORGANIZATION_KEY, actor_for


class ActorMiddleware:
    """Sets `request.actor`: the user acting through their chosen membership, or the public."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
        request.actor = actor_for(request.user, request.session.get(SESSION_ORGANIZATION_KEY), request_id=request_id[:64])
        response = self.get_response(request)
        response["X-Request-ID"] = request.actor.request_id
        return response

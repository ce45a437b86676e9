"""API v1: /api/v1/, its OpenAPI document at /api/v1/openapi.json and its docs at /api/v1/docs, served
by the app itself (no CDN). Authentication: `Authorization: Bearer <token>` (see `umbrella token`);
without it, a request acts as the public and sees only what is marked public."""

from __future__ import annotations

import uuid

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from umbrella.core.access import Actor
from umbrella.core.api import domain_error_response, problem, request_field_errors, unexpected_error_response
from umbrella.core.errors import DomainError, Forbidden
from umbrella.orgs.services import token_actor


class TokenAuth(HttpBearer):
    """A valid bearer token acts for its user and organization; no Authorization header acts as the public;
    anything else is 401 (a bad token never falls back to the public)."""

    def __call__(self, request):
        request_id = (request.headers.get("X-Request-ID") or uuid.uuid4().hex)[:64]
        header = request.headers.get("Authorization")
        if not header:
            request.actor = Actor.anonymous()
            return request.actor
        scheme, _, secret = header.partition(" ")
        actor = token_actor(secret.strip(), request_id) if scheme.lower() == "bearer" else None
        if actor is None:
            raise AuthenticationError()
        request.actor = actor
        return actor

    def authenticate(self, request, token):  # required by HttpBearer; __call__ does the work
        return None


PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {},
        "current_version": {"type": ["integer", "null"]},
    },
}


class UmbrellaAPI(NinjaAPI):
    """Every operation also documents its errors: application/problem+json (RFC 9457)."""

    def get_openapi_schema(self, *args, **kwargs):
        document = super().get_openapi_schema(*args, **kwargs)
        document.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        problem_response = {
            "description": "A problem (application/problem+json)",
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for methods in document["paths"].values():
            for operation in methods.values():
                operation["responses"].setdefault("default", problem_response)
        return document


api = UmbrellaAPI(
    title="Umbrella API",
    version="1",
    urls_namespace="api-v1",
    auth=TokenAuth(),
    description=__doc__,
)


@api.exception_handler(DomainError)
def _domain_error(request, error: DomainError):
    actor = getattr(request, "actor", None)
    if isinstance(error, Forbidden) and (actor is None or actor.user is None):
        response = problem(401, _("Send a bearer token to do this."))
        response["WWW-Authenticate"] = "Bearer"
        return response
    return domain_error_response(error)


@api.exception_handler(NinjaValidationError)
def _validation_error(request, error: NinjaValidationError):
    return problem(422, _("The request is not valid."), errors=request_field_errors(error.errors, request.GET))


@api.exception_handler(AuthenticationError)
def _authentication_error(request, error):
    response = problem(401, _("The token is unknown, expired or revoked."))
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(Http404)
def _not_found(request, error):
    return problem(404, _("No such resource."))


@api.exception_handler(HttpError)
def _http_error(request, error: HttpError):
    return problem(error.status_code, str(error))


@api.exception_handler(Exception)
def _unexpected_error(request, error: Exception):
    return unexpected_error_response(error)


def _add_routers() -> None:
    from umbrella.catalog.api import router as catalog
    from umbrella.core.ledger_api import router as ledger
    from umbrella.eum.api import router as eum
    from umbrella.funding.api import router as funding
    from umbrella.logistics.api import router as logistics
    from umbrella.matching.api import router as matching
    from umbrella.needs.api import router as needs
    from umbrella.orgs.api import router as orgs
    from umbrella.places.api import router as places
    from umbrella.pledges.api import router as pledges
    from umbrella.scenarios.api import router as scenarios
    from umbrella.training.api import router as training
    from umbrella.training.api_readiness import router as readiness

    api.add_router("/organizations", orgs, tags=["organizations"])
    api.add_router("/", catalog, tags=["catalog"])
    api.add_router("/", places, tags=["places"])
    api.add_router("/", needs, tags=["requirements"])
    api.add_router("/", pledges, tags=["pledges"])
    api.add_router("/", matching, tags=["matching"])
    api.add_router("/", logistics, tags=["logistics"])
    api.add_router("/", funding, tags=["funding"])
    api.add_router("/", scenarios, tags=["scenarios"])
    api.add_router("/", eum, tags=["end-use monitoring"])
    api.add_router("/", training, tags=["training"])
    api.add_router("/", readiness, tags=["readiness"])
    api.add_router("/ledger", ledger, tags=["ledger"])


_add_routers()

"""What every API operation shares: errors as application/problem+json, ETags and If-Match for updates,
and Idempotency-Key for creates. No domain here; `umbrella/api.py` assembles the API from app routers."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from ninja import Field, Schema
from ninja.pagination import PageNumberPagination

from umbrella.core.database import unavailable
from umbrella.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    ImportRejected,
    Invalid,
    InvalidTransition,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    StaleVersion,
    UnreadableFile,
)
from umbrella.core.models import IdempotencyRecord

PROBLEM = "application/problem+json"
STATUS = {
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    InvalidTransition: 409,
    Invalid: 422,
    ImportRejected: 422,
    UnreadableFile: 400,
    PreconditionRequired: 428,
}
TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    412: "Precondition failed",
    422: "Unprocessable content",
    428: "Precondition required",
    500: "Internal server error",
    503: "Service unavailable",
}
log = logging.getLogger("umbrella.api")


def problem(status: int, detail: str, **extra: Any) -> JsonResponse:
    body = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status, "detail": detail, **extra}
    return JsonResponse(body, status=status, content_type=PROBLEM)


# Where a request's value sat, as the validation reports it: the first part of an error's `loc`; a body's next
# part is the operation's parameter name, which no client sent.
_PARAMETER_PLACES = {"query", "path", "header", "cookie", "form", "file"}


def request_field_errors(errors: list[dict[str, Any]], query: Mapping[str, str]) -> dict[str, list[str]]:
    """The request validation's errors as the rest of the API gives them, {field: [messages]}, in the reader's
    language and without the schema's internals (the list of accepted values, the names of database paths)."""
    fields: dict[str, list[str]] = {}
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        place, path = (location[0], location[1:]) if location else ("", [])
        if place == "body" and len(path) > 1:
            path = path[1:]
        name = ".".join(path) or place
        fields.setdefault(name, []).append(_field_message(error, name, query.get(name) if place in _PARAMETER_PLACES else None))
    return fields


def _field_message(error: dict[str, Any], name: str, sent: str | None) -> str:
    kind, limits = error.get("type", ""), error.get("ctx") or {}
    if kind in ("literal_error", "enum"):
        if name == "sort" and sent is not None:
            return _("%(value)s is not a sort key of this list.") % {"value": repr(sent)}
        if sent is not None:
            return _("Select a valid choice. %(value)s is not one of the available choices.") % {"value": repr(sent)}
        return _("Select a valid choice. That choice is not one of the available choices.")
    if kind in ("string_too_long", "too_long"):
        limit = int(limits.get("max_length", 0))
        return ngettext("Give at most %(limit)d character.", "Give at most %(limit)d characters.", limit) % {"limit": limit}
    if kind in ("string_too_short", "too_short"):
        limit = int(limits.get("min_length", 0))
        return ngettext("Give at least %(limit)d character.", "Give at least %(limit)d characters.", limit) % {"limit": limit}
    for bound, message in (
        ("ge", _("Ensure this value is greater than or equal to %(limit_value)s.")),
        ("gt", _("Ensure this value is greater than %(limit_value)s.")),
        ("le", _("Ensure this value is less than or equal to %(limit_value)s.")),
        ("lt", _("Ensure this value is less than %(limit_value)s.")),
    ):
        if bound in limits:
            return message % {"limit_value": limits[bound]}
    return _kind_message(kind)


def _kind_message(kind: str) -> str:
    if kind == "missing":
        return _("This field is required.")
    if kind == "extra_forbidden":
        return _("This field is not part of the request.")
    if kind.startswith("int"):
        return _("Enter a whole number.")
    if kind.startswith(("float", "decimal")):
        return _("Enter a number.")
    if kind.startswith("datetime"):
        return _("Enter a valid date/time.")
    if kind.startswith("date"):
        return _("Enter a valid date.")
    if kind.startswith("url"):
        return _("Enter a valid URL.")
    if kind.startswith("json"):
        return _("Enter a valid JSON.")
    return _("Enter a valid value.")


def domain_error_response(error: DomainError) -> JsonResponse:
    if isinstance(error, StaleVersion | PreconditionFailed):
        return problem(412, error.message, current_version=error.context.get("current_version"))
    status = next((code for kind, code in STATUS.items() if isinstance(error, kind)), 400)
    extra: dict[str, Any] = {}
    if isinstance(error, Invalid):
        extra["errors"] = error.field_errors
    if isinstance(error, ImportRejected):
        extra["errors"] = [row.__dict__ for row in error.row_errors]
    return problem(status, error.message, **extra)


def unexpected_error_response(error: BaseException) -> JsonResponse:
    """An error no handler expected: 503 with Retry-After when the database is busy or full (the request may
    simply be repeated), else a logged 500 that tells the caller nothing of the code behind it."""
    state = unavailable(error)
    if state is not None:
        response = problem(503, state.message)
        response["Retry-After"] = str(state.retry_after)
        return response
    log.error("unexpected error", exc_info=error)
    return internal_error_problem()


def internal_error_problem() -> JsonResponse:
    """A 500 that says nothing of the code behind it (the error itself goes to the log)."""
    return problem(500, _("Something went wrong on the server. It was logged; please report it if it happens again."))


def etag(version: int) -> str:
    return f'"v{version}"'


def with_etag(response: HttpResponse, version: int) -> HttpResponse:
    response["ETag"] = etag(version)
    return response


def expected_version(request: HttpRequest) -> int:
    """The version an update was based on, from If-Match: 428 if missing, 412 if it is not one of ours."""
    header = request.headers.get("If-Match")
    if not header:
        raise PreconditionRequired(_("Send If-Match with the ETag of the record you changed."))
    value = header.strip().removeprefix("W/").strip('"')
    if not value.startswith("v") or not value[1:].isdigit():
        raise PreconditionFailed(_("If-Match %(header)s is not an ETag this API gave out.") % {"header": repr(header)})
    return int(value[1:])


def _request_hash(request: HttpRequest) -> str:
    return hashlib.sha256(request.method.encode() + b" " + request.path.encode() + b"\n" + request.body).hexdigest()


def idempotent(request: HttpRequest, scope: str, create: Callable[[], HttpResponse]) -> HttpResponse:
    """Run `create` once per Idempotency-Key (within `scope`): a replay gets the first response, the same
    key with a different body is 422, and a duplicate arriving while the first is still running is 409.
    The key is kept in the same transaction as the write, so a create that fails (refused, or the database
    busy) leaves no key behind and the same request with the same key may be sent again."""
    key = request.headers.get("Idempotency-Key")
    if not key:
        return create()
    if len(key) > 200:
        return problem(422, _("Idempotency-Key is longer than 200 characters."))
    digest = _request_hash(request)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(scope=scope, key=key, request_hash=digest)
        except IntegrityError:
            return _replay(IdempotencyRecord.objects.get(scope=scope, key=key), digest)
        response = create()
        body = json.loads(response.content or b"null")
        IdempotencyRecord.objects.filter(pk=record.pk).update(status_code=response.status_code, response=body)
    return response


def _replay(earlier: IdempotencyRecord, digest: str) -> JsonResponse:
    if earlier.request_hash != digest:
        return problem(422, _("This Idempotency-Key was used for a different request."))
    if earlier.status_code is None:
        return problem(409, _("A request with this Idempotency-Key is still being processed."))
    replay = JsonResponse(
        earlier.response,
        status=earlier.status_code,
        safe=False,
        content_type=PROBLEM if earlier.status_code >= 400 else "application/json",
    )
    replay["Idempotent-Replayed"] = "true"
    return replay


def created(schema: Any, obj: Any, location: str) -> JsonResponse:
    response = JsonResponse(schema.from_orm(obj).model_dump(mode="json"), status=201)
    response["Location"] = location
    if hasattr(obj, "version"):
        with_etag(response, obj.version)
    return response


def scope_of(actor: Any) -> str:
    """Idempotency keys are scoped to the organization and the user."""
    organization = actor.organization.pk if actor.organization is not None else "-"
    user = actor.user.pk if actor.user is not None else "-"
    return f"{organization}:{user}"


MAX_PAGE = 1_000_000
MAX_PAGE_SIZE = 500


class Pagination(PageNumberPagination):
    """Page-number pagination with limits in its schema: a page past any database's OFFSET range is a 422,
    not a server error (schemathesis found PostgreSQL overflowing a bigint OFFSET)."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE)
        page_size: int | None = Field(None, ge=1, le=MAX_PAGE_SIZE)

    def paginate_queryset(self, queryset, pagination, request, **params):
        refuse_unknown_parameters(request, {"pagination": pagination, **params})
        return super().paginate_queryset(queryset, pagination, request, **params)


def _parameter_names(name: str, value: Any) -> set[str]:
    """The query parameters an operation's argument stands for: a schema's fields (and aliases), else its name."""
    if not isinstance(value, Schema):
        return {name}
    fields = type(value).model_fields
    return set(fields) | {field.alias for field in fields.values() if field.alias}


def refuse_unknown_parameters(request: HttpRequest, arguments: dict[str, Any]) -> None:
    """A list answers only the parameters it declares: a misspelt filter (`?stat=withdrawn`) is a 422 naming it,
    never ignored, which would answer with the whole list as if it were the filtered one."""
    known = set().union(*(_parameter_names(name, value) for name, value in arguments.items()))
    unknown = sorted(set(request.GET) - known)
    if unknown:
        raise Invalid({name: [_("%(name)s is not a parameter of this list.") % {"name": name}] for name in unknown})

"""Funding, exchange rates and fair shares over HTTP: the same services and reads as the pages."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import ConfigDict

from umbrella.catalog.api import MarkingChange
from umbrella.core.access import get_visible
from umbrella.core.api import Pagination, created, expected_version, idempotent, scope_of, with_etag
from umbrella.core.errors import NotFound
from umbrella.core.listing import filtered, params_of, sort_type
from umbrella.funding import services
from umbrella.funding.models import Category, Channel, Funding, FundingState, FxRate, Instrument
from umbrella.funding.queries import FUNDING, FUNDING_YEARS, fair_share, funding_records, statement_as_json, statements_of
from umbrella.funding.rates import funding_rate_warning

router = Router()

CURRENCY = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, such as EUR or USD")


class FundingOut(Schema):
    id: int
    donor: str
    reference: str
    year: int
    amount: Decimal
    currency: str
    fx_date: dt.date
    units_per_eur: Decimal = Field(description="The rate used: units of the currency per euro on or before fx_date")
    rate_warning: str = Field(
        description="Not empty when the rate used is older than the configured number of days (UMBRELLA_RATE_MAX_AGE_DAYS)"
    )
    value_eur: Decimal
    category: str
    instrument: str
    channel: str
    state: str
    source_url: str
    source_document: str
    notes: str
    marking: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_donor(obj) -> str:
        return obj.owner.code

    @staticmethod
    def resolve_rate_warning(obj) -> str:
        return funding_rate_warning(obj)


class FundingChange(Schema):
    """Fields a donor may set; the euro value and the rate used are worked out from the rate date."""

    model_config = ConfigDict(extra="forbid")
    reference: str | None = Field(None, max_length=80)
    year: int | None = Field(None, ge=2014, le=2100)
    amount: Decimal | None = Field(None, gt=0, max_digits=18, decimal_places=2)
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    fx_date: dt.date | None = None
    category: Category | None = None
    instrument: Instrument | None = Field(None, description="How the money is given; docs/funding.md says which count")
    channel: Channel | None = None
    source_url: str | None = Field(None, max_length=500)
    source_document: str | None = Field(None, max_length=200)
    notes: str | None = None


class FundingCreate(FundingChange):
    reference: str = Field(max_length=80, description="Shared by the annual portions of one commitment")
    year: int = Field(ge=2014, le=2100)
    amount: Decimal = Field(gt=0, max_digits=18, decimal_places=2)
    currency: str = CURRENCY
    fx_date: dt.date
    category: Category


class FundingFilters(Schema):
    q: str | None = None
    year: int | None = Field(None, ge=FUNDING_YEARS.start, le=FUNDING_YEARS.stop - 1)
    state: FundingState | None = None
    donor: str | None = Field(None, description="Donor organization code; one that names no donor is a 422")
    sort: sort_type(FUNDING) | None = Field(None, description="Prefix - to reverse")


class RateOut(Schema):
    id: int
    currency: str
    date: dt.date
    units_per_eur: Decimal
    source: str


class RateFilters(Schema):
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$", description="Only this currency")


class RateIn(Schema):
    model_config = ConfigDict(extra="forbid")
    currency: str = CURRENCY
    date: dt.date
    units_per_eur: Decimal = Field(gt=0, max_digits=18, decimal_places=6)
    source: str = Field(min_length=1, max_length=300)


class FairShareOut(Schema):
    """The year's floor, every participating donor's target by GDP share, what counts towards it and the gap."""

    year: int
    floor_eur: str
    configured: bool
    rule_set: str = Field(description="The counting rules used (name/version; docs/funding.md)")
    rule_set_title: str
    complete: bool = Field(
        description="False when some records that count are not released to you: counted figures are then "
        "partial, and every donor's gap_eur and percent are null"
    )
    gdp: str
    targets_total_eur: str
    counted_total_eur: str
    exemptions: dict[str, str]
    missing_gdp: list[str]
    donors: list[dict[str, Any]]


class StatementOut(Schema):
    """A published fair-share statement: the report computed from every record that counts, as it was published,
    and the data it was computed from. Never changed; a later statement of the year supersedes it."""

    year: int
    sequence: int = Field(description="1 for the year's first statement, then 2, 3, …")
    latest: bool = Field(description="False when a later statement of the year supersedes this one")
    rule_set: str
    rule_set_title: str
    published_at: str
    published_by: str = Field(description="The publishing organization's code")
    reason: str
    report: dict[str, Any] = Field(description="As GET /fair-share/{year} gave it to the publisher (complete)")
    data: dict[str, Any] = Field(
        description="floor_eur, participants, exemptions, gdp (each figure used) and records (each record that "
        "counts: funding:ID, pledge:ID or training:DONOR, its donor and the euros it counts for)"
    )


class StatementIn(Schema):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, description="Why it is published; shown with the statement")


def _fields(data: Schema) -> dict:
    values = data.model_dump(exclude_unset=True)
    for name in ("source_url", "source_document", "notes"):
        if name in values and values[name] is None:
            values[name] = ""
    return values


def _visible(actor, funding_id: int) -> Funding:
    return get_visible(Funding.objects.select_related("owner"), actor, pk=funding_id)


@router.get("/funding", response=list[FundingOut], summary="List funding (the pages' filters)")
@paginate(Pagination, page_size=50)
def list_funding(request, filters: Query[FundingFilters]):
    return filtered(FUNDING, funding_records(request.actor), params_of(filters), request.actor)


@router.post("/funding", response={201: FundingOut}, summary="Record a year's funding (donor editors)")
def create_funding(request, data: FundingCreate):
    def create():
        funding = services.create_funding(actor=request.actor, fields=_fields(data))
        return created(FundingOut, _visible(request.actor, funding.pk), f"/api/v1/funding/{funding.pk}")

    return idempotent(request, scope_of(request.actor), create)


@router.get("/funding/{funding_id}", response=FundingOut, summary="One funding row, with its ETag")
def get_funding(request, funding_id: int, response: HttpResponse):
    funding = _visible(request.actor, funding_id)
    with_etag(response, funding.version)
    return funding


@router.patch("/funding/{funding_id}", response=FundingOut, summary="Change pledged or committed funding (If-Match required)")
def update_funding(request, funding_id: int, data: FundingChange, response: HttpResponse):
    _visible(request.actor, funding_id)
    funding = services.update_funding(
        actor=request.actor, funding_id=funding_id, expected_version=expected_version(request), changes=_fields(data)
    )
    with_etag(response, funding.version)
    return _visible(request.actor, funding.pk)


@router.put("/funding/{funding_id}/marking", response=FundingOut, summary="Change who may see a funding row (If-Match required)")
def mark_funding(request, funding_id: int, data: MarkingChange, response: HttpResponse):
    _visible(request.actor, funding_id)
    funding = services.update_funding(
        actor=request.actor, funding_id=funding_id, expected_version=expected_version(request), changes={"marking": data.marking}
    )
    with_etag(response, funding.version)
    return _visible(request.actor, funding.pk)


@router.post(
    "/funding/{funding_id}/steps/{step}",
    response=FundingOut,
    summary="Move funding along: commit, disburse, withdraw (the donor; If-Match required)",
)
def advance_funding(request, funding_id: int, step: str, response: HttpResponse):
    _visible(request.actor, funding_id)
    funding = services.advance_funding(
        actor=request.actor, funding_id=funding_id, step=step, expected_version=expected_version(request)
    )
    with_etag(response, funding.version)
    return _visible(request.actor, funding.pk)


@router.get("/fx-rates", response=list[RateOut], summary="Euro reference rates, newest first")
@paginate(Pagination, page_size=100)
def list_rates(request, filters: Query[RateFilters]):
    rates = FxRate.objects.visible_to(request.actor).order_by("currency", "-date")
    return rates.filter(currency=filters.currency) if filters.currency else rates


@router.post("/fx-rates", response={201: RateOut}, summary="Record a euro reference rate (coordination editors)")
def create_rate(request, data: RateIn):
    def create():
        rate = services.record_rate(actor=request.actor, fields=data.model_dump())
        return created(RateOut, rate, f"/api/v1/fx-rates?currency={rate.currency}")

    return idempotent(request, scope_of(request.actor), create)


@router.get("/fair-share/{year}", response=FairShareOut, summary="A year's fair shares, from the funding and pledges you may see")
def get_fair_share(request, year: int = Path(..., ge=2014, le=2100)):
    return fair_share(request.actor, year).as_json()


def _statement(actor, year: int, sequence: int | None = None) -> tuple[dict, int]:
    statements = list(statements_of(actor, year))
    chosen = next((s for s in statements if sequence is None or s.sequence == sequence), None)
    if chosen is None:
        raise NotFound(
            _("No statement has been published for %(year)s yet.") % {"year": year}
            if sequence is None
            else _("No statement %(sequence)s of %(year)s.") % {"sequence": sequence, "year": year}
        )
    return statement_as_json(chosen, latest=chosen == statements[0]), chosen.sequence


YEAR = Path(..., ge=2014, le=2100)


@router.get(
    "/fair-share/{year}/statement", response=StatementOut, summary="The year's latest published fair-share statement (anyone)"
)
def get_statement(request, response: HttpResponse, year: int = YEAR):
    body, sequence = _statement(request.actor, year)
    with_etag(response, sequence)
    return body


@router.get(
    "/fair-share/{year}/statements", response=list[StatementOut], summary="Every published statement of the year, latest first"
)
@paginate(Pagination, page_size=50)
def list_statements(request, year: int = YEAR):
    statements = list(statements_of(request.actor, year))
    return [statement_as_json(s, latest=i == 0) for i, s in enumerate(statements)]


@router.get("/fair-share/{year}/statements/{sequence}", response=StatementOut, summary="One published statement of the year")
def get_one_statement(request, response: HttpResponse, year: int = YEAR, sequence: int = Path(..., ge=1)):
    body, sequence = _statement(request.actor, year, sequence)
    with_etag(response, sequence)
    return body


@router.post(
    "/fair-share/{year}/statements",
    response={201: StatementOut},
    summary="Publish the year's fair-share statement (coordination staff, editor role; computed from every record)",
)
def publish_statement(request, data: StatementIn, year: int = YEAR):
    def publish():
        statement = services.publish_statement(actor=request.actor, year=year, reason=data.reason)
        response = JsonResponse(statement_as_json(statement), status=201)
        response["Location"] = f"/api/v1/fair-share/{year}/statements/{statement.sequence}"
        return with_etag(response, statement.sequence)

    return idempotent(request, scope_of(request.actor), publish)

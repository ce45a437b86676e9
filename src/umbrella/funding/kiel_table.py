"""Umbrella's own figures in the Kiel tracker's per-donor, per-month table (data_explorer.csv's columns, EUR bn).

Allocations are what has been delivered: disbursed funding (in the month of its rate date) and in-kind
pledges delivered or handed over (in the month they became available), all counted as military aid.
Commitments add funding committed but not yet disbursed and in-kind pledges accepted but not yet
delivered. GDP is the donor's latest figure in EUR bn (converted at the latest rate on or before the day of
the export; empty without one); pct_gdp = total / gdp × 100.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from umbrella.core.access import DONOR_KINDS, Actor
from umbrella.core.errors import Invalid
from umbrella.funding.models import Funding, FundingState
from umbrella.funding.rates import rate_on
from umbrella.orgs.models import GdpFigure, Organization
from umbrella.pledges.models import Pledge, PledgeState

BILLION = Decimal(1_000_000_000)
PCT = Decimal("1e-12")
HEADER = [
    "country",
    "iso",
    "year",
    "month",
    "total",
    "financial",
    "humanitarian",
    "military",
    "commitments",
    "to_be_allocated",
    "gdp",
    "pct_gdp",
]
DELIVERED = (PledgeState.DELIVERED, PledgeState.HANDED_OVER)
COMMITTED_IN_KIND = (PledgeState.ACCEPTED, PledgeState.ALLOCATED, PledgeState.SHIPPED, PledgeState.PARTLY_DELIVERED, *DELIVERED)


def kiel_rows(actor: Actor) -> list[list]:
    allocated: dict[tuple[str, int, int], Decimal] = defaultdict(Decimal)
    committed: dict[tuple[str, int, int], Decimal] = defaultdict(Decimal)
    for f in (
        Funding.objects.visible_to(actor)
        .filter(state__in=(FundingState.COMMITTED, FundingState.DISBURSED))
        .select_related("owner")
    ):
        key = (f.owner.code, f.fx_date.year, f.fx_date.month)
        committed[key] += f.value_eur
        if f.state == FundingState.DISBURSED:
            allocated[key] += f.value_eur
    for p in Pledge.objects.visible_to(actor).filter(state__in=COMMITTED_IN_KIND).select_related("owner"):
        key = (p.owner.code, p.available_from.year, p.available_from.month)
        committed[key] += p.value_eur
        if p.state in DELIVERED:
            allocated[key] += p.value_eur
    donors = {o.code: o for o in Organization.objects.filter(kind__in=DONOR_KINDS, code__in={k[0] for k in committed})}
    gdp = _gdp_eur(list(donors.values()))
    rows = []
    for code, year, month in sorted(committed, key=lambda k: (donors[k[0]].name, k[1], k[2])):
        total, promised, gdp_eur = allocated[code, year, month], committed[code, year, month], gdp.get(code)
        rows.append(
            [
                donors[code].name,
                donors[code].iso3 or code,
                year,
                month,
                _bn(total),
                0,
                0,
                _bn(total),
                _bn(promised),
                _bn(promised - total),
                _bn(gdp_eur) if gdp_eur else None,
                (total / gdp_eur * 100).quantize(PCT).normalize() if gdp_eur else None,
            ]
        )
    return rows


def _bn(eur: Decimal) -> Decimal:
    """EUR bn to the euro, as the tracker publishes (six decimals), without trailing zeros."""
    value = (eur / BILLION).quantize(Decimal("0.000001"))
    return value.normalize() if value else Decimal(0)


def _gdp_eur(donors: list[Organization]) -> dict[str, Decimal]:
    """Each donor's latest GDP figure in euros at the latest rate on or before today (none without a rate)."""
    today = dt.date.today()
    latest = {
        f.organization.code: f
        for f in GdpFigure.objects.filter(organization__in=donors, year__lte=today.year)
        .select_related("organization")
        .order_by("year")
    }
    out = {}
    for code, figure in latest.items():
        try:
            out[code] = figure.amount_bn * BILLION / rate_on(figure.currency, today)
        except Invalid:
            continue  # no rate: the GDP column stays empty rather than wrong
    return out

"""The euro rate of a currency on a day: one figure for everyone, since a value in euros must not depend on who reads it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext

from umbrella.core.errors import Invalid
from umbrella.funding.models import FxRate


def rate_on(currency: str, day) -> Decimal:
    """Units of `currency` per euro: the latest rate on or before `day` (1 for the euro)."""
    if currency == "EUR":
        return Decimal(1)
    rate = (
        FxRate.objects.filter(currency=currency, date__lte=day).order_by("-date").values_list("units_per_eur", flat=True).first()
    )
    if rate is None:
        raise Invalid(
            {
                "currency": [
                    gettext("No euro rate for %(currency)s on or before %(day)s; import one first (umbrella import fx-rates).")
                    % {"currency": currency, "day": day.isoformat()}
                ]
            }
        )
    return rate


def rate_and_date_on(currency: str, day: dt.date) -> tuple[Decimal, dt.date]:
    """Units of `currency` per euro and the date of that rate: the latest on or before `day` (the euro: 1, on `day`)."""
    if currency == "EUR":
        return Decimal(1), day
    found = FxRate.objects.filter(currency=currency, date__lte=day).order_by("-date").values_list("units_per_eur", "date").first()
    if found is None:
        rate_on(currency, day)  # raises the refusal that names the missing rate
    return found


def rate_warning(currency: str, valued_on, rate_date) -> str:
    """A warning when the rate that values an amount is older than `RATE_MAX_AGE_DAYS` on the day it values it
    (empty when it is recent enough, or the amount is in euros)."""
    age = (valued_on - rate_date).days
    if currency == "EUR" or age <= settings.RATE_MAX_AGE_DAYS:
        return ""
    return gettext(
        "The %(currency)s rate used is of %(rate_date)s, %(age)s days before %(day)s (more than %(limit)s): "
        "record a newer rate, or value it on an earlier date."
    ) % {
        "currency": currency,
        "rate_date": rate_date.isoformat(),
        "age": age,
        "day": valued_on.isoformat(),
        "limit": settings.RATE_MAX_AGE_DAYS,
    }


# The day of the rate that valued a funding row: the latest on or before its rate date at the value kept with it
# (a rate recorded since for an earlier day does not change which one that was). Annotated on a list of rows
# (`funding.queries.funding_records`), it is read with them, not once per row.
RATE_USED_ON = Subquery(
    FxRate.objects.filter(currency=OuterRef("currency"), date__lte=OuterRef("fx_date"), units_per_eur=OuterRef("units_per_eur"))
    .order_by("-date")
    .values("date")[:1]
)


def funding_rate_warning(funding) -> str:
    """`rate_warning` for a funding row, from its `rate_used_on` when read with it, else looked up."""
    if funding.currency == "EUR":
        return ""
    if hasattr(funding, "rate_used_on"):
        used = funding.rate_used_on
    else:
        used = (
            FxRate.objects.filter(currency=funding.currency, date__lte=funding.fx_date, units_per_eur=funding.units_per_eur)
            .order_by("-date")
            .values_list("date", flat=True)
            .first()
        )
    return "" if used is None else rate_warning(funding.currency, funding.fx_date, used)

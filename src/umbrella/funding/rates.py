"""The euro rate of a currency on a day: one figure for everyone, since a value in euros must not depend on who reads it."""

from __future__ import annotations

from decimal import Decimal

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

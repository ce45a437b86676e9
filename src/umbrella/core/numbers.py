"""Numbers as a person reads them, one way per language, for pages and charts alike: thousands grouped,
the language's decimal mark (a comma in Ukrainian), percentages with their sign, euros with their code.
Files meant for machines (exports, the API, `--json`) never pass through here."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.formats import get_format, number_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

Number = Decimal | float | int | str


def number(value: Number | None, places: int = 0) -> str:
    """`value` rounded to `places` decimals, grouped by thousands in the active language ("—" for nothing)."""
    if value is None:
        return "—"
    # Rounded here, half up as people round: Django's number_format cuts the digits beyond `places` off.
    rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if not rounded:
        rounded = abs(rounded)  # "0", never "-0"
    decimal_mark, thousands, grouping = _separators()
    if grouping != 3:
        return number_format(rounded, decimal_pos=places, use_l10n=True, force_grouping=True)
    # What number_format gives for groups of three (a test holds them equal), without looking the language's
    # formats up again for each of the thousands of figures a long table shows.
    return f"{rounded:,.{places}f}".replace(",", "\0").replace(".", decimal_mark).replace("\0", thousands)


_SEPARATORS: dict[str | None, tuple[str, str, Any]] = {}


def _separators() -> tuple[str, str, Any]:
    """The active language's decimal mark, thousands separator and grouping (formats do not change while running)."""
    language = get_language()
    found = _SEPARATORS.get(language)
    if found is None:
        found = (get_format("DECIMAL_SEPARATOR"), get_format("THOUSAND_SEPARATOR"), get_format("NUMBER_GROUPING"))
        _SEPARATORS[language] = found
    return found


def units(value: Number | None) -> str:
    """A quantity of items: whole without decimals, a fraction (part of an allocation) to at most three places."""
    if value is None:
        return "—"
    exponent = Decimal(str(value)).normalize().as_tuple().exponent
    return number(value, min(3, max(0, -exponent)))


def percent(value: Number | None, places: int = 1) -> str:
    """A percentage given in percent (35.2 for 35.2 %)."""
    if value is None:
        return "—"
    return _("%(number)s %%") % {"number": number(value, places)}


def share(value: Number | str | None, places: int = 2) -> str:
    """A share given as a fraction of one (0.352 for 35.2 %), as a percentage."""
    if value is None:
        return "—"
    return percent(Decimal(str(value)) * 100, places)


def format_eur(amount: Number | None, cents: bool = True) -> str:
    """An amount in euros; summaries leave out the cents (`cents=False`)."""
    if amount is None:
        return "—"
    return _("EUR %(amount)s") % {"amount": number(amount, 2 if cents else 0)}


def format_eur_short(amount: Number | None) -> str:
    """For chart labels and summaries: EUR 9.27 bn, EUR 412.5 m, EUR 12,300."""
    if amount is None:
        return "—"
    value = float(amount)
    if abs(value) >= 1e9:
        return _("EUR %(amount)s bn") % {"amount": number(value / 1e9, 2)}
    if abs(value) >= 1e6:
        return _("EUR %(amount)s m") % {"amount": number(value / 1e6, 1)}
    return format_eur(amount, cents=False)

"""Money is Decimal EUR with two places; floats never hold money."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

CENT = Decimal("0.01")
MAX_DIGITS = 16


def eur(value: object) -> Decimal:
    """Parse a EUR amount from text, int or Decimal, rounded half-even to the cent. Raises ValueError."""
    if isinstance(value, float):
        raise ValueError("money must not be a float")
    text = str(value).strip().replace("\u00a0", "").replace(" ", "").replace("_", "")
    if text.upper().startswith("EUR"):
        text = text[3:]
    if text.endswith("€") or text.startswith("€"):
        text = text.strip("€")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount in EUR") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not a finite amount")
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)

"""What the lines of an aid package are worth when some quantities were not disclosed (pure: no Django).

An announcement such as "USD 2.5 bn, quantities not disclosed" is worth what was announced, not what the
catalog says of the few lines it names. So the lines whose quantity is disclosed keep their own value, and
what is left of the announced value is shared equally among the undisclosed lines, to the cent, the odd cents
going to the first lines. The lines of an aid package then add up to its announced value exactly, and every total
that adds up pledges (a donor's pledged value, the fair-share counted figure) counts the announcement once.
When the disclosed lines are worth more than the announcement, the undisclosed lines are worth nothing and the
aid package's page shows the difference.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

CENT = Decimal("0.01")


def undisclosed_shares(announced_eur: Decimal, disclosed_eur: Decimal, undisclosed_lines: int) -> list[Decimal]:
    """The value of each undisclosed line, in order: what the disclosed lines leave of the announcement, shared."""
    if undisclosed_lines <= 0:
        return []
    left = max(announced_eur - disclosed_eur, Decimal(0)).quantize(CENT, rounding=ROUND_FLOOR)
    each = (left / undisclosed_lines).quantize(CENT, rounding=ROUND_FLOOR)
    odd_cents = int((left - each * undisclosed_lines) / CENT)
    return [each + CENT if line < odd_cents else each for line in range(undisclosed_lines)]

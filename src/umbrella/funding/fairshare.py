"""Each donor's fair share of an annual floor, in proportion to GDP (pure: no Django).

Targets are rounded to the cent so that they add up to the floor exactly (largest remainder): every cent of
the floor is someone's.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Participant:
    code: str
    name: str
    gdp_eur: Decimal


@dataclass(frozen=True)
class Share:
    code: str
    name: str
    gdp_eur: Decimal
    gdp_share: Decimal  # of the participants' GDP
    target_eur: Decimal
    counted_eur: Decimal

    @property
    def gdp_percent(self) -> Decimal:
        return self.gdp_share * 100

    @property
    def gap_eur(self) -> Decimal:
        return max(self.target_eur - self.counted_eur, Decimal(0))

    @property
    def percent(self) -> Decimal:
        return (self.counted_eur / self.target_eur * 100) if self.target_eur else Decimal(0)


def targets(floor_eur: Decimal, participants: list[Participant]) -> dict[str, Decimal]:
    """The floor split by GDP share, in cents, summing to the floor exactly."""
    total_gdp = sum((p.gdp_eur for p in participants), Decimal(0))
    if total_gdp <= 0:
        raise ValueError("the participants' GDP adds up to nothing")
    exact = {p.code: floor_eur * p.gdp_eur / total_gdp for p in participants}
    rounded = {code: value.quantize(CENT, rounding=ROUND_FLOOR) for code, value in exact.items()}
    left = int((floor_eur.quantize(CENT) - sum(rounded.values())) / CENT)
    for code in sorted(exact, key=lambda c: (-(exact[c] - rounded[c]), c))[:left]:
        rounded[code] += CENT
    return rounded


def fair_shares(floor_eur: Decimal, participants: list[Participant], counted: dict[str, Decimal]) -> list[Share]:
    """Every participant's target, what counts towards it, largest target first."""
    split = targets(floor_eur, participants)
    total_gdp = sum((p.gdp_eur for p in participants), Decimal(0))
    shares = [
        Share(p.code, p.name, p.gdp_eur, p.gdp_eur / total_gdp, split[p.code], counted.get(p.code, Decimal(0)).quantize(CENT))
        for p in participants
    ]
    return sorted(shares, key=lambda s: (-s.target_eur, s.code))

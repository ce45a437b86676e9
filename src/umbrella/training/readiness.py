"""Readiness arithmetic: how complete each system's package is at one destination (pure: no Django, no ORM).

Inputs are plain dataclasses (`Rule` per system type, `Destination` holdings); `readiness()` returns one
`Package` per system type expected at the destination and `fleet_zoo()` the number of distinct system types per
capability area. Every quantity is an exact `Fraction`, so the hypothesis test compares against a straightforward
reference exactly. The formula is written out in docs/readiness.md:

- N = systems present (handed over) + systems coming (in transit with an ETA, or allocated with an availability
  date): the package must be complete for every system the destination is getting.
- munitions: every item type the system fires counts, at `ratio` rounds of the system's munition per unit (1 for a
  direct `fires` link; a substitute's `substitutes-for` ratio for an item that stands in for one it fires). An item
  fired by several system types at the destination is shared among them in proportion to their daily use
  (N × rounds per day), so each type gets the same days of supply from it. Days of supply = rounds / (N × rounds per
  day); the element is complete at the rule's days of supply.
- spares: items linked spares-for the system, shared among the types they spare in proportion to their need
  (N × spare kits per system); complete at N × spare kits per system.
- crews: floor(qualified people / crew size) against N × crews per system. People are not shared: a qualification
  is for one system type.
- systems: present against N (a system still coming is a missing element until it is handed over).
- completeness = 100 × the mean of the applicable elements' fill (each capped at 1), rounded down to a whole percent.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

SYSTEMS = "systems"
MUNITIONS = "munitions"
SPARES = "spares"
CREWS = "crews"
ELEMENTS = (SYSTEMS, MUNITIONS, SPARES, CREWS)


@dataclass(frozen=True)
class Rule:
    """What one system type needs (catalog.PackageRule and ItemType.crew_size), and what it fires and is spared by.

    `munitions` maps an item type to how many rounds of this system's ammunition one unit of it counts for;
    `spares` is the set of item types linked spares-for this system."""

    system: int
    crew_size: int
    crews_per_system: int = 1
    rounds_per_day: Fraction = Fraction(0)
    days_of_supply: int = 30
    spare_kits_per_system: Fraction = Fraction(0)
    area: str = ""
    munitions: Mapping[int, Fraction] = field(default_factory=dict)
    spares: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Destination:
    """What one destination holds and is getting: systems present and coming by type, stocks of every item type on
    hand (handed over), and qualified people by system type (of the units stationed there)."""

    present: Mapping[int, int]
    coming: Mapping[int, int]
    stock: Mapping[int, Fraction]
    qualified: Mapping[int, int]


@dataclass(frozen=True)
class Package:
    system: int
    present: int
    coming: int
    expected: int
    rounds: Fraction
    rounds_needed: Fraction
    days_of_supply: Fraction | None  # None when the system fires nothing (rounds per day 0)
    days_needed: int
    spares: Fraction
    spares_needed: Fraction
    qualified_people: int
    crews: int
    crews_needed: int
    fill: Mapping[str, Fraction]  # each applicable element's fill, 0..1
    completeness: int  # whole percent, rounded down
    missing: tuple[str, ...]  # elements with fill below 1, in ELEMENTS order

    @property
    def complete(self) -> bool:
        return not self.missing


def _fraction(value) -> Fraction:
    return value if isinstance(value, Fraction) else Fraction(str(value))


def _shares(stock: Mapping[int, Fraction], claims: Mapping[int, Mapping[int, Fraction]]) -> dict[int, dict[int, Fraction]]:
    """Each item's stock split among the systems that claim it, in proportion to their claims (weights > 0)."""
    by_item: dict[int, dict[int, Fraction]] = defaultdict(dict)
    for system, weights in claims.items():
        for item, weight in weights.items():
            if weight > 0:
                by_item[item][system] = weight
    shares: dict[int, dict[int, Fraction]] = defaultdict(dict)
    for item, weights in by_item.items():
        held = _fraction(stock.get(item, 0))
        total = sum(weights.values())
        for system, weight in weights.items():
            shares[system][item] = held * weight / total
    return shares


def readiness(rules: Mapping[int, Rule], destination: Destination) -> list[Package]:
    """One package per system type expected at the destination (present or coming), ordered by system id.
    A system type without a rule is left out: nothing says what it needs."""
    expected = {
        system: destination.present.get(system, 0) + destination.coming.get(system, 0)
        for system in set(destination.present) | set(destination.coming)
        if system in rules
    }
    expected = {system: count for system, count in expected.items() if count > 0}
    daily = {system: expected[system] * _fraction(rules[system].rounds_per_day) for system in expected}
    munition_shares = _shares(
        destination.stock, {system: dict.fromkeys(rules[system].munitions, daily[system]) for system in expected}
    )
    spare_need = {system: expected[system] * _fraction(rules[system].spare_kits_per_system) for system in expected}
    spare_shares = _shares(
        destination.stock, {system: dict.fromkeys(rules[system].spares, spare_need[system]) for system in expected}
    )
    packages = []
    for system in sorted(expected):
        rule, count = rules[system], expected[system]
        present = destination.present.get(system, 0)
        rounds = sum(
            (share * _fraction(rule.munitions[item]) for item, share in munition_shares.get(system, {}).items()), Fraction(0)
        )
        rounds_needed = daily[system] * rule.days_of_supply
        days = rounds / daily[system] if daily[system] > 0 else None
        spares = sum(spare_shares.get(system, {}).values(), Fraction(0))
        people = destination.qualified.get(system, 0)
        crews = people // rule.crew_size if rule.crew_size > 0 else 0
        crews_needed = count * rule.crews_per_system
        fill = {SYSTEMS: Fraction(present, count)}
        if rounds_needed > 0:
            fill[MUNITIONS] = min(Fraction(1), rounds / rounds_needed)
        if spare_need[system] > 0:
            fill[SPARES] = min(Fraction(1), spares / spare_need[system])
        fill[CREWS] = min(Fraction(1), Fraction(crews, crews_needed))
        completeness = math.floor(100 * sum(fill.values()) / len(fill))
        packages.append(
            Package(
                system=system,
                present=present,
                coming=count - present,
                expected=count,
                rounds=rounds,
                rounds_needed=rounds_needed,
                days_of_supply=days,
                days_needed=rule.days_of_supply,
                spares=spares,
                spares_needed=spare_need[system],
                qualified_people=people,
                crews=crews,
                crews_needed=crews_needed,
                fill=fill,
                completeness=completeness,
                missing=tuple(element for element in ELEMENTS if element in fill and fill[element] < 1),
            )
        )
    return packages


@dataclass(frozen=True)
class Zoo:
    """The fleet zoo of one capability area at one destination: how many distinct system types, and the effective
    number of types 1 / Σ share² (shares of the systems' count); equal to `types` when the fleet is evenly split,
    near 1 when one type dominates."""

    area: str
    types: int
    systems: int
    effective_types: Fraction


def fleet_zoo(rules: Mapping[int, Rule], counts: Mapping[int, int]) -> list[Zoo]:
    """Per capability area, from the systems expected at one destination (present + coming, by type)."""
    by_area: dict[str, list[int]] = defaultdict(list)
    for system, count in counts.items():
        if count > 0 and system in rules:
            by_area[rules[system].area].append(count)
    zoos = []
    for area in sorted(by_area):
        fleet = by_area[area]
        total = sum(fleet)
        concentration = sum(Fraction(count, total) ** 2 for count in fleet)
        zoos.append(Zoo(area=area, types=len(fleet), systems=total, effective_types=1 / concentration))
    return zoos


def expected_counts(packages: Iterable[Package]) -> dict[int, int]:
    return {package.system: package.expected for package in packages}

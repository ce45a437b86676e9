"""What counts towards a year's fair-share floor, by a named and versioned rule set (pure: no Django).

Two kinds of record count. Money (a funding row) counts for its donor, in its own year, at its euro value, when
its instrument and state are ones the rule set counts. Goods (a pledge) count at the value handed over to the
recipient in the year: the units handed over in that year times the pledge's value per unit, split among the
pledge's payers by their shares. Whoever organises or supplies goods counts for nothing of them unless it pays, so
a joint purchase counts once, and a purchase from another donor's industry counts for the buyer.

docs/funding.md sets out each rule set and why the default counts what it counts. A rule set, once used for a
year, never changes: a change of rule is a new version, so a figure can always be recomputed as it was made.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

# The instruments of money and goods (the values of funding.models.Instrument).
GRANT = "grant"
LOAN = "loan"
GUARANTEE = "guarantee"
IN_KIND = "in-kind"
PROCUREMENT = "procurement"
JOINT_PURCHASE = "joint-purchase"
TRAINING = "training"
INSTRUMENTS = (GRANT, LOAN, GUARANTEE, IN_KIND, PROCUREMENT, JOINT_PURCHASE, TRAINING)

COMMITTED = "committed"
DISBURSED = "disbursed"


@dataclass(frozen=True)
class RuleSet:
    """Which money counts (its instruments, and the states from which it counts) and which goods count (their
    instruments; always at the value handed over in the year, to their payers)."""

    name: str
    version: int
    title: str
    money_instruments: frozenset[str]
    money_states: frozenset[str]
    goods_instruments: frozenset[str]

    @property
    def key(self) -> str:
        return f"{self.name}/{self.version}"


# Money paid into a joint purchase is counted where the goods are, through the pledge's payers; counting the
# contribution as well would count the same euros twice. Loans are repaid and guarantees may never be called:
# neither is assistance given in the year.
_GOODS = frozenset({GRANT, IN_KIND, PROCUREMENT, JOINT_PURCHASE, TRAINING})
DISBURSEMENT = RuleSet(
    "disbursement",
    1,
    "Grants when disbursed, goods when handed over; loans and guarantees not counted",
    money_instruments=frozenset({GRANT, IN_KIND, PROCUREMENT, TRAINING}),
    money_states=frozenset({DISBURSED}),
    goods_instruments=_GOODS,
)
COMMITMENT = RuleSet(
    "commitment",
    1,
    "Grants when committed, goods when handed over; loans and guarantees not counted",
    money_instruments=frozenset({GRANT, IN_KIND, PROCUREMENT, TRAINING}),
    money_states=frozenset({COMMITTED, DISBURSED}),
    goods_instruments=_GOODS,
)
RULE_SETS = {rules.key: rules for rules in (DISBURSEMENT, COMMITMENT)}
DEFAULT_RULE_SET = DISBURSEMENT.key


@dataclass(frozen=True)
class Money:
    donor: str
    instrument: str
    state: str
    value_eur: Decimal
    ref: str = ""  # which record it is ("funding:12"), kept with what it counts for (`counted_parts`)


@dataclass(frozen=True)
class Goods:
    """One pledge: what of it was handed over in the year, its value per unit, and who pays what share of it."""

    instrument: str
    quantity_handed_over: int
    unit_value_eur: Decimal
    payers: tuple[tuple[str, Decimal], ...]
    ref: str = ""  # which record it is ("pledge:7")

    @property
    def value_handed_over_eur(self) -> Decimal:
        return self.unit_value_eur * self.quantity_handed_over


def counts_money(rules: RuleSet, money: Money) -> bool:
    return money.instrument in rules.money_instruments and money.state in rules.money_states


def counts_goods(rules: RuleSet, goods: Goods) -> bool:
    return goods.instrument in rules.goods_instruments and goods.quantity_handed_over > 0


def counted_parts(rules: RuleSet, money: Iterable[Money], goods: Iterable[Goods]) -> Iterator[tuple[str, str, Decimal]]:
    """(record, payer, euros) of every record that counts: what a published statement keeps as its data."""
    for row in money:
        if counts_money(rules, row):
            yield row.ref, row.donor, row.value_eur
    for pledge in goods:
        if counts_goods(rules, pledge):
            for payer, share in pledge.payers:
                yield pledge.ref, payer, pledge.value_handed_over_eur * share


def counted(rules: RuleSet, money: Iterable[Money], goods: Iterable[Goods]) -> dict[str, Decimal]:
    """Each payer's counted euros (unrounded: the fair share rounds each donor's total once)."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for _record, payer, value in counted_parts(rules, money, goods):
        totals[payer] += value
    return dict(totals)

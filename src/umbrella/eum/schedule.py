"""When each serial must next be inventoried, and which are delinquent: arrays in, arrays out, no Django.

The rule (issue #15, docs/end-use-monitoring.md): a serial handed over must be sighted in an initial inventory
within `initial_days` of its handover; once sighted, it must be sighted again within `interval_days` of its last
sighting. Its due date is therefore

    handover + initial_days          while it has never been sighted (on or after its handover)
    last sighting + interval_days    once it has

and it is delinquent on a day when it is accountable (held by the recipient: in service or under repair) and
that day comes after its due date. The due day itself is not late.

Days are integers (`datetime.date.toordinal()`), so a million serials are a few numpy arrays; the services call
the same functions for the one serial a sighting moves, so pages, imports and reports agree by construction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

NEVER = 0  # a last-sighting day of 0: never sighted (day 1 is 0001-01-01, long before any handover)
DEFAULT_INITIAL_DAYS = 90
DEFAULT_INTERVAL_DAYS = 365


@dataclass(frozen=True)
class Rule:
    """How soon after handover the first inventory is due, and how often after that."""

    initial_days: int = DEFAULT_INITIAL_DAYS
    interval_days: int = DEFAULT_INTERVAL_DAYS

    def __post_init__(self) -> None:
        if self.initial_days < 1 or self.interval_days < 1:
            raise ValueError("inventory rules count at least one day")


DEFAULT_RULE = Rule()


def strictest(rules: list[Rule]) -> Rule:
    """Several rules apply to one serial (its item type's, its donor programme's): each deadline is the earliest."""
    if not rules:
        return DEFAULT_RULE
    return Rule(min(rule.initial_days for rule in rules), min(rule.interval_days for rule in rules))


def due_days(
    handed_over: np.ndarray, last_sighted: np.ndarray, initial_days: np.ndarray, interval_days: np.ndarray
) -> np.ndarray:
    """The day each serial is next due. A sighting before the handover (a data slip) does not count as one."""
    handed_over = np.asarray(handed_over, dtype=np.int64)
    last_sighted = np.asarray(last_sighted, dtype=np.int64)
    sighted = (last_sighted != NEVER) & (last_sighted >= handed_over)
    return np.where(sighted, last_sighted + np.asarray(interval_days, dtype=np.int64), handed_over + initial_days)


def delinquent(due: np.ndarray, accountable: np.ndarray, as_of: int) -> np.ndarray:
    """Accountable serials whose due day has passed on `as_of`."""
    return np.asarray(accountable, dtype=bool) & (np.asarray(due, dtype=np.int64) < as_of)


def due_on(handed_over: dt.date, last_sighted: dt.date | None, rule: Rule) -> dt.date:
    """The due date of one serial, by the same arithmetic as the arrays."""
    day = due_days(
        np.array([handed_over.toordinal()]),
        np.array([last_sighted.toordinal() if last_sighted else NEVER]),
        np.array([rule.initial_days]),
        np.array([rule.interval_days]),
    )[0]
    return dt.date.fromordinal(int(day))

"""The inventory schedule engine against a straightforward reference, on random histories: a serial handed over on
some day, sighted on some days (some before the day asked about, some after), under some rule."""

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from umbrella.eum import schedule

pytestmark = pytest.mark.database_independent

START = dt.date(2022, 1, 1).toordinal()


def reference(handed_over: int, sightings: list[int], rule: schedule.Rule, as_of: int, held: bool) -> tuple[int, bool]:
    """Walk the history day by day, as an inspector's paper register would: the first deadline is the handover plus
    the initial period; each sighting on or after the handover and on or before the day asked about sets the next
    deadline to that sighting plus the interval."""
    deadline = handed_over + rule.initial_days
    for day in sorted(sightings):
        if handed_over <= day <= as_of:
            deadline = day + rule.interval_days
    late = held and as_of > deadline
    return deadline, late


histories = st.lists(
    st.tuples(
        st.integers(0, 1500),  # handover, days after START
        st.lists(st.integers(-30, 1800), max_size=6),  # sightings, days after the handover (some before it: slips)
        st.integers(1, 400),
        st.integers(1, 800),
        st.booleans(),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(histories, st.integers(0, 3000))
def test_due_days_and_delinquency_match_the_register(history, as_of_offset):
    as_of = START + as_of_offset
    handed = np.array([START + h for h, *_ in history])
    last = np.array(
        [
            max([START + h + s for s in sightings if 0 <= s and START + h + s <= as_of], default=schedule.NEVER)
            for h, sightings, *_ in history
        ]
    )
    initial = np.array([i for _h, _s, i, _v, _held in history])
    interval = np.array([v for _h, _s, _i, v, _held in history])
    held = np.array([flag for *_rest, flag in history])
    due = schedule.due_days(handed, last, initial, interval)
    late = schedule.delinquent(due, held, as_of)
    for index, (h, sightings, i, v, flag) in enumerate(history):
        expected = reference(START + h, [START + h + s for s in sightings], schedule.Rule(i, v), as_of, flag)
        assert (int(due[index]), bool(late[index])) == expected


@given(st.lists(st.tuples(st.integers(1, 400), st.integers(1, 800)), min_size=1, max_size=5))
def test_the_strictest_rule_takes_each_deadline_at_its_earliest(pairs):
    rules = [schedule.Rule(i, v) for i, v in pairs]
    strictest = schedule.strictest(rules)
    assert strictest.initial_days == min(i for i, _v in pairs)
    assert strictest.interval_days == min(v for _i, v in pairs)
    assert all(strictest.initial_days <= rule.initial_days for rule in rules)


def test_no_rule_means_ninety_then_every_year():
    assert schedule.strictest([]) == schedule.Rule(90, 365)
    handed = dt.date(2026, 1, 10)
    assert schedule.due_on(handed, None, schedule.DEFAULT_RULE) == dt.date(2026, 4, 10)
    assert schedule.due_on(handed, dt.date(2026, 2, 1), schedule.DEFAULT_RULE) == dt.date(2027, 2, 1)


def test_the_due_day_itself_is_not_late():
    due = schedule.due_days(np.array([START]), np.array([schedule.NEVER]), np.array([90]), np.array([365]))
    assert not schedule.delinquent(due, np.array([True]), START + 90)[0]
    assert schedule.delinquent(due, np.array([True]), START + 91)[0]
    assert not schedule.delinquent(due, np.array([False]), START + 91)[0]


def test_a_rule_counts_at_least_one_day():
    with pytest.raises(ValueError):
        schedule.Rule(0, 365)

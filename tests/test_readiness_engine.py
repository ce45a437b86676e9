"""The readiness engine and crew sync against straightforward references (hypothesis), and a few worked cases."""

from __future__ import annotations

import datetime as dt
import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from umbrella.training import crew_sync
from umbrella.training.readiness import Destination, Rule, fleet_zoo, readiness

pytestmark = pytest.mark.database_independent

SYSTEMS = [1, 2, 3]
ITEMS = [10, 11, 12, 13]


@st.composite
def worlds(draw):
    rules = {}
    for system in draw(st.lists(st.sampled_from(SYSTEMS), min_size=1, unique=True)):
        munitions = draw(st.dictionaries(st.sampled_from(ITEMS), st.sampled_from([Fraction(1), Fraction(1, 2), Fraction(3)])))
        rules[system] = Rule(
            system=system,
            crew_size=draw(st.integers(1, 6)),
            crews_per_system=draw(st.integers(1, 3)),
            rounds_per_day=Fraction(draw(st.integers(0, 20))),
            days_of_supply=draw(st.integers(1, 60)),
            spare_kits_per_system=Fraction(draw(st.integers(0, 4))),
            area=draw(st.sampled_from(["air-defence", "artillery"])),
            munitions=munitions,
            spares=frozenset(draw(st.sets(st.sampled_from(ITEMS)))),
        )
    destination = Destination(
        present=draw(st.dictionaries(st.sampled_from(SYSTEMS + [9]), st.integers(0, 8))),
        coming=draw(st.dictionaries(st.sampled_from(SYSTEMS), st.integers(0, 8))),
        stock={item: Fraction(draw(st.integers(0, 5000))) for item in ITEMS},
        qualified=draw(st.dictionaries(st.sampled_from(SYSTEMS), st.integers(0, 40))),
    )
    return rules, destination


def reference(rules, destination):
    """Item by item, system by system, with plain loops."""
    expected = {}
    for system in rules:
        count = destination.present.get(system, 0) + destination.coming.get(system, 0)
        if count:
            expected[system] = count
    out = {}
    for system, count in expected.items():
        rule = rules[system]
        rounds = Fraction(0)
        for item, ratio in rule.munitions.items():
            my_use = count * rule.rounds_per_day
            all_use = sum(expected[other] * rules[other].rounds_per_day for other in expected if item in rules[other].munitions)
            if my_use:
                rounds += destination.stock[item] * my_use / all_use * ratio
        spares = Fraction(0)
        for item in rule.spares:
            my_need = count * rule.spare_kits_per_system
            all_need = sum(
                expected[other] * rules[other].spare_kits_per_system for other in expected if item in rules[other].spares
            )
            if my_need:
                spares += destination.stock[item] * my_need / all_need
        crews = destination.qualified.get(system, 0) // rule.crew_size
        parts = [Fraction(destination.present.get(system, 0), count), min(1, Fraction(crews, count * rule.crews_per_system))]
        names = ["systems", "crews"]
        if rule.rounds_per_day:
            parts.append(min(1, rounds / (count * rule.rounds_per_day * rule.days_of_supply)))
            names.append("munitions")
        if rule.spare_kits_per_system:
            parts.append(min(1, spares / (count * rule.spare_kits_per_system)))
            names.append("spares")
        missing = sorted(name for name, part in zip(names, parts, strict=True) if part < 1)
        out[system] = (rounds, spares, crews, math.floor(sum(parts) * 100 / len(parts)), missing)
    return out


@settings(max_examples=300, deadline=None)
@given(worlds())
def test_readiness_matches_the_reference(world):
    rules, destination = world
    packages = readiness(rules, destination)
    assert {
        package.system: (package.rounds, package.spares, package.crews, package.completeness, sorted(package.missing))
        for package in packages
    } == reference(rules, destination)
    for package in packages:
        assert 0 <= package.completeness <= 100
        assert (package.completeness == 100) == package.complete


@settings(max_examples=200, deadline=None)
@given(worlds())
def test_munitions_shared_never_exceed_the_stock(world):
    rules, destination = world
    packages = readiness(rules, destination)
    for item in ITEMS:
        users = [p for p in packages if item in rules[p.system].munitions and rules[p.system].rounds_per_day > 0]
        # converted back to the item's own units, the shares add up to the stock (or nothing, when nobody fires it)
        if users:
            shared = sum(
                destination.stock[item]
                * p.expected
                * rules[p.system].rounds_per_day
                / sum(q.expected * rules[q.system].rounds_per_day for q in users)
                for p in users
            )
            assert shared == destination.stock[item]


@given(st.lists(st.integers(1, 30), min_size=1, max_size=6))
def test_effective_number_of_types_is_between_one_and_the_number_of_types(counts):
    rules = {system: Rule(system=system, crew_size=1, area="a") for system in range(len(counts))}
    (zoo,) = fleet_zoo(rules, dict(enumerate(counts)))
    total = sum(counts)
    assert zoo.types == len(counts) and zoo.systems == total
    assert zoo.effective_types == 1 / sum(Fraction(count, total) ** 2 for count in counts)
    assert 1 <= zoo.effective_types <= len(counts)
    assert (zoo.effective_types == len(counts)) == (len(set(counts)) == 1)


def test_a_destination_with_only_munitions_missing():
    rule = Rule(
        system=1, crew_size=3, crews_per_system=2, rounds_per_day=Fraction(4), days_of_supply=30, munitions={10: Fraction(1)}
    )
    (package,) = readiness({1: rule}, Destination(present={1: 2}, coming={}, stock={10: Fraction(120)}, qualified={1: 12}))
    assert package.days_of_supply == 15 and package.crews == package.crews_needed == 4
    assert package.missing == ("munitions",) and package.completeness == math.floor(100 * (1 + 1 + Fraction(1, 2)) / 3)


def test_a_substitute_counts_at_its_ratio_and_a_shared_munition_splits_by_daily_use():
    launcher = Rule(
        system=1, crew_size=1, rounds_per_day=Fraction(2), days_of_supply=10, munitions={10: Fraction(1), 11: Fraction(1, 2)}
    )
    howitzer = Rule(system=2, crew_size=1, rounds_per_day=Fraction(6), days_of_supply=10, munitions={10: Fraction(1)})
    packages = readiness(
        {1: launcher, 2: howitzer},
        Destination(present={1: 1, 2: 1}, coming={}, stock={10: Fraction(80), 11: Fraction(40)}, qualified={1: 1, 2: 1}),
    )
    first, second = packages
    assert first.rounds == 20 + 20 and first.days_of_supply == 20  # a quarter of item 10, and 40 substitutes at ½
    assert second.rounds == 60 and second.days_of_supply == 10


DAY = dt.date(2026, 6, 1)


def test_a_course_ending_after_the_handover_is_flagged_with_the_days_late():
    rules = {1: crew_sync.CrewRule(crew_size=3, crews_per_system=1, course_type=7)}
    arrivals = [crew_sync.Arrival(5, 1, 1, DAY, "present")]
    supply = [crew_sync.Supply(5, 1, DAY + dt.timedelta(days=12), 3, False, course=42)]
    (row,) = crew_sync.sync(arrivals, supply, rules)
    assert row.crews_late and row.days_late == 12 and row.people_ready == 0
    assert row.late_courses == (crew_sync.LateCourse(42, DAY + dt.timedelta(days=12), 12),)


def test_seat_gaps_are_closed_by_offered_courses_that_end_in_time():
    rules = {1: crew_sync.CrewRule(crew_size=4, crews_per_system=1, course_type=7)}
    arrivals = [crew_sync.Arrival(5, 1, 2, DAY, "allocated")]
    rows = crew_sync.sync(arrivals, [crew_sync.Supply(5, 1, DAY, 3, True)], rules)
    assert rows[0].people_short == 5
    offers = [
        crew_sync.Offer(100, 7, DAY - dt.timedelta(days=40), DAY - dt.timedelta(days=5), 3),
        crew_sync.Offer(101, 7, DAY - dt.timedelta(days=30), DAY + dt.timedelta(days=1), 9),  # ends too late
        crew_sync.Offer(102, 7, DAY - dt.timedelta(days=20), DAY - dt.timedelta(days=1), 1),
    ]
    (gap,) = crew_sync.gaps(rows, rules, offers, today=DAY - dt.timedelta(days=60))
    assert (gap.month, gap.seats, gap.closing, gap.uncovered) == ("2026-06", 5, ((100, 3), (102, 1)), 1)


def reference_sync(arrivals, supply, rules):
    out = []
    for arrival in arrivals:
        rule = rules[arrival.system]
        mine = [a for a in arrivals if (a.destination, a.system) == (arrival.destination, arrival.system)]
        needed = (
            sum(a.quantity for a in mine if (a.on, a.status) <= (arrival.on, arrival.status))
            * rule.crews_per_system
            * rule.crew_size
        )
        people = [s for s in supply if (s.destination, s.system) == (arrival.destination, arrival.system)]
        day = None
        for candidate in sorted({s.on for s in people}):
            if sum(s.people for s in people if s.on <= candidate) >= needed:
                day = candidate
                break
        late = max(0, (day - arrival.on).days) if day else 0
        out.append(
            (arrival.destination, arrival.system, arrival.on, needed, late, max(0, needed - sum(s.people for s in people)))
        )
    return sorted(out)


days = st.integers(0, 90).map(lambda n: DAY + dt.timedelta(days=n))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.builds(
            crew_sync.Arrival, st.sampled_from([5, 6]), st.sampled_from([1, 2]), st.integers(1, 3), days, st.just("present")
        ),
        max_size=6,
        unique_by=lambda a: (a.destination, a.system, a.on),
    ),
    st.lists(
        st.builds(crew_sync.Supply, st.sampled_from([5, 6]), st.sampled_from([1, 2]), days, st.integers(1, 8), st.booleans()),
        max_size=8,
    ),
)
def test_crew_sync_matches_the_reference(arrivals, supply):
    rules = {1: crew_sync.CrewRule(3, 1, 7), 2: crew_sync.CrewRule(2, 2, 8)}
    rows = crew_sync.sync(arrivals, supply, rules)
    assert sorted((r.destination, r.system, r.on, r.people_needed, r.days_late, r.people_short) for r in rows) == reference_sync(
        arrivals, supply, rules
    )
    for row in rows:
        # Each arrival's figures add up as the training plan prints them: the people needed by the day and not ready
        # by it are either nominated and qualifying later or not nominated at all.
        assert row.people_missing == max(0, row.people_needed - row.people_ready) == row.people_later + row.people_short
        assert row.people_needed == row.systems_by_then * rules[row.system].crews_per_system * rules[row.system].crew_size

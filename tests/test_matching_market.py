"""Candidate arcs, values and reasons on a market small enough to check by hand (pure: no database)."""

import numpy as np
import pytest

from umbrella.matching import reasons as why
from umbrella.matching.engine import solve
from umbrella.matching.market import (
    EXCLUDED_BY_CONDITION,
    TOO_LATE,
    USABLE,
    Market,
    Policy,
    build_problem,
    candidate_arcs,
    greedy_flow,
    join_on_type,
    requirement_points,
)

pytestmark = pytest.mark.database_independent

A, B, C, D, E, F, G = range(7)


def market(**overrides):
    # R0 P1 5×A, R1 P3 5×A, R2 P2 2×B, R3 P2 1×C at destination 1, R4 P2 1×D by day 10, R5 P4 6×F (substitutes ok)
    # O0 5×A, O1 1×C only to destination 0, O2 1×D from day 400, O3 4×E, O4 3×G (G stands in for 2×F each)
    fields = dict(
        requirement_type=np.array([A, A, B, C, D, F]),
        requirement_quantity=np.array([5.0, 5, 2, 1, 1, 6]),
        requirement_priority=np.array([1, 3, 2, 2, 2, 4]),
        requirement_needed_by=np.array([100, 100, 100, 100, 10, 100]),
        requirement_destination=np.array([0, 0, 0, 1, 0, 0]),
        requirement_area=np.zeros(6, dtype=int),
        requirement_substitutes=np.array([True, True, True, True, True, True]),
        offer_type=np.array([A, C, D, E, G]),
        offer_quantity=np.array([5.0, 1, 1, 4, 3]),
        offer_available=np.array([0, 0, 400, 0, 0]),
        offer_integer=np.ones(5, dtype=bool),
        offer_restricted=np.array([False, True, False, False, False]),
        allowed_offer=np.array([1]),
        allowed_destination=np.array([0]),
        substitute_offered=np.array([G]),
        substitute_required=np.array([F]),
        substitute_ratio=np.array([2.0]),
    )
    fields.update(overrides)
    return Market(**fields)


def run(m, policy=Policy()):
    candidates = candidate_arcs(m, policy)
    problem = build_problem(m, candidates, policy)
    solution = solve(problem)
    explanation = why.explain(
        m,
        candidates,
        solution.flow,
        original_quantity=m.requirement_quantity,
        points=requirement_points(m, policy),
        diversity=problem.diversity_active,
    )
    return candidates, problem, solution, explanation


def test_join_on_type_pairs_every_equal_type():
    left, right = join_on_type(np.array([2, 0, 2]), np.array([2, 1, 2, 0]), 3)
    assert sorted(zip(left.tolist(), right.tolist(), strict=True)) == [(0, 0), (0, 2), (1, 3), (2, 0), (2, 2)]


def test_candidates_cover_exact_types_and_substitutes_and_mark_conditions_and_lateness():
    candidates = candidate_arcs(market(), Policy())
    arcs = {
        (int(o), int(r)): (int(s), float(g), bool(sub))
        for o, r, s, g, sub in zip(
            candidates.offer, candidates.requirement, candidates.status, candidates.gain, candidates.substitute, strict=True
        )
    }
    assert arcs == {
        (0, 0): (USABLE, 1.0, False),
        (0, 1): (USABLE, 1.0, False),
        (1, 3): (EXCLUDED_BY_CONDITION, 1.0, False),
        (2, 4): (TOO_LATE, 1.0, False),
        (4, 5): (USABLE, 2.0, True),
    }


def test_a_requirement_that_refuses_substitutes_gets_no_substitute_arc():
    candidates = candidate_arcs(market(requirement_substitutes=np.array([True] * 5 + [False])), Policy())
    assert 5 not in candidates.requirement.tolist()


def test_every_outcome_carries_its_reason():
    _, problem, solution, explanation = run(market())
    r = explanation.requirements
    assert (r[0].status, r[0].reason) == (why.MET, "")
    assert (r[1].status, r[1].reason, r[1].named) == (why.UNMET, why.TAKEN_BY_HIGHER_PRIORITY, [0])
    assert (r[2].status, r[2].reason) == (why.UNMET, why.NO_COMPATIBLE_OFFER)
    assert (r[3].status, r[3].reason) == (why.UNMET, why.EXCLUDED_BY_DONOR_CONDITION)
    assert (r[4].status, r[4].reason, r[4].late_days) == (why.UNMET, why.AVAILABLE_TOO_LATE, 390)
    assert (r[5].status, r[5].covered) == (why.MET, 6.0)  # three G standing in for two F each
    o = explanation.offers
    assert [x.reason for x in o] == ["", why.EXCLUDED_BY_DONOR_CONDITION, why.AVAILABLE_TOO_LATE, why.NO_OPEN_REQUIREMENT, ""]
    assert o[3].left_over == 4


def test_suggestions_rank_the_gaps_by_the_coverage_they_would_add():
    _, _, _, explanation = run(market())
    # Gaps: R1 (P3, 100 points), R2/R3/R4 (P2, 1000 points each): B, C and D first, then A.
    top = [(s.item_type, s.quantity, s.points) for s in explanation.suggestions]
    assert top == [(B, 2, 1000), (C, 1, 1000), (D, 1, 1000), (A, 5, 100)]


def coverage(m, explanation):
    points = requirement_points(m, Policy())
    return sum(points[r] * o.covered / m.requirement_quantity[r] for r, o in enumerate(explanation.requirements))


def test_an_extra_pledge_as_suggested_adds_the_coverage_points_it_promised():
    m = market()
    _, _, _, explanation = run(m)
    best = explanation.suggestions[0]
    grown = market(
        offer_type=np.append(m.offer_type, best.item_type),
        offer_quantity=np.append(m.offer_quantity, best.quantity),
        offer_available=np.append(m.offer_available, 0),
        offer_integer=np.append(m.offer_integer, True),
        offer_restricted=np.append(m.offer_restricted, False),
    )
    _, _, _, grown_explanation = run(grown)
    assert coverage(grown, grown_explanation) - coverage(m, explanation) == pytest.approx(best.points)


def test_a_late_offer_within_the_limit_is_used_but_worth_less_and_the_delay_is_said():
    m = market(offer_available=np.array([130, 0, 400, 0, 0]))  # A arrives 30 days after R0 and R1 need it
    _, problem, solution, explanation = run(m)
    assert (explanation.requirements[0].reason, explanation.requirements[0].late_days) == (why.DELIVERED_LATE, 30)
    assert solution.objective < run(market())[2].objective


def test_the_optimum_is_never_below_the_greedy_baseline():
    rng = np.random.default_rng(3)
    n_req, n_off = 60, 80
    m = market(
        requirement_type=rng.integers(0, 7, n_req),
        requirement_quantity=rng.integers(1, 20, n_req).astype(float),
        requirement_priority=rng.integers(1, 6, n_req),
        requirement_needed_by=rng.integers(0, 300, n_req),
        requirement_destination=rng.integers(0, 3, n_req),
        requirement_area=rng.integers(0, 2, n_req),
        requirement_substitutes=rng.random(n_req) < 0.7,
        offer_type=rng.integers(0, 7, n_off),
        offer_quantity=rng.integers(1, 15, n_off).astype(float),
        offer_available=rng.integers(0, 400, n_off),
        offer_integer=rng.random(n_off) < 0.5,
        offer_restricted=np.zeros(n_off, dtype=bool),
        allowed_offer=np.zeros(0, dtype=int),
        allowed_destination=np.zeros(0, dtype=int),
        substitute_offered=np.array([G, E]),
        substitute_required=np.array([F, D]),
        substitute_ratio=np.array([2.0, 0.5]),
    )
    for policy in (Policy(), Policy(diversity_points=50)):
        candidates = candidate_arcs(m, policy)
        problem = build_problem(m, candidates, policy)
        greedy = problem.objective_of(greedy_flow(problem, m.requirement_priority))
        assert solve(problem).objective >= greedy - 1e-9

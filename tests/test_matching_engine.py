"""The engine against independent formulations: scipy's linprog/milp and linear_sum_assignment."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, linear_sum_assignment, linprog, milp

from umbrella.matching.engine import Problem, solve


@st.composite
def problems(draw, integer=None):
    integer = draw(st.booleans()) if integer is None else integer
    n_req = draw(st.integers(1, 8))
    n_off = draw(st.integers(1, 8))
    # Values on a 0.01 grid, as real prices and weights are: both solvers stop at a 1e-7 tolerance, so values
    # closer than that would compare tolerance to tolerance instead of optimum to optimum.
    cents = lambda low, high: st.integers(low * 100, high * 100).map(lambda c: c / 100)  # noqa: E731
    quantity = st.integers(0, 40) if integer else cents(0, 40)
    req_q = draw(st.lists(quantity, min_size=n_req, max_size=n_req))
    off_q = draw(st.lists(quantity, min_size=n_off, max_size=n_off))
    weights = draw(st.lists(cents(-5, 20), min_size=n_req, max_size=n_req))
    pairs = draw(st.lists(st.tuples(st.integers(0, n_off - 1), st.integers(0, n_req - 1)), max_size=30))
    costs = draw(st.lists(cents(0, 15), min_size=len(pairs), max_size=len(pairs)))
    return Problem(req_q, weights, off_q, [o for o, _ in pairs], [r for _, r in pairs], costs, integer=integer)


def reference_objective(problem: Problem) -> float:
    """The same problem written out densely and solved by scipy (HiGHS through scipy's own interface)."""
    n = len(problem.arc_cost)
    if n == 0:
        return 0.0
    value = problem.requirement_weight[problem.arc_requirement] - problem.arc_cost
    rows = np.zeros((len(problem.offer_quantity) + len(problem.requirement_quantity), n))
    rows[problem.arc_offer, np.arange(n)] = 1
    rows[len(problem.offer_quantity) + problem.arc_requirement, np.arange(n)] = 1
    capacity = np.concatenate([problem.offer_quantity, problem.requirement_quantity])
    if problem.integer:
        result = milp(-value, constraints=LinearConstraint(rows, -np.inf, capacity), integrality=np.ones(n),
                      bounds=Bounds(0, np.inf), options={"mip_rel_gap": 0})
    else:
        result = linprog(-value, A_ub=rows, b_ub=capacity, bounds=(0, None), method="highs",
                         options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10})
    assert result.status == 0
    return max(0.0, -result.fun)


def check_feasible(problem: Problem, flow: np.ndarray) -> None:
    tolerance = 1e-7
    assert np.all(flow >= -tolerance)
    out = np.bincount(problem.arc_offer, weights=flow, minlength=len(problem.offer_quantity))
    into = np.bincount(problem.arc_requirement, weights=flow, minlength=len(problem.requirement_quantity))
    assert np.all(out <= problem.offer_quantity + tolerance)
    assert np.all(into <= problem.requirement_quantity + tolerance)
    value = problem.requirement_weight[problem.arc_requirement] - problem.arc_cost
    assert np.all(flow[value <= 0] == 0), "an arc worth nothing was used"
    if problem.integer:
        assert np.all(flow == np.round(flow))


@settings(max_examples=250, deadline=None)
@given(problems())
def test_the_objective_equals_an_independent_formulation_and_capacities_hold(problem):
    solution = solve(problem)
    check_feasible(problem, solution.flow)
    expected = reference_objective(problem)
    assert solution.objective == pytest.approx(expected, rel=1e-9, abs=1e-9)
    value = problem.requirement_weight[problem.arc_requirement] - problem.arc_cost
    assert solution.objective == pytest.approx(float(np.dot(value, solution.flow)), rel=1e-12, abs=1e-9)


@pytest.mark.parametrize("n", [1, 2, 5, 17, 40])
@pytest.mark.parametrize("seed", range(4))
def test_unit_assignment_reaches_the_optimum_of_linear_sum_assignment(n, seed):
    rng = np.random.default_rng(seed * 100 + n)
    weights = rng.uniform(50, 100, n)
    cost = rng.uniform(0, 40, (n, n))  # cost[offer, requirement]
    offers, requirements = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    problem = Problem(np.ones(n), weights, np.ones(n), offers.ravel(), requirements.ravel(), cost.ravel(), integer=True)
    solution = solve(problem)
    rows, cols = linear_sum_assignment(weights[None, :] - cost, maximize=True)
    assert solution.objective == pytest.approx((weights[None, :] - cost)[rows, cols].sum(), rel=1e-9)
    check_feasible(problem, solution.flow)


def test_independent_components_are_split_and_small_ones_batched():
    rng = np.random.default_rng(7)
    blocks = 300  # each block: 2 offers × 3 requirements, all six arcs, no link between blocks
    k = np.tile(np.arange(6), blocks)
    block = np.repeat(np.arange(blocks), 6)
    offer, requirement = block * 2 + k % 2, block * 3 + k // 2
    problem = Problem(rng.uniform(1, 9, 3 * blocks), rng.uniform(10, 20, 3 * blocks), rng.uniform(1, 9, 2 * blocks),
                      offer, requirement, rng.uniform(0, 5, len(offer)))
    solution = solve(problem)
    assert solution.stats["components"] == blocks and solution.stats["solver_models"] == 1
    assert solution.objective == pytest.approx(reference_objective(problem), rel=1e-9)


@pytest.mark.parametrize("bad, message", [
    ({"offer_quantity": [-1]}, "must not be negative"),
    ({"arc_offer": [3]}, "offer that does not exist"),
    ({"arc_cost": [float("nan")]}, "not a finite number"),
])
def test_bad_arrays_are_refused(bad, message):
    base = {"requirement_quantity": [1], "requirement_weight": [5], "offer_quantity": [1],
            "arc_offer": [0], "arc_requirement": [0], "arc_cost": [1]}
    with pytest.raises(ValueError, match=message):
        Problem(**{**base, **bad})

"""The engine against independent formulations: scipy's linprog/milp and linear_sum_assignment."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, linear_sum_assignment, linprog, milp

from umbrella.matching.engine import Problem, solve

pytestmark = pytest.mark.database_independent


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
        result = milp(
            -value,
            constraints=LinearConstraint(rows, -np.inf, capacity),
            integrality=np.ones(n),
            bounds=Bounds(0, np.inf),
            options={"mip_rel_gap": 0},
        )
    else:
        result = linprog(
            -value,
            A_ub=rows,
            b_ub=capacity,
            bounds=(0, None),
            method="highs",
            options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
        )
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


@st.composite
def rich_problems(draw):
    """Mixed integrality, substitution gains and the fleet-diversity term (a MIP)."""
    base = draw(problems(integer=False))
    n_arcs, n_off = len(base.arc_cost), len(base.offer_quantity)
    offer_integer = draw(st.lists(st.booleans(), min_size=n_off, max_size=n_off))
    quantity = np.where(offer_integer, np.round(base.offer_quantity), base.offer_quantity)
    gain = draw(st.lists(st.sampled_from([0.5, 1.0, 1.0, 2.0, 4.0]), min_size=n_arcs, max_size=n_arcs))
    group = draw(st.lists(st.integers(-1, 2), min_size=n_arcs, max_size=n_arcs))
    kind = draw(st.lists(st.integers(0, 3), min_size=n_arcs, max_size=n_arcs))
    penalty = draw(st.sampled_from([0.0, 0.5, 3.0, 25.0]))
    return Problem(
        base.requirement_quantity,
        base.requirement_weight,
        quantity,
        base.arc_offer,
        base.arc_requirement,
        base.arc_cost,
        offer_integer=offer_integer,
        arc_gain=gain,
        arc_group=group,
        arc_kind=kind,
        diversity_penalty=penalty,
    )


def rich_reference_objective(problem: Problem) -> float:
    """Written independently: a per-arc link (flow ≤ its own bound × on[group, kind]) instead of the engine's
    aggregated one, every arc kept (no dropping of worthless or parallel arcs), solved by scipy's milp."""
    n = len(problem.arc_cost)
    if n == 0:
        return 0.0
    value = problem.requirement_weight[problem.arc_requirement] * problem.arc_gain - problem.arc_cost
    pairs = sorted({(g, k) for g, k in zip(problem.arc_group, problem.arc_kind, strict=True) if g >= 0})
    groups = sorted({g for g, _ in pairs})
    penalty = problem.diversity_penalty if pairs else 0.0
    columns = n + len(pairs) + len(groups)
    n_off, n_req = len(problem.offer_quantity), len(problem.requirement_quantity)
    rows, upper = [], []
    for o in range(n_off):
        rows.append(np.where(problem.arc_offer == o, 1.0, 0.0).tolist() + [0.0] * (columns - n))
        upper.append(problem.offer_quantity[o])
    for r in range(n_req):
        rows.append(np.where(problem.arc_requirement == r, problem.arc_gain, 0.0).tolist() + [0.0] * (columns - n))
        upper.append(problem.requirement_quantity[r])
    bound = np.minimum(
        problem.offer_quantity[problem.arc_offer], problem.requirement_quantity[problem.arc_requirement] / problem.arc_gain
    )
    for a in range(n):
        if problem.arc_group[a] >= 0 and penalty > 0:
            row = np.zeros(columns)
            row[a] = 1.0
            row[n + pairs.index((problem.arc_group[a], problem.arc_kind[a]))] = -bound[a]
            rows.append(row.tolist())
            upper.append(0.0)
    for index, g in enumerate(groups):
        row = np.zeros(columns)
        row[n + len(pairs) + index] = 1.0
        for p_index, (pg, _) in enumerate(pairs):
            if pg == g:
                row[n + p_index] = -1.0
        rows.append(row.tolist())
        upper.append(0.0)
    objective = np.concatenate([value, np.full(len(pairs), -penalty), np.full(len(groups), penalty)])
    integrality = np.concatenate([problem.offer_integer[problem.arc_offer], np.ones(len(pairs)), np.zeros(len(groups))])
    bounds = Bounds(np.zeros(columns), np.concatenate([np.full(n, np.inf), np.ones(len(pairs) + len(groups))]))
    result = milp(
        -objective,
        constraints=LinearConstraint(np.array(rows), -np.inf, np.array(upper)),
        integrality=integrality,
        bounds=bounds,
        options={"mip_rel_gap": 0},
    )
    assert result.status == 0
    return max(0.0, -result.fun)


@settings(max_examples=200, deadline=None)
@given(rich_problems())
def test_gains_mixed_integrality_and_the_diversity_term_match_an_independent_milp(problem):
    solution = solve(problem)
    flow = solution.flow
    assert np.all(flow >= -1e-7)
    out = np.bincount(problem.arc_offer, weights=flow, minlength=len(problem.offer_quantity))
    into = np.bincount(problem.arc_requirement, weights=flow * problem.arc_gain, minlength=len(problem.requirement_quantity))
    # HiGHS keeps each row within its 1e-7 feasibility tolerance in its own scaled units: a requirement row sums
    # flows times gains (up to 5 here), so it may end a few 1e-7 over, as hypothesis found (4.0400005 of 4.04).
    assert np.all(out <= problem.offer_quantity + 1e-7)
    assert np.all(into <= problem.requirement_quantity + 1e-7 * max(1.0, float(problem.arc_gain.max(initial=1.0))) * 10)
    integral = problem.offer_integer[problem.arc_offer]
    assert np.all(flow[integral] == np.round(flow[integral]))
    assert solution.objective == pytest.approx(rich_reference_objective(problem), rel=1e-9, abs=1e-7)
    assert solution.objective == pytest.approx(problem.objective_of(flow), rel=1e-12, abs=1e-9)


def test_the_diversity_term_prefers_one_kind_per_group_when_the_penalty_outweighs_the_gain():
    # One requirement of 10 in group 0; two offers of 5 of different kinds. Without the penalty both are
    # used; with a penalty above the value of the second offer's 5 units, only one kind is delivered.
    problem = Problem([10], [3], [5, 5], [0, 1], [0, 0], [0, 0], arc_group=[0, 0], arc_kind=[1, 2], diversity_penalty=20)
    solution = solve(problem)
    assert solution.objective == pytest.approx(15) and np.count_nonzero(solution.flow) == 1
    cheap = Problem([10], [3], [5, 5], [0, 1], [0, 0], [0, 0], arc_group=[0, 0], arc_kind=[1, 2], diversity_penalty=10)
    assert solve(cheap).objective == pytest.approx(20) and solve(cheap).stats["extra_kinds"] == 1


def test_independent_components_are_split_and_small_ones_batched():
    rng = np.random.default_rng(7)
    blocks = 300  # each block: 2 offers × 3 requirements, all six arcs, no link between blocks
    k = np.tile(np.arange(6), blocks)
    block = np.repeat(np.arange(blocks), 6)
    offer, requirement = block * 2 + k % 2, block * 3 + k // 2
    problem = Problem(
        rng.uniform(1, 9, 3 * blocks),
        rng.uniform(10, 20, 3 * blocks),
        rng.uniform(1, 9, 2 * blocks),
        offer,
        requirement,
        rng.uniform(0, 5, len(offer)),
    )
    solution = solve(problem)
    assert solution.stats["components"] == blocks and solution.stats["solver_models"] == 1
    assert solution.objective == pytest.approx(reference_objective(problem), rel=1e-9)


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"offer_quantity": [-1]}, "must not be negative"),
        ({"arc_offer": [3]}, "offer that does not exist"),
        ({"arc_cost": [float("nan")]}, "not a finite number"),
    ],
)
def test_bad_arrays_are_refused(bad, message):
    base = {
        "requirement_quantity": [1],
        "requirement_weight": [5],
        "offer_quantity": [1],
        "arc_offer": [0],
        "arc_requirement": [0],
        "arc_cost": [1],
    }
    with pytest.raises(ValueError, match=message):
        Problem(**{**base, **bad})


def test_parallel_arcs_in_different_diversity_groups_are_both_kept():
    # Found by the property test: offer 1 reaches the requirement twice, once in group 2 (where offer 0's
    # other kind also arrives) and once in group 0. Dropping the group-0 arc as a mere duplicate would force
    # a second kind into group 2 and lose half the objective.
    problem = Problem(
        [0.01],
        [0.01],
        [0.01, 0.01],
        [1, 1, 0],
        [0, 0, 0],
        [0, 0, 0],
        arc_gain=[0.5] * 3,
        arc_group=[2, 0, 2],
        arc_kind=[0, 0, 1],
        diversity_penalty=0.5,
    )
    assert solve(problem).objective == pytest.approx(1e-4, rel=1e-9)

"""The matching engine: pure (numpy, scipy, HiGHS; no Django, no ORM).

Given requirements (quantity, weight per unit), offers (quantity) and candidate arcs (offer → requirement,
cost per unit moved, gain = units of the requirement one unit of the offer covers), maximise

    Σ_arcs (weight[requirement] × gain − cost) × flow  −  penalty × Σ_groups (distinct kinds delivered − 1)⁺
                                                      +  bonus × Σ_packages [package completed]

subject to  Σ flow out of each offer ≤ its quantity,  Σ gain × flow into each requirement ≤ its quantity,
flow ≥ 0, integral on offers that are indivisible. The second term is the optional fleet-diversity penalty:
each arc may belong to a group (say, one capability area at one destination) and carries a kind (its item
type); every kind delivered to a group beyond the first costs `diversity_penalty`. An arc whose value is
≤ 0 is never used, so it is dropped before the model is built (unless it may complete a package).

The third term is the optional package bonus. A package has two sides (say, launchers of one type at one
destination, and the munitions they fire at or around it); each side may be held already or reached by some
arcs (its members). A package is completed when each side is held or receives at least one unit over its
member arcs; each package completed by the flow (not held complete already) earns `package_bonus`. In the
model: one binary per package, ≤ the flow into each side that is not held.

The model is assembled from arrays (one column per arc), never one Python object per variable, and split
into the connected components of the offer–requirement(–group) graph. Components are independent: a
single-arc component is solved in closed form; a large one gets its own HiGHS model; small ones are packed
into block-diagonal batches (mathematically the same as solving each alone, without thousands of solver
start-ups).
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property

import highspy
import numpy as np
from scipy.sparse import coo_matrix, csc_matrix
from scipy.sparse.csgraph import connected_components

OWN_MODEL_ARCS = 5_000
BATCH_ARCS = 50_000
FLOW_EPSILON = 1e-9
PACKAGE_EPSILON = 1e-6  # a side given 1 − 1e-6 units (HiGHS's tolerance) has its one unit
FLOAT_FIELDS = ("requirement_quantity", "requirement_weight", "offer_quantity", "arc_cost", "arc_gain")


@dataclass(frozen=True)
class Problem:
    requirement_quantity: np.ndarray
    requirement_weight: np.ndarray
    offer_quantity: np.ndarray
    arc_offer: np.ndarray
    arc_requirement: np.ndarray
    arc_cost: np.ndarray
    integer: bool = False  # every offer indivisible
    offer_integer: np.ndarray | None = None  # per offer: indivisible (systems) or not (bulk)
    arc_gain: np.ndarray | None = None  # default 1: one unit offered covers one unit required
    arc_group: np.ndarray | None = None  # diversity group per arc, −1 for none
    arc_kind: np.ndarray | None = None  # what is delivered on the arc (item type), for the diversity term
    diversity_penalty: float = 0.0
    package_arc: np.ndarray | None = None  # package membership, one entry per (arc, package, side): the arc …
    package_of: np.ndarray | None = None  # … counts for this package …
    package_side: np.ndarray | None = None  # … on this side (0 or 1)
    package_held: np.ndarray | None = None  # per package and side (shape packages × 2): held already, without any flow
    package_bonus: float = 0.0

    def __post_init__(self) -> None:
        arcs, offers = len(self.arc_offer), len(self.offer_quantity)
        defaults = {
            "arc_gain": np.ones(arcs),
            "arc_group": np.full(arcs, -1),
            "arc_kind": np.zeros(arcs),
            "offer_integer": np.full(offers, bool(self.integer)),
            "package_arc": np.zeros(0),
            "package_of": np.zeros(0),
            "package_side": np.zeros(0),
            "package_held": np.zeros((0, 2), dtype=bool),
        }
        for name, default in defaults.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, default)
        for name in FLOAT_FIELDS:
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.float64))
        for name in ("arc_offer", "arc_requirement", "arc_group", "arc_kind", "package_arc", "package_of", "package_side"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.int64))
        object.__setattr__(self, "package_held", np.asarray(self.package_held, dtype=bool).reshape(-1, 2))
        object.__setattr__(self, "offer_integer", np.asarray(self.offer_integer, dtype=bool) | bool(self.integer))
        self._check()

    def _check(self) -> None:
        if len(self.requirement_quantity) != len(self.requirement_weight):
            raise ValueError("every requirement needs a quantity and a weight")
        if len(self.offer_integer) != len(self.offer_quantity):
            raise ValueError("offer_integer needs one entry per offer")
        arc_lengths = {
            len(getattr(self, name)) for name in ("arc_offer", "arc_requirement", "arc_cost", "arc_gain", "arc_group", "arc_kind")
        }
        if len(arc_lengths) != 1:
            raise ValueError("every arc needs an offer, a requirement and a cost (and a gain, group and kind if any are given)")
        for name in FLOAT_FIELDS:
            if not np.all(np.isfinite(getattr(self, name))):
                raise ValueError(f"{name} holds a value that is not a finite number")
        if np.any(self.requirement_quantity < 0) or np.any(self.offer_quantity < 0):
            raise ValueError("quantities must not be negative")
        if np.any(self.arc_gain <= 0):
            raise ValueError("every arc's gain must be above zero")
        if not np.isfinite(self.diversity_penalty) or self.diversity_penalty < 0:
            raise ValueError("the diversity penalty must be a number of zero or more")
        if not np.isfinite(self.package_bonus) or self.package_bonus < 0:
            raise ValueError("the package bonus must be a number of zero or more")
        if len({len(self.package_arc), len(self.package_of), len(self.package_side)}) != 1:
            raise ValueError("every package membership needs an arc, a package and a side")
        if len(self.package_arc) and (
            self.package_arc.min() < 0
            or self.package_arc.max() >= len(self.arc_offer)
            or self.package_of.min() < 0
            or self.package_of.max() >= len(self.package_held)
            or not np.all(np.isin(self.package_side, (0, 1)))
        ):
            raise ValueError("a package membership names an arc, a package or a side that does not exist")
        if len(self.arc_offer) and (self.arc_offer.min() < 0 or self.arc_offer.max() >= len(self.offer_quantity)):
            raise ValueError("an arc names an offer that does not exist")
        if len(self.arc_requirement) and (
            self.arc_requirement.min() < 0 or self.arc_requirement.max() >= len(self.requirement_quantity)
        ):
            raise ValueError("an arc names a requirement that does not exist")

    # Cached: every block of a large problem reads these, and each costs a pass over all arcs.
    @cached_property
    def arc_value(self) -> np.ndarray:
        """Value of one unit of flow on each arc."""
        return self.requirement_weight[self.arc_requirement] * self.arc_gain - self.arc_cost

    @cached_property
    def arc_integer(self) -> np.ndarray:
        return self.offer_integer[self.arc_offer]

    @cached_property
    def arc_upper(self) -> np.ndarray:
        """The most one arc can carry: its offer, or enough to fill its requirement (whole units if indivisible)."""
        upper = np.minimum(self.offer_quantity[self.arc_offer], self.requirement_quantity[self.arc_requirement] / self.arc_gain)
        return np.where(self.arc_integer, np.floor(upper + FLOW_EPSILON), upper)

    @cached_property
    def diversity_active(self) -> bool:
        return self.diversity_penalty > 0 and bool(np.any(self.arc_group >= 0))

    @cached_property
    def package_active(self) -> bool:
        return self.package_bonus > 0 and bool(len(self.package_arc))

    def objective_of(self, flow: np.ndarray) -> float:
        """The objective of any flow, the diversity penalty and the package bonus included (used for the solver and
        for baselines)."""
        bonus = self.package_bonus * self.completed_packages(flow) if self.package_active else 0.0
        return float(np.dot(self.arc_value, flow)) - self.diversity_penalty * self.extra_kinds(flow) + bonus

    def package_complete(self, flow: np.ndarray) -> np.ndarray:
        """Per package: each side held, or given at least one unit over its member arcs."""
        packages = len(self.package_held)
        received = np.zeros((packages, 2))
        np.add.at(received, (self.package_of, self.package_side), flow[self.package_arc])
        return np.all(self.package_held | (received >= 1 - PACKAGE_EPSILON), axis=1)

    def completed_packages(self, flow: np.ndarray) -> int:
        """Packages the flow completes (those held complete already are not counted)."""
        return int(np.count_nonzero(self.package_complete(flow) & ~np.all(self.package_held, axis=1)))

    def extra_kinds(self, flow: np.ndarray) -> int:
        """Kinds delivered to each group beyond its first, summed over groups."""
        used = (flow > FLOW_EPSILON) & (self.arc_group >= 0)
        if not self.diversity_active or not used.any():
            return 0
        pairs = np.unique(np.column_stack([self.arc_group[used], self.arc_kind[used]]), axis=0)
        return int(len(pairs) - len(np.unique(pairs[:, 0])))


@dataclass
class Solution:
    status: str
    objective: float
    flow: np.ndarray  # one entry per arc of the problem, in its order
    stats: dict = field(default_factory=dict)


def _components(problem: Problem, arcs: np.ndarray) -> np.ndarray:
    """Component label of each useful arc, from the graph of offers, requirements and (with the diversity
    term) the groups that tie requirements together."""
    offers, requirements = len(problem.offer_quantity), len(problem.requirement_quantity)
    rows = problem.arc_offer[arcs]
    cols = offers + problem.arc_requirement[arcs]
    nodes = offers + requirements
    if problem.diversity_active:
        grouped = arcs[problem.arc_group[arcs] >= 0]
        rows = np.concatenate([rows, offers + problem.arc_requirement[grouped]])
        cols = np.concatenate([cols, nodes + problem.arc_group[grouped]])
        nodes += int(problem.arc_group.max()) + 1
    if problem.package_active:
        position = np.full(len(problem.arc_offer), -1)
        position[arcs] = np.arange(len(arcs))
        member = position[problem.package_arc] >= 0
        rows = np.concatenate([rows, offers + problem.arc_requirement[problem.package_arc[member]]])
        cols = np.concatenate([cols, nodes + problem.package_of[member]])
        nodes += len(problem.package_held)
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(nodes, nodes)).tocsr()
    _, labels = connected_components(graph, directed=False)
    return labels[problem.arc_offer[arcs]]


def _diversity_columns(problem: Problem, arcs: np.ndarray):
    """The diversity term over `arcs`: one binary per (group, kind), on when any flow of that kind reaches the
    group (each grouped arc's flow ≤ its own bound × that binary: the strong, per-arc form, whose relaxation is
    far tighter than one aggregated big-M row), and one [0, 1] column per group worth the penalty back once,
    so only kinds beyond the first cost anything."""
    grouped = np.flatnonzero(problem.arc_group[arcs] >= 0)
    pair_keys = np.column_stack([problem.arc_group[arcs[grouped]], problem.arc_kind[arcs[grouped]]])
    pairs, pair_of_arc = np.unique(pair_keys, axis=0, return_inverse=True)
    groups, group_of_pair = np.unique(pairs[:, 0], return_inverse=True)
    return grouped, pair_of_arc.ravel(), len(pairs), len(groups), group_of_pair.ravel()


def _solve_block(problem: Problem, arcs: np.ndarray, value: np.ndarray, clock: dict) -> np.ndarray:
    """One HiGHS model over `arcs` (a union of whole components); returns their flows. Adds the seconds spent
    assembling the model and inside HiGHS to `clock`."""
    started = time.perf_counter()
    offer_ids, offer_local = np.unique(problem.arc_offer[arcs], return_inverse=True)
    requirement_ids, requirement_local = np.unique(problem.arc_requirement[arcs], return_inverse=True)
    n, n_off = len(arcs), len(offer_ids)
    base_rows = n_off + len(requirement_ids)
    upper = problem.arc_upper[arcs]
    row = [offer_local, n_off + requirement_local]
    col = [np.arange(n), np.arange(n)]
    coef = [np.ones(n), problem.arc_gain[arcs]]
    cost, lower_bound, upper_bound = [value], [np.zeros(n)], [upper]
    integrality = [problem.arc_integer[arcs]]
    row_upper = [problem.offer_quantity[offer_ids], problem.requirement_quantity[requirement_ids]]
    rows = base_rows
    if problem.diversity_active:
        grouped, pair_of_arc, n_pairs, n_groups, group_of_pair = _diversity_columns(problem, arcs)
        pair_col, group_col = n + np.arange(n_pairs), n + n_pairs + np.arange(n_groups)
        link_row, group_row = rows + np.arange(len(grouped)), rows + len(grouped) + np.arange(n_groups)
        # flow − bound·on[group, kind] ≤ 0 for each grouped arc;   back − Σ on ≤ 0 for each group
        row += [link_row, link_row, group_row[group_of_pair], group_row]
        col += [grouped, pair_col[pair_of_arc], pair_col, group_col]
        coef += [np.ones(len(grouped)), -upper[grouped], -np.ones(n_pairs), np.ones(n_groups)]
        penalty = problem.diversity_penalty
        cost += [np.full(n_pairs, -penalty), np.full(n_groups, penalty)]
        lower_bound += [np.zeros(n_pairs), np.zeros(n_groups)]
        upper_bound += [np.ones(n_pairs), np.ones(n_groups)]
        integrality += [np.ones(n_pairs, dtype=bool), np.zeros(n_groups, dtype=bool)]
        row_upper += [np.zeros(len(grouped) + n_groups)]
        rows += len(grouped) + n_groups
    columns = n + (n_pairs + n_groups if problem.diversity_active else 0)
    packaged = problem.package_active and _add_package_columns(
        problem, arcs, columns, rows, (row, col, coef, cost, lower_bound, upper_bound, integrality, row_upper)
    )
    if packaged:
        columns, rows = packaged
    sparse = problem.diversity_active or bool(packaged)
    if sparse:
        matrix = csc_matrix((np.concatenate(coef), (np.concatenate(row), np.concatenate(col))), shape=(rows, columns))
        start, index, coefficient = matrix.indptr, matrix.indices, matrix.data
    else:  # two entries per column, already in column order: no sparse conversion needed
        start = np.arange(0, 2 * n + 1, 2)
        index = np.column_stack(row).ravel()
        coefficient = np.column_stack(coef).ravel()
    model = _Model(
        cost=np.concatenate(cost),
        lower=np.concatenate(lower_bound),
        upper=np.concatenate(upper_bound),
        row_upper=np.concatenate(row_upper),
        start=start,
        index=index,
        value=coefficient,
    )
    is_integer = np.concatenate(integrality)
    if not sparse and _integral_vertices(problem, arcs, offer_ids, requirement_ids):
        is_integer = np.zeros(0, dtype=bool)
    solver = _loaded(model, np.flatnonzero(is_integer))
    assembled = time.perf_counter()
    clock["assemble"] += assembled - started
    flow = _optimum(solver)[:n]
    clock["highs"] += time.perf_counter() - assembled
    return np.where(problem.arc_integer[arcs], np.round(flow), np.maximum(flow, 0.0))


def _add_package_columns(problem: Problem, arcs: np.ndarray, columns: int, rows: int, parts: tuple) -> tuple[int, int] | None:
    """The package term over `arcs` (whole components, so every member of a package is here): one binary per
    package that can still be completed (each side held or reached by some arc here, not both held), worth the
    bonus, and for each side not held one row  complete − Σ flow on that side's arcs ≤ 0,  so a package counts
    only once each side it lacks gets at least one unit. Appends to `parts` (the model's lists); returns the
    new column and row counts, or None when no package here can be completed."""
    row, col, coef, cost, lower_bound, upper_bound, integrality, row_upper = parts
    position = np.full(len(problem.arc_offer), -1)
    position[arcs] = np.arange(len(arcs))
    member = np.flatnonzero(position[problem.package_arc] >= 0)
    if not len(member):
        return None
    # One entry per (arc, package, side): a membership listed twice must not count the arc twice.
    keys = np.unique(
        np.column_stack([problem.package_of[member], problem.package_side[member], position[problem.package_arc[member]]]), axis=0
    )
    package, side, local_arc = keys[:, 0], keys[:, 1], keys[:, 2]
    held = problem.package_held
    reached = np.zeros(held.shape, dtype=bool)
    reached[package, side] = True
    possible = np.all(held | reached, axis=1) & ~np.all(held, axis=1)
    chosen = np.flatnonzero(possible)
    if not len(chosen):
        return None
    local_package = np.full(len(held), -1)
    local_package[chosen] = np.arange(len(chosen))
    package_col = columns + np.arange(len(chosen))
    # Rows: one per (chosen package, side not held).
    open_sides = np.argwhere(~held[chosen])  # (local package, side)
    side_row = np.full((len(chosen), 2), -1)
    side_row[open_sides[:, 0], open_sides[:, 1]] = rows + np.arange(len(open_sides))
    counted = (local_package[package] >= 0) & ~held[package, side]
    member_row = side_row[local_package[package[counted]], side[counted]]
    row += [side_row[open_sides[:, 0], open_sides[:, 1]], member_row]
    col += [package_col[open_sides[:, 0]], local_arc[counted]]
    coef += [np.ones(len(open_sides)), -np.ones(int(np.count_nonzero(counted)))]
    cost.append(np.full(len(chosen), problem.package_bonus))
    lower_bound.append(np.zeros(len(chosen)))
    upper_bound.append(np.ones(len(chosen)))
    integrality.append(np.ones(len(chosen), dtype=bool))
    row_upper.append(np.zeros(len(open_sides)))
    return columns + len(chosen), rows + len(open_sides)


def _integral_vertices(problem: Problem, arcs: np.ndarray, offer_ids: np.ndarray, requirement_ids: np.ndarray) -> bool:
    """Whether every vertex of this block's LP is integral, so the simplex method's answer is already whole:
    a transportation problem (all gains 1) with whole capacities has a totally unimodular matrix. Then the
    integrality constraints are redundant and the block is solved as an LP, exactly and much faster."""

    def whole(values: np.ndarray) -> bool:
        return bool(np.all(values == np.round(values)))

    return (
        bool(np.all(problem.arc_gain[arcs] == 1.0))
        and whole(problem.offer_quantity[offer_ids])
        and whole(problem.requirement_quantity[requirement_ids])
    )


@dataclass(frozen=True)
class _Model:
    """A maximisation in column-wise arrays: rows are ≤ their upper bound, columns within [lower, upper]."""

    cost: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    row_upper: np.ndarray
    start: np.ndarray
    index: np.ndarray
    value: np.ndarray


_banner_lock = threading.Lock()
_banner_shown = False


def _new_solver() -> highspy.Highs:
    """A HiGHS instance that has printed nothing. HiGHS ≥ 1.8 prints its banner to the process's standard output
    when the first instance is built, before any option can be set, which would break `--json` output; so the
    first instance is built with file descriptor 1 pointed at /dev/null (C's buffer flushed before it returns)."""
    global _banner_shown
    with _banner_lock:
        if _banner_shown:
            return highspy.Highs()
        sys.stdout.flush()
        saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            solver = highspy.Highs()
            ctypes.CDLL(None).fflush(None)
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
        _banner_shown = True
        return solver


def _loaded(model: _Model, integer_columns: np.ndarray) -> highspy.Highs:
    solver = _new_solver()
    solver.setOptionValue("output_flag", False)
    solver.setOptionValue("mip_rel_gap", 0.0)
    solver.setOptionValue("primal_feasibility_tolerance", 1e-10)
    solver.setOptionValue("dual_feasibility_tolerance", 1e-10)
    solver.setOptionValue("threads", 1)
    rows, columns = len(model.row_upper), len(model.cost)
    # addRows/addCols take the numpy buffers as they are (HighsLp's attributes copy element by element).
    solver.addRows(
        rows,
        np.full(rows, -highspy.kHighsInf),
        model.row_upper,
        0,
        np.zeros(rows, dtype=np.int32),
        np.zeros(0, dtype=np.int32),
        np.zeros(0),
    )
    solver.addCols(
        columns,
        model.cost,
        model.lower,
        model.upper,
        len(model.index),
        model.start[:-1].astype(np.int32),
        model.index.astype(np.int32),
        model.value.astype(np.float64),
    )
    solver.changeObjectiveSense(highspy.ObjSense.kMaximize)
    if len(integer_columns):
        solver.changeColsIntegrality(
            len(integer_columns), integer_columns.astype(np.int32), np.ones(len(integer_columns), dtype=np.uint8)
        )
    else:
        solver.setOptionValue("solver", "simplex")  # a vertex (basic) solution, whole when the vertices are
    return solver


def _optimum(solver: highspy.Highs) -> np.ndarray:
    solver.run()
    status = solver.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"HiGHS did not reach an optimum: {solver.modelStatusToString(status)}")
    return np.asarray(solver.getSolution().col_value, dtype=np.float64)


def _best_parallel_arcs(problem: Problem, arcs: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Of arcs joining the same offer and requirement with the same gain (and, with the diversity term, the
    same group and kind) only the most valuable can carry flow in some optimum: they share both capacities
    and count the same in the diversity term. So the others are dropped: an exact reduction that also spares
    the solver from choosing between near-equal columns."""
    pair = problem.arc_offer[arcs] * len(problem.requirement_quantity) + problem.arc_requirement[arcs]
    sorted_pairs = np.sort(pair)
    if not np.any(sorted_pairs[1:] == sorted_pairs[:-1]):
        return arcs  # no parallel arcs: the usual case, settled by one sort
    keys = [pair, problem.arc_gain[arcs]]
    if problem.diversity_active:
        keys += [problem.arc_group[arcs], problem.arc_kind[arcs]]
    if problem.package_active:  # members of packages may belong to different ones: each is kept
        member = np.isin(arcs, problem.package_arc)
        keys.append(np.where(member, arcs, -1))
    order = np.lexsort((-value[arcs], *reversed(keys)))  # by key, most valuable first within each
    first = np.ones(len(arcs), dtype=bool)
    different = np.zeros(max(len(arcs) - 1, 0), dtype=bool)
    for key in keys:
        ranked = key[order]
        different |= ranked[1:] != ranked[:-1]
    first[1:] = different
    return np.sort(arcs[order][first])


def _groups(problem: Problem, useful: np.ndarray) -> list[np.ndarray]:
    if not len(useful):
        return []
    labels = _components(problem, useful)
    order = np.argsort(labels, kind="stable")
    boundaries = np.flatnonzero(np.diff(labels[order])) + 1
    return np.split(useful[order], boundaries)


def solve(problem: Problem) -> Solution:
    started = time.perf_counter()
    value = problem.arc_value
    worth = value > 0
    if problem.package_active:  # an arc worth nothing alone may still complete a package
        worth[problem.package_arc] = True
    useful = _best_parallel_arcs(problem, np.flatnonzero(worth), value)
    flow = np.zeros(len(value))
    groups = _groups(problem, useful)
    # One arc alone, worth something: it carries all it can (more flow only helps any package it is in).
    singles = [group for group in groups if len(group) == 1 and value[group[0]] > 0]
    if singles:
        single_arcs = np.concatenate(singles)
        flow[single_arcs] = problem.arc_upper[single_arcs]
    clock = {"split": time.perf_counter() - started, "assemble": 0.0, "highs": 0.0}
    models, batch = 0, []
    for group in (g for g in groups if len(g) > 1 or value[g[0]] <= 0):
        if len(group) >= OWN_MODEL_ARCS:
            flow[group] = _solve_block(problem, group, value[group], clock)
            models += 1
            continue
        batch.append(group)
        if sum(len(g) for g in batch) >= BATCH_ARCS:
            arcs = np.concatenate(batch)
            flow[arcs] = _solve_block(problem, arcs, value[arcs], clock)
            models, batch = models + 1, []
    if batch:
        arcs = np.concatenate(batch)
        flow[arcs] = _solve_block(problem, arcs, value[arcs], clock)
        models += 1
    return Solution(
        status="optimal",
        objective=problem.objective_of(flow),
        flow=flow,
        stats={
            "arcs": int(len(value)),
            "useful_arcs": int(len(useful)),
            "components": int(len(groups)),
            "closed_form_components": len(singles),
            "solver_models": models,
            "allocated_arcs": int(np.count_nonzero(flow > FLOW_EPSILON)),
            "extra_kinds": problem.extra_kinds(flow),
            "packages_completed": problem.completed_packages(flow) if problem.package_active else 0,
            "build_seconds": round(clock["split"] + clock["assemble"], 6),
            "solve_seconds": round(clock["highs"], 6),
        },
    )

"""The matching benchmark ladder: 10k, 100k, 1M and 3M candidate arcs from the demo scenario at scale.

    python benchmarks/matching_ladder.py [--rungs 10000 100000 1000000 3000000] [--json FILE]

Each rung runs in a fresh process (so its peak memory is its own): the demo generator draws requirements and
pledges at the scale that gives the rung's number of candidate arcs; we time building the arcs and the model,
solving to optimality, and the greedy baseline (highest priority first, best arc first), and record the peak
resident memory of the process. No database: the market is built in memory from the demo's catalog files.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import platform
import random
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from umbrella.demo.generator import DATA, DESTINATIONS, PLEDGES_PER_SCALE, REQUIREMENTS_PER_SCALE, Generator
from umbrella.matching.engine import solve
from umbrella.matching.market import Market, Policy, build_problem, candidate_arcs, greedy_flow

RUNGS = (10_000, 100_000, 1_000_000, 3_000_000)


def catalog() -> tuple[dict[str, list], dict[str, int], list[tuple[str, str, float]]]:
    by_area: dict[str, list] = {}
    index: dict[str, int] = {}
    with open(DATA / "item_types.csv", newline="", encoding="utf-8") as handle:
        for row in sorted(csv.DictReader(handle), key=lambda r: r["code"]):
            item = SimpleNamespace(
                code=row["code"],
                unit_of_issue=row["unit_of_issue"],
                bulk=row["bulk"] == "yes",
                crew_size=int(row["crew_size"]) if row["crew_size"] else None,
                unit_value_eur=Decimal(row["unit_value_eur"]),
                index=len(index),
            )
            index[row["code"]] = item.index
            by_area.setdefault(row["capability_area"], []).append(item)
    with open(DATA / "compatibilities.csv", newline="", encoding="utf-8") as handle:
        substitutes = [
            (r["item"], r["related_item"], float(r["ratio"])) for r in csv.DictReader(handle) if r["kind"] == "substitutes-for"
        ]
    return by_area, index, substitutes


def market_at(scale: float, seed: int = 2026) -> Market:
    by_area, index, substitutes = catalog()
    generate = Generator(random.Random(seed), by_area)
    areas = {code: i for i, code in enumerate(sorted(by_area))}
    area_of = {item.index: areas[code] for code, items in by_area.items() for item in items}
    destination = {name: i for i, name in enumerate(DESTINATIONS)}
    requirements = [generate.requirement(generate.item_type()) for _ in range(round(REQUIREMENTS_PER_SCALE * scale))]
    offers = [generate.offer() for _ in range(round(PLEDGES_PER_SCALE * scale))]
    allowed = [(o, destination[d]) for o, offer in enumerate(offers) for d in offer["allowed_destinations"]]
    return Market(
        requirement_type=np.array([r["item_type"].index for r in requirements]),
        requirement_quantity=np.array([float(r["quantity"]) for r in requirements]),
        requirement_priority=np.array([r["priority"] for r in requirements]),
        requirement_needed_by=np.array([r["needed_by"].toordinal() for r in requirements]),
        requirement_destination=np.array([destination[r["destination"]] for r in requirements]),
        requirement_area=np.array([area_of[r["item_type"].index] for r in requirements]),
        requirement_substitutes=np.array([r["accept_substitutes"] for r in requirements]),
        offer_type=np.array([o["item_type"].index for o in offers]),
        offer_quantity=np.array([float(o["quantity"]) for o in offers]),
        offer_available=np.array([o["available_from"].toordinal() for o in offers]),
        offer_integer=np.array([not o["item_type"].bulk for o in offers]),
        offer_restricted=np.array([bool(o["allowed_destinations"]) for o in offers]),
        offer_system=np.array([bool(o["item_type"].crew_size) for o in offers]),
        allowed_offer=np.array([o for o, _ in allowed], dtype=np.int64),
        allowed_destination=np.array([d for _, d in allowed], dtype=np.int64),
        substitute_offered=np.array([index[s] for s, _, _ in substitutes]),
        substitute_required=np.array([index[t] for _, t, _ in substitutes]),
        substitute_ratio=np.array([r for _, _, r in substitutes]),
    )


def arcs_at(scale: float) -> int:
    return len(candidate_arcs(market_at(scale), Policy()).offer)


def scale_for(target: int) -> float:
    """Candidate arcs grow with the square of the scale (requirements × pledges of each type)."""
    scale = 1.0
    for _ in range(3):
        scale *= (target / arcs_at(scale)) ** 0.5
    return scale


def rung(target: int, diversity: float, sender) -> None:
    scale = scale_for(target)
    policy = Policy(diversity_points=diversity)
    market = market_at(scale)
    started = time.perf_counter()
    candidates = candidate_arcs(market, policy)
    problem = build_problem(market, candidates, policy)
    arcs_seconds = time.perf_counter() - started
    solution = solve(problem)
    # Build: candidate arcs, the problem's arrays, the split into components and each model's matrices;
    # solve: the time inside HiGHS.
    build = arcs_seconds + solution.stats["build_seconds"]
    solve_seconds = solution.stats["solve_seconds"]
    started = time.perf_counter()
    greedy = problem.objective_of(greedy_flow(problem, market.requirement_priority))
    greedy_seconds = time.perf_counter() - started
    sender.send(
        {
            "target_arcs": target,
            "diversity_points": diversity,
            "scale": round(scale, 3),
            "requirements": market.requirements,
            "pledges": market.offers,
            "candidate_arcs": int(len(candidates.offer)),
            "usable_arcs": int(len(problem.arc_cost)),
            "components": solution.stats["components"],
            "solver_models": solution.stats["solver_models"],
            "build_seconds": round(build, 3),
            "solve_seconds": round(solve_seconds, 3),
            "build_share_percent": round(100 * build / (build + solve_seconds), 1),
            "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "objective": round(solution.objective, 6),
            "greedy_objective": round(greedy, 6),
            "greedy_seconds": round(greedy_seconds, 3),
            "optimal_minus_greedy": round(solution.objective - greedy, 6),
        }
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rungs", type=int, nargs="+", default=list(RUNGS))
    parser.add_argument(
        "--diversity",
        type=float,
        default=0.0,
        metavar="POINTS",
        help="Fleet-diversity penalty (coverage points per extra item type); above 0 the model is a MIP.",
    )
    parser.add_argument("--json", type=Path, help="Also write the results to this file.")
    args = parser.parse_args(argv)
    context = multiprocessing.get_context("spawn")
    results = []
    print(
        f"machine: {platform.machine()}, {multiprocessing.cpu_count()} cores, Python {platform.python_version()}", file=sys.stderr
    )
    header = ("arcs", "requirements", "pledges", "build s", "solve s", "build %", "peak MB", "objective", "greedy", "greedy s")
    print(" | ".join(header))
    for target in args.rungs:
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(target=rung, args=(target, args.diversity, sender))
        process.start()
        result = receiver.recv()
        process.join()
        results.append(result)
        print(
            " | ".join(
                str(result[k])
                for k in (
                    "candidate_arcs",
                    "requirements",
                    "pledges",
                    "build_seconds",
                    "solve_seconds",
                    "build_share_percent",
                    "peak_memory_mb",
                    "objective",
                    "greedy_objective",
                    "greedy_seconds",
                )
            ),
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`umbrella match-file PROBLEM.json [--json]`: solve a self-contained matching problem, without any database.

    {"requirements": [{"id": str, "quantity": number, "weight": number}],
     "offers": [{"id": str, "quantity": number}],
     "arcs": [{"offer": id, "requirement": id, "cost": number}],
     "integer": bool}

Maximises Σ over arcs of (weight of the arc's requirement − cost of the arc) × quantity on the arc, within
each offer's and each requirement's quantity; an arc whose value is ≤ 0 is never used. Exit 0 solved,
2 for input it cannot use (with one message naming what is wrong).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from umbrella.matching.engine import Problem, solve


class BadProblem(Exception):
    pass


def _number(value: Any, where: str, *, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadProblem(f"{where} must be a finite number, not {json.dumps(value)}")
    if minimum is not None and value < minimum:
        raise BadProblem(f"{where} must not be negative ({value})")
    return float(value)


def _entries(document: dict, key: str) -> list[dict]:
    entries = document.get(key)
    if not isinstance(entries, list):
        raise BadProblem(f'"{key}" must be a list')
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise BadProblem(f"{key}[{index}] must be an object")
    return entries


def _ids(entries: list[dict], key: str) -> dict[str, int]:
    positions: dict[str, int] = {}
    for index, entry in enumerate(entries):
        identifier = entry.get("id")
        if not isinstance(identifier, str) or not identifier:
            raise BadProblem(f"{key}[{index}].id must be a non-empty string")
        if identifier in positions:
            raise BadProblem(f"{key} has the id {identifier!r} twice")
        positions[identifier] = index
    return positions


def parse(document: Any) -> tuple[Problem, list[str], list[str]]:
    if not isinstance(document, dict):
        raise BadProblem("the problem must be a JSON object")
    requirements, offers, arcs = _entries(document, "requirements"), _entries(document, "offers"), _entries(document, "arcs")
    requirement_ids, offer_ids = _ids(requirements, "requirements"), _ids(offers, "offers")
    integer = document.get("integer", False)
    if not isinstance(integer, bool):
        raise BadProblem('"integer" must be true or false')
    requirement_quantity = [
        _number(r.get("quantity"), f"requirements[{i}].quantity", minimum=0) for i, r in enumerate(requirements)
    ]
    requirement_weight = [_number(r.get("weight"), f"requirements[{i}].weight") for i, r in enumerate(requirements)]
    offer_quantity = [_number(o.get("quantity"), f"offers[{i}].quantity", minimum=0) for i, o in enumerate(offers)]
    arc_offer, arc_requirement, cost = [], [], []
    for index, arc in enumerate(arcs):
        if arc.get("offer") not in offer_ids:
            raise BadProblem(f"arcs[{index}].offer names no offer: {json.dumps(arc.get('offer'))}")
        if arc.get("requirement") not in requirement_ids:
            raise BadProblem(f"arcs[{index}].requirement names no requirement: {json.dumps(arc.get('requirement'))}")
        arc_offer.append(offer_ids[arc["offer"]])
        arc_requirement.append(requirement_ids[arc["requirement"]])
        cost.append(_number(arc.get("cost"), f"arcs[{index}].cost"))
    problem = Problem(
        requirement_quantity=requirement_quantity,
        requirement_weight=requirement_weight,
        offer_quantity=offer_quantity,
        arc_offer=arc_offer,
        arc_requirement=arc_requirement,
        arc_cost=cost,
        integer=integer,
    )
    return problem, list(requirement_ids), list(offer_ids)


def report(document: Any) -> dict[str, Any]:
    problem, requirement_ids, offer_ids = parse(document)
    solution = solve(problem)
    allocations = [
        {
            "offer": offer_ids[problem.arc_offer[arc]],
            "requirement": requirement_ids[problem.arc_requirement[arc]],
            "quantity": int(solution.flow[arc]) if problem.integer else float(solution.flow[arc]),
        }
        for arc in map(int, (solution.flow > 1e-9).nonzero()[0])
    ]
    return {"status": solution.status, "objective": solution.objective, "allocations": allocations, "stats": solution.stats}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="umbrella match-file", description=__doc__.split("\n\n")[0])
    parser.add_argument("problem", type=Path)
    parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
    options = parser.parse_args(argv)
    try:
        document = json.loads(options.problem.read_text(encoding="utf-8"))
        result = report(document)
    except OSError as error:
        print(f"umbrella match-file: cannot read {options.problem}: {error.strerror}", file=sys.stderr)
        return 2
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        print(f"umbrella match-file: {options.problem} is not valid JSON: {error}", file=sys.stderr)
        return 2
    except (BadProblem, ValueError) as error:
        print(f"umbrella match-file: {error}", file=sys.stderr)
        return 2
    if options.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['status']}: objective {result['objective']:.6g}, {len(result['allocations'])} allocation(s)")
    for allocation in result["allocations"]:
        print(f"  {allocation['offer']} → {allocation['requirement']}: {allocation['quantity']:g}")
    return 0

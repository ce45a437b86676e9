"""`umbrella match-file`: a standalone problem solved without a database, bad input refused with exit 2."""

import json
import os
import subprocess
import sys

import pytest

GOOD = {
    "requirements": [{"id": "r1", "quantity": 10, "weight": 5}, {"id": "r2", "quantity": 4, "weight": 9}],
    "offers": [{"id": "o1", "quantity": 8}, {"id": "o2", "quantity": 7}],
    "arcs": [
        {"offer": "o1", "requirement": "r1", "cost": 1},
        {"offer": "o1", "requirement": "r2", "cost": 2},
        {"offer": "o2", "requirement": "r1", "cost": 0.5},
        {"offer": "o2", "requirement": "r2", "cost": 10},
    ],
    "integer": True,
}


def run(tmp_path, content: str, *flags: str) -> subprocess.CompletedProcess:
    path = tmp_path / "problem.json"
    path.write_text(content)
    env = {k: v for k, v in os.environ.items() if k not in ("UMBRELLA_DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env["UMBRELLA_DATABASE_URL"] = "postgres://nobody@127.0.0.1:1/none"  # proves no database is touched
    return subprocess.run(
        [sys.executable, "-m", "umbrella", "match-file", str(path), *flags], capture_output=True, text=True, timeout=120, env=env
    )


def test_a_standalone_problem_is_solved_to_the_optimum(tmp_path):
    result = run(tmp_path, json.dumps(GOOD), "--json")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["status"] == "optimal" and output["objective"] == pytest.approx(71.5)  # 3×4 + 4×7 + 7×4.5
    assert sorted((a["offer"], a["requirement"], a["quantity"]) for a in output["allocations"]) == [
        ("o1", "r1", 3),
        ("o1", "r2", 4),
        ("o2", "r1", 7),
    ]
    assert output["stats"]["arcs"] == 4


def test_an_arc_worth_nothing_is_never_used(tmp_path):
    problem = {**GOOD, "arcs": [{"offer": "o1", "requirement": "r1", "cost": 5}]}
    output = json.loads(run(tmp_path, json.dumps(problem), "--json").stdout)
    assert output["allocations"] == [] and output["objective"] == 0


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda p: "{not json", "is not valid JSON"),
        (lambda p: {**p, "arcs": [{"offer": "o9", "requirement": "r1", "cost": 1}]}, 'arcs[0].offer names no offer: "o9"'),
        (
            lambda p: {**p, "arcs": [{"offer": "o1", "requirement": "rX", "cost": 1}]},
            'arcs[0].requirement names no requirement: "rX"',
        ),
        (lambda p: {**p, "offers": [{"id": "o1", "quantity": 1}, {"id": "o1", "quantity": 2}]}, "offers has the id 'o1' twice"),
        (
            lambda p: {**p, "requirements": [{"id": "r1", "quantity": -3, "weight": 1}]},
            "requirements[0].quantity must not be negative",
        ),
        (lambda p: {**p, "offers": [{"id": "o1", "quantity": "ten"}]}, 'offers[0].quantity must be a finite number, not "ten"'),
        (lambda p: {**p, "arcs": [{"offer": "o1", "requirement": "r1", "cost": True}]}, "arcs[0].cost must be a finite number"),
        (lambda p: {**p, "integer": "yes"}, '"integer" must be true or false'),
        (lambda p: [1, 2], "must be a JSON object"),
    ],
)
def test_bad_input_exits_2_with_one_clear_message(tmp_path, mutate, message):
    mutated = mutate(dict(GOOD))
    result = run(tmp_path, mutated if isinstance(mutated, str) else json.dumps(mutated))
    assert result.returncode == 2
    assert message in result.stderr and result.stderr.count("\n") == 1 and not result.stdout

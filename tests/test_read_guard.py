import pytest

"""The read guard, beside the write guard (tests/test_services.py): pages, queries, the API, exports and commands
read owned and marked records only through `visible_to(actor)`. The source is read (AST) for every
`Model.objects…` of such a model whose chain of calls does not go through `visible_to` (or `hidden_from`, which
only says whether a figure is partial), and is not the queryset handed to `get_visible`, which applies the rule."""

import ast
from pathlib import Path

from django.apps import apps

from umbrella.core.access import VisibleQuerySet

pytestmark = pytest.mark.database_independent

SOURCE = Path(__file__).resolve().parents[1] / "src" / "umbrella"
MANAGERS = ("objects", "_default_manager", "_base_manager")
RESTRICTED_BY = ("visible_to", "hidden_from")

# Places that read past the rule, and why each must.
ALLOWED = {
    "services.py": "the write path: services lock rows, check uniqueness and capacities across every record, and check "
    "the actor's permission themselves",
    "matching/inputs.py": "the market a run is solved on must hold every active allocation and pledge, or approval would "
    "over-commit; only the run service reads it",
    "funding/rates.py": "a value in euros is the same for everyone, so the rate it is converted at is read from every rate",
    "core/verify.py": "the ledger verifier replays every record",
    "demo/scenario.py": "the demo loader acts as the system",
    "demo/end_use.py": "the demo loader acts as the system",
    "eum/reads.py": "a serial's schedule follows every rule and sighting of it, whoever may read them, so everyone sees "
    "the same due date; `umbrella eum check` recomputes all of them; the public's counts per capability area are "
    "taken over every serial and name none; a summary of the serials the actor sees names their item types, units "
    "and places by code, as a join from those serials would",
    "web/stats.py": "`umbrella stats`: counts per entity for the operator on the server, documented as not filtered",
}


def owned_model_names() -> set[str]:
    return {model.__name__ for model in apps.get_models() if isinstance(model._default_manager.get_queryset(), VisibleQuerySet)}


def _allowed(relative: str) -> bool:
    return relative.endswith("services.py") or relative in ALLOWED


def unguarded_reads(source: str, names: set[str]) -> list[tuple[int, str]]:
    """(line, expression) of every read of an owned model's manager that skips the rule."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Attribute)
            and node.attr in MANAGERS
            and isinstance(node.value, ast.Name)
            and node.value.id in names
        ):
            continue
        chain, methods = node, []
        while True:  # climb Model.objects.a(...).b(...): attributes and the calls of those attributes
            parent = parents.get(chain)
            if isinstance(parent, ast.Attribute):
                methods.append(parent.attr)
            elif not (isinstance(parent, ast.Call) and parent.func is chain):
                break
            chain = parent
        handed_to_get_visible = (
            isinstance(parent, ast.Call)
            and parent.args
            and parent.args[0] is chain
            and ast.unparse(parent.func).split(".")[-1] == "get_visible"
        )
        reads_nothing = methods == ["none"]
        if not (handed_to_get_visible or reads_nothing or any(m in RESTRICTED_BY for m in methods)):
            found.append((node.lineno, ast.unparse(chain)))
    return sorted(found)


def test_pages_queries_api_exports_and_commands_read_only_through_visible_to():
    names = owned_model_names()
    assert all(relative == "services.py" or (SOURCE / relative).exists() for relative in ALLOWED)  # no stale allowance
    offenders = []
    for path in sorted(SOURCE.rglob("*.py")):
        relative = str(path.relative_to(SOURCE))
        if "migrations" in path.parts or _allowed(relative):
            continue
        offenders += [f"{relative}:{line} {expression}" for line, expression in unguarded_reads(path.read_text(), names)]
    assert not offenders, offenders


def test_the_read_guard_finds_a_read_planted_in_a_view():
    """A view that reads fair-share years, funding and pledges past the rule is caught, line by line; the same
    reads through the rule are not."""
    names = owned_model_names()
    view = (SOURCE / "funding" / "views.py").read_text()
    assert unguarded_reads(view, names) == []
    lines = len(view.splitlines())
    planted = view + "\n".join(
        [
            "",
            "def planted(request):",
            "    years = FairShareYear.objects.values_list('year', flat=True)",
            "    total = Funding.objects.filter(year=2026).count()",
            "    one = Pledge._default_manager.get(pk=1)",
            "    fine = Funding.objects.visible_to(request.actor).filter(year=2026).count()",
            "    also_fine = get_visible(Funding.objects.select_related('owner'), request.actor, pk=1)",
            "    return years, total, one, fine, also_fine",
        ]
    )
    assert unguarded_reads(planted, names) == [
        (lines + 3, "FairShareYear.objects.values_list('year', flat=True)"),
        (lines + 4, "Funding.objects.filter(year=2026).count()"),
        (lines + 5, "Pledge._default_manager.get(pk=1)"),
    ]

"""The shape of the house, read from the source: imports point one way (site → apps → page kit → core) and no
module imports another in a circle, except for type checking."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest

import umbrella

pytestmark = pytest.mark.database_independent

SOURCE = Path(umbrella.__file__).parent
SITE = "umbrella.web"
# What an app offers the others and the site; none of it may lean on the site.
# Modules that only read: a what-if or a list stands on them, so none may reach a write.
READ_SIDE = {"queries", "solving", "inputs", "analysis"}
APP_LAYERS = {"models", "services", "queries", "reads", "api", "exports", "importers", "errors"}


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST):
    """Every node except those under `if TYPE_CHECKING:`, which never run."""
    pending = [tree]
    while pending:
        node = pending.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            pending.extend(node.orelse)
            continue
        pending.extend(ast.iter_child_nodes(node))


def imports_of(root: Path, path: Path, modules: set[str]) -> set[str]:
    """The Umbrella modules `path` imports when it runs (at load or inside a function)."""
    own = module_name(root, path)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in modules else base)
    return {name for name in found if name in modules and name != own}


def import_graph(root: Path) -> dict[str, set[str]]:
    files = {module_name(root, path): path for path in root.rglob("*.py") if "migrations" not in path.parts}
    modules = set(files)
    return {name: imports_of(root, path, modules) for name, path in files.items()}


def must_not_import_the_site(name: str) -> bool:
    parts = name.split(".")
    if len(parts) < 2 or parts[1] == "web":
        return False
    if parts[1] in {"core", "ui"}:
        return True
    return len(parts) == 3 and parts[2] in APP_LAYERS


def imports_of_the_site(graph: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{name} imports {target}"
        for name, targets in graph.items()
        if must_not_import_the_site(name)
        for target in targets
        if target == SITE or target.startswith(SITE + ".")
    )


def writes_reached_from_the_read_side(graph: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{name} imports {target}"
        for name, targets in graph.items()
        if name.rpartition(".")[2] in READ_SIDE
        for target in targets
        if target.rpartition(".")[2] == "services"
    )


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = lowest[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    parent = work[-1][0]
                    lowest[parent] = min(lowest[parent], lowest[node])
                if lowest[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        circles.append(sorted(group))
            elif child not in index:
                index[child] = lowest[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                lowest[node] = min(lowest[node], index[child])
    return sorted(circles)


def test_nothing_below_the_site_imports_it():
    assert imports_of_the_site(import_graph(SOURCE)) == []


def test_the_read_side_imports_no_write_module():
    """A scenario compares what-ifs by calling matching's read pipeline; it must not be able to store a run."""
    assert writes_reached_from_the_read_side(import_graph(SOURCE)) == []


def test_no_module_imports_another_in_a_circle():
    assert import_circles(import_graph(SOURCE)) == []


# Modules that run before or without Django keep their own errors; the Django side maps them.
OWN_ERRORS = {
    "umbrella.catalog.nsn": "a pure engine",
    "umbrella.matching.problem_file": "`umbrella match-file` runs before Django is imported",
    "umbrella.config": "read before Django is set up",
}


def error_classes_outside_core_errors(root: Path) -> list[str]:
    from umbrella.core import errors

    error_names = {name for name, value in vars(errors).items() if isinstance(value, type) and issubclass(value, Exception)}
    error_names |= {"Exception", "ValueError", "RuntimeError", "LookupError"}
    found = []
    for path in root.rglob("*.py"):
        name = module_name(root, path)
        if name in OWN_ERRORS or name == "umbrella.core.errors" or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(ast.unparse(base).rpartition(".")[2] in error_names for base in node.bases):
                found.append(f"{name}.{node.name}")
    return sorted(found)


def test_errors_live_in_core_errors():
    assert error_classes_outside_core_errors(SOURCE) == []


def lists_defined_outside_queries(root: Path) -> list[str]:
    """A list's columns, filters and queryset live in its app's queries.py, so the page and the API share them."""
    found = []
    for path in root.rglob("*.py"):
        if path.name == "queries.py" or module_name(root, path) == "umbrella.core.listing":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and ast.unparse(node.func).rpartition(".")[2] == "Listing":
                found.append(f"{module_name(root, path)}:{node.lineno}")
    return sorted(found)


def test_lists_are_defined_in_queries():
    assert lists_defined_outside_queries(SOURCE) == []


def _plant(root: Path, files: dict[str, str]) -> Path:
    package = root / "umbrella"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for folder in path.relative_to(root).parents:
            if folder != Path("."):
                (root / folder / "__init__.py").touch()
        path.write_text(text, encoding="utf-8")
    return package


def test_the_checks_find_planted_violations(tmp_path):
    package = _plant(
        tmp_path,
        {
            "web/views.py": "",
            "core/listing.py": "def f():\n    from umbrella.web import views\n",
            "ui/pages.py": "from umbrella.web.views import something\n",
            "pledges/services.py": "from ..web import views\n",
            "pledges/views.py": "from umbrella.web import views\n",
            "needs/models.py": "from umbrella.needs import services\n",
            "needs/services.py": "from . import models\n",
            "funding/models.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from umbrella.funding import services\n"
            ),
            "funding/services.py": "from umbrella.funding.models import Portion\n",
            "scenarios/analysis.py": "from umbrella.matching.services import compute\n",
            "matching/services.py": "",
            "catalog/views.py": "from umbrella.core.listing import Listing\nITEMS = Listing(columns=())\n",
            "catalog/queries.py": "from umbrella.core import listing\nITEMS = listing.Listing(columns=())\n",
            "orgs/throttle.py": "from umbrella.core import errors\nclass Busy(errors.Conflict):\n    pass\n",
        },
    )
    graph = import_graph(package)

    assert imports_of_the_site(graph) == [
        "umbrella.core.listing imports umbrella.web.views",
        "umbrella.pledges.services imports umbrella.web.views",
        "umbrella.ui.pages imports umbrella.web.views",
    ]
    assert import_circles(graph) == [["umbrella.needs.models", "umbrella.needs.services"]]
    assert writes_reached_from_the_read_side(graph) == ["umbrella.scenarios.analysis imports umbrella.matching.services"]
    assert error_classes_outside_core_errors(package) == ["umbrella.orgs.throttle.Busy"]
    assert lists_defined_outside_queries(package) == ["umbrella.catalog.views:2"]


def test_exporters_live_in_exports_and_importers_in_importers():
    from umbrella.core import exports, imports

    misplaced = [
        f"{kind}: {type(exporter).__module__}"
        for kind, exporter in exports.REGISTRY.items()
        if not type(exporter).__module__.endswith(".exports")
    ]
    misplaced += [
        f"{kind}: {type(importer).__module__}"
        for kind, importer in imports.REGISTRY.items()
        if not type(importer).__module__.endswith(".importers")
    ]
    assert misplaced == []


def test_the_database_independent_mark_is_refused_on_a_test_that_reaches_a_database(tmp_path):
    from tests import conftest

    module = tmp_path / "test_reaching.py"
    word = "".join(["sub", "process"])  # written apart, so that this module itself reads as using none
    module.write_text(f"import {word}\n", encoding="utf-8")

    def item(marks: set[str], fixtures: list[str]):
        return SimpleNamespace(
            nodeid="test_reaching.py::test_it",
            fspath=module,
            fixturenames=fixtures,
            get_closest_marker=lambda name: name in marks,
        )

    with pytest.raises(pytest.UsageError, match=f"uses marked django_db, personas, {word}$"):
        conftest._refuse_database_use(item({"database_independent", "django_db"}, ["personas"]))
    module.write_text("def test_it():\n    assert 1 + 1 == 2\n", encoding="utf-8")
    conftest._refuse_database_use(item({"database_independent"}, []))

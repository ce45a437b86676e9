import pytest

"""The lock file is what installs run from: it must hold every dependency pyproject.toml declares, at a version
the declaration allows, with hashes; and the environment the suite runs in must be the locked one."""

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

pytestmark = pytest.mark.database_independent

ROOT = Path(__file__).resolve().parents[1]
PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\]+)")


def locked() -> dict[str, str]:
    text = (ROOT / "requirements.lock").read_text()
    pins = {canonicalize_name(m.group(1)): m.group(2) for line in text.splitlines() if (m := PINNED.match(line))}
    assert pins and text.count("--hash=sha256:") >= len(pins), "every pinned package needs its hashes"
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(spec) for spec in project["dependencies"] + project["optional-dependencies"]["test"]]


def test_every_declared_dependency_is_locked_at_an_allowed_version():
    pins = locked()
    problems = [
        f"{req.name}: locked {pins.get(canonicalize_name(req.name))}, declared {req.specifier}"
        for req in declared()
        if canonicalize_name(req.name) not in pins or pins[canonicalize_name(req.name)] not in req.specifier
    ]
    assert problems == [], "run `make lock`: " + "; ".join(problems)


def test_the_suite_runs_on_the_locked_versions():
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    drift = {name: (version, installed.get(name)) for name, version in locked().items() if installed.get(name) != version}
    assert drift == {}, "installed versions differ from requirements.lock (locked, installed); run `make test` on a fresh .venv"

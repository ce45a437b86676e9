"""Facts the docs state that the code decides: the commands `umbrella --help` and the README name, and the API's
operation and matrix counts in docs/api.md."""

import re
from pathlib import Path

from django.core.management import get_commands

from tests.test_api_matrix import MATRIX, operations
from umbrella import cli
from umbrella.core.testing import PERSONA_NAMES

ROOT = Path(__file__).resolve().parents[1]


def umbrella_commands() -> set[str]:
    """Commands Umbrella's own apps define, and those `umbrella` maps to its own (createsuperuser, match-file)."""
    own = {name for name, app in get_commands().items() if app.startswith("umbrella.")}
    return own | set(cli.ACCOUNT_COMMANDS) | {"match-file"}


def named_commands(text: str) -> set[str]:
    return set(re.findall(r"^\s*umbrella ([a-z][\w-]*)", text, re.MULTILINE))


def readme_commands() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The `umbrella` command", 1)[1].split("\n## ", 1)[0]
    return named_commands(section)


def test_umbrella_help_names_every_command_and_no_other():
    named = named_commands(cli.__doc__)
    assert umbrella_commands() - named == set()
    assert named - umbrella_commands() - set(get_commands()) == set()


def test_the_readme_names_every_command_and_no_other():
    named = readme_commands()
    assert umbrella_commands() - named == set()
    assert named - umbrella_commands() - set(get_commands()) == set()


def test_the_api_counts_in_the_docs_are_the_api_and_matrix_counts():
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    matrix = re.search(r"(\d+) operations × (\d+) personas × 2 =\s+\*\*([\d,]+) cells\*\*", text)
    assert matrix, "docs/api.md no longer states the matrix as 'N operations × P personas × 2 = **C cells**'"
    stated_operations, stated_personas, stated_cells = int(matrix[1]), int(matrix[2]), int(matrix[3].replace(",", ""))
    assert (stated_operations, stated_personas, stated_cells) == (
        len(operations()),
        len(PERSONA_NAMES),
        len(MATRIX) * len(PERSONA_NAMES) * 2,
    )
    assert set(re.findall(r"over all (\d+) operations", text)) == {str(len(operations()))}

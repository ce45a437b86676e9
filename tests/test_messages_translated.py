"""Every message a person can read reaches them in their language: refusals, validation, conflicts, import problems.

The source is read, not run: a message written as a bare string or f-string where a service refuses something
would reach a Ukrainian page in English. The engines (modules without Django) and the command line's own errors
are English by design and are not checked here; the catalogue test in test_languages.py checks every message is translated.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.test import override_settings
from django.utils import translation

import umbrella
from umbrella.core.access import Actor
from umbrella.core.errors import ImportRejected, Invalid, RowError
from umbrella.core.imports import integer
from umbrella.orgs.services import issue_token

PACKAGE = Path(umbrella.__file__).parent
REFUSALS = {
    "Invalid",
    "Conflict",
    "StaleVersion",
    "InvalidTransition",
    "Forbidden",
    "NotFound",
    "UnreadableFile",
    "PreconditionFailed",
    "PreconditionRequired",
}


def _is_literal_text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(node.value)
    )


def _called(node: ast.Call) -> str:
    return node.func.id if isinstance(node.func, ast.Name) else node.func.attr if isinstance(node.func, ast.Attribute) else ""


def _messages_of(call: ast.Call, name: str) -> list[ast.AST]:
    if name == "Invalid" and call.args and isinstance(call.args[0], ast.Dict):
        return [
            item
            for value in call.args[0].values
            if isinstance(value, ast.List | ast.ListComp)
            for item in (value.elts if isinstance(value, ast.List) else [value.elt])
        ]
    if name == "deny":
        return call.args[1:2]
    if name == "RowError":
        return call.args[3:4] + [k.value for k in call.keywords if k.arg == "reason"]
    if name == "problem":
        return call.args[1:2]
    return call.args[:1]


def _untranslated(path: Path, root: Path = PACKAGE) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    uses_django = any(isinstance(node, ast.ImportFrom) and (node.module or "").startswith("django") for node in ast.walk(tree))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _called(node)
        messages: list[ast.AST] = []
        if not uses_django:
            continue
        if name in REFUSALS | {"deny", "RowError", "problem"}:
            messages = _messages_of(node, name)
        elif name == "ValueError":
            messages = node.args[:1]
        messages += [keyword.value for keyword in node.keywords if keyword.arg == "doing"]
        found += [f"{path.relative_to(root)}:{m.lineno} {name}" for m in messages if _is_literal_text(m)]
    return found


def _application_modules() -> list[Path]:
    return [
        path
        for path in sorted(PACKAGE.rglob("*.py"))
        if "migrations" not in path.parts and "management" not in path.parts and path.parent.name != "demo"
    ]


def test_no_refusal_validation_or_import_message_is_written_as_bare_text():
    untranslated = [site for path in _application_modules() for site in _untranslated(path)]
    assert untranslated == []


def test_the_check_finds_a_bare_message_when_there_is_one(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from django.utils.translation import gettext as _\n"
        "def f(actor, x):\n"
        '    require_role(actor, "editor", doing="Editing")\n'
        '    raise Invalid({"name": [f"No {x}."]})\n'
        '    raise Conflict(_("Taken: %(x)s.") % {"x": x})\n'
        '    raise ValueError("not a number")\n'
    )
    assert _untranslated(sample, tmp_path) == ["sample.py:3 require_role", "sample.py:4 Invalid", "sample.py:6 ValueError"]


@pytest.mark.parametrize("language, expected", [("en", "must be at least 1"), ("uk", "має бути не менше 1")])
def test_a_cell_problem_is_told_in_the_language_of_the_request(language, expected):
    with translation.override(language), pytest.raises(ValueError, match=expected):
        integer(minimum=1)("0", None)


def test_the_count_of_import_problems_takes_the_ukrainian_plural_forms():
    with translation.override("uk"):
        messages = [ImportRejected([RowError(2, "quantity", "0", "x")] * count).message for count in (1, 3, 5, 21)]
    assert messages == [
        "1 проблема; нічого не записано.",
        "3 проблеми; нічого не записано.",
        "5 проблем; нічого не записано.",
        "21 проблема; нічого не записано.",
    ]


def test_a_refusal_reaches_a_ukrainian_page_in_ukrainian(as_client):
    client = as_client("donor_viewer")
    client.post("/i18n/setlang/", {"language": "uk", "next": "/"})
    response = client.post("/pledges/new/", {})
    body = response.content.decode()
    assert response.status_code == 403
    assert "Створення обіцянки: потрібна роль «редактор»." in body and "needs the" not in body


@override_settings(LANGUAGE_CODE="en")
def test_the_api_answers_in_the_language_the_client_asks_for(client, personas):
    viewer = personas["donor_viewer"]
    _, secret = issue_token(actor=Actor.system(), user_id=viewer.user.pk, organization_id=viewer.organization.pk, name="language")
    headers = {"Authorization": f"Bearer {secret}"}
    english = client.post("/api/v1/pledges", {}, content_type="application/json", headers=headers)
    ukrainian = client.post("/api/v1/pledges", {}, content_type="application/json", headers={**headers, "Accept-Language": "uk"})
    assert english.status_code == ukrainian.status_code
    assert english.json()["detail"] != ukrainian.json()["detail"]
    assert ukrainian.headers["Content-Language"] == "uk"


def test_validation_messages_from_services_are_translated():
    with translation.override("uk"):
        error = Invalid({"name": ["x"]})
    assert error.message == "Дані неправильні."

"""Every parameter a list operation declares, read from the OpenAPI document (so a new list is covered without
touching this file): every enum value answers 200, an unknown value or one past a declared range a 422
problem, and a parameter naming a record (a donor, an area, an item type) refuses a name that names nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from tests import factories
from umbrella.api import api
from umbrella.catalog.models import CapabilityArea
from umbrella.core.access import Actor
from umbrella.eum import services as eum
from umbrella.orgs.services import issue_token
from umbrella.training import services as training

PROBLEM = "application/problem+json"
PAGING = {"page", "page_size"}
FREE_TEXT = {"q"}
UNKNOWN = "no-such-value"


def known_names(personas) -> dict[str, str]:
    """A value that names something, for each parameter that names a record instead of listing choices."""
    item = factories.item_type(personas)
    tracked = factories.item_type(personas, sensitive=True)
    unit = eum.create_unit(actor=personas.recipient, fields={"code": "DEPOT-1", "name": "1st depot"})
    course_type = training.create_course_type(
        actor=personas.coordinator, fields={"code": "LIST-CREW", "name": "Crew", "qualification": "Crew", "weeks": 2}
    )
    return {
        "course_type": course_type.code,
        "donor": "XDA",
        "area": CapabilityArea.objects.order_by("code").first().code,
        "item": item.code,
        "item_type": tracked.code,  # a serial-tracked one
        "unit": unit.code,
        "as_of": "2026-01-01",  # a day: anything else is refused as not a date
    }


def path_values(personas) -> dict[str, int]:
    return {"list_id": factories.requirement_list(personas, requirements=2).pk}


def _resolve(document: dict, schema: dict) -> dict:
    """The parameter's own schema: the non-null branch of `X | None`, with a $ref followed."""
    branches = [branch for branch in schema.get("anyOf", [schema]) if branch.get("type") != "null"]
    (branch,) = branches
    if "$ref" in branch:
        name = branch["$ref"].rsplit("/", 1)[1]
        return document["components"]["schemas"][name]
    return branch


def list_parameters() -> list[tuple[str, str, dict]]:
    """(path, parameter, schema) of every query parameter of every paginated GET operation."""
    document = api.get_openapi_schema()
    found = []
    for path, methods in document["paths"].items():
        operation = methods.get("get")
        query = [p for p in (operation or {}).get("parameters", []) if p["in"] == "query"]
        if not {p["name"] for p in query} >= PAGING:
            continue
        found += [(path, p["name"], _resolve(document, p["schema"])) for p in query if p["name"] not in PAGING | FREE_TEXT]
    return found


@pytest.fixture
def coordinator_client(personas):
    actor = personas.coordinator
    _, secret = issue_token(
        actor=Actor.system("tests"), user_id=actor.user.pk, organization_id=actor.organization.pk, name="lists"
    )
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _url(path: str, values: dict[str, int]) -> str:
    for name, value in values.items():
        path = path.replace(f"{{{name}}}", str(value))
    assert "{" not in path, f"give tests/test_api_list_parameters.py a value for the path parameter of {path}"
    return path


def _refused(response) -> bool:
    return response.status_code == 422 and response["Content-Type"] == PROBLEM and response.json()["status"] == 422


@pytest.mark.django_db
def test_every_declared_value_of_every_list_parameter_answers(personas, coordinator_client):
    factories.pledge(personas)
    values, names = path_values(personas), known_names(personas)
    checked = []
    for path, name, schema in list_parameters():
        url = _url(path, values)
        if "enum" in schema:
            for value in schema["enum"]:
                response = coordinator_client.get(url, {name: value})
                assert response.status_code == 200, (url, name, value, response.content[:300])
                checked.append((path, name, value))
            assert _refused(coordinator_client.get(url, {name: UNKNOWN})), (url, name)
        elif schema.get("type") == "integer":
            for value in (schema["minimum"], schema["maximum"]):
                assert coordinator_client.get(url, {name: value}).status_code == 200, (url, name, value)
            assert _refused(coordinator_client.get(url, {name: schema["maximum"] + 1})), (url, name)
        elif schema.get("type") == "boolean":
            for value in ("true", "false"):
                assert coordinator_client.get(url, {name: value}).status_code == 200, (url, name, value)
            assert _refused(coordinator_client.get(url, {name: UNKNOWN})), (url, name)
        elif "pattern" in schema:
            assert _refused(coordinator_client.get(url, {name: UNKNOWN})), (url, name)
        else:
            assert name in names, f"{path}?{name}= is free text: make it an enum, or a name checked against the records"
            assert coordinator_client.get(url, {name: names[name]}).status_code == 200, (url, name)
            refused = coordinator_client.get(url, {name: "ZZZ"})
            assert _refused(refused) and name in refused.json()["errors"], (url, name, refused.content[:300])
    sorted_lists = [value for path, name, value in checked if path == "/api/v1/requirement-lists" and name == "sort"]
    assert "requirement_count" in sorted_lists and "-requirement_count" in sorted_lists


@pytest.mark.django_db
def test_an_unknown_donor_is_refused_not_ignored(personas, coordinator_client):
    factories.pledge(personas)
    response = coordinator_client.get("/api/v1/pledges", {"donor": "ZZZ"})
    assert _refused(response)
    assert response.json()["errors"] == {"donor": ["No such donor: 'ZZZ'."]}
    second = coordinator_client.get("/api/v1/pledges", {"donor": "XDB"})
    assert second.status_code == 200 and second.json()["count"] == 0  # a donor with no pledges: an empty list


@pytest.mark.django_db
def test_a_page_refuses_an_unknown_filter_value_and_sort_key(as_client):
    client = as_client("coordinator")
    response = client.get("/pledges/", {"donor": "ZZZ", "sort": "secret_field"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "No such donor: &#x27;ZZZ&#x27;." in body and "is not a sort key of this list" in body


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_an_unexpected_error_under_the_api_is_a_logged_problem_without_internals(
    personas, coordinator_client, monkeypatch, settings, caplog, debug
):
    settings.DEBUG = debug  # django-ninja's own handler answers a traceback as text/plain in debug mode

    def fault(actor):  # a fault injected where a query would fail, to reach the API's last-resort handler
        raise RuntimeError("internal detail: /srv/secret/path")

    monkeypatch.setattr("umbrella.needs.api.requirement_lists", fault)
    response = coordinator_client.get("/api/v1/requirement-lists")
    assert response.status_code == 500 and response["Content-Type"] == PROBLEM
    assert response.json()["status"] == 500 and "secret" not in response.content.decode()
    assert any("secret" in str(record.exc_info[1]) for record in caplog.records if record.exc_info)


@pytest.mark.django_db
def test_a_path_under_the_api_that_no_operation_serves_is_a_problem_not_a_page(coordinator_client, as_client):
    response = coordinator_client.get("/api/v1/no-such-thing")
    assert response.status_code == 404 and response["Content-Type"] == PROBLEM and response.json()["status"] == 404
    page = as_client("coordinator").get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")

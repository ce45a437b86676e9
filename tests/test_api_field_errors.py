"""Every 422 from the API gives `errors` one way, {field: [messages]}, in the language the request asks for, and
names no internals (database paths behind sort keys, the operation's parameter names)."""

import json

import pytest
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext

from umbrella.core.access import Actor
from umbrella.orgs.services import issue_token

MEMBERS = ["donor_editor", "donor_viewer", "coordinator", "auditor", "observer", "recipient"]
BAD_PLEDGE = {
    "item_type": "ART-X",
    "quantity": "many",
    "available_from": "soon",
    "sources": [{"kind": "rumour", "url": "https://example.invalid/p"}],
    "colour": "blue",
}


def api_client(actor, language: str) -> Client:
    _, secret = issue_token(actor=Actor.system("tests"), user_id=actor.user.pk, organization_id=actor.organization.pk, name="t")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_ACCEPT_LANGUAGE=language)


def in_language(language: str, message: str, **values) -> str:
    with translation.override(language):
        return gettext(message) % values


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "uk"])
@pytest.mark.parametrize("persona", MEMBERS)
def test_an_unknown_sort_key_is_a_field_error_in_the_readers_language_naming_no_database_path(personas, persona, language):
    answer = api_client(personas[persona], language).get("/api/v1/item-types", {"sort": "nonsense"})
    assert answer.status_code == 422
    body = answer.json()
    assert body["errors"] == {"sort": [in_language(language, "%(value)s is not a sort key of this list.", value="'nonsense'")]}
    assert "__" not in answer.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "uk"])
@pytest.mark.parametrize("persona", MEMBERS)
def test_a_refused_filter_and_a_refused_sort_come_in_the_same_shape(personas, persona, language):
    client = api_client(personas[persona], language)
    by_filter = client.get("/api/v1/pledges", {"donor": "ZZZ"}).json()["errors"]
    by_sort = client.get("/api/v1/pledges", {"sort": "-nonsense"}).json()["errors"]
    for errors, field in ((by_filter, "donor"), (by_sort, "sort")):
        assert isinstance(errors, dict) and set(errors) == {field}
        assert len(errors[field]) == 1 and isinstance(errors[field][0], str)
    assert by_sort["sort"] == [in_language(language, "%(value)s is not a sort key of this list.", value="'-nonsense'")]


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "uk"])
@pytest.mark.parametrize("persona", ["donor_editor", "second_donor"])
def test_a_malformed_pledge_gets_each_fields_problem_in_the_readers_language(personas, persona, language):
    answer = api_client(personas[persona], language).post(
        "/api/v1/pledges", data=json.dumps(BAD_PLEDGE), content_type="application/json"
    )
    assert answer.status_code == 422
    errors = answer.json()["errors"]
    assert errors == {
        "quantity": [in_language(language, "Enter a whole number.")],
        "available_from": [in_language(language, "Enter a valid date.")],
        "sources.0.kind": [in_language(language, "Select a valid choice. That choice is not one of the available choices.")],
        "sources.0.date": [in_language(language, "This field is required.")],
        "colour": [in_language(language, "This field is not part of the request.")],
    }
    if language == "uk":
        assert errors["quantity"] == ["Введіть ціле число."]


@pytest.mark.django_db
@pytest.mark.parametrize("persona", MEMBERS)
def test_a_path_that_is_no_number_names_the_parameter(personas, persona):
    errors = api_client(personas[persona], "uk").get("/api/v1/pledges/abc").json()["errors"]
    assert errors == {"pledge_id": ["Введіть ціле число."]}

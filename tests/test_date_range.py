"""Dates outside 1990..2100 (year 1, year 9999: typing slips at the edge of what can be stored) are refused by
the one write path, so the API and the importers refuse them alike, each naming the field."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests import factories
from tests.test_imports import PLEDGE_HEADER, run_import
from umbrella.core.access import Actor
from umbrella.core.models import ChangeRecord
from umbrella.needs.models import Requirement
from umbrella.orgs.services import issue_token
from umbrella.pledges.models import Pledge

OUT_OF_RANGE = ["0001-01-01", "1989-12-31", "2101-01-01", "9999-12-31"]
REFUSAL = "Give a date from 1990-01-01 to 2100-12-31."


def _client(actor) -> Client:
    _, secret = issue_token(
        actor=Actor.system("tests"), user_id=actor.user.pk, organization_id=actor.organization.pk, name="dates"
    )
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.mark.django_db
@pytest.mark.parametrize("needed_by", OUT_OF_RANGE)
def test_the_api_refuses_a_date_out_of_range_naming_the_field(personas, needed_by):
    lst = factories.requirement_list(personas, requirements=0)
    item = factories.item_type(personas)
    client = _client(personas.recipient)
    body = {"item_type": item.code, "quantity": 3, "priority": 1, "needed_by": needed_by, "destination": "Lviv"}
    before = ChangeRecord.objects.count()
    response = client.post(f"/api/v1/requirement-lists/{lst.pk}/requirements", json.dumps(body), content_type="application/json")
    assert response.status_code == 422 and response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == {"needed_by": [REFUSAL]}
    assert not Requirement.objects.filter(requirement_list=lst).exists() and ChangeRecord.objects.count() == before
    body["needed_by"] = "2100-12-31"
    assert (
        client.post(
            f"/api/v1/requirement-lists/{lst.pk}/requirements", json.dumps(body), content_type="application/json"
        ).status_code
        == 201
    )


@pytest.mark.django_db
def test_an_update_through_the_api_is_refused_too(personas):
    pledge = factories.pledge(personas)
    response = _client(personas.donor_editor).patch(
        f"/api/v1/pledges/{pledge.pk}",
        json.dumps({"available_from": "9999-12-31"}),
        content_type="application/json",
        HTTP_IF_MATCH='"v1"',
    )
    assert response.status_code == 422 and response.json()["errors"] == {"available_from": [REFUSAL]}
    pledge.refresh_from_db()
    assert pledge.version == 1


@pytest.mark.django_db
def test_an_import_reports_every_date_out_of_range_and_writes_nothing(personas, tmp_path):
    item = factories.item_type(personas)
    path = tmp_path / "pledges.csv"
    path.write_text(
        PLEDGE_HEADER
        + f"{item.code},10,2026-03-01,official,https://example.invalid/a,,2026-01-05\n"
        + f"{item.code},10,9999-12-31,official,https://example.invalid/b,,2026-01-05\n"
        + f"{item.code},10,2026-03-01,official,https://example.invalid/c,,0001-01-01\n"
    )
    before = (Pledge.objects.count(), ChangeRecord.objects.count())
    code, output = run_import("pledges", path, user="alice")
    assert code == 1, output
    assert "row 3, column 'available_from'" in output and "row 4, column 'source_date'" in output, output
    assert output.count(REFUSAL) == 2
    assert (Pledge.objects.count(), ChangeRecord.objects.count()) == before

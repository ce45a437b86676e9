"""Training over the API: a donor offers a course (by codes and a place name) once per Idempotency-Key, a stale
If-Match is refused, the recipient nominates many trainees with every bad row named, and graduates follow."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from tests import factories
from umbrella.core.access import Actor
from umbrella.eum import services as eum
from umbrella.orgs.services import issue_token
from umbrella.training import services
from umbrella.training.models import Course, Nomination, NominationState

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"
TODAY = timezone.localdate()


@pytest.fixture
def client_of(personas):
    def issue(name: str) -> Client:
        actor = personas[name]
        _, secret = issue_token(
            actor=Actor.system("tests"), user_id=actor.user.pk, organization_id=actor.organization.pk, name="training"
        )
        return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    return issue


@pytest.fixture
def course_type(personas):
    return services.create_course_type(
        actor=personas.coordinator,
        fields={
            "code": "PATRIOT-OP",
            "name": "Patriot operator course",
            "qualification": "Patriot launcher crew",
            "system": factories.item_type(personas, crew_size=4, standard=""),
            "weeks": 10,
            "seat_value_eur": Decimal("50000.00"),
        },
    )


def offer_body(**overrides) -> dict:
    body = {
        "course_type": "PATRIOT-OP",
        "reference": "GER-PAT-1",
        "provider": "Air Defence School",
        "site": "Poland",
        "starts_on": (TODAY - dt.timedelta(days=30)).isoformat(),
        "ends_on": (TODAY - dt.timedelta(days=1)).isoformat(),
        "seats": 3,
    }
    body.update(overrides)
    return body


def post(client, url, body, **headers):
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


def test_a_course_offered_twice_with_one_key_is_created_once_at_the_course_types_seat_value(course_type, client_of):
    donor = client_of("donor_editor")
    first = post(donor, "/api/v1/courses", offer_body(), HTTP_IDEMPOTENCY_KEY="offer-1")
    again = post(donor, "/api/v1/courses", offer_body(), HTTP_IDEMPOTENCY_KEY="offer-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    body = first.json()
    assert (body["donor"], body["site"], body["seat_value_eur"], body["value_eur"]) == ("XDA", "PL", "50000.00", "150000.00")
    assert (body["seats_taken"], body["seats_free"]) == (0, 3)
    assert Course.objects.count() == 1


def test_a_course_change_needs_the_current_etag(course_type, client_of):
    donor = client_of("donor_editor")
    course = post(donor, "/api/v1/courses", offer_body()).json()
    url = f"/api/v1/courses/{course['id']}"
    missing = donor.patch(url, json.dumps({"seats": 4}), content_type="application/json")
    assert missing.status_code == 428
    changed = donor.patch(url, json.dumps({"seats": 4}), content_type="application/json", HTTP_IF_MATCH='"v1"')
    assert changed.status_code == 200 and changed["ETag"] == '"v2"' and changed.json()["seats"] == 4
    stale = post(donor, f"{url}/confirm", {}, HTTP_IF_MATCH='"v1"')
    assert stale.status_code == 412 and stale["Content-Type"] == PROBLEM


def test_the_recipient_nominates_many_and_every_bad_row_is_named(personas, course_type, client_of):
    course = post(client_of("donor_editor"), "/api/v1/courses", offer_body(seats=10)).json()
    eum.create_unit(actor=personas.recipient, fields={"code": "ADB-1", "name": "1st air defence battalion"})
    recipient = client_of("recipient")
    url = f"/api/v1/courses/{course['id']}/nominations"
    refused = post(
        recipient,
        url,
        {
            "trainees": [
                {"trainee": "T-1-0001", "unit": "ADB-1"},
                {"trainee": "Ivan Petrenko", "unit": "ADB-1"},
                {"trainee": "T-1-0003", "unit": "ADB-9"},
            ]
        },
    )
    assert refused.status_code == 422 and refused["Content-Type"] == PROBLEM
    assert set(refused.json()["errors"]) == {"trainees[1].trainee", "trainees[2].unit"}
    assert not Nomination.objects.exists()
    made = post(recipient, url, {"trainees": [{"trainee": f"T-1-{n:04d}", "unit": "ADB-1"} for n in range(1, 6)]})
    assert made.status_code == 201 and len(made.json()) == 5
    ids = [row["id"] for row in made.json()]
    graduated = post(recipient, f"/api/v1/courses/{course['id']}/graduates", {"nominations": ids[:2], "on": TODAY.isoformat()})
    assert graduated.status_code == 200 and {row["state"] for row in graduated.json()} == {"graduated"}
    assert Nomination.objects.filter(state=NominationState.GRADUATED).count() == 2
    listed = client_of("donor_editor").get(url).json()
    assert listed["count"] == 5  # the course's donor reads its trainees
    assert client_of("second_donor").get(url).json()["count"] == 0  # another donor does not
    assert client_of("second_donor").get(f"/api/v1/courses/{course['id']}").json()["seats_taken"] == 5

"""End-use monitoring over the API: a transfer without the donor's consent is a 409 problem until it consents; an
inventory answers what it expected, sighted and did not sight; lists filter; the public sees counts only."""

import datetime as dt
import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests import factories
from umbrella.core.access import Actor, Marking
from umbrella.eum import services as eum
from umbrella.eum.models import Inventory, Serial, SerialStatus
from umbrella.orgs.services import issue_token

PROBLEM = "application/problem+json"
TODAY = timezone.localdate


@pytest.fixture
def client_of(personas):
    def issue(name: str) -> Client:
        actor = personas[name]
        _, secret = issue_token(
            actor=Actor.system("tests"), user_id=actor.user.pk, organization_id=actor.organization.pk, name="eum"
        )
        return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    return issue


@pytest.fixture
def registry(personas):
    """Three of Donor A's missiles handed over 100 days ago (so delinquent) and one of Donor B's."""
    item = factories.item_type(personas, sensitive=True, marking=Marking.PUBLIC, code="ATGM-X")
    day = TODAY() - dt.timedelta(days=100)
    for donor, number in (("donor_editor", "A-1"), ("donor_editor", "A-2"), ("donor_editor", "A-3"), ("second_donor", "B-1")):
        eum.register_serial(
            actor=personas.recipient,
            donor=personas[donor].organization,
            fields={"item_type": item, "serial": number, "handover_date": day},
        )
    return item


def post(client: Client, path: str, body: dict, **headers) -> object:
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


@pytest.mark.django_db
def test_a_third_party_transfer_without_consent_is_a_409_problem_until_the_donor_consents(personas, registry, client_of):
    recipient, donor = client_of("recipient"), client_of("donor_editor")
    serial = Serial.objects.get(serial="A-1")
    transfer = {"kind": "third_party", "third_party": "Allied Army", "reason": "Joint defence"}
    refused = post(recipient, f"/api/v1/eum/serials/{serial.pk}/transfers", transfer)
    assert refused.status_code == 409 and refused["Content-Type"] == PROBLEM
    assert "consent is needed" in refused.json()["detail"]

    requested = post(recipient, f"/api/v1/eum/serials/{serial.pk}/consent-requests", transfer)
    assert requested.status_code == 201 and requested.json()["state"] == "requested"
    request_id = requested.json()["id"]
    assert post(client_of("second_donor"), f"/api/v1/eum/transfers/{request_id}/decision", {"consent": True}).status_code == 404
    refusal = post(donor, f"/api/v1/eum/transfers/{request_id}/decision", {"consent": False})
    assert refusal.status_code == 422 and "reason" in refusal.json()["errors"]
    consented = post(donor, f"/api/v1/eum/transfers/{request_id}/decision", {"consent": True})
    assert consented.status_code == 200 and consented.json()["state"] == "consented"

    done = post(recipient, f"/api/v1/eum/serials/{serial.pk}/transfers", transfer)
    assert done.status_code == 201 and done.json()["id"] == request_id and done.json()["state"] == "done"
    answer = recipient.get(f"/api/v1/eum/serials/{serial.pk}")
    assert answer.json()["status"] == "transferred" and answer.json()["due_on"] is None
    assert answer["ETag"] == f'"v{Serial.objects.get(pk=serial.pk).version}"'


@pytest.mark.django_db
def test_an_inventory_answers_what_it_expected_sighted_and_did_not_sight(personas, registry, client_of):
    auditor = client_of("auditor")
    body = {
        "conducted_on": TODAY().isoformat(),
        "method": "physical",
        "donor": "XDA",
        "sightings": [{"item_type": "ATGM-X", "serial": "A-1"}],
    }
    made = post(auditor, "/api/v1/eum/inventories", body, HTTP_IDEMPOTENCY_KEY="inv-1")
    assert made.status_code == 201, made.content
    answer = made.json()
    assert (answer["expected"], answer["sighted"]) == (3, 1)
    assert [row["serial"] for row in answer["not_sighted"]] == ["A-2", "A-3"]
    replay = post(auditor, "/api/v1/eum/inventories", body, HTTP_IDEMPOTENCY_KEY="inv-1")
    assert replay["Idempotent-Replayed"] == "true" and replay.json()["id"] == answer["id"]
    assert auditor.get(made["Location"]).json() == answer

    delinquent = auditor.get("/api/v1/eum/serials", {"delinquent": "true", "donor": "XDA"}).json()
    assert [row["serial"] for row in delinquent["items"]] == ["A-2", "A-3"]
    sighted = auditor.get("/api/v1/eum/serials", {"delinquent": "false", "donor": "XDA"}).json()["items"]
    assert [(row["serial"], row["due_on"]) for row in sighted] == [("A-1", (TODAY() + dt.timedelta(days=365)).isoformat())]

    due = auditor.get("/api/v1/eum/due", {"donor": "XDA"}).json()
    assert [row["serial"] for row in due["items"]] == ["A-2", "A-3"] and all(row["delinquent"] for row in due["items"])
    earlier = TODAY() - dt.timedelta(days=5)  # before the inventory: rebuilt from the sightings up to that day
    past = auditor.get("/api/v1/eum/due", {"donor": "XDA", "as_of": earlier.isoformat(), "page_size": 2}).json()
    assert past["count"] == 3 and [row["serial"] for row in past["items"]] == ["A-1", "A-2"]
    assert auditor.get("/api/v1/eum/due", {"donor": "XDA", "page": 2}).json()["items"] == []
    summary = auditor.get("/api/v1/eum/delinquency").json()
    assert (summary["held"]["count"], summary["delinquent"]["count"]) == (4, 3)
    assert summary["by"]["donor"]["XDA"]["count"] == 2


@pytest.mark.django_db
def test_every_bad_sighting_is_reported_at_once_and_nothing_is_written(personas, registry, client_of):
    body = {
        "conducted_on": TODAY().isoformat(),
        "method": "physical",
        "sightings": [
            {"item_type": "ATGM-X", "serial": "A-1"},
            {"item_type": "ATGM-X", "serial": "NOPE"},
            {"item_type": "ATGM-X", "serial": "A-1"},
        ],
    }
    refused = post(client_of("recipient"), "/api/v1/eum/inventories", body)
    assert refused.status_code == 422 and refused["Content-Type"] == PROBLEM
    assert set(refused.json()["errors"]) == {"sightings[1].serial", "sightings[2].serial"}
    assert Serial.objects.filter(last_sighted_on__isnull=False).count() == 0


@pytest.mark.django_db
def test_a_loss_is_reported_by_the_recipient_and_acknowledged_by_its_donor(personas, registry, client_of):
    serial = Serial.objects.get(serial="A-2")
    body = {"kind": "captured", "occurred_on": TODAY().isoformat(), "circumstances": "Position overrun."}
    assert post(client_of("donor_editor"), f"/api/v1/eum/serials/{serial.pk}/losses", body).status_code == 403
    reported = post(client_of("recipient"), f"/api/v1/eum/serials/{serial.pk}/losses", body)
    assert reported.status_code == 201
    serial.refresh_from_db()
    assert serial.status == SerialStatus.CAPTURED
    loss = reported.json()["id"]
    assert post(client_of("second_donor"), f"/api/v1/eum/losses/{loss}/acknowledge", {}).status_code == 404
    acknowledged = post(client_of("donor_editor"), f"/api/v1/eum/losses/{loss}/acknowledge", {"note": "Noted."})
    assert acknowledged.status_code == 200 and acknowledged.json()["acknowledged_on"] == TODAY().isoformat()
    again = post(client_of("donor_editor"), f"/api/v1/eum/losses/{loss}/acknowledge", {})
    assert again.status_code == 409 and again["Content-Type"] == PROBLEM


@pytest.mark.django_db
def test_a_donor_sees_its_own_serials_and_the_public_only_counts(personas, registry, client_of):
    listed = client_of("second_donor").get("/api/v1/eum/serials").json()
    assert [row["serial"] for row in listed["items"]] == ["B-1"]
    assert Client().get("/api/v1/eum/serials").json()["count"] == 0
    public = Client().get("/api/v1/eum/public")
    assert public.status_code == 200
    assert public.json() == [{"capability_area": "artillery", "name": "Artillery", "handed_over": 4, "held": 4, "lost": 0}]
    assert "A-1" not in public.content.decode()


@pytest.mark.django_db
def test_a_rule_set_over_the_api_moves_the_due_dates(personas, registry, client_of):
    answer = client_of("coordinator").put(
        "/api/v1/eum/rules",
        json.dumps({"item_type": "ATGM-X", "initial_days": 200, "interval_days": 365, "reason": "Test"}),
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    assert set(Serial.objects.values_list("due_on", flat=True)) == {TODAY() + dt.timedelta(days=100)}
    rules = client_of("recipient").get("/api/v1/eum/rules").json()["items"]
    assert [(rule["item_type"], rule["initial_days"]) for rule in rules] == [("ATGM-X", 200)]
    unknown = client_of("coordinator").put("/api/v1/eum/rules", json.dumps({"donor": "ZZZ"}), content_type="application/json")
    assert unknown.status_code == 422 and "donor" in unknown.json()["errors"]


def test_an_inventory_that_missed_many_serials_answers_without_a_parameter_per_serial(personas, registry, client_of):
    auditor = client_of("auditor")
    body = {"conducted_on": TODAY().isoformat(), "method": "physical", "donor": "XDA", "sightings": []}
    made = post(auditor, "/api/v1/eum/inventories", body, HTTP_IDEMPOTENCY_KEY="inv-many").json()
    # As if it had missed a hundred thousand more, no longer (or never) in the registry.
    Inventory.objects.filter(pk=made["id"]).update(not_sighted=[*made_ids(made), *range(10**7, 10**7 + 100_000)])
    with CaptureQueriesContext(connection) as queries:
        answer = auditor.get(f"/api/v1/eum/inventories/{made['id']}").json()
    assert [row["serial"] for row in answer["not_sighted"]] == ["A-1", "A-2", "A-3"]
    assert max(len(query["sql"]) for query in queries.captured_queries) < 20_000


def made_ids(answer: dict) -> list[int]:
    return [row["id"] for row in answer["not_sighted"]]

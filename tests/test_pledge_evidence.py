"""Evidence and irreversible steps: who removes a pledge's source (and when a reason is owed), and the steps a
page asks to confirm, with the reason withdrawal and expiry keep in the ledger; through pages, services and API."""

import json

import pytest

from tests import factories
from umbrella.core.errors import Forbidden, Invalid
from umbrella.core.models import ChangeRecord
from umbrella.core.testing import PERSONA_NAMES
from umbrella.core.verify import verify
from umbrella.orgs.services import issue_token
from umbrella.pledges import services as pledges
from umbrella.pledges.models import PledgeSource, PledgeState


@pytest.fixture
def evidence(personas):
    """A pledge (coordination marking) with a donor-confirmed source from the donor, one from the recipient and one
    from the headquarters."""
    pledge = factories.pledge(personas)
    donor_source = pledges.add_pledge_source(
        actor=personas.donor_editor,
        pledge_id=pledge.pk,
        fields=factories.source(kind="donor-confirmed", url="https://example.invalid/donor-letter"),
    )
    recipient_source = pledges.add_pledge_source(
        actor=personas.recipient,
        pledge_id=pledge.pk,
        fields=factories.source(kind="recipient-confirmed", url="https://example.invalid/recipient-note"),
    )
    hq_source = pledges.add_pledge_source(
        actor=personas.coordinator,
        pledge_id=pledge.pk,
        fields=factories.source(kind="media", url="https://example.invalid/press"),
    )
    return {"pledge": pledge, "donor": donor_source, "recipient": recipient_source, "hq": hq_source}


def entries_since(count: int) -> list[ChangeRecord]:
    return list(ChangeRecord.objects.filter(sequence__gt=count).order_by("sequence"))


# Removing the donor's own donor-confirmed source, as each persona: 302 done, 400 asked for a reason first,
# 403 refused, 404 not seen, anonymous sent to sign in.
DONOR_SOURCE_REMOVAL = {
    "donor_editor": 302,
    "donor_viewer": 403,
    "second_donor": 404,
    "recipient": 403,
    "coordinator": 400,
    "hq_admin": 400,
    "auditor": 403,
    "observer": 404,
    "anonymous": 302,
}


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONA_NAMES)
def test_a_donors_source_is_removed_by_the_donor_or_by_coordination_staff_giving_a_reason(persona, personas, evidence, as_client):
    source = evidence["donor"]
    client = as_client(persona)
    expected = DONOR_SOURCE_REMOVAL[persona]
    page = client.get(f"/pledges/{evidence['pledge'].pk}/")
    if page.status_code == 200:
        shows_remove = f"/pledges/sources/{source.pk}/delete/" in page.content.decode()
        assert shows_remove == (expected in (302, 400) and persona != "anonymous")
    before = ChangeRecord.objects.count()
    response = client.post(f"/pledges/sources/{source.pk}/delete/", {"reason": ""})
    assert response.status_code == expected
    if persona == "anonymous":
        assert response["Location"].startswith("/sign-in/")
    assert PledgeSource.objects.filter(pk=source.pk).exists() == (expected != 302 or persona == "anonymous")
    if expected == 400:
        assert "Give a reason" in response.content.decode() or "This field is required" in response.content.decode()
        assert ChangeRecord.objects.count() == before
        response = client.post(f"/pledges/sources/{source.pk}/delete/", {"reason": "Duplicate of the ministry's release"})
        assert response.status_code == 302 and not PledgeSource.objects.filter(pk=source.pk).exists()
        reason_entry, deletion = entries_since(before)
        assert (reason_entry.action, reason_entry.after["removal_reason"]) == ("update", "Duplicate of the ministry's release")
        assert (deletion.action, deletion.entity_id) == ("delete", str(source.pk))
        assert verify().ok
    elif expected == 302 and persona != "anonymous":
        assert [e.action for e in entries_since(before)] == ["delete"]


@pytest.mark.django_db
def test_the_recipient_removes_only_its_own_source(personas, evidence, as_client):
    client = as_client("recipient")
    page = client.get(f"/pledges/{evidence['pledge'].pk}/").content.decode()
    assert f"/pledges/sources/{evidence['recipient'].pk}/delete/" in page
    for other in ("donor", "hq"):
        assert f"/pledges/sources/{evidence[other].pk}/delete/" not in page
        assert client.get(f"/pledges/sources/{evidence[other].pk}/delete/").status_code == 403
    confirm = client.get(f"/pledges/sources/{evidence['recipient'].pk}/delete/")
    assert confirm.status_code == 200 and 'method="post"' in confirm.content.decode()
    assert client.post(f"/pledges/sources/{evidence['recipient'].pk}/delete/", {"reason": ""}).status_code == 302
    assert not PledgeSource.objects.filter(pk=evidence["recipient"].pk).exists()


@pytest.mark.django_db
def test_source_removal_rules_in_the_service(personas, evidence):
    with pytest.raises(Forbidden):
        pledges.delete_pledge_source(actor=personas.recipient, source_id=evidence["donor"].pk, reason="Looks wrong")
    with pytest.raises(Forbidden):
        pledges.delete_pledge_source(actor=personas.donor_editor, source_id=evidence["recipient"].pk, reason="Looks wrong")
    for reason in (None, "  "):
        with pytest.raises(Invalid) as refused:
            pledges.delete_pledge_source(actor=personas.coordinator, source_id=evidence["donor"].pk, reason=reason)
        assert set(refused.value.field_errors) == {"reason"}
    pledges.delete_pledge_source(actor=personas.coordinator, source_id=evidence["hq"].pk)  # its own: no reason owed
    pledges.delete_pledge_source(actor=personas.coordinator, source_id=evidence["recipient"].pk, reason="Superseded")
    assert list(PledgeSource.objects.filter(pledge=evidence["pledge"]).order_by("pk")) == [
        evidence["pledge"].sources.first(),
        evidence["donor"],
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "step, persona, prior, extra",
    [
        ("accept", "coordinator", ("offer",), {}),
        ("withdraw", "donor_editor", ("offer",), {"reason": "Stocks needed at home"}),
        ("expire", "coordinator", ("offer",), {"reason": "Not taken up in time"}),
        ("deliver", "recipient", ("offer", "accept", "allocate", "ship"), {"quantity_delivered": "4"}),
        ("hand_over", "recipient", ("offer", "accept", "allocate", "ship", "deliver"), {}),
    ],
)
def test_irreversible_steps_are_confirmed_on_a_page_of_their_own(step, persona, prior, extra, personas, as_client):
    pledge = factories.advance(personas, factories.pledge(personas), *prior)
    client = as_client(persona)
    detail = client.get(f"/pledges/{pledge.pk}/").content.decode()
    step_url = f"/pledges/{pledge.pk}/{step}/"
    assert f'href="{step_url}"' in detail and f'action="{step_url}"' not in detail
    confirm = client.get(step_url)
    body = confirm.content.decode()
    assert confirm.status_code == 200 and 'method="post"' in body
    assert ('name="reason"' in body) == ("reason" in extra) and ('name="quantity_delivered"' in body) == (step == "deliver")
    pledge.refresh_from_db()
    assert client.post(step_url, {"version": pledge.version, **extra}).status_code == 302
    pledge.refresh_from_db()
    assert (
        pledge.state
        == {
            "accept": PledgeState.ACCEPTED,
            "withdraw": PledgeState.WITHDRAWN,
            "expire": PledgeState.EXPIRED,
            "deliver": PledgeState.DELIVERED,
            "hand_over": PledgeState.HANDED_OVER,
        }[step]
    )
    if "reason" in extra:
        assert pledge.closing_reason == extra["reason"]
        assert (
            ChangeRecord.objects.order_by("-sequence").filter(entity="pledges.pledge").first().after["closing_reason"]
            == extra["reason"]
        )
        assert extra["reason"] in client.get(f"/pledges/{pledge.pk}/").content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("step, persona", [("withdraw", "donor_editor"), ("expire", "coordinator")])
def test_a_closing_step_without_a_reason_is_shown_back_and_changes_nothing(step, persona, personas, as_client):
    pledge = factories.advance(personas, factories.pledge(personas), "offer")
    before = ChangeRecord.objects.count()
    response = as_client(persona).post(f"/pledges/{pledge.pk}/{step}/", {"version": pledge.version, "reason": "   "})
    assert response.status_code == 400 and 'name="reason"' in response.content.decode()
    pledge.refresh_from_db()
    assert pledge.state == PledgeState.OFFERED and ChangeRecord.objects.count() == before


@pytest.mark.django_db
def test_a_stale_confirmation_is_shown_on_its_page_and_changes_nothing(personas, as_client):
    pledge = factories.advance(personas, factories.pledge(personas), "offer")
    pledges.update_pledge(
        actor=personas.donor_editor, pledge_id=pledge.pk, expected_version=pledge.version, changes={"notes": "Revised"}
    )
    response = as_client("donor_editor").post(
        f"/pledges/{pledge.pk}/withdraw/", {"version": pledge.version, "reason": "Needed at home"}
    )
    assert response.status_code == 400 and "changed by someone else" in response.content.decode()
    pledge.refresh_from_db()
    assert pledge.state == PledgeState.OFFERED


@pytest.mark.django_db
def test_a_step_page_is_refused_to_a_party_who_may_not_take_it(personas, as_client):
    pledge = factories.advance(personas, factories.pledge(personas), "offer")
    assert as_client("recipient").get(f"/pledges/{pledge.pk}/withdraw/").status_code == 403
    assert as_client("donor_editor").get(f"/pledges/{pledge.pk}/accept/").status_code == 403
    assert as_client("second_donor").get(f"/pledges/{pledge.pk}/withdraw/").status_code == 404


@pytest.fixture
def api_as(personas):
    from django.test import Client

    from umbrella.core.access import Actor

    def client(persona: str) -> Client:
        actor = personas[persona]
        _, secret = issue_token(
            actor=Actor.system("tests"), user_id=actor.user.pk, organization_id=actor.organization.pk, name="evidence"
        )
        return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    return client


@pytest.mark.django_db
def test_the_api_withdraws_only_with_a_reason_and_shows_it(personas, api_as):
    pledge = factories.advance(personas, factories.pledge(personas), "offer")
    donor = api_as("donor_editor")
    url = f"/api/v1/pledges/{pledge.pk}/steps/withdraw"
    refused = donor.post(url, json.dumps({}), content_type="application/json", HTTP_IF_MATCH=f'"v{pledge.version}"')
    assert refused.status_code == 422 and refused["Content-Type"] == "application/problem+json"
    assert set(refused.json()["errors"]) == {"reason"}
    done = donor.post(
        url,
        json.dumps({"reason": "Stocks needed at home"}),
        content_type="application/json",
        HTTP_IF_MATCH=f'"v{pledge.version}"',
    )
    assert done.status_code == 200
    assert (done.json()["state"], done.json()["closing_reason"]) == ("withdrawn", "Stocks needed at home")


@pytest.mark.django_db
def test_the_api_removes_anothers_source_only_for_coordination_staff_giving_a_reason(personas, evidence, api_as):
    url = f"/api/v1/sources/{evidence['donor'].pk}"
    assert api_as("recipient").delete(f"{url}?reason=Wrong").status_code == 403
    refused = api_as("coordinator").delete(url)
    assert refused.status_code == 422 and set(refused.json()["errors"]) == {"reason"}
    assert api_as("coordinator").delete(f"{url}?reason=Duplicate").status_code == 204
    listed = api_as("donor_editor").get(f"/api/v1/pledges/{evidence['pledge'].pk}/sources").json()
    assert {s["added_by"] for s in listed} == {"XDA", "XUA", "XHQ"}

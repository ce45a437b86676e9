"""The ledger entries API shows a person only to those who may know them: who made a change to coordination
staff and that person's own organization; an entry about a user account to coordination staff and the user's
organizations; an e-mail address to nobody."""

from __future__ import annotations

import pytest
from django.test import Client

from tests import factories
from umbrella.core.access import Actor, Role
from umbrella.core.models import ChangeRecord
from umbrella.orgs import services as orgs
from umbrella.orgs.services import issue_token

EMAIL = "quartermaster@example.org"


@pytest.fixture
def reader(personas):
    def client_for(name: str) -> Client:
        if name == "anonymous":
            return Client()
        actor = personas[name]
        _, secret = issue_token(
            actor=Actor.system("tests"), user_id=actor.user.pk, organization_id=actor.organization.pk, name="people"
        )
        return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    return client_for


def _entry(client: Client, sequence: int) -> dict:
    response = client.get(f"/api/v1/ledger/entries/{sequence}")
    assert response.status_code == 200
    return response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "persona, sees_username",
    [
        ("donor_editor", True),
        ("donor_viewer", True),
        ("coordinator", True),
        ("auditor", True),
        ("second_donor", False),
        ("recipient", False),
        ("observer", False),
    ],
)
def test_who_made_a_change_is_named_only_to_their_organization_and_coordination_staff(personas, reader, persona, sees_username):
    pledge = factories.pledge(personas, marking="participants")
    sequence = ChangeRecord.objects.get(entity="pledges.pledge", entity_id=str(pledge.pk), action="create").sequence
    entry = _entry(reader(persona), sequence)
    assert entry["redacted"] is False and entry["after"]["quantity"] == pledge.quantity
    assert entry["actor_organization"] == personas.donor_editor.organization.name
    if sees_username:
        assert entry["actor_user"] == "alice" and "actor_user" not in entry["withheld"]
    else:
        assert entry["actor_user"] is None and entry["withheld"] == ["actor_user"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "persona, reads_account",
    [
        ("coordinator", True),
        ("auditor", True),
        ("donor_viewer", True),  # the HQ, and the user's own organization
        ("second_donor", False),
        ("recipient", False),
        ("observer", False),
        ("anonymous", False),
    ],
)
def test_an_account_is_read_by_coordination_and_its_own_organization_never_with_its_email(
    personas, reader, persona, reads_account
):
    system = Actor.system("tests")
    user = orgs.create_user(
        actor=system, username="quartermaster", password="a long enough password", email=EMAIL, full_name="Quinn Master"
    )
    orgs.set_membership(actor=system, user_id=user.pk, organization_id=personas.donor_editor.organization.pk, role=Role.VIEWER)
    sequence = ChangeRecord.objects.get(entity="auth.user", entity_id=str(user.pk), action="create").sequence
    entry = _entry(reader(persona), sequence)
    if reads_account:
        assert entry["redacted"] is False and entry["after"]["username"] == "quartermaster"
        assert "email" not in entry["after"] and "after.email" in entry["withheld"]
    else:
        assert entry["redacted"] is True and entry["after"] is None and entry["actor_user"] is None


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["coordinator", "hq_admin", "donor_viewer", "second_donor", "anonymous"])
def test_no_page_of_ledger_entries_holds_an_email_address(personas, reader, persona):
    orgs.create_user(actor=Actor.system("tests"), username="quartermaster", password="a long enough password", email=EMAIL)
    client, after = reader(persona), 0
    while after is not None:
        response = client.get("/api/v1/ledger/entries", {"after": after, "limit": 1000})
        assert response.status_code == 200 and EMAIL not in response.content.decode()
        after = response.json()["next_after"]

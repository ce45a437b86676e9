import pytest

from tests import factories
from umbrella.core.access import Marking, get_visible
from umbrella.core.errors import NotFound
from umbrella.core.testing import PERSONA_NAMES
from umbrella.pledges.models import Pledge, PledgeSource

EVERY_MEMBER = {name for name in PERSONA_NAMES if name != "anonymous"}
WHO_SEES = {
    Marking.OWNER: {"donor_editor", "donor_viewer"},
    Marking.COORDINATION: {"donor_editor", "donor_viewer", "coordinator", "hq_admin", "auditor", "recipient"},
    Marking.PARTICIPANTS: EVERY_MEMBER,
    Marking.PUBLIC: set(PERSONA_NAMES),
}


@pytest.mark.django_db
@pytest.mark.parametrize("marking", list(WHO_SEES))
def test_a_pledge_is_seen_by_exactly_the_organizations_its_marking_releases_it_to(personas, marking):
    pledge = factories.pledge(personas, marking=marking)
    seen_by = {name for name in PERSONA_NAMES if Pledge.objects.visible_to(personas[name]).filter(pk=pledge.pk).exists()}
    assert seen_by == WHO_SEES[marking]
    sources_seen_by = {
        name for name in PERSONA_NAMES if PledgeSource.objects.visible_to(personas[name]).filter(pledge=pledge).exists()
    }
    assert sources_seen_by == WHO_SEES[marking]


@pytest.mark.django_db
def test_an_invisible_record_is_not_found_exactly_like_a_missing_one(personas):
    pledge = factories.pledge(personas, marking=Marking.OWNER)
    with pytest.raises(NotFound) as hidden:
        get_visible(Pledge.objects.all(), personas.second_donor, pk=pledge.pk)
    with pytest.raises(NotFound) as missing:
        get_visible(Pledge.objects.all(), personas.second_donor, pk=pledge.pk + 10_000)
    assert hidden.value.message == missing.value.message


@pytest.mark.django_db
def test_a_denied_attempt_is_logged_and_a_probe_for_a_button_is_not(personas, caplog):
    from umbrella.catalog import services as catalog
    from umbrella.core.access import allowed
    from umbrella.core.errors import Forbidden

    caplog.set_level("WARNING", logger="umbrella.access")
    assert not allowed(catalog.require_catalog_editor, personas.donor_editor)
    assert not caplog.records
    with pytest.raises(Forbidden):
        catalog.create_item_type(actor=personas.donor_editor, fields={"code": "X", "name": "x"})
    assert any("denied alice@XDA" in record.getMessage() for record in caplog.records)


@pytest.mark.django_db
def test_no_password_or_token_secret_reaches_the_logs(personas, client, caplog):
    from umbrella.core.access import Actor
    from umbrella.orgs.services import issue_token

    caplog.set_level("DEBUG")
    client.post("/sign-in/", {"username": "alice", "password": "a-secret-password-typo"})
    _, secret = issue_token(
        actor=Actor.system("tests"),
        user_id=personas.donor_editor.user.pk,
        organization_id=personas.donor_editor.organization.pk,
        name="t",
    )
    client.get("/api/v1/pledges", HTTP_AUTHORIZATION=f"Bearer {secret}x")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "refused sign-in for 'alice'" in logged
    assert "a-secret-password-typo" not in logged and secret not in logged


def test_cookies_are_https_only_and_a_csp_is_sent_outside_debug():
    import umbrella.settings as production

    assert not production.DEBUG
    assert production.SESSION_COOKIE_SECURE and production.CSRF_COOKIE_SECURE and production.SESSION_COOKIE_HTTPONLY
    assert "csp.middleware.CSPMiddleware" in production.MIDDLEWARE


@pytest.mark.django_db
def test_the_public_reads_which_organization_changed_a_record_but_not_which_person(personas, client, as_client):
    pledge = factories.pledge(personas, marking=Marking.PUBLIC)
    username, organization = personas.donor_editor.user.username, personas.donor_editor.organization.name
    public = client.get(f"/pledges/{pledge.pk}/").content.decode()
    history = public[public.index('class="history"') :]
    assert organization in history and username not in history
    member = as_client("observer").get(f"/pledges/{pledge.pk}/").content.decode()
    assert f"{username} ({organization})" in member[member.index('class="history"') :]

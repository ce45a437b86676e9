"""The admin pages read through the same rule as every other page, and never change an account by hand."""

import pytest

from tests import factories
from umbrella.core.access import Actor, Marking
from umbrella.core.models import ChangeRecord
from umbrella.orgs.services import set_user_flags

HIDDEN = Marking.OWNER  # another nation's owner-only records: not for the headquarters


@pytest.fixture
def hq_admin(personas, client):
    """The HQ administrator, made staff (and superuser, which widens nothing) through the service."""
    user = set_user_flags(actor=Actor.system("tests"), user_id=personas.hq_admin.user.pk, is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def listed(client, url: str) -> set:
    response = client.get(url)
    assert response.status_code == 200
    return set(response.context["cl"].queryset.values_list("pk", flat=True))


def entries_about(*records) -> set[int]:
    return {
        entry.sequence
        for record in records
        for entry in ChangeRecord.objects.filter(entity=record._meta.label_lower, entity_id=str(record.pk))
    }


@pytest.mark.django_db
def test_another_nations_owner_only_pledge_its_sources_and_entries_are_missing_from_the_admin(personas, hq_admin):
    hidden, shown = factories.pledge(personas, marking=HIDDEN), factories.pledge(personas, marking=Marking.COORDINATION)
    hidden_source, shown_source = hidden.sources.get(), shown.sources.get()

    pledges = listed(hq_admin, "/admin/pledges/pledge/")
    assert shown.pk in pledges and hidden.pk not in pledges
    sources = listed(hq_admin, "/admin/pledges/pledgesource/")
    assert shown_source.pk in sources and hidden_source.pk not in sources
    entries = listed(hq_admin, "/admin/core/changerecord/")
    assert entries_about(shown, shown_source) <= entries and not entries_about(hidden, hidden_source) & entries

    for url in (
        f"/admin/pledges/pledge/{hidden.pk}/change/",
        f"/admin/pledges/pledgesource/{hidden_source.pk}/change/",
        *(f"/admin/core/changerecord/{sequence}/change/" for sequence in entries_about(hidden, hidden_source)),
    ):
        assert hq_admin.get(url).status_code == 404, url
    for url in (
        f"/admin/pledges/pledge/{shown.pk}/change/",
        f"/admin/pledges/pledgesource/{shown_source.pk}/change/",
        *(f"/admin/core/changerecord/{sequence}/change/" for sequence in entries_about(shown, shown_source)),
    ):
        assert hq_admin.get(url).status_code == 200, url


@pytest.mark.django_db
def test_the_owner_still_sees_its_owner_only_pledge_in_the_admin(personas, client):
    hidden = factories.pledge(personas, marking=HIDDEN)
    client.force_login(set_user_flags(actor=Actor.system("tests"), user_id=personas.donor_editor.user.pk, is_staff=True))
    assert hidden.pk in listed(client, "/admin/pledges/pledge/")
    assert client.get(f"/admin/pledges/pledge/{hidden.pk}/change/").status_code == 200


@pytest.mark.django_db
def test_the_requirement_filter_names_no_list_the_reader_may_not_see(personas, hq_admin, client):
    hidden = factories.requirement_list(personas, marking=HIDDEN)
    shown = factories.requirement_list(personas, marking=Marking.PARTICIPANTS)
    page = hq_admin.get("/admin/needs/requirement/").content.decode()
    assert shown.title in page and hidden.title not in page


@pytest.mark.django_db
def test_accounts_are_read_only_in_the_admin_and_their_password_hash_is_not_shown(personas, hq_admin):
    user = personas.donor_editor.user
    assert hq_admin.get("/admin/auth/user/add/").status_code == 403
    page = hq_admin.get(f"/admin/auth/user/{user.pk}/change/")
    assert page.status_code == 200 and user.password not in page.content.decode()
    response = hq_admin.post(f"/admin/auth/user/{user.pk}/change/", {"username": user.username, "is_superuser": "on"})
    assert response.status_code == 403
    user.refresh_from_db()
    assert not user.is_superuser
    assert hq_admin.get("/admin/auth/group/").status_code == 404


@pytest.mark.django_db
def test_a_donors_staff_member_reads_only_their_own_account_in_the_admin(personas, client):
    user = set_user_flags(actor=Actor.system("tests"), user_id=personas.donor_editor.user.pk, is_staff=True)
    client.force_login(user)
    assert listed(client, "/admin/auth/user/") == {user.pk}
    assert client.get(f"/admin/auth/user/{personas.hq_admin.user.pk}/change/").status_code == 404


@pytest.mark.django_db
def test_headquarters_staff_read_every_account(personas, hq_admin):
    assert {actor.user.pk for actor in personas.actors.values() if actor.user is not None} <= listed(
        hq_admin, "/admin/auth/user/"
    )

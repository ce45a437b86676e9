"""What every page has and small things people notice: a title naming the page, the site's own icon, an empty
list that says what to do, an NSN found as it is displayed, and an admin that says "not allowed" to a person
signed in without admin rights."""

import re
from pathlib import Path

import pytest
from django.test import Client

from tests import factories
from tests.test_dashboards import build
from umbrella.catalog.models import ItemType
from umbrella.core.access import Actor, allowed
from umbrella.core.testing import PERSONA_NAMES
from umbrella.orgs.services import issue_token
from umbrella.scenarios import services as scenarios
from umbrella.scenarios.models import WithdrawalScenario

LISTS = [
    "/",
    "/requirements/",
    "/pledges/",
    "/catalog/",
    "/funding/",
    "/funding/fair-share/",
    "/history/donors/",
    "/matching/",
    "/matching/allocations/",
    "/scenarios/",
    "/scenarios/compare/",
    "/import/",
    "/sign-in/",
]
FORMS = ["/requirements/new/", "/pledges/new/", "/catalog/new/", "/funding/new/", "/matching/new/", "/scenarios/new/"]
SITE_NAME = "Umbrella"


def api_client(actor) -> Client:
    _, secret = issue_token(actor=Actor.system("tests"), user_id=actor.user.pk, organization_id=actor.organization.pk, name="t")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def title_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.search(r"<title>(.*?)</title>", html, re.S).group(1)).strip()


def first_record_link(html: str) -> str | None:
    table = html[html.index('<table class="list"') :] if '<table class="list"' in html else ""
    found = re.search(r'<td><a href="(/[^"]+/\d+/)">', table)
    return found.group(1) if found else None


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONA_NAMES)
def test_every_page_a_person_opens_has_a_title_naming_it(as_client, personas, persona):
    build(personas)
    client = as_client(persona)
    opened = {}
    for url in LISTS + FORMS:
        response = client.get(url)
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            html = response.content.decode()
            opened[url] = title_of(html)
            detail = first_record_link(html)
            if detail:
                opened[detail] = title_of(client.get(detail).content.decode())
    assert len(opened) >= 8, opened
    for url, title in opened.items():
        page_name = title.removesuffix(f"· {SITE_NAME}").strip()
        assert page_name and page_name != SITE_NAME, (url, title)


@pytest.mark.django_db
def test_the_site_serves_its_own_icon_and_every_page_links_it(client):
    html = client.get("/sign-in/").content.decode()
    icon = re.search(r'<link rel="icon" href="([^"]+)"', html).group(1)
    redirect = client.get("/favicon.ico")
    assert redirect.status_code == 302 and redirect["Location"] == icon
    served = client.get(icon)
    assert served.status_code == 200 and b"<svg" in b"".join(served.streaming_content)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["coordinator", "hq_admin", "auditor", "donor_editor", "observer"])
def test_an_empty_scenario_list_says_what_to_do_and_links_the_form_only_for_those_who_may_create(as_client, personas, persona):
    assert not WithdrawalScenario.objects.visible_to(personas[persona]).exists()
    html = as_client(persona).get("/scenarios/").content.decode()
    may_create = allowed(scenarios.require_planner, personas[persona])
    # who cannot work on scenarios is told who does: "none yet" would read as "none at all"
    assert ("No scenarios yet." in html) == may_create
    assert ("Withdrawal scenarios are worked on by coordination staff" in html) == (not may_create)
    assert ('— <a href="/scenarios/new/">New scenario</a>' in html) == may_create
    assert may_create == (persona in {"coordinator", "hq_admin"})
    narrowed = as_client(persona).get("/scenarios/?q=nothing").content.decode()
    assert "Nothing matches." in narrowed and "No scenarios yet." not in narrowed


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(set(PERSONA_NAMES) - {"anonymous"}))
def test_an_nsn_searched_as_displayed_finds_the_item_on_the_page_and_in_the_api(as_client, personas, persona):
    item = factories.item_type(personas, nsn="1410015636867", name="Javelin missile")
    factories.item_type(personas, nsn="1005013372929", name="Rifle")
    visible = ItemType.objects.visible_to(personas[persona])
    expected = {item.code} if visible.filter(pk=item.pk).exists() else set()
    client, api = as_client(persona), api_client(personas[persona])
    for typed in ("1410-01-563-6867", "1410 01 563 6867", "1410-01-563"):
        page = client.get("/catalog/", {"q": typed}).content.decode()
        shown = {code for code in visible.values_list("code", flat=True) if f">{code}<" in page}
        assert shown == expected, typed
        answer = api.get("/api/v1/item-types", {"q": typed}).json()
        assert {row["code"] for row in answer["items"]} == expected, typed


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["donor_editor", "donor_viewer", "auditor", "observer", "recipient"])
def test_the_admin_tells_a_signed_in_person_without_admin_rights_not_allowed(as_client, persona):
    client = as_client(persona)
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    html = response.content.decode()
    assert "Not allowed" in html and 'name="password"' not in html


@pytest.mark.django_db
def test_the_admin_still_offers_its_sign_in_to_someone_not_signed_in(client):
    response = client.get("/admin/", follow=True)
    assert response.status_code == 200 and 'name="password"' in response.content.decode()


def test_every_table_in_every_template_scrolls_in_its_own_box():
    """A table wider than a phone scrolls inside its box instead of widening the page (the phone journey checks
    the pages it visits; this checks every template, so a new table cannot forget it)."""
    root = Path(__file__).resolve().parents[1] / "src" / "umbrella"
    bare = [
        f"{template.relative_to(root)}:{number}"
        for template in sorted(root.rglob("templates/**/*.html"))
        for number, line in enumerate(template.read_text().splitlines(), start=1)
        if re.search(r'(?<!<div class="scroll">)<table[ >]', line)
    ]
    assert bare == [], 'wrap these in <div class="scroll">: ' + ", ".join(bare)

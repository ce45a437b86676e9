"""The header follows the person: read-only people get no Import and no link to an empty Matching, Allocations or
Scenarios page; the same links sit in the phone menu (a <details> that needs no script)."""

import re

import pytest
from django.urls import reverse

from tests.test_dashboards import build
from umbrella.core.imports import REGISTRY
from umbrella.matching.models import Allocation, MatchRun
from umbrella.web.context import may_import

OPTIONAL = {"/matching/": "Matching", "/matching/allocations/": "Allocations", "/scenarios/": "Scenarios", "/import/": "Import"}


def nav_links(html: str, opening: str) -> dict[str, str]:
    block = html[html.index(opening) :]
    block = block[: block.index("</nav>")]
    return {href: text for href, text in re.findall(r'<a href="([^"]+)">([^<]+)</a>', block)}


def optional_links(client) -> set[str]:
    html = client.get("/catalog/").content.decode()
    wide = nav_links(html, '<nav class="wide"')
    assert nav_links(html, '<details class="menu">') == wide  # the phone menu reaches every link
    return {OPTIONAL[href] for href in wide if href in OPTIONAL}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "persona, expected",
    [
        ("coordinator", {"Matching", "Allocations", "Scenarios", "Import"}),
        ("hq_admin", {"Matching", "Allocations", "Scenarios", "Import"}),
        ("donor_editor", {"Import"}),
        ("second_donor", {"Import"}),
        ("recipient", {"Import"}),
        ("donor_viewer", set()),
        ("auditor", set()),
        ("observer", set()),
        ("anonymous", set()),
    ],
)
def test_with_nothing_matched_yet_only_those_who_can_act_see_matching_scenarios_and_import(
    as_client, personas, persona, expected
):
    assert optional_links(as_client(persona)) == expected
    assert (
        ("Import" in expected)
        == may_import(personas[persona])
        == any(
            importer.required_role and personas[persona].is_member and personas[persona].has_role(importer.required_role)
            for importer in REGISTRY.values()
            if importer.on_import_page  # the page's Import entry: not sightings, which go into an inventory
        )
    )


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["auditor", "donor_editor", "donor_viewer", "observer", "recipient"])
def test_read_only_people_see_matching_and_allocations_once_there_is_something_to_read(as_client, personas, persona):
    build(personas)
    links = optional_links(as_client(persona))
    assert ("Matching" in links) == MatchRun.objects.visible_to(personas[persona]).exists()
    assert ("Allocations" in links) == Allocation.objects.visible_to(personas[persona]).exists()
    assert "Scenarios" not in links
    assert ("Import" in links) == (persona in {"donor_editor", "recipient"})


READ_ONLY = ["auditor", "observer", "donor_viewer"]
PAGES = [
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
]


def actions_in_main(html: str) -> list[str]:
    """Buttons and forms that change something, in the page's main part (the header's language and sign-out aside)."""
    main = html[html.index('<main id="main">') :]
    links = re.findall(r'<a class="button[^"]*" href="[^"]+">[^<]+</a>', main)
    posted = [
        form
        for form in re.findall(r'<form[^>]*method="post".*?</form>', main, re.S)
        if "<button" in form or 'type="submit"' in form
    ]
    return links + posted


@pytest.mark.django_db
@pytest.mark.parametrize("persona", READ_ONLY)
def test_read_only_people_are_offered_no_button_that_would_be_refused(as_client, personas, persona):
    build(personas)
    client = as_client(persona)
    opened = 0
    for url in PAGES:
        response = client.get(url)
        if response.status_code != 200:
            continue
        html = response.content.decode()
        opened += 1
        assert actions_in_main(html) == [], url
        detail = re.search(r'<td><a href="(/[^"]+/\d+/)">', html)
        if detail:
            assert actions_in_main(client.get(detail.group(1)).content.decode()) == [], detail.group(1)
    assert opened >= 7


LESS_USED = ["hub-board", "scenarios", "import", "ledger", "admin:index"]


def more_block(html: str) -> str:
    wide = html[html.index('<nav class="wide"') :]
    wide = wide[: wide.index("</nav>")]
    return wide[wide.index('<details class="more">') : wide.index("</details>")] if '<details class="more">' in wide else ""


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["coordinator", "hq_admin", "recipient", "donor_viewer", "anonymous"])
def test_the_wide_header_keeps_the_less_used_links_under_more_and_the_phone_menu_lists_them_all(as_client, personas, persona):
    build(personas)
    html = as_client(persona).get("/catalog/").content.decode()
    wide = nav_links(html, '<nav class="wide"')
    menu = html[html.index('<details class="menu">') :]
    assert '<details class="more">' not in menu[: menu.index("</nav>")]  # a phone's menu is one flat list
    more = {href for href, _ in re.findall(r'<a href="([^"]+)">([^<]+)</a>', more_block(html))}
    names = LESS_USED + (["aid-packages"] if persona != "anonymous" else [])  # the public's header has room for it
    less_used = {reverse(name) for name in names} & set(wide)
    assert more == less_used  # every less-used link, and only those, under More
    assert ("<summary>More</summary>" in html) == bool(less_used)  # no empty More for someone with none
    if persona == "coordinator":
        assert {"/import/", "/ledger/", "/scenarios/"} <= more

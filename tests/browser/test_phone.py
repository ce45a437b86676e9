"""A phone (390 × 844) in Chromium: for each persona, every main page fits the screen (no sideways scroll of the
page; wide tables and charts scroll inside their own boxes), chart labels stay legible, and the navigation folds
into a menu that opens and reaches every link."""

from urllib.parse import urlparse

import pytest

from tests.browser.conftest import screenshot, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.one_leg("layout in the browser, the same HTML and CSS on either engine; the journeys run on both legs"),
]

PHONE = {"width": 390, "height": 844}
PERSONAS = ["hq-staff", "hq-auditor", "ukr-logistics", "deu-liaison", "deu-viewer", "obs-analyst"]
SMALLEST_LABEL_PX = 11
# The narrowest chart label, in CSS pixels as drawn: its font size times the SVG's scale on the screen.
SMALLEST_CHART_TEXT = """() => Math.min(Infinity, ...[...document.querySelectorAll('figure.chart svg')].flatMap(svg => {
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    return [...svg.querySelectorAll('text')].map(text => parseFloat(getComputedStyle(text).fontSize) * scale);
}))"""
PAGE_OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
# The outermost elements sticking out past the right edge, to name the culprit when a page does not fit.
STICKING_OUT = """() => { const edge = document.documentElement.clientWidth + 1;
    return [...document.body.querySelectorAll('*')].filter(element => element.getBoundingClientRect().right > edge
        && element.parentElement.getBoundingClientRect().right <= edge)
            .slice(0, 5).map(element => element.outerHTML.slice(0, 200)); }"""


@pytest.fixture
def phone(browser, server):
    context = browser.new_context(base_url=server["base"], viewport=PHONE, is_mobile=True, has_touch=True)
    opened = context.new_page()
    yield opened
    context.close()


def menu_links(phone) -> list[str]:
    """Opens the menu and returns where its links go, checking each one shows on the screen."""
    menu = phone.locator("header details.menu")
    assert phone.locator("header nav.wide").is_hidden()
    assert menu.locator("summary").is_visible()
    assert not menu.locator("nav a").first.is_visible()  # folded until opened
    menu.locator("summary").click()
    links = menu.locator("nav a")
    hrefs = []
    for index in range(links.count()):
        link = links.nth(index)
        link.scroll_into_view_if_needed()
        assert link.is_visible()
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], link.inner_text()
        hrefs.append(link.get_attribute("href"))
    assert hrefs == [
        phone.locator("header nav.wide a").nth(i).get_attribute("href") for i in range(phone.locator("header nav.wide a").count())
    ]
    return hrefs


def pages_beyond(phone, url: str) -> list[str]:
    """From a list: its first record and its create form (when the person may create)."""
    found = []
    record = phone.locator("table.list tbody td a").first
    if record.count():
        found.append(record.get_attribute("href"))
    create = phone.locator(".heading a.button").first
    if create.count():
        found.append(create.get_attribute("href"))
    return [urlparse(href).path for href in found if href.startswith("/")]


def assert_fits(phone, url: str) -> None:
    response = phone.goto(url)
    assert response.status == 200, url
    assert phone.evaluate(PAGE_OVERFLOW) <= 0, (url, phone.evaluate(PAGE_OVERFLOW), phone.evaluate(STICKING_OUT))
    smallest = phone.evaluate(SMALLEST_CHART_TEXT)
    assert smallest >= SMALLEST_LABEL_PX, f"{url}: chart text {smallest:.1f} px"
    title = phone.title()
    assert title.removesuffix("· Umbrella").strip(), url


@pytest.mark.parametrize("username", PERSONAS)
def test_on_a_phone_every_main_page_fits_the_screen_and_the_menu_reaches_every_link(phone, username):
    sign_in(phone, username)
    links = menu_links(phone)
    assert len(links) >= 6
    screenshot(phone, f"phone-menu-{username}")
    visited, queue = set(), ["/", *links]
    while queue:
        url = queue.pop(0)
        if url in visited or url.startswith("/admin/"):
            continue
        visited.add(url)
        assert_fits(phone, url)
        if url == "/":
            screenshot(phone, f"phone-dashboard-{username}")
        if url in links:
            queue.extend(pages_beyond(phone, url))
    if "/matching/" in links:
        assert any(url.startswith("/matching/") and url.rstrip("/").split("/")[-1].isdigit() for url in visited), (
            "a match run's page"
        )
    assert any(url.rstrip("/").split("/")[-1].isdigit() for url in visited), "a detail page"


def test_on_a_phone_without_javascript_the_ledger_names_each_refused_filter_beside_it(browser, server):
    context = browser.new_context(base_url=server["base"], viewport=PHONE, is_mobile=True, java_script_enabled=False)
    phone = context.new_page()
    sign_in(phone, "hq-auditor")
    response = phone.goto("/ledger/?since=2026-13-45&entity_id=abc&from=2026-01-01")
    assert response.status == 400
    assert phone.evaluate(PAGE_OVERFLOW) <= 0, phone.evaluate(STICKING_OUT)
    assert phone.locator("tr.ledger-entry").count() == 0
    for beside, message in (("From (UTC date)", "“2026-13-45” is not a date."), ("Record id", "“abc” is not a record id.")):
        error = phone.locator("form.filters label", has_text=beside).locator("xpath=following-sibling::p[1]")
        assert message in error.inner_text()
    assert "no filter called “from”" in phone.locator("form.filters p.error").first.inner_text()
    screenshot(phone, "phone-ledger-refused-filters")
    context.close()

"""A laptop screen (1280 px wide) in Chromium: the header of the person with the most links (coordination staff)
keeps to two rows, its less-used links under a More disclosure that opens without a script and reaches them."""

import pytest

from tests.browser.conftest import screenshot, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.one_leg("layout in the browser, the same HTML and CSS on either engine; the journeys run on both legs"),
]

# Two rows of header text (brand, language and account; then the navigation) with their padding; a third row
# would add about 28 px.
TWO_ROWS_PX = 100


def test_at_1280_px_the_staff_header_fits_in_two_rows_and_more_opens_the_rest(page):
    sign_in(page, "hq-staff")
    page.goto("/catalog/")
    assert page.locator("header.top").bounding_box()["height"] <= TWO_ROWS_PX
    more = page.locator("header nav.wide details.more")
    assert not more.get_by_role("link", name="Ledger").is_visible()  # folded until opened
    more.locator("summary").click()
    for name in ("Hub board", "Scenarios", "Import", "Ledger"):
        assert more.get_by_role("link", name=name).is_visible(), name
    screenshot(page, "desktop-header-more-hq-staff")
    more.get_by_role("link", name="Ledger").click()
    page.wait_for_url("**/ledger/")

"""A step the record's state does not allow: said as a person would, with the steps this person could take,
and a link back to the record."""

import re

import pytest

from tests import factories


@pytest.mark.django_db
def test_the_409_page_says_the_state_by_its_label_and_links_back_to_the_record(as_client, personas):
    pledge = factories.advance(personas, factories.pledge(personas), "offer", "accept")
    response = as_client("coordinator").get(f"/pledges/{pledge.pk}/accept/")
    page = response.content.decode()
    assert response.status_code == 409
    message = re.search(r'<p role="alert">(.*?)</p>', page).group(1)
    assert message == "This pledge is already accepted. You could: Mark expired."
    assert f'<a href="{pledge.get_absolute_url()}" data-back>Back to {pledge}</a>' in page


@pytest.mark.django_db
def test_a_handed_over_pledge_is_named_by_its_label_and_offers_no_step(as_client, personas):
    pledge = factories.advance(
        personas, factories.pledge(personas), "offer", "accept", "allocate", "ship", "deliver", "hand_over"
    )
    page = as_client("recipient").get(f"/pledges/{pledge.pk}/deliver/").content.decode()
    message = re.search(r'<p role="alert">(.*?)</p>', page).group(1)
    assert message == "This pledge is handed over, so “Confirm delivery” is not possible now."
    assert "handed_over" not in page

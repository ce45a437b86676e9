"""A step the record's state does not allow: said once, as a person would, with a link to each step this person
could take instead and a link back to the record."""

import re

import pytest

from tests import factories
from umbrella.pledges.models import Pledge


@pytest.mark.django_db
def test_the_409_page_says_the_state_by_its_label_and_links_back_to_the_record(as_client, personas):
    pledge = factories.advance(personas, factories.pledge(personas), "offer", "accept")
    response = as_client("coordinator").get(f"/pledges/{pledge.pk}/accept/")
    page = response.content.decode()
    assert response.status_code == 409
    message = re.search(r'<p role="alert">(.*?)</p>', page).group(1)
    assert message == "This pledge is already accepted."
    next_steps = re.findall(r'<a href="([^"]+)" data-next-step>([^<]+)</a>', page)
    assert next_steps == [(f"/pledges/{pledge.pk}/expire/", "Mark expired")]
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


@pytest.mark.django_db
def test_each_step_the_reader_could_take_instead_links_to_where_it_is_taken(as_client, personas):
    pledge = factories.advance(personas, factories.pledge(personas), "offer", "accept")
    client = as_client("donor_editor")
    page = client.get(f"/pledges/{pledge.pk}/offer/").content.decode()
    assert re.search(r'<p role="alert">(.*?)</p>', page).group(1) == "This pledge is accepted, so “Offer” is not possible now."
    steps = dict((label, url) for url, label in re.findall(r'<a href="([^"]+)" data-next-step>([^<]+)</a>', page))
    assert steps == {"Withdraw": f"/pledges/{pledge.pk}/withdraw/"}  # marking it expired is coordination staff's step
    for url in steps.values():
        step_page = client.get(url)
        assert step_page.status_code == 200 and 'name="reason"' in step_page.content.decode(), url


@pytest.mark.django_db
def test_a_step_refused_again_after_its_form_was_refused_says_so_once(as_client, personas):
    """Someone else accepted the pledge while the form was open: the refused form sends the browser back to the
    step's page with the refusal as a message, and that page refuses the step too; the refusal is said once."""
    pledge = factories.advance(personas, factories.pledge(personas), "offer")
    factories.advance(personas, Pledge.objects.get(pk=pledge.pk), "accept")
    url = f"/pledges/{pledge.pk}/accept/"
    client = as_client("coordinator")
    response = client.post(url, {"version": pledge.version}, HTTP_REFERER=f"http://testserver{url}", follow=True)
    page = response.content.decode()
    assert response.status_code == 409
    assert page.count("This pledge is already accepted.") == 1
    assert re.findall(r'<a href="([^"]+)" data-next-step>', page) == [f"/pledges/{pledge.pk}/expire/"]


@pytest.mark.django_db
def test_an_address_naming_no_step_is_not_found_rather_than_refused(as_client, personas):
    pledge = factories.pledge(personas)
    lst = factories.requirement_list(personas)
    client = as_client("coordinator")
    for response in (
        client.get(f"/pledges/{pledge.pk}/foo/"),
        client.post(f"/pledges/{pledge.pk}/foo/", {"version": pledge.version}),
        client.post(f"/requirements/{lst.pk}/foo/", {"version": lst.version}),
    ):
        assert response.status_code == 404
    assert client.get(f"/pledges/{pledge.pk}/offer/").status_code != 404  # a real step is still found

"""Confirming a delivery or a handover before the pledge's availability date asks for an explicit "yes"."""

import datetime as dt

import pytest

from tests import factories
from umbrella.pledges import services as pledges
from umbrella.pledges.models import Pledge, PledgeState

FUTURE = dt.date(2099, 1, 1)
PAST = dt.date(2020, 1, 1)
EARLY = 'name="before_availability"'


def pledge_in(personas, available_from, *steps):
    created = pledges.create_pledge(
        actor=personas.donor_editor,
        sources=[factories.source()],
        fields={
            "item_type": factories.item_type(personas),
            "quantity": 4,
            "available_from": available_from,
            "marking": "coordination",
        },
    )
    return factories.advance(personas, created, "offer", "accept", "allocate", *steps)


@pytest.mark.parametrize(
    "step, before, after, data",
    [
        ("deliver", ("ship",), PledgeState.DELIVERED, {"quantity_delivered": 4}),
        ("hand_over", ("ship", "deliver"), PledgeState.HANDED_OVER, {}),
    ],
)
def test_an_early_arrival_is_taken_only_once_confirmed(as_client, personas, step, before, after, data):
    pledge = pledge_in(personas, FUTURE, *before)
    client = as_client("recipient")
    url = f"/pledges/{pledge.pk}/{step}/"
    page = client.get(url).content.decode()
    assert EARLY in page and "before the availability date (2099-01-01)" in page
    refused = client.post(url, {"version": pledge.version, **data})
    assert (
        refused.status_code == 400
        and "Tick this to confirm it happened before the availability date." in refused.content.decode()
    )
    assert Pledge.objects.get(pk=pledge.pk).state == pledge.state
    taken = client.post(url, {"version": pledge.version, "before_availability": "on", **data})
    assert taken.status_code == 302
    assert Pledge.objects.get(pk=pledge.pk).state == after


@pytest.mark.parametrize(
    "step, before, after, data",
    [
        ("deliver", ("ship",), PledgeState.DELIVERED, {"quantity_delivered": 4}),
        ("hand_over", ("ship", "deliver"), PledgeState.HANDED_OVER, {}),
    ],
)
def test_an_arrival_after_the_availability_date_asks_nothing_more(as_client, personas, step, before, after, data):
    pledge = pledge_in(personas, PAST, *before)
    client = as_client("recipient")
    url = f"/pledges/{pledge.pk}/{step}/"
    assert EARLY not in client.get(url).content.decode()
    assert client.post(url, {"version": pledge.version, **data}).status_code == 302
    assert Pledge.objects.get(pk=pledge.pk).state == after

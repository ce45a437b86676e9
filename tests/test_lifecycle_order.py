"""States read by their label, in the order of the lifecycle, on lists sorted by state and in the API alike."""

import re

import pytest

from tests import factories
from tests.test_work_queues import rows_by_link
from umbrella.pledges.models import PledgeState

LIFECYCLE = [str(state.label) for state in PledgeState]


def _shown_states(page: str) -> list[str]:
    return [re.findall(r"<td>([^<]*)</td>", row)[1] for row in rows_by_link(page).values()]


@pytest.mark.django_db
@pytest.mark.parametrize("sort, expected", [("state", LIFECYCLE), ("-state", LIFECYCLE[::-1])])
def test_pledges_sorted_by_state_follow_the_lifecycle_not_the_alphabet(as_client, personas, sort, expected):
    for steps in [
        ("offer", "accept", "allocate", "ship", "deliver", "hand_over"),
        ("offer",),
        ("offer", "accept", "allocate", "ship"),
        (),
        ("offer", "accept"),
        ("offer", "withdraw"),
    ]:
        factories.advance(personas, factories.pledge(personas), *steps)
    client = as_client("coordinator")
    shown = _shown_states(client.get(f"/pledges/?sort={sort}").content.decode())
    assert shown == sorted(shown, key=expected.index) and len(set(shown)) == 6
    assert "handed_over" not in shown
    listed = [p["state"] for p in client.get(f"/api/v1/pledges?sort={sort}").json()["items"]]
    assert listed == sorted(listed, key=[s.value for s in PledgeState][:: 1 if sort == "state" else -1].index)

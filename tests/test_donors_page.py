"""The Donors page lists the donor organizations from the start, before any tracker release is imported, each with
the pledges its reader may see."""

import re
from decimal import Decimal

import pytest

from tests import factories
from umbrella.core.access import OrganizationKind
from umbrella.core.testing import PERSONA_NAMES
from umbrella.orgs.models import Organization
from umbrella.pledges.models import Pledge, PledgeState
from umbrella.tracker.models import TrackerRelease


def _rows(page: str) -> dict[str, tuple[str, str]]:
    table = page.split('id="donor-organizations"', 1)[1].split("</table>", 1)[0]
    return {
        code: (pledges, value)
        for code, pledges, value in re.findall(
            r'data-donor="([^"]+)">.*?data-pledges>([^<]*)<.*?data-value>([^<]*)<', table, re.S
        )
    }


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["anonymous", "donor_editor", "second_donor", "coordinator", "observer"])
def test_every_donor_is_listed_before_any_release_with_the_pledges_its_reader_may_see(as_client, personas, persona):
    assert not TrackerRelease.objects.exists()
    factories.pledge(personas, quantity=2000)  # Donor A, coordination marking: not for Donor B, observers or the public
    factories.pledge(personas, donor="second_donor", marking="public", quantity=3)
    factories.advance(personas, factories.pledge(personas), "withdraw")
    rows = _rows(as_client(persona).get("/history/donors/").content.decode())
    donors = Organization.objects.filter(kind=OrganizationKind.DONOR)
    assert set(rows) == {d.code for d in donors}
    actor = personas[persona]
    for donor in donors:
        live = (
            Pledge.objects.visible_to(actor).filter(owner=donor).exclude(state__in=[PledgeState.WITHDRAWN, PledgeState.EXPIRED])
        )
        value = sum((p.value_eur for p in live), Decimal(0))
        assert rows[donor.code] == (f"{live.count():,}", f"EUR {value:,.0f}" if live else "—"), donor.code


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(PERSONA_NAMES))
def test_only_whoever_could_import_a_release_is_told_the_command_that_does(as_client, persona):
    assert not TrackerRelease.objects.exists()
    page = as_client(persona).get("/history/donors/").content.decode()
    assert "No tracker release is imported yet." in page
    assert ("umbrella import kiel DIR" in page) == (persona in {"coordinator", "hq_admin"})  # coordination staff

import pytest

from tests import factories
from umbrella.core.access import Marking, get_visible
from umbrella.core.errors import NotFound
from umbrella.core.testing import PERSONA_NAMES
from umbrella.pledges.models import Pledge, PledgeSource

EVERY_MEMBER = {name for name in PERSONA_NAMES if name != "anonymous"}
WHO_SEES = {
    Marking.OWNER: {"donor_editor", "donor_viewer"},
    Marking.COORDINATION: {"donor_editor", "donor_viewer", "coordinator", "hq_admin", "auditor", "recipient"},
    Marking.PARTICIPANTS: EVERY_MEMBER,
    Marking.PUBLIC: set(PERSONA_NAMES),
}


@pytest.mark.django_db
@pytest.mark.parametrize("marking", list(WHO_SEES))
def test_a_pledge_is_seen_by_exactly_the_organizations_its_marking_releases_it_to(personas, marking):
    pledge = factories.pledge(personas, marking=marking)
    seen_by = {name for name in PERSONA_NAMES if Pledge.objects.visible_to(personas[name]).filter(pk=pledge.pk).exists()}
    assert seen_by == WHO_SEES[marking]
    sources_seen_by = {name for name in PERSONA_NAMES if PledgeSource.objects.visible_to(personas[name]).filter(pledge=pledge).exists()}
    assert sources_seen_by == WHO_SEES[marking]


@pytest.mark.django_db
def test_an_invisible_record_is_not_found_exactly_like_a_missing_one(personas):
    pledge = factories.pledge(personas, marking=Marking.OWNER)
    with pytest.raises(NotFound) as hidden:
        get_visible(Pledge.objects.all(), personas.second_donor, pk=pledge.pk)
    with pytest.raises(NotFound) as missing:
        get_visible(Pledge.objects.all(), personas.second_donor, pk=pledge.pk + 10_000)
    assert hidden.value.message == missing.value.message

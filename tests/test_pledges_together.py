"""One step for many pledges at once (`pledges.advance_pledges`): each pledge checked as a single step checks it,
every refusal reported together, nothing written unless every pledge may take the step, one ledger entry each."""

import pytest

from tests import factories
from umbrella.core.access import Marking
from umbrella.core.errors import Invalid, InvalidTransition
from umbrella.core.models import ChangeRecord
from umbrella.core.verify import verify
from umbrella.pledges import services as pledges
from umbrella.pledges.models import Pledge, PledgeState


def states(*pledge_list: Pledge) -> list[tuple[str, int]]:
    return list(Pledge.objects.filter(pk__in=[p.pk for p in pledge_list]).order_by("pk").values_list("state", "version"))


@pytest.mark.django_db
def test_a_coordinator_accepts_many_offers_at_once_each_with_its_own_ledger_entry(personas):
    offered = [factories.advance(personas, factories.pledge(personas), "offer") for _ in range(3)]
    entries = ChangeRecord.objects.count()
    accepted = pledges.advance_pledges(actor=personas.coordinator, versions={p.pk: p.version for p in offered}, step="accept")
    assert [p.pk for p in accepted] == sorted(p.pk for p in offered)
    assert states(*offered) == [(PledgeState.ACCEPTED, 3)] * 3
    written = list(ChangeRecord.objects.filter(sequence__gt=entries).order_by("sequence"))
    assert [(e.action, e.entity_id, e.owner) for e in written] == [("accept", str(p.pk), "XDA") for p in accepted]
    assert all(e.before["state"] == "offered" and e.after["state"] == "accepted" for e in written)
    assert all(e.actor_user == "cora" for e in written)
    assert verify().ok


@pytest.mark.django_db
def test_every_refusal_is_reported_at_once_and_nothing_is_written(personas):
    ready = factories.advance(personas, factories.pledge(personas), "offer")
    not_offered = factories.pledge(personas)
    stale = factories.advance(personas, factories.pledge(personas), "offer")
    hidden = factories.pledge(personas, donor="second_donor", marking=Marking.OWNER)
    entries = ChangeRecord.objects.count()
    versions = {ready.pk: ready.version, not_offered.pk: not_offered.version, stale.pk: stale.version - 1, hidden.pk: 1}
    with pytest.raises(Invalid) as refused:
        pledges.advance_pledges(actor=personas.coordinator, versions=versions, step="accept")
    problems = refused.value.field_errors["pledges"]
    assert [problem.split(":")[0] for problem in problems] == [f"Pledge {pk}" for pk in sorted(versions) if pk != ready.pk]
    assert "announced" in problems[0] and "changed by someone else" in problems[1] and "No pledge matches" in problems[2]
    assert ChangeRecord.objects.count() == entries
    assert states(ready)[0] == (PledgeState.OFFERED, ready.version)


@pytest.mark.django_db
def test_a_step_of_the_wrong_party_is_refused_for_every_pledge(personas):
    announced = [factories.pledge(personas) for _ in range(2)]
    with pytest.raises(Invalid) as refused:
        pledges.advance_pledges(actor=personas.coordinator, versions={p.pk: p.version for p in announced}, step="offer")
    assert len(refused.value.field_errors["pledges"]) == 2
    assert states(*announced) == [(PledgeState.ANNOUNCED, 1)] * 2


@pytest.mark.django_db
def test_a_closing_step_needs_its_reason_and_allocation_steps_are_the_match_runs(personas):
    offered = factories.advance(personas, factories.pledge(personas), "offer")
    with pytest.raises(Invalid):
        pledges.advance_pledges(actor=personas.donor_editor, versions={offered.pk: offered.version}, step="withdraw")
    with pytest.raises(InvalidTransition):
        pledges.advance_pledges(actor=personas.coordinator, versions={offered.pk: offered.version}, step="allocate")
    (withdrawn,) = pledges.advance_pledges(
        actor=personas.donor_editor, versions={offered.pk: offered.version}, step="withdraw", reason="Needed at home"
    )
    assert (withdrawn.state, withdrawn.closing_reason) == (PledgeState.WITHDRAWN, "Needed at home")

"""A match run's page: every list paged, counted and filterable; approval with select-all, a clear message
when nothing is chosen and a confirmation in numbers; decided and superseded runs read as what they are."""

import re

import pytest

from tests import factories
from tests.test_matching import accepted_pledge, market  # noqa: F401 (the fixture)
from umbrella.core.numbers import number as shown
from umbrella.matching import services
from umbrella.matching.market import Policy
from umbrella.matching.models import Allocation, MatchRun, OfferOutcome, ProposedAllocation, RequirementOutcome, RunState
from umbrella.matching.queries import summarize
from umbrella.orgs.models import Organization
from umbrella.ui import sections

pytestmark = pytest.mark.django_db


def _approve(client, run, *proposals, confirmed=False, all_=False):
    data = {"version": run.version, "proposal": [p.pk for p in proposals]}
    if all_:
        data["all"] = "1"
    if confirmed:
        data["confirmed"] = "1"
    return client.post(f"/matching/{run.pk}/approve/", data)


@pytest.fixture
def leftovers(personas, market):  # noqa: F811
    """Eight more accepted pledges nothing asks for: five of Donor A, three of Donor B."""
    spare = factories.item_type(personas)
    return [accepted_pledge(personas, spare, 1 + n, donor="donor_editor" if n < 5 else "second_donor") for n in range(8)]


@pytest.mark.parametrize("persona", ["coordinator", "auditor"])
def test_every_left_over_pledge_is_reachable_by_paging_counted_and_filtered_by_donor_code(
    personas, as_client, leftovers, monkeypatch, persona
):
    monkeypatch.setattr(sections, "ROWS_PER_PAGE", 3)
    run = services.run_match(actor=personas.coordinator)
    outcomes = OfferOutcome.objects.visible_to(personas[persona]).filter(run=run)
    total = outcomes.count()
    assert total == 9  # the eight spare pledges and the one for Kyiv only
    client = as_client(persona)
    first = client.get(f"/matching/{run.pk}/").content.decode()
    assert f"{total} pledges left over, and why" in first
    seen = []
    for number in range(1, 4):
        body = client.get(f"/matching/{run.pk}/", {"unused_page": number}).content.decode()
        section = body[body.index('id="unused"') :]
        assert f"{3 * number - 2}–{3 * number} of {total}" in section
        seen += [int(pk) for pk in re.findall(r'href="/pledges/(\d+)/"', section.split("</table>")[0])]
    assert sorted(seen) == sorted(outcomes.values_list("pledge_id", flat=True))
    donor_b = Organization.objects.get(code="XDB")
    body = client.get(f"/matching/{run.pk}/", {"donor": donor_b.code}).content.decode()
    section = body[body.index('id="unused"') :].split("</table>")[0]
    expected = outcomes.filter(pledge__owner=donor_b).count()
    assert expected == 4
    assert f"1–3 of {expected} (filtered from {total})" in body[body.index('id="unused"') :]
    assert {int(pk) for pk in re.findall(r'href="/pledges/(\d+)/"', section)} <= set(
        outcomes.filter(pledge__owner=donor_b).values_list("pledge_id", flat=True)
    )


def test_a_donor_may_not_open_a_run(personas, as_client, market):  # noqa: F811
    run = services.run_match(actor=personas.coordinator)
    assert as_client("donor_editor").get(f"/matching/{run.pk}/").status_code == 404
    # Its list does not say "no runs yet" of runs it may not see, nor that there are some.
    listing = as_client("donor_editor").get("/matching/").content.decode()
    assert "none is shared with you" in listing and "No match runs yet." not in listing
    assert "No match runs yet." not in as_client("coordinator").get("/matching/").content.decode()


def test_approving_with_nothing_selected_says_so_and_approves_nothing(personas, as_client, market):  # noqa: F811
    run = services.run_match(actor=personas.coordinator)
    client = as_client("coordinator")
    response = _approve(client, run)
    assert response.status_code == 302 and response["Location"].endswith("#proposals")
    body = client.get(response["Location"]).content.decode()
    section = body[body.index('id="proposals"') :].split("</form>")[0]
    assert (
        'role="alert" id="none-selected">No proposal is selected: tick the proposals to approve, or approve them all.' in section
    )
    assert body.count("No proposal is selected") == 1  # beside the form only, not again at the top out of view
    assert "none_selected" not in section.split('id="none-selected"')[1]  # the pager and selection links do not carry it on
    assert not Allocation.objects.exists() and MatchRun.objects.get(pk=run.pk).state == RunState.PROPOSED


def test_approving_some_states_how_many_are_approved_and_declined_before_doing_it(personas, as_client, market):  # noqa: F811
    run = services.run_match(actor=personas.coordinator)
    proposals = list(ProposedAllocation.objects.filter(run=run).order_by("pk"))
    assert len(proposals) == 3
    client = as_client("coordinator")
    response = _approve(client, run, proposals[0])
    assert response.status_code == 200
    assert "Approve 1 proposal of 3 and decline the other 2?" in response.content.decode()
    assert not Allocation.objects.exists()
    assert _approve(client, run, proposals[0], confirmed=True).status_code == 302
    assert list(Allocation.objects.values_list("proposal_id", flat=True)) == [proposals[0].pk]
    for persona in ("coordinator", "auditor"):
        body = as_client(persona).get(f"/matching/{run.pk}/").content.decode()
        decisions = re.findall(r'<td class="decision">(?:<a [^>]*>)?([^<]+)', body)
        assert sorted(decisions) == ["approved", "declined", "declined"]
        assert "1 approved, 2 declined." in body and "Difference from the current allocations" not in body
        assert "It was decided: 1 of its 3 proposals were approved and 2 declined" in body
        assert "were every proposal approved;" not in body
        assert f"Coverage points approved</dt><dd>{proposals[0].points:,.1f} /" in re.sub(r">\s+<", "><", body)
    listing = as_client("auditor").get("/matching/").content.decode()
    assert f"{proposals[0].points:,.1f} approved of {run.objective:,.1f} planned" in listing


def test_a_decided_runs_difference_counts_its_approved_proposals_once(personas, as_client, market):  # noqa: F811
    run = services.run_match(actor=personas.coordinator)
    chosen = ProposedAllocation.objects.filter(run=run).order_by("pk").first()
    services.approve_proposals(actor=personas.coordinator, run_id=run.pk, expected_version=run.version, proposal_ids=[chosen.pk])
    assert summarize(MatchRun.objects.get(pk=run.pk), personas.coordinator).changes == {
        "new": 3,
        "kept": 0,
        "changed": 0,
        "dropped": 0,
    }


def test_select_all_on_this_page_ticks_each_row_labelled_by_what_it_is(personas, as_client, market):  # noqa: F811
    run = services.run_match(actor=personas.coordinator)
    client = as_client("coordinator")
    plain = client.get(f"/matching/{run.pk}/").content.decode()
    assert "checked" not in re.sub(r"<select.*?</select>", "", plain, flags=re.S).split('id="proposals"')[1].split("</table>")[0]
    body = client.get(f"/matching/{run.pk}/", {"select": "page"}).content.decode()
    boxes = re.findall(r'<input type="checkbox" name="proposal" value="(\d+)"[^>]*aria-label="([^"]+)"[^>]*checked', body)
    proposals = {p.pk: p for p in ProposedAllocation.objects.filter(run=run).select_related("requirement", "pledge__owner")}
    assert {int(pk) for pk, _ in boxes} == set(proposals)
    for pk, label in boxes:
        proposal = proposals[int(pk)]
        assert label.startswith(f"Select: requirement #{proposal.requirement_id} P{proposal.requirement.priority} ")
        assert label.endswith(f"({proposal.pledge.owner.name})")
    assert "Approve all 3 proposals" in body and "Select all on this page" not in body and "Clear the selection" in body


def test_a_superseded_runs_proposals_read_superseded(personas, as_client, market):  # noqa: F811
    first = services.run_match(actor=personas.coordinator)
    services.run_match(actor=personas.coordinator)
    assert MatchRun.objects.get(pk=first.pk).state == RunState.SUPERSEDED
    body = as_client("auditor").get(f"/matching/{first.pk}/").content.decode()
    decisions = re.findall(r'<td class="decision">(?:<a [^>]*>)?([^<]+)', body)
    assert decisions == ["superseded"] * 3
    assert "3 superseded, none approved." in body and "declined" not in body


def test_an_unknown_filter_value_is_refused_not_ignored(personas, as_client, market):  # noqa: F811
    run = services.run_match(actor=personas.coordinator)
    response = as_client("coordinator").get(f"/matching/{run.pk}/", {"donor": "999999"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()


def test_opening_the_approval_address_without_a_form_leads_back_to_the_run(personas, as_client, market):  # noqa: F811
    """A reload, the browser's history, or a refusal sending the browser back to the confirmation page opens the
    approval address with GET: it answers with the run's page, never a blank 405."""
    run = services.run_match(actor=personas.coordinator)
    client = as_client("coordinator")
    assert _approve(client, run, all_=True, confirmed=True).status_code == 302  # the run is decided
    again = client.get(f"/matching/{run.pk}/approve/")
    assert again.status_code == 302 and again["Location"] == f"/matching/{run.pk}/"
    assert Allocation.objects.filter(proposal__run=run).count() == ProposedAllocation.objects.filter(run=run).count()


def test_the_donor_filter_names_donors_by_code_as_every_other_list_does(personas, as_client, market):  # noqa: F811
    run = services.run_match(actor=personas.coordinator)
    client = as_client("coordinator")
    body = client.get(f"/matching/{run.pk}/").content.decode()
    offered = re.findall(r'<option value="([^"]*)"', body.split('name="donor"', 1)[1].split("</select>", 1)[0])
    assert offered == ["", "XDA", "XDB"]
    donor_a = Organization.objects.get(code="XDA")
    assert client.get(f"/matching/{run.pk}/", {"donor": "XDA"}).status_code == 200
    typed = client.get(f"/matching/{run.pk}/", {"donor": "xda"})
    assert typed.status_code == 200 and '<option value="XDA" selected>' in typed.content.decode()
    lists = typed.content.decode().split('id="proposals"')[1]
    assert donor_a.name in lists and Organization.objects.get(code="XDB").name not in lists
    assert (
        Organization.objects.get(code="XDB").name
        in client.get(f"/matching/{run.pk}/").content.decode().split('id="proposals"')[1]
    )
    assert client.get(f"/matching/{run.pk}/", {"donor": donor_a.pk}).status_code == 400


def test_a_decided_runs_unmet_requirements_read_as_what_the_run_planned(personas, as_client, market):  # noqa: F811
    run = services.run_match(actor=personas.coordinator)
    chosen = ProposedAllocation.objects.filter(run=run).order_by("pk").first()
    services.approve_proposals(actor=personas.coordinator, run_id=run.pk, expected_version=run.version, proposal_ids=[chosen.pk])
    for persona in ("coordinator", "auditor"):
        body = as_client(persona).get(f"/matching/{run.pk}/").content.decode()
        section = body[body.index('id="unmet"') :].split("</table>")[0]
        assert "requirements the run planned not to meet in full, and why" in section, persona
        assert f"As the run planned them on {run.created_at:%Y-%m-%d %H:%M} UTC" in section, persona
        assert "not what was decided" in section and "Covered in the plan" in section, persona
    proposed = services.run_match(actor=personas.coordinator)
    body = as_client("coordinator").get(f"/matching/{proposed.pk}/").content.decode()
    assert "requirements not fully met, and why" in body and "planned not to meet" not in body


def test_a_run_proposing_nothing_offers_no_approval_and_says_there_is_nothing_to_approve(personas, as_client, market):  # noqa: F811
    first = services.run_match(actor=personas.coordinator)
    services.approve_proposals(actor=personas.coordinator, run_id=first.pk, expected_version=first.version)
    empty = services.run_match(actor=personas.coordinator)
    assert not ProposedAllocation.objects.filter(run=empty).exists() and empty.state == RunState.PROPOSED
    for persona in ("coordinator", "auditor"):
        body = as_client(persona).get(f"/matching/{empty.pk}/").content.decode()
        assert "There is nothing to approve: this run proposes no allocation." in body, persona
        assert "Approve all" not in body and "Approve the" not in body, persona
        assert f'action="/matching/{empty.pk}/approve/"' not in body, persona


def test_approved_and_planned_points_both_count_the_allocations_a_run_kept_from_an_earlier_run(
    personas,
    as_client,
    market,  # noqa: F811
):
    first = services.run_match(actor=personas.coordinator)
    earlier = ProposedAllocation.objects.filter(run=first).order_by("pk").first()
    services.approve_proposals(
        actor=personas.coordinator, run_id=first.pk, expected_version=first.version, proposal_ids=[earlier.pk]
    )
    run = services.run_match(actor=personas.coordinator)
    chosen = ProposedAllocation.objects.filter(run=run).order_by("pk").first()
    services.approve_proposals(actor=personas.coordinator, run_id=run.pk, expected_version=run.version, proposal_ids=[chosen.pk])
    run.refresh_from_db()
    points = Policy().priority_points
    kept = Allocation.objects.filter(proposal__run=first).select_related("requirement")
    assert kept.count() == 1
    kept_points = sum(points[a.requirement.priority] * float(a.covers) / a.requirement.quantity for a in kept)
    approved = kept_points + chosen.points
    planned = kept_points + sum(ProposedAllocation.objects.filter(run=run).values_list("points", flat=True))
    assert run.objective == pytest.approx(planned)
    available = run.statistics["points_available"]
    client = as_client("coordinator")
    body = client.get(f"/matching/{run.pk}/").content.decode()
    assert f"{shown(approved, 1)} / {shown(available, 1)}" in body
    assert f"{shown(planned, 1)} / {shown(available, 1)}" in body
    assert "Of these, kept from allocations approved before the run" in body and shown(kept_points, 1) in body
    listed = client.get("/matching/").content.decode()
    assert f"{shown(approved, 1)} approved of {shown(planned, 1)} planned" in listed


def test_the_filters_narrow_the_not_fully_met_list_and_its_heading_counts_what_they_leave(
    personas,
    as_client,
    market,  # noqa: F811
):
    run = services.run_match(actor=personas.coordinator)
    gaps = RequirementOutcome.objects.filter(run=run).exclude(status="met")
    total = gaps.count()
    lviv_a = market["requirements"][1]
    assert total == 2 and gaps.filter(requirement=lviv_a).exists()
    client = as_client("coordinator")
    filters = {"priority": str(lviv_a.priority), "item": lviv_a.item_type.code}
    body = client.get(f"/matching/{run.pk}/", filters).content.decode()
    section = body[body.index('id="unmet"') :].split("</table>")[0]
    assert "1 of 2 requirements not fully met, and why" in section
    assert re.findall(r'href="/requirements/item/(\d+)/"', section) == [str(lviv_a.pk)]
    body = client.get(f"/matching/{run.pk}/", {"priority": "1"}).content.decode()
    section = body[body.index('id="unmet"') :].split("</table>")[0]
    assert "0 of 2 requirements not fully met, and why" in section and "Nothing matches the filters." in section
    assert f"{total} requirements not fully met, and why" in client.get(f"/matching/{run.pk}/").content.decode()


def test_an_extra_pledge_needed_by_a_day_already_past_is_wanted_as_soon_as_possible(personas, as_client, market, capsys):  # noqa: F811
    import datetime as dt

    from django.core.management import call_command

    run = services.run_match(actor=personas.coordinator)
    assert run.suggestions and all(s["available_by"] == "2026-06-01" for s in run.suggestions)  # before the run's day
    page = as_client("coordinator").get(run.get_absolute_url()).content.decode()
    table = page.split('aria-labelledby="suggestions"', 1)[1].split("</table>", 1)[0]
    assert table.count("as soon as possible (needed since 2026-06-01)") == len(run.suggestions)
    call_command("match", "--user", personas.coordinator.user.username)
    assert "as soon as possible (needed since 2026-06-01)" in capsys.readouterr().out
    # Made before that day, the same run would have asked for them by it.
    MatchRun.objects.filter(pk=run.pk).update(created_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
    page = as_client("coordinator").get(run.get_absolute_url()).content.decode()
    table = page.split('aria-labelledby="suggestions"', 1)[1].split("</table>", 1)[0]
    assert "as soon as possible" not in table and "<td>2026-06-01</td>" in table


def test_approve_all_under_filters_says_it_approves_more_than_they_show(personas, as_client, market):  # noqa: F811
    run = services.run_match(actor=personas.coordinator)
    proposals = ProposedAllocation.objects.filter(run=run)
    total = proposals.count()
    client = as_client("coordinator")
    plain = client.get(f"/matching/{run.pk}/").content.decode()
    assert f"Approve all {total} proposals</button>" in plain
    one = proposals.first()
    narrowed = client.get(f"/matching/{run.pk}/", {"item": one.requirement.item_type.code}).content.decode()
    shown = proposals.filter(requirement__item_type=one.requirement.item_type).count()
    assert shown < total
    assert f"Approve all {total} proposals, not only the {shown} the filters show</button>" in narrowed

"""Complete packages: the engine's package bonus against an independent MIP, which packages a run leaves
incomplete and why (pure), and a run against the database with and without `complete_packages`."""

import datetime as dt
import io
import json
import re
from decimal import Decimal

import numpy as np
import pytest
from django.core.management import call_command
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from tests import factories
from tests.test_matching import accepted_pledge
from umbrella.catalog import services as catalog
from umbrella.core.access import Actor
from umbrella.core.ledger import seal
from umbrella.core.models import ChangeRecord
from umbrella.matching import packages as kits
from umbrella.matching import services
from umbrella.matching.engine import Problem, solve
from umbrella.matching.market import COMPLETE_PACKAGE_POINTS, Market, Policy, candidate_arcs
from umbrella.matching.models import PackageOutcome, ProposedAllocation
from umbrella.needs import services as needs
from umbrella.orgs.services import issue_token

# ---------------------------------------------------------------- the engine's package bonus


@st.composite
def package_problems(draw):
    n_req, n_off = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    cents = lambda low, high: st.integers(low * 100, high * 100).map(lambda c: c / 100)  # noqa: E731
    offer_integer = draw(st.lists(st.booleans(), min_size=n_off, max_size=n_off))
    off_q = [draw(st.integers(0, 6)) if whole else draw(cents(0, 6)) for whole in offer_integer]
    req_q = draw(st.lists(st.integers(0, 6), min_size=n_req, max_size=n_req))
    weights = draw(st.lists(cents(0, 20), min_size=n_req, max_size=n_req))
    pairs = draw(st.lists(st.tuples(st.integers(0, n_off - 1), st.integers(0, n_req - 1)), max_size=12))
    costs = draw(st.lists(cents(0, 5), min_size=len(pairs), max_size=len(pairs)))
    n_packages = draw(st.integers(0, 4))
    members = (
        draw(st.lists(st.tuples(st.integers(0, len(pairs) - 1), st.integers(0, n_packages - 1), st.integers(0, 1)), max_size=16))
        if pairs and n_packages
        else []
    )
    held = draw(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=n_packages, max_size=n_packages))
    return Problem(
        req_q,
        weights,
        off_q,
        [o for o, _ in pairs],
        [r for _, r in pairs],
        costs,
        offer_integer=offer_integer,
        package_arc=[a for a, _, _ in members],
        package_of=[p for _, p, _ in members],
        package_side=[s for _, _, s in members],
        package_held=np.array(held, dtype=bool).reshape(-1, 2),
        package_bonus=draw(st.sampled_from([0.0, 1.5, 7.0, 40.0])),
    )


def package_reference_objective(problem: Problem) -> float:
    """Written independently: every arc kept, one binary per package that is not held complete, and for each of
    its sides not held one row  complete ≤ Σ flow over the side's member arcs  (a set of arcs, so an arc named
    twice for the same side counts once); solved by scipy's milp."""
    n = len(problem.arc_cost)
    if n == 0:
        return 0.0
    value = problem.requirement_weight[problem.arc_requirement] - problem.arc_cost
    packages = len(problem.package_held) if problem.package_bonus > 0 else 0
    columns = n + packages
    rows, upper = [], []
    for o in range(len(problem.offer_quantity)):
        rows.append(np.concatenate([(problem.arc_offer == o).astype(float), np.zeros(packages)]))
        upper.append(problem.offer_quantity[o])
    for r in range(len(problem.requirement_quantity)):
        rows.append(np.concatenate([(problem.arc_requirement == r).astype(float), np.zeros(packages)]))
        upper.append(problem.requirement_quantity[r])
    bonus = np.zeros(packages)
    for k in range(packages):
        if problem.package_held[k].all():
            continue  # complete before any flow: earns nothing more
        bonus[k] = problem.package_bonus
        for side in (0, 1):
            if problem.package_held[k, side]:
                continue
            memberships = zip(problem.package_arc, problem.package_of, problem.package_side, strict=True)
            members = {a for a, p, s in memberships if p == k and s == side}
            row = np.zeros(columns)
            row[list(members)] = -1.0
            row[n + k] = 1.0
            rows.append(row)
            upper.append(0.0)
    integrality = np.concatenate([problem.offer_integer[problem.arc_offer], np.ones(packages)])
    result = milp(
        -np.concatenate([value, bonus]),
        constraints=LinearConstraint(np.array(rows), -np.inf, np.array(upper)),
        integrality=integrality,
        bounds=Bounds(np.zeros(columns), np.concatenate([np.full(n, np.inf), np.ones(packages)])),
        options={"mip_rel_gap": 0},
    )
    assert result.status == 0
    return max(0.0, -result.fun)


@settings(max_examples=150, deadline=None)
@given(package_problems())
def test_the_package_bonus_matches_an_independent_milp(problem):
    solution = solve(problem)
    flow = solution.flow
    given_out = np.bincount(problem.arc_offer, weights=flow, minlength=len(problem.offer_quantity))
    assert np.all(given_out <= problem.offer_quantity + 1e-7)
    # Both solvers meet constraints to 1e-7 (HiGHS's feasibility tolerance), which can be worth a few 1e-6 points.
    assert solution.objective == pytest.approx(package_reference_objective(problem), rel=1e-9, abs=1e-5)
    assert solution.objective == pytest.approx(problem.objective_of(flow), rel=1e-12, abs=1e-9)


def test_the_bonus_sends_one_unit_to_the_launchers_when_it_is_worth_more_than_the_unit_elsewhere():
    # Three munitions; requirement 0 (worth 10 a unit, 3 wanted) and requirement 1 (worth 5, 3 wanted) beside a
    # launcher already held. Without the bonus all three go to requirement 0; a bonus of 10 buys one for 1.
    arrays = dict(
        requirement_quantity=[3, 3],
        requirement_weight=[10, 5],
        offer_quantity=[3],
        arc_offer=[0, 0],
        arc_requirement=[0, 1],
        arc_cost=[0, 0],
        integer=True,
        package_arc=[1],
        package_of=[0],
        package_side=[1],
        package_held=[[True, False]],
    )
    assert list(solve(Problem(**arrays)).flow) == [3, 0]
    rewarded = solve(Problem(**arrays, package_bonus=10))
    assert list(rewarded.flow) == [2, 1] and rewarded.objective == pytest.approx(35)
    assert rewarded.stats["packages_completed"] == 1
    assert list(solve(Problem(**arrays, package_bonus=4)).flow) == [3, 0]  # not worth the unit it costs


def test_bulk_munitions_complete_a_package_only_with_a_whole_unit():
    problem = Problem(
        [5, 5],
        [10, 5],
        [0.5],
        [0, 0],
        [0, 1],
        [0, 0],
        package_arc=[1],
        package_of=[0],
        package_side=[1],
        package_held=[[True, False]],
        package_bonus=100,
    )
    assert list(solve(problem).flow) == [0.5, 0] and problem.completed_packages(np.array([0, 0.5])) == 0


# ---------------------------------------------------------------- which packages stay incomplete (pure)

LAUNCHER, MISSILE, OTHER_MISSILE = 0, 1, 2
SITE_A, OBLAST, SITE_B, ELSEWHERE = 0, 1, 2, 3  # sites A and B lie within the oblast


def package_market(**overrides) -> Market:
    fields = dict(
        requirement_type=np.array([LAUNCHER, MISSILE]),
        requirement_quantity=np.array([2.0, 10]),
        requirement_priority=np.array([1, 3]),
        requirement_needed_by=np.array([100, 100]),
        requirement_destination=np.array([SITE_A, OBLAST]),
        requirement_area=np.zeros(2, dtype=int),
        requirement_substitutes=np.array([False, False]),
        offer_type=np.array([LAUNCHER, MISSILE]),
        offer_quantity=np.array([2.0, 10]),
        offer_available=np.array([0, 0]),
        offer_integer=np.ones(2, dtype=bool),
        offer_restricted=np.zeros(2, dtype=bool),
        allowed_offer=np.zeros(0, dtype=int),
        allowed_destination=np.zeros(0, dtype=int),
        substitute_offered=np.zeros(0, dtype=int),
        substitute_required=np.zeros(0, dtype=int),
        substitute_ratio=np.zeros(0),
        fires_system=np.array([LAUNCHER, LAUNCHER]),
        fires_munition=np.array([MISSILE, OTHER_MISSILE]),
        nested_outer=np.array([OBLAST, OBLAST]),
        nested_inner=np.array([SITE_A, SITE_B]),
    )
    fields.update(overrides)
    return Market(**fields)


def incomplete(m: Market, policy: Policy = Policy()) -> set[tuple]:
    candidates = candidate_arcs(m, policy)
    flow = solve(kits.build_problem(m, candidates, policy)).flow
    return {(p.destination, p.item_type, p.missing, p.reason) for p in kits.incomplete_packages(m, candidates, flow)}


def test_munitions_at_the_oblast_complete_the_launchers_at_a_site_within_it():
    assert incomplete(package_market()) == set()


def test_a_sibling_site_is_no_part_of_the_package():
    m = package_market(requirement_destination=np.array([SITE_A, SITE_B]))
    assert incomplete(m) == {
        (SITE_A, LAUNCHER, kits.MISSING_MUNITIONS, kits.NOT_REQUESTED),
        (SITE_B, MISSILE, kits.MISSING_LAUNCHER, kits.NOT_REQUESTED),
    }


def test_each_missing_side_says_why():
    no_missiles = package_market(offer_quantity=np.array([2.0, 0]))
    assert incomplete(no_missiles) == {(SITE_A, LAUNCHER, kits.MISSING_MUNITIONS, kits.SUPPLY_ELSEWHERE)}
    not_pledged = package_market(offer_type=np.array([LAUNCHER, 5]))
    assert incomplete(not_pledged) == {(SITE_A, LAUNCHER, kits.MISSING_MUNITIONS, kits.NOT_OFFERED)}
    late = package_market(offer_available=np.array([0, 900]))
    assert incomplete(late) == {(SITE_A, LAUNCHER, kits.MISSING_MUNITIONS, kits.TOO_LATE)}


def test_what_approved_allocations_hold_counts_as_present():
    # The launchers are held at site A already: the missiles the run sends to the oblast complete them.
    m = package_market(
        requirement_quantity=np.array([0.0, 10]),
        held_destination=np.array([SITE_A]),
        held_type=np.array([LAUNCHER]),
        held_quantity=np.array([2.0]),
    )
    assert incomplete(m) == set()
    alone = package_market(
        requirement_quantity=np.array([0.0, 0]),
        held_destination=np.array([SITE_A]),
        held_type=np.array([LAUNCHER]),
        held_quantity=np.array([2.0]),
    )
    assert incomplete(alone) == {(SITE_A, LAUNCHER, kits.MISSING_MUNITIONS, kits.SUPPLY_ELSEWHERE)}


def test_the_option_completes_a_package_the_plain_run_leaves_incomplete():
    # Two missiles; the oblast's launchers (P1) and missiles (P3) against missiles wanted elsewhere at P2.
    m = package_market(
        requirement_type=np.array([LAUNCHER, MISSILE, MISSILE]),
        requirement_quantity=np.array([2.0, 10, 10]),
        requirement_priority=np.array([1, 3, 2]),
        requirement_needed_by=np.array([100, 100, 100]),
        requirement_destination=np.array([SITE_A, OBLAST, ELSEWHERE]),
        requirement_area=np.zeros(3, dtype=int),
        requirement_substitutes=np.zeros(3, dtype=bool),
        offer_quantity=np.array([2.0, 2]),
    )
    plain = incomplete(m)
    assert (SITE_A, LAUNCHER, kits.MISSING_MUNITIONS, kits.SUPPLY_ELSEWHERE) in plain
    packed = incomplete(m, Policy(package_points=COMPLETE_PACKAGE_POINTS))
    assert len(packed) < len(plain) and not any(key[:2] == (SITE_A, LAUNCHER) for key in packed)


# ---------------------------------------------------------------- runs against the database


@pytest.fixture
def package_world(personas):
    """Launchers L (P1) and missiles M (P3) asked for at Lviv, more missiles (P2) at Odesa; pledges: 1 L, 3 M."""
    launcher = factories.item_type(personas, crew_size=3, unit_value_eur=Decimal("5000000.00"))
    missile = factories.item_type(personas)
    catalog.create_compatibility(
        actor=personas.coordinator, fields={"source": launcher, "kind": "fires", "target": missile, "ratio": Decimal(1)}
    )
    lst = needs.create_requirement_list(
        actor=personas.recipient, fields={"series": "PK-1", "title": "Packages", "marking": "participants"}
    )
    specs = [(launcher, 1, 1, "Lviv"), (missile, 6, 3, "Lviv"), (missile, 6, 2, "Odesa")]
    reqs = [
        needs.create_requirement(
            actor=personas.recipient,
            list_id=lst.pk,
            fields=factories.requirement_fields(item, quantity=q, priority=p, destination=dest, accept_substitutes=False),
        )
        for item, q, p, dest in specs
    ]
    lst.refresh_from_db()
    lst = needs.propose_requirement_list(actor=personas.recipient, list_id=lst.pk, expected_version=lst.version)
    lst = needs.approve_requirement_list(actor=personas.coordinator, list_id=lst.pk, expected_version=lst.version)
    accepted_pledge(personas, launcher, 1, available=dt.date(2026, 3, 1))
    accepted_pledge(personas, missile, 3, available=dt.date(2026, 3, 1))
    return {"list": lst, "launcher": launcher, "missile": missile, "requirements": reqs}


def test_the_option_completes_the_package_a_plain_run_leaves_without_munitions(personas, package_world):
    plain = services.run_match(actor=personas.coordinator)
    lviv_launchers = PackageOutcome.objects.get(run=plain, item_type=package_world["launcher"])
    assert (lviv_launchers.missing, lviv_launchers.reason) == ("munitions", kits.SUPPLY_ELSEWHERE)
    assert lviv_launchers.named == [package_world["requirements"][1].pk] and lviv_launchers.proposed == 1
    flagged = ProposedAllocation.objects.filter(run=plain, pledge__item_type=package_world["launcher"])
    assert flagged.count() == 1 and plain.statistics["incomplete_packages"] == PackageOutcome.objects.filter(run=plain).count()
    assert seal(plain.sealed_results()) == plain.results_digest
    entries = ChangeRecord.objects.count()
    packed = services.run_match(actor=personas.coordinator, complete_packages=True)
    assert packed.complete_packages and not plain.complete_packages
    assert not PackageOutcome.objects.filter(run=packed, item_type=package_world["launcher"]).exists()
    assert PackageOutcome.objects.filter(run=packed).count() < PackageOutcome.objects.filter(run=plain).count()
    into_lviv = ProposedAllocation.objects.get(run=packed, requirement=package_world["requirements"][1])
    assert into_lviv.quantity == 1  # one missile is enough to complete the package; the rest still go to Odesa
    assert seal(packed.sealed_results()) == packed.results_digest
    assert ChangeRecord.objects.count() == entries + 2  # the run, and the plain one it supersedes


@pytest.mark.parametrize(
    ("substitute", "late_days", "incomplete", "expected"),
    [
        (True, 171, True, "substitute; 171 days late; leaves an incomplete package"),
        (False, 171, True, "171 days late; leaves an incomplete package"),
        (True, 0, True, "substitute; leaves an incomplete package"),
        (False, 1, False, "1 day late"),
        (False, 0, True, "leaves an incomplete package"),
    ],
)
def test_a_proposals_notes_are_kept_apart(substitute, late_days, incomplete, expected):
    from types import SimpleNamespace

    from django.template.loader import render_to_string

    proposal = SimpleNamespace(substitute=substitute, late_days=late_days, leaves_incomplete_package=incomplete)
    cell = render_to_string("matching/_proposal_notes.html", {"p": proposal})
    assert re.sub(r"<[^>]+>", "", cell).strip() == expected


def test_the_page_the_cli_and_the_api_show_incomplete_packages_with_their_reasons(as_client, personas, package_world):
    client = as_client("coordinator")
    response = client.post("/matching/new/", {"keep_approved": "on", "diversity_points": "0"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "leaves an incomplete package" in page and "and pledged, but the run gives them to other requirements" in page
    assert "This run did not value complete packages" in page
    assert "Allocated (kept)" in page and ">Held<" not in page  # kept allocations, not what was handed over
    assert "a launcher and its munitions only" in page and 'href="/readiness/"' in page.split('id="packages"')[1]
    notes = re.findall(r'<td class="notes">(.*?)</td>', page)
    assert any("incomplete package" in note for note in notes)
    out = io.StringIO()
    call_command("match", "--user", personas.coordinator.user.username, "--json", "--no-progress", stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["complete_packages"] is False and summary["incomplete_packages_total"] >= 1
    assert all(p["reason"] and p["reason_text"] for p in summary["incomplete_packages"])
    launchers = next(p for p in summary["incomplete_packages"] if p["item_type"] == package_world["launcher"].code)
    assert launchers["missing"] == "munitions" and len(launchers["proposals"]) == 1
    out = io.StringIO()
    call_command("match", "--user", personas.coordinator.user.username, "--complete-packages", "--no-progress", stdout=out)
    assert "complete packages valued (--complete-packages)" in out.getvalue()
    coordinator = personas.coordinator
    _token, secret = issue_token(
        actor=Actor.system("tests"), user_id=coordinator.user.pk, organization_id=coordinator.organization.pk, name="t"
    )
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    created = api.post("/api/v1/match-runs", {"complete_packages": True}, content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["summary"]["complete_packages"] is True
    assert all(p["item_type"] != package_world["launcher"].code for p in body["summary"]["incomplete_packages"])
    proposals = api.get(f"/api/v1/match-runs/{body['id']}/proposals").json()["items"]
    assert not any(p["leaves_incomplete_package"] and p["requirement"] == package_world["requirements"][0].pk for p in proposals)
    form = client.post("/matching/new/", {"keep_approved": "on", "diversity_points": "0", "complete_packages": "on"})
    assert "valued (1,000 points per package completed)" in client.get(form["Location"]).content.decode()

"""Lead times and route lengths through the best hub, what they do to a match (pure), and a run that takes them
from the gazetteer (database)."""

import datetime as dt
import math

import numpy as np
import pytest

from tests import factories
from umbrella.matching import services as matching
from umbrella.matching.engine import solve
from umbrella.matching.market import TOO_LATE, USABLE, Market, Policy, build_problem, candidate_arcs
from umbrella.matching.transport import UNKNOWN, Routes, great_circle_km, legs
from umbrella.needs import services as needs
from umbrella.places.models import Place
from umbrella.places.queries import resolve_place
from umbrella.pledges import services as pledges

BERLIN = (52.52, 13.405)
RZESZOW = (50.11, 22.02)
CONSTANTA = (44.17, 28.64)
KYIV = (50.45, 30.52)
ODESA = (46.48, 30.72)
LISBON = (38.72, -9.14)


def routes(origins, destinations, hubs=(), handling=(), **options):
    def column(points, index):
        return np.array([point[index] for point in points], dtype=float)

    return Routes(
        origin_lat=column(origins, 0),
        origin_lon=column(origins, 1),
        offer_origin=np.arange(len(origins)),
        destination_lat=column(destinations, 0),
        destination_lon=column(destinations, 1),
        hub_lat=column(hubs, 0),
        hub_lon=column(hubs, 1),
        hub_handling_days=np.array(handling, dtype=float),
        **options,
    )


def test_great_circle_matches_a_known_distance():
    paris, london = (48.8566, 2.3522), (51.5074, -0.1278)
    assert great_circle_km(*paris, *london) == pytest.approx(343.5, abs=1.0)
    assert great_circle_km(*KYIV, *KYIV) == 0


def test_the_best_hub_is_the_one_that_gets_there_first():
    table = routes([BERLIN], [KYIV, ODESA], hubs=[RZESZOW, CONSTANTA], handling=[2, 3])
    result = legs(table, np.array([0, 0]), np.array([0, 1]))

    def via(hub, handling, destination):
        km = 1.3 * (great_circle_km(*BERLIN, *hub) + great_circle_km(*hub, *destination))
        return math.ceil(km / 500) + handling, km

    to_kyiv = min(via(RZESZOW, 2, KYIV), via(CONSTANTA, 3, KYIV))
    to_odesa = min(via(RZESZOW, 2, ODESA), via(CONSTANTA, 3, ODESA))
    assert to_kyiv == via(RZESZOW, 2, KYIV)
    assert result.lead_days.tolist() == [to_kyiv[0], to_odesa[0]]
    assert result.route_km.tolist() == pytest.approx([to_kyiv[1], to_odesa[1]])
    assert not result.unknown.any()


def test_handling_time_can_make_the_longer_road_the_better_one():
    slow_near, quick_far = (50.0, 23.0), (48.0, 24.0)
    table = routes([BERLIN], [KYIV], hubs=[slow_near, quick_far], handling=[10, 0])
    near_days = math.ceil(1.3 * (great_circle_km(*BERLIN, *slow_near) + great_circle_km(*slow_near, *KYIV)) / 500) + 10
    far_days = math.ceil(1.3 * (great_circle_km(*BERLIN, *quick_far) + great_circle_km(*quick_far, *KYIV)) / 500)
    assert far_days < near_days
    assert legs(table, np.array([0]), np.array([0])).lead_days.tolist() == [far_days]


def test_without_hubs_the_route_is_direct():
    result = legs(routes([BERLIN], [KYIV]), np.array([0]), np.array([0]))
    km = 1.3 * great_circle_km(*BERLIN, *KYIV)
    assert result.route_km.tolist() == pytest.approx([km])
    assert result.lead_days.tolist() == [math.ceil(km / 500)]


def test_an_unknown_origin_starts_at_the_best_hub_and_an_unknown_destination_travels_nothing():
    table = routes([BERLIN, (math.nan, math.nan)], [KYIV, (math.nan, math.nan)], hubs=[RZESZOW, CONSTANTA], handling=[2, 9])
    table = Routes(**{**table.__dict__, "offer_origin": np.array([0, 1, UNKNOWN])})
    result = legs(table, np.array([0, 0, 1, 2]), np.array([0, 1, 0, 0]))
    from_the_hub = 1.3 * great_circle_km(*RZESZOW, *KYIV)
    assert result.unknown.tolist() == [False, True, False, False]
    assert result.lead_days[1:].tolist() == [0, math.ceil(from_the_hub / 500) + 2, math.ceil(from_the_hub / 500) + 2]
    assert result.route_km[2:].tolist() == pytest.approx([from_the_hub, from_the_hub])


def test_with_no_hub_an_unknown_origin_travels_nothing():
    table = routes([(math.nan, math.nan)], [KYIV])
    result = legs(table, np.array([0]), np.array([0]))
    assert (result.unknown.tolist(), result.lead_days.tolist()) == ([True], [0])


def one_item_market(**overrides):
    # R0 needs 1×item 0 at destination 0 (Kyiv) by day 10; O0 from Berlin, O1 from Lisbon, both available day 0.
    fields = dict(
        requirement_type=np.array([0]),
        requirement_quantity=np.array([1.0]),
        requirement_priority=np.array([1]),
        requirement_needed_by=np.array([10]),
        requirement_destination=np.array([0]),
        requirement_area=np.zeros(1, dtype=int),
        requirement_substitutes=np.array([False]),
        offer_type=np.array([0, 0]),
        offer_quantity=np.array([1.0, 1.0]),
        offer_available=np.array([0, 0]),
        offer_integer=np.ones(2, dtype=bool),
        offer_restricted=np.zeros(2, dtype=bool),
        allowed_offer=np.zeros(0, dtype=int),
        allowed_destination=np.zeros(0, dtype=int),
        substitute_offered=np.zeros(0, dtype=int),
        substitute_required=np.zeros(0, dtype=int),
        substitute_ratio=np.zeros(0),
        routes=routes([BERLIN, LISBON], [KYIV], hubs=[RZESZOW], handling=[2]),
    )
    fields.update(overrides)
    return Market(**fields)


def test_the_lead_time_is_added_before_lateness_is_judged():
    policy = Policy(max_late_days=3)
    candidates = candidate_arcs(one_item_market(), policy)
    lead = candidates.lead_days.tolist()
    assert lead[0] < lead[1]  # Berlin is nearer than Lisbon
    assert candidates.late_days.tolist() == [max(days - 10, 0) for days in lead]
    expected = [TOO_LATE if max(days - 10, 0) > 3 else USABLE for days in lead]
    assert candidates.status.tolist() == expected
    without_routes = candidate_arcs(one_item_market(routes=None), policy)
    assert without_routes.late_days.tolist() == [0, 0]


def test_of_two_equal_pledges_the_nearer_one_is_chosen():
    market = one_item_market(requirement_needed_by=np.array([400]))
    policy = Policy()
    candidates = candidate_arcs(market, policy)
    solution = solve(build_problem(market, candidates, policy))
    chosen = candidates.offer[candidates.usable][solution.flow > 0.5].tolist()
    assert chosen == [0]
    listed_first_from_lisbon = one_item_market(
        requirement_needed_by=np.array([400]), routes=routes([LISBON, BERLIN], [KYIV], hubs=[RZESZOW], handling=[2])
    )
    candidates = candidate_arcs(listed_first_from_lisbon, policy)
    solution = solve(build_problem(listed_first_from_lisbon, candidates, policy))
    assert candidates.offer[candidates.usable][solution.flow > 0.5].tolist() == [1]


def test_the_transport_preference_never_outweighs_what_a_unit_is_worth():
    with pytest.raises(ValueError):
        Policy(late_fraction=0.5, substitute_fraction=0.3, transport_fraction=0.2)
    with pytest.raises(ValueError):
        Policy(transport_reference_km=0)


@pytest.mark.django_db
def test_a_run_judges_lateness_by_arrival_from_the_donors_country_through_the_best_hub(personas):
    item = factories.item_type(personas)
    needed_by = dt.date(2026, 9, 1)
    lst = needs.create_requirement_list(
        actor=personas.recipient, fields={"series": "L-TRANSPORT", "title": "Transport", "marking": "participants"}
    )
    needs.create_requirement(
        actor=personas.recipient,
        list_id=lst.pk,
        fields=factories.requirement_fields(item, quantity=2, needed_by=needed_by, destination="Kharkiv"),
    )
    lst.refresh_from_db()
    lst = needs.propose_requirement_list(actor=personas.recipient, list_id=lst.pk, expected_version=lst.version)
    needs.approve_requirement_list(actor=personas.coordinator, list_id=lst.pk, expected_version=lst.version)
    pledge = pledges.create_pledge(
        actor=personas.donor_editor,  # Donor A, whose country (DEU) the gazetteer has as DE
        fields={"item_type": item, "quantity": 2, "available_from": needed_by},
        sources=[factories.source()],
    )
    factories.advance(personas, pledge, "offer", "accept")

    run = matching.run_match(actor=personas.coordinator)

    def point(place):
        return float(place.latitude), float(place.longitude)

    germany, kharkiv = point(Place.objects.get(code="DE")), point(resolve_place("Kharkiv"))
    lead = min(
        math.ceil(1.3 * (great_circle_km(*germany, *point(hub)) + great_circle_km(*point(hub), *kharkiv)) / 500)
        + hub.hub_handling_days
        for hub in Place.objects.filter(hub_capacity__isnull=False)
    )
    assert lead > 0
    assert run.proposals.get(pledge=pledge).late_days == lead  # available on the day it was needed: late by the way there

"""Readiness at a destination and crew sync, read from the database: a destination that misses only munitions and
one that misses only crews (also through `umbrella readiness --json` as a subprocess), a course ending after its
system's handover flagged with the days late, a past day's readiness unchanged by what was recorded later, and
query counts that do not grow with the rows.

Every record is written through the services, as the persona who would."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests import demo_copies, factories
from tests.conftest import ensure_base_data, load_gazetteer
from tests.test_logistics import receive, step
from umbrella.catalog import services as catalog
from umbrella.catalog.models import PackageRule
from umbrella.core.testing import load_personas
from umbrella.eum import services as eum
from umbrella.logistics import services as logistics
from umbrella.logistics.models import Consignment
from umbrella.matching import services as matching
from umbrella.matching.models import Allocation, AllocationState
from umbrella.needs import services as needs
from umbrella.pledges import services as pledges
from umbrella.training import services as training
from umbrella.training.models import Course
from umbrella.training.readiness_queries import readiness_board, training_plan

TODAY = timezone.localdate()


def system_with_package(personas, *, crew_size=3, rounds_per_day=10, days=10, spare_kits=0):
    system = factories.item_type(personas, crew_size=crew_size, sensitive=False)
    munition = factories.item_type(personas, bulk=True)
    catalog.create_compatibility(actor=personas.coordinator, fields={"source": system, "kind": "fires", "target": munition})
    catalog.create_package_rule(
        actor=personas.coordinator,
        fields={
            "system": system,
            "crews_per_system": 1,
            "rounds_per_day": Decimal(rounds_per_day),
            "days_of_supply": days,
            "spare_kits_per_system": Decimal(spare_kits),
            "source": "test rule",
        },
    )
    course_type = training.create_course_type(
        actor=personas.coordinator,
        fields={
            "code": f"CT-{system.code}",
            "name": f"{system.name} crew",
            "qualification": f"{system.name} crew",
            "system": system,
            "weeks": 6,
        },
    )
    return system, munition, course_type


def allocate(personas, wanted):
    """Requirements (item, quantity, destination code) on one approved list, each met by a pledge of its own; one
    match run; returns the allocation of each requirement, in order."""
    lst = needs.create_requirement_list(
        actor=personas.recipient,
        fields={"series": f"R-{Allocation.objects.count()}", "title": "Readiness", "marking": "participants"},
    )
    requirements = [
        needs.create_requirement(
            actor=personas.recipient,
            list_id=lst.pk,
            fields=factories.requirement_fields(item, quantity=quantity, destination=destination),
        )
        for item, quantity, destination in wanted
    ]
    lst.refresh_from_db()
    lst = needs.propose_requirement_list(actor=personas.recipient, list_id=lst.pk, expected_version=lst.version)
    needs.approve_requirement_list(actor=personas.coordinator, list_id=lst.pk, expected_version=lst.version)
    by_item: dict = {}
    for item, quantity, _ in wanted:
        by_item[item] = by_item.get(item, 0) + quantity
    for item, quantity in by_item.items():
        pledge = pledges.create_pledge(
            actor=personas.donor_editor,
            fields={"item_type": item, "quantity": quantity, "available_from": dt.date(2026, 3, 1)},
            sources=[factories.source()],
        )
        factories.advance(personas, pledge, "offer", "accept")
    run = matching.run_match(actor=personas.coordinator)
    matching.approve_proposals(actor=personas.coordinator, run_id=run.pk, expected_version=run.version)
    return [Allocation.objects.get(requirement=requirement, state=AllocationState.ACTIVE) for requirement in requirements]


def deliver(personas, places, allocation, *, hand_over=True, eta=dt.date(2026, 6, 1), on=None):
    consignment = logistics.create_consignment(
        actor=personas.donor_editor,
        fields={"reference": f"CN-R-{Consignment.objects.count() + 1}", "weight_kg": Decimal("100.0")},
        lines=[{"allocation": allocation.pk, "quantity": int(allocation.quantity)}],
        legs=[{"from_place": places["hub"], "to_place": places["lviv"], "mode": "road", "planned_arrival": eta}],
    )
    consignment = step(personas, consignment, "dispatch")
    if not hand_over:
        return consignment
    step(personas, consignment, "arrive", who="recipient")
    receive(personas, consignment)
    consignment.refresh_from_db()
    return logistics.hand_over(
        actor=personas.recipient,
        consignment_id=consignment.pk,
        expected_version=consignment.version,
        unit="A-1 air-defence battalion",
        place=places["lviv"].code,
        date=on or TODAY,
        officer_role="battalion logistics officer",
    )


def unit_at(personas, code, station):
    return eum.create_unit(actor=personas.recipient, fields={"code": code, "name": code, "kind": "battalion", "station": station})


def course(personas, course_type, *, starts_on, ends_on, seats=12, confirmed=False):
    offered = training.offer_course(
        actor=personas.donor_editor,
        fields={
            "course_type": course_type,
            "reference": f"C-{Course.objects.count() + 1}",
            "provider": "Test school",
            "site": factories.place(personas, "PL"),
            "starts_on": starts_on,
            "ends_on": ends_on,
            "seats": seats,
            "language": "en",
            "seat_value_eur": Decimal("1000.00"),
        },
    )
    if not confirmed:
        return offered
    return training.confirm_course(actor=personas.donor_editor, course_id=offered.pk, expected_version=offered.version)


def nominate(personas, course_obj, unit, count, *, graduated_on=None):
    trainees = [{"trainee": f"T-{course_obj.pk}-{unit.pk}-{number:03d}", "unit": unit} for number in range(count)]
    nominated = training.nominate(actor=personas.recipient, course_id=course_obj.pk, trainees=trainees)
    if graduated_on:
        training.graduate(actor=personas.recipient, nomination_ids=[n.pk for n in nominated], on=graduated_on)


def complete(personas, course_obj):
    course_obj.refresh_from_db()
    training.complete_course(actor=personas.donor_editor, course_id=course_obj.pk, expected_version=course_obj.version)


@pytest.fixture
def world(personas):
    return build_world(personas)


def build_world(personas):
    """Lviv holds 2 launchers with 50 of the 200 rounds they need and 2 full crews: only munitions missing. Kharkiv
    holds 2 launchers with 300 rounds and 1 crew of the 2 it needs: only crews missing."""
    places = factories.hub_and_city(personas)
    places["kharkiv"] = factories.place(personas, "UA-KHARKIV")
    system, munition, course_type = system_with_package(personas)
    lviv, kharkiv = places["lviv"].code, places["kharkiv"].code
    allocations = allocate(personas, [(system, 2, lviv), (munition, 50, lviv), (system, 2, kharkiv), (munition, 300, kharkiv)])
    for allocation in allocations:
        deliver(personas, places, allocation)
    done = course(
        personas, course_type, starts_on=TODAY - dt.timedelta(days=60), ends_on=TODAY - dt.timedelta(days=10), confirmed=True
    )
    nominate(personas, done, unit_at(personas, "LVIV-AD", places["lviv"]), 6, graduated_on=TODAY - dt.timedelta(days=10))
    kharkiv_unit = unit_at(personas, "KHARKIV-AD", places["kharkiv"])
    nominate(personas, done, kharkiv_unit, 3, graduated_on=TODAY - dt.timedelta(days=10))
    complete(personas, done)
    return {"places": places, "system": system, "munition": munition, "course_type": course_type, "kharkiv_unit": kharkiv_unit}


def package_at(board, code):
    (destination,) = [d for d in board.as_dict()["destinations"] if d["destination"]["code"] == code]
    (package,) = destination["packages"]
    return package


@pytest.mark.django_db
def test_one_destination_misses_only_munitions_and_another_only_crews(personas, world):
    board = readiness_board(personas.coordinator)
    lviv = package_at(board, "UA-46-LWO")
    assert lviv["systems"] == {**lviv["systems"], "present": 2, "coming": 0}
    assert lviv["munitions"]["days_of_supply"] == 2.5 and lviv["munitions"]["days_needed"] == 10
    assert lviv["crews"] == {**lviv["crews"], "qualified_people": 6, "crew_size": 3, "qualified": 2, "needed": 2}
    assert lviv["crews"]["course_type"] == world["course_type"].code
    assert lviv["missing"] == ["munitions"] and lviv["completeness"] == (100 + 100 + 25) // 3
    kharkiv = package_at(board, "UA-KHARKIV")
    assert kharkiv["munitions"]["days_of_supply"] == 15
    assert kharkiv["crews"]["qualified"] == 1 and kharkiv["missing"] == ["crews"] and kharkiv["completeness"] == 83
    # The whole country counts both: 4 launchers, 350 rounds, 3 crews.
    (country,) = readiness_board(personas.coordinator, destination=factories.place(personas, "UA")).as_dict()["destinations"]
    assert country["packages"][0]["systems"]["present"] == 4 and country["packages"][0]["crews"]["qualified"] == 3


@pytest.mark.django_db
def test_donors_and_observers_may_not_read_readiness(personas):
    from umbrella.training.readiness_queries import may_read

    assert [
        name
        for name in ("coordinator", "recipient", "auditor", "donor_editor", "observer", "anonymous")
        if may_read(personas[name])
    ] == [
        "coordinator",
        "recipient",
        "auditor",
    ]


@pytest.mark.django_db
def test_a_course_ending_after_the_handover_is_flagged_with_the_days_the_crews_are_late(personas, world):
    late_course = course(
        personas, world["course_type"], starts_on=TODAY - dt.timedelta(days=20), ends_on=TODAY + dt.timedelta(days=17)
    )
    nominate(personas, late_course, world["kharkiv_unit"], 3)
    plan = training_plan(personas.coordinator).as_dict()
    (late,) = plan["late"]
    assert (late["destination"], late["days_late"], late["people_short"]) == ("UA-KHARKIV", 17, 0)
    assert late["late_courses"] == [
        {"id": late_course.pk, "reference": late_course.reference, "ends_on": late_course.ends_on.isoformat(), "days_late": 17}
    ]


@pytest.mark.django_db
def test_seat_gaps_name_the_offered_course_that_closes_them(personas, world):
    # Kharkiv lacks 3 people (one crew of 3) for the launchers it holds since today.
    offer = course(
        personas, world["course_type"], starts_on=TODAY + dt.timedelta(days=1), ends_on=TODAY + dt.timedelta(days=30), seats=4
    )
    plan = training_plan(personas.coordinator)
    gaps = plan.as_dict()["gaps"]
    assert [gap["seats"] for gap in gaps] == [3]
    # The course ends after the launchers arrived (today): it cannot close a gap that is already open.
    assert gaps[0]["closing"] == [] and gaps[0]["uncovered"] == 3
    assert offer.pk in {o.course for o in plan_offers(personas)}


def plan_offers(personas):
    from umbrella.training.readiness_queries import _world

    return _world(personas.coordinator, None).offers


@pytest.mark.django_db
def test_a_past_days_readiness_is_not_changed_by_what_is_recorded_later(personas, world):
    before = readiness_board(personas.coordinator, as_of=TODAY).as_dict()
    plan_before = training_plan(personas.coordinator, as_of=TODAY).as_dict()
    assert before == {**readiness_board(personas.coordinator).as_dict(), "as_of": TODAY.isoformat()}
    moment = timezone.now()
    # Later: more rounds for Lviv handed over, three more graduates at Kharkiv, a launcher released from nothing.
    (more,) = allocate(personas, [(world["munition"], 150, world["places"]["lviv"].code)])
    deliver(personas, world["places"], more)
    again = course(
        personas,
        world["course_type"],
        starts_on=TODAY - dt.timedelta(days=40),
        ends_on=TODAY - dt.timedelta(days=10),
        confirmed=True,
    )
    nominate(personas, again, world["kharkiv_unit"], 3, graduated_on=TODAY - dt.timedelta(days=10))
    now = readiness_board(personas.coordinator).as_dict()
    assert package_at_dict(now, "UA-46-LWO")["missing"] == [] and package_at_dict(now, "UA-KHARKIV")["missing"] == []
    # Read as recorded by the moment before those writes: what it was then.
    assert readiness_board(personas.coordinator, as_of=TODAY, recorded_by=moment).as_dict() == before
    assert training_plan(personas.coordinator, as_of=TODAY, recorded_by=moment).as_dict() == plan_before
    # Nothing of it had been recorded the day before.
    assert readiness_board(personas.coordinator, as_of=TODAY - dt.timedelta(days=1)).as_dict()["destinations"] == []


def package_at_dict(board, code):
    (destination,) = [d for d in board["destinations"] if d["destination"]["code"] == code]
    return destination["packages"][0]


@pytest.mark.django_db
def test_the_board_and_plan_read_a_fixed_number_of_queries_whatever_the_rows(personas, world, as_client):
    from django.db import connection

    client = as_client("coordinator")

    def counted():
        counts = []
        for read in (
            lambda: readiness_board(personas.coordinator),
            lambda: training_plan(personas.coordinator),
            lambda: client.get("/readiness/"),
            lambda: client.get("/readiness/training-plan/"),
            lambda: readiness_board(personas.coordinator, as_of=TODAY),
        ):
            with CaptureQueriesContext(connection) as queries:
                read()
            counts.append(len(queries))
        return counts

    few = counted()
    more = allocate(
        personas, [(world["system"], 1, world["places"]["lviv"].code), (world["munition"], 10, world["places"]["kharkiv"].code)]
    )
    for allocation in more:
        deliver(personas, world["places"], allocation, hand_over=False)
    again = course(
        personas,
        world["course_type"],
        starts_on=TODAY - dt.timedelta(days=40),
        ends_on=TODAY - dt.timedelta(days=10),
        confirmed=True,
    )
    nominate(personas, again, world["kharkiv_unit"], 4, graduated_on=TODAY - dt.timedelta(days=10))
    assert counted() == few


UMBRELLA = str(Path(sys.executable).with_name("umbrella"))


def database_url() -> str:
    from django.db import connection

    settings = connection.settings_dict
    if settings["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings['NAME']}"
    return f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"


def umbrella(*arguments):
    from umbrella.settings import DATA_DIR

    env = demo_copies.environment(DATA_DIR, database_url())
    return subprocess.run([UMBRELLA, *arguments], env=env, capture_output=True, text=True, timeout=300)


def in_process(*arguments) -> tuple[int, str, str]:
    """A command run in this process (its exit status, what it printed and its error): for text meant for people
    and for refusals; what others parse is read from the entry point's own output (`umbrella`)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*arguments, stdout=out, stderr=err)
    except CommandError as error:
        return error.returncode, out.getvalue(), str(error)
    return 0, out.getvalue(), err.getvalue()


@pytest.mark.django_db(transaction=True)
def test_the_readiness_and_training_gaps_commands_print_what_the_board_shows():
    ensure_base_data()
    load_gazetteer()
    personas = load_personas()
    build_world(personas)
    lviv = umbrella("readiness", "--destination", "UA-46-LWO", "--json", "--user", "cora")
    assert lviv.returncode == 0, lviv.stderr
    (destination,) = json.loads(lviv.stdout)["destinations"]
    (package,) = destination["packages"]
    assert package["missing"] == ["munitions"] and package["munitions"]["days_of_supply"] == 2.5
    assert (package["crews"]["qualified"], package["crews"]["needed"], package["systems"]["present"]) == (2, 2, 2)
    assert json.loads(lviv.stdout)["as_of"] is None
    gaps = umbrella("training", "gaps", "--json", "--user", "cora")
    assert gaps.returncode == 0, gaps.stderr
    printed = json.loads(gaps.stdout)
    assert [(gap["system"], gap["seats"]) for gap in printed["gaps"]] == [(build_system_code(), 3)]
    assert printed["arrivals"]
    for arrival in printed["arrivals"]:
        assert_arrival_figures_add_up(arrival)

    _, kharkiv, _ = in_process("readiness", "--destination", "Kharkiv", "--json", "--user", "rita")
    assert json.loads(kharkiv)["destinations"][0]["packages"][0]["missing"] == ["crews"]
    _, board, _ = in_process("readiness", "--json", "--user", "audrey")
    assert json.loads(board) == readiness_board(personas.auditor).as_dict()
    status, _, error = in_process("readiness", "--destination", "Atlantis", "--user", "cora")
    assert status == 2 and "Atlantis" in error
    assert in_process("readiness", "--user", "alice")[0] == 2  # a donor reads no readiness
    status, text, _ = in_process("readiness", "--user", "cora")
    assert status == 0 and "missing: munitions" in text and "missing: crews" in text
    # The text says what the board says: no spares needed, the people behind the crews, plurals by count.
    assert "spares: needs none" in text and "crews 2 of 2 (6 people qualified, crews of 3)" in text
    assert "1 system type, 2 systems" in text and "1 types" not in text
    _, past, _ = in_process("readiness", "--as-of", TODAY.isoformat(), "--json", "--user", "cora")
    assert json.loads(past)["as_of"] == TODAY.isoformat()
    _, gaps_text, _ = in_process("training", "gaps", "--user", "cora")
    assert gaps_text.startswith("Crews late on")
    assert f"CT-{build_system_code()} for {build_system_code()}" in gaps_text and "3 seats needed by" in gaps_text


def build_system_code():
    return PackageRule.objects.get().system.code


@pytest.mark.django_db
def test_the_api_serves_the_board_and_the_gaps_to_their_readers_only(personas, world):
    from tests.test_logistics_pages import api_client

    board = api_client(personas, "recipient").get("/api/v1/readiness", {"destination": "UA-KHARKIV"})
    assert board.status_code == 200
    assert board.json()["destinations"][0]["packages"][0]["missing"] == ["crews"]
    full = api_client(personas, "coordinator").get("/api/v1/readiness").json()
    assert full == json.loads(json.dumps(readiness_board(personas.coordinator).as_dict()))
    unknown = api_client(personas, "coordinator").get("/api/v1/readiness", {"destination": "Atlantis"})
    assert unknown.status_code == 422 and "destination" in unknown.json()["errors"]
    assert api_client(personas, "donor_editor").get("/api/v1/readiness").status_code == 404
    gaps = api_client(personas, "auditor").get("/api/v1/training/gaps").json()
    assert [gap["seats"] for gap in gaps["gaps"]] == [3]


PAGE_READERS = {"coordinator", "hq_admin", "auditor", "recipient"}


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/readiness/", "/readiness/training-plan/"])
def test_the_readiness_pages_are_for_coordination_staff_the_recipient_and_auditors(personas, as_client, url):
    from umbrella.core.testing import PERSONA_NAMES

    for persona in PERSONA_NAMES:
        expected = 200 if persona in PAGE_READERS else 302 if persona == "anonymous" else 404
        assert as_client(persona).get(url).status_code == expected, persona


@pytest.mark.django_db
def test_the_board_says_in_words_which_element_is_missing_with_figures_from_the_database(personas, world, as_client):
    from umbrella.logistics.models import ConsignmentLine

    body = as_client("recipient").get("/readiness/").content.decode()
    lviv = body.split('data-destination="UA-46-LWO"', 1)[1].split("</section>", 1)[0]
    row = lviv.split(f'data-system="{world["system"].code}"', 1)[1].split("</tr>", 1)[0]
    # Rounds on hand at Lviv, read from the consignment lines handed over there.
    rounds = sum(
        line.quantity_received
        for line in ConsignmentLine.objects.filter(
            allocation__requirement__destination=world["places"]["lviv"], allocation__pledge__item_type=world["munition"]
        )
    )
    assert rounds == 50
    assert f"missing</span>: 2.5 of 10 days of supply on hand ({rounds} of 200 rounds)" in row
    assert "present</span>: 2 of 2 crews qualified (6 people qualified, crews of 3)" in row
    assert "present</span>: 2 of 2 handed over" in row and "needs none" in row
    assert 'data-missing data-label="Missing"><strong class="flag">munitions</strong>' in row
    # Only the least complete destination's packages are on the board itself; the others' on their own page.
    assert 'data-destination="UA-KHARKIV"' not in body
    chosen = as_client("recipient").get("/readiness/", {"destination": "UA-KHARKIV"}).content.decode()
    kharkiv = chosen.split('data-destination="UA-KHARKIV"', 1)[1].split("</section>", 1)[0]
    assert "data-summary" not in chosen and "data-chosen" in chosen
    assert (
        "missing</span>: 1 of 2 crews qualified" in kharkiv
        and 'data-label="Missing"><strong class="flag">crews</strong>' in kharkiv
    )
    assert 'data-zoo="UA-KHARKIV"' in kharkiv
    chosen = as_client("coordinator").get("/readiness/", {"destination": "Atlantis"})
    assert chosen.status_code == 400 and "Atlantis" in chosen.content.decode()


@pytest.mark.django_db
def test_the_training_plan_draws_a_late_course_and_lists_it_in_its_tables(personas, world, as_client):
    late_course = course(
        personas, world["course_type"], starts_on=TODAY - dt.timedelta(days=20), ends_on=TODAY + dt.timedelta(days=17)
    )
    nominate(personas, late_course, world["kharkiv_unit"], 3)
    body = as_client("coordinator").get("/readiness/training-plan/").content.decode()
    chart, tables = body.split("<table", 1)
    assert 'class="span flagged"' in chart and "crews late by 17 days" in chart
    # Two launchers handed over at each of two destinations this month (munitions are no systems): one diamond for
    # the month, flagged for the one arrival whose crews are late.
    assert chart.count('class="mark') == 1
    assert f"{TODAY:%Y-%m}: systems arriving 4, destinations 2" in chart
    assert "crews late or short for 1 of 2 arrivals" in chart
    arrival = tables.split(f'data-arrival="UA-KHARKIV-{world["system"].code}-{TODAY.isoformat()}"', 1)[1].split("</tr>", 1)[0]
    assert "crews late by 17 days" in arrival and f"course {late_course.reference} ends" in arrival
    month = tables.split(f'data-month="{TODAY:%Y-%m}"', 1)[1].split("</tr>", 1)[0]
    assert '<td class="num">4</td><td class="num">12</td>' in month  # 4 launchers arriving, 4 × 3 people


def assert_arrival_figures_add_up(arrival):
    needed, ready, later, short = (arrival[key] for key in ("people_needed", "people_ready", "people_later", "people_short"))
    assert arrival["people_missing"] == max(0, needed - ready) == later + short, arrival


@pytest.mark.django_db
def test_each_arrivals_figures_add_up_on_the_training_plan_in_date_order(personas, world, as_client):
    from umbrella.training.views_readiness import PLAN_LEGEND

    late_course = course(
        personas, world["course_type"], starts_on=TODAY - dt.timedelta(days=20), ends_on=TODAY + dt.timedelta(days=17)
    )
    nominate(personas, late_course, world["kharkiv_unit"], 2)
    arrivals = training_plan(personas.coordinator).as_dict()["arrivals"]
    assert arrivals == sorted(arrivals, key=lambda row: (row["on"], row["destination"], row["system"]))
    for arrival in arrivals:
        assert_arrival_figures_add_up(arrival)
    kharkiv = next(row for row in arrivals if row["destination"] == "UA-KHARKIV")
    # 2 launchers × 1 crew of 3: 6 needed, 3 graduated, 2 on a course ending after the handover, 1 not nominated.
    assert (kharkiv["systems_by_then"], kharkiv["people_needed"], kharkiv["people_ready"]) == (2, 6, 3)
    assert (kharkiv["people_later"], kharkiv["people_short"]) == (2, 1)
    body = as_client("coordinator").get("/readiness/training-plan/").content.decode()
    table = body.split("data-arrivals", 1)[1].split("</table>", 1)[0]
    rows = table.split("<tr data-arrival=")[1:]
    assert len(rows) == len(arrivals)
    for row in rows:
        figures = {
            key: int(row.split(f"data-{key}>", 1)[1].split("<", 1)[0].replace("\u202f", "").replace(",", ""))
            for key in ("needed", "ready", "later", "short")
        }
        assert max(0, figures["needed"] - figures["ready"]) == figures["later"] + figures["short"], row
    # The legend says in words what the colours mean, beside the chart.
    legend = body.split("data-legend", 1)[1].split("</ul>", 1)[0]
    assert all(str(text) in legend for _, text in PLAN_LEGEND)


@pytest.mark.django_db
def test_the_board_opens_with_a_summary_least_complete_first_linking_to_each_destination(personas, world, as_client):
    body = as_client("coordinator").get("/readiness/").content.decode()
    summary = body.split("data-summary>", 1)[1].split("</table>", 1)[0]
    board = readiness_board(personas.coordinator)
    # Lviv misses munitions (75 %), Kharkiv crews (83 %): Lviv first, here as in the JSON.
    assert [d.place.code for d in board.destinations] == ["UA-46-LWO", "UA-KHARKIV"]
    assert summary.index('data-summary-row="UA-46-LWO"') < summary.index('data-summary-row="UA-KHARKIV"')
    assert 'href="?destination=UA-KHARKIV"' in summary and 'href="?destination=UA-46-LWO"' in summary
    lviv_row = summary.split('data-summary-row="UA-46-LWO"', 1)[1].split("</tr>", 1)[0]
    assert "75 %" in lviv_row and "munitions in 1 of 1" in lviv_row
    # The least complete destination's packages follow the summary; the others open from it.
    assert 'data-destination="UA-46-LWO"' in body and 'data-destination="UA-KHARKIV"' not in body
    past = as_client("coordinator").get("/readiness/", {"as_of": TODAY.isoformat()}).content.decode()
    assert f'href="?destination=UA-KHARKIV&amp;as_of={TODAY.isoformat()}"' in past
    # Each cell names its column, for the stacked layout on a phone.
    assert 'data-missing data-label="Missing"' in body


def test_the_commands_text_groups_untrainable_systems_and_calls_a_passed_arrival_overdue():
    from umbrella.training.management.commands.readiness import package_text
    from umbrella.training.management.commands.training import gap_lines

    late = {
        "destination": "UA-KHARKIV",
        "system": "AD-NASAMS",
        "on": "2025-10-18",
        "status": "allocated",
        "systems": 1,
        "qualify_on": "2026-08-05",
        "days_late": 291,
        "late_courses": [],
    }
    untrained = {"course_type": None, "system": "AD-SAMPT", "closing": [], "uncovered": 1}
    lines = gap_lines(
        {
            "day": "2026-11-26",
            "late": [late],
            "gaps": [
                {**untrained, "month": "2025-07", "need_by": "2025-07-10", "seats": 1},
                {**untrained, "month": "2026-03", "need_by": "2026-03-19", "seats": 30},
                {
                    "course_type": "CT-1",
                    "system": "S-1",
                    "month": "2027-01",
                    "need_by": "2027-01-05",
                    "seats": 1,
                    "closing": [],
                    "uncovered": 1,
                },
            ],
        }
    )
    assert (
        "  UA-KHARKIV AD-NASAMS: 1 system due 2025-10-18 (allocated) and not handed over: overdue; crews qualify 2026-08-05"
        in lines
    )
    assert not any("291" in line for line in lines)
    assert "  AD-SAMPT: no course type exists; 31 people needed, the first by 2025-07-10" in lines
    assert sum("AD-SAMPT" in line for line in lines) == 1
    assert "Seat gaps: 1" in lines and any("CT-1 for S-1, 2027-01: 1 seat needed" in line for line in lines)
    package = {
        "completeness": 50,
        "missing": ["systems", "crews"],
        "systems": {"present": 0, "expected": 5, "coming": 5, "in_transit": 0, "allocated": 5, "next_arrival": "2025-08-10"},
        "munitions": {"days_of_supply": None},
        "spares": {"on_hand": 0, "needed": 0},
        "crews": {"qualified": 0, "needed": 5, "qualified_people": 7, "crew_size": 20, "course_type": None},
    }
    text = package_text(package, dt.date(2026, 11, 26))
    assert "due 2025-08-10: overdue, not handed over" in text and "spares: needs none" in text
    assert "crews 0 of 5 (7 people qualified, crews of 20), no course type qualifies crews for this system" in text


def test_the_training_plan_lists_a_system_type_without_a_course_type_once():
    from umbrella.training.views_readiness import _untrained

    gap = {"course_type": None, "system": "AD-SAMPT", "closing": [], "uncovered": 1}
    gaps = [
        {**gap, "month": "2026-03", "need_by": "2026-03-19", "seats": 30},
        {**gap, "month": "2025-07", "need_by": "2025-07-10", "seats": 1},
        {**gap, "course_type": "CT-1", "system": "S-1", "month": "2027-01", "need_by": "2027-01-05", "seats": 4},
    ]
    assert _untrained(gaps) == [{"system": "AD-SAMPT", "people": 31, "first": "2025-07-10"}]


def test_a_board_cell_calls_a_passed_due_date_overdue_and_says_when_no_course_type_trains_crews():
    from umbrella.training.readiness import CREWS, SPARES, SYSTEMS, Destination, Rule, readiness
    from umbrella.training.readiness_queries import PackageRow
    from umbrella.training.views_readiness import _element

    (package,) = readiness(
        {1: Rule(system=1, crew_size=20, spare_kits_per_system=Decimal(1))},
        Destination(present={}, coming={1: 5}, stock={}, qualified={1: 7}),
    )
    row = PackageRow(package, "AD-X", "X", 20, in_transit=0, allocated=5, next_arrival=dt.date(2025, 8, 10))
    day = dt.date(2026, 11, 26)
    assert "due 2025-08-10: overdue, not handed over" in _element(row, SYSTEMS, day)["text"]
    assert "next due" in _element(row, SYSTEMS, dt.date(2025, 8, 1))["text"]
    assert _element(row, SPARES, day)["text"] == "0 of 5 spare kits on hand"
    crews = _element(row, CREWS, day)["text"]
    assert crews == "0 of 5 crews qualified (7 people qualified, crews of 20); no course type qualifies crews for this system"
    trained = PackageRow(package, "AD-X", "X", 20, 0, 5, None, course_type="CT-X")
    assert "no course type" not in _element(trained, CREWS, day)["text"]


@pytest.mark.django_db
def test_the_training_plan_filters_by_destination_system_and_lateness_and_pages_its_tables(
    personas, world, as_client, monkeypatch
):
    from umbrella.ui import sections

    late_course = course(
        personas, world["course_type"], starts_on=TODAY - dt.timedelta(days=20), ends_on=TODAY + dt.timedelta(days=17)
    )
    nominate(personas, late_course, world["kharkiv_unit"], 3)
    client = as_client("coordinator")
    arrivals = training_plan(personas.coordinator).as_dict()["arrivals"]
    destinations = sorted({row["destination"] for row in arrivals})
    assert destinations == ["UA-46-LWO", "UA-KHARKIV"]

    def arrival_keys(body):
        table = body.split("data-arrivals", 1)[1].split("</table>", 1)[0]
        return [row.split('"', 2)[1] for row in table.split("<tr data-arrival=")[1:]]

    kharkiv = client.get("/readiness/training-plan/", {"destination": "Kharkiv"}).content.decode()
    assert arrival_keys(kharkiv) and all(key.startswith("UA-KHARKIV-") for key in arrival_keys(kharkiv))
    assert "data-filtered" in kharkiv
    late_only = client.get("/readiness/training-plan/", {"flagged": "on"}).content.decode()
    late = [row for row in arrivals if row["days_late"] or row["people_short"]]
    assert len(arrival_keys(late_only)) == len(late) < len(arrivals)
    other_system = client.get("/readiness/training-plan/", {"system": world["munition"].code}).status_code
    assert other_system == 400  # munitions are no system with crews: not a choice
    nothing = client.get("/readiness/training-plan/", {"destination": "Atlantis"})
    assert nothing.status_code == 400 and 'role="alert"' in nothing.content.decode()

    monkeypatch.setattr(sections, "ROWS_PER_PAGE", 1)
    pages = [arrival_keys(client.get("/readiness/training-plan/", {"arrivals_page": n}).content.decode()) for n in (1, 2)]
    every = [f"{row['destination']}-{row['system']}-{row['on']}" for row in arrivals]
    assert pages == [every[:1], every[1:2]]
    second = client.get("/readiness/training-plan/", {"arrivals_page": 2, "flagged": ""}).content.decode()
    assert f"2–2 of {len(arrivals)}" in second and "arrivals_page=1" in second and "flagged=" in second


@pytest.mark.django_db
def test_the_board_names_crews_still_on_a_course_and_says_when_a_place_or_a_past_day_has_nothing(personas, world, as_client):
    ends = TODAY + dt.timedelta(days=17)
    on_course = course(personas, world["course_type"], starts_on=TODAY - dt.timedelta(days=20), ends_on=ends)
    nominate(personas, on_course, world["kharkiv_unit"], 3)
    kharkiv = package_at(readiness_board(personas.coordinator), "UA-KHARKIV")
    assert (kharkiv["crews"]["people_training"], kharkiv["crews"]["training_until"]) == (3, ends.isoformat())
    client = as_client("recipient")
    chosen = client.get("/readiness/", {"destination": "UA-KHARKIV"}).content.decode()
    crews = chosen.split(f'data-system="{world["system"].code}"', 1)[1].split("</tr>", 1)[0].split('data-element="4"', 1)[1]
    assert f"1 of 2 crews qualified (3 people qualified, crews of 3); 3 more on courses, the last qualifying {ends}" in crews
    # A place where no system is expected says so, rather than an empty table at 0 %.
    odesa = factories.place(personas, "UA-ODESA")
    nothing = client.get("/readiness/", {"destination": odesa.code}).content.decode()
    assert "data-nothing-expected" in nothing and "0 % complete" not in nothing and "data-readiness-table" not in nothing
    # A day not yet come is refused; a day before anything was recorded says so.
    future = client.get("/readiness/", {"as_of": (TODAY + dt.timedelta(days=1)).isoformat()})
    body = future.content.decode()
    assert future.status_code == 400 and "has not come yet" in body
    assert 'aria-describedby="id_as_of_error"' in body and 'id="id_as_of_error"' in body
    before = client.get("/readiness/", {"as_of": "2020-01-01"}).content.decode()
    assert "Nothing had been recorded by then: the first ledger entry you may read is of" in before
    at_kharkiv = client.get("/readiness/", {"as_of": "2020-01-01", "destination": "UA-KHARKIV"}).content.decode()
    assert "data-nothing-expected" in at_kharkiv and "Nothing had been recorded by then" in at_kharkiv


@pytest.mark.django_db
def test_the_training_plan_shows_nothing_under_a_bad_filter_and_a_destination_narrows_the_chart(personas, world, as_client):
    client = as_client("coordinator")
    bad = client.get("/readiness/training-plan/", {"destination": "Atlantis"})
    body = bad.content.decode()
    assert bad.status_code == 400 and "Nothing is shown until the fields above are corrected." in body
    assert "data-arrivals" not in body and 'class="mark' not in body
    other_system, _munition, other_type = system_with_package(personas)
    course(personas, other_type, starts_on=TODAY, ends_on=TODAY + dt.timedelta(days=28))
    everything = client.get("/readiness/training-plan/").content.decode().split("<svg", 1)[1].split("</svg>", 1)[0]
    kharkiv = client.get("/readiness/training-plan/", {"destination": "UA-KHARKIV"}).content.decode()
    chart = kharkiv.split("<svg", 1)[1].split("</svg>", 1)[0]
    # Unfiltered, a system type with a course is drawn; filtered to Kharkiv, only the types arriving there are.
    assert other_system.code in everything and other_system.code not in chart
    assert world["system"].code in chart


def test_seat_gaps_an_offered_course_closes_come_first_then_by_month():
    from umbrella.training.crew_sync import Gap
    from umbrella.training.views_readiness import actionable_first

    day = dt.date(2026, 1, 1)
    open_early = Gap(course_type=1, system=1, month="2026-01", need_by=day, seats=3)
    closed_late = Gap(course_type=1, system=1, month="2026-05", need_by=day, seats=3, closing=((7, 3),))
    open_late = Gap(course_type=2, system=2, month="2026-03", need_by=day, seats=1)
    assert actionable_first([open_late, open_early, closed_late]) == [closed_late, open_early, open_late]


@pytest.mark.django_db
def test_a_gap_no_course_type_can_close_is_listed_apart_from_the_seat_gaps(personas, world, as_client):
    untrained = factories.item_type(personas, crew_size=4, sensitive=False)
    catalog.create_package_rule(
        actor=personas.coordinator,
        fields={
            "system": untrained,
            "crews_per_system": 1,
            "rounds_per_day": Decimal(0),
            "days_of_supply": 1,
            "spare_kits_per_system": Decimal(0),
            "source": "test rule",
        },
    )
    (allocation,) = allocate(personas, [(untrained, 1, world["places"]["kharkiv"].code)])
    deliver(personas, world["places"], allocation)
    body = as_client("coordinator").get("/readiness/training-plan/").content.decode()
    seat_gaps = body.split("data-gaps", 1)[1].split("</table>", 1)[0]
    apart = body.split("data-untrained", 1)[1].split("</table>", 1)[0]
    assert untrained.code not in seat_gaps and f'data-untrained-system="{untrained.code}"' in apart
    assert world["system"].code in seat_gaps  # Kharkiv's launchers still lack a crew a course type can train

"""Training pages for every persona (course types, courses, trainees) by their page contracts, and the figures they
show checked against the database: seats, in-kind value, qualified people; the recipient nominates several trainees
from a text box and ticks attendance and graduation on the course page."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from tests import factories
from umbrella.core.models import ChangeRecord
from umbrella.core.testing import PERSONA_NAMES, PageContract
from umbrella.eum import services as eum
from umbrella.training import queries, services
from umbrella.training.models import Course, CourseType, Nomination, NominationState

pytestmark = pytest.mark.django_db

MEMBERS = frozenset(name for name in PERSONA_NAMES if name != "anonymous")
HQ_EDITORS = frozenset({"coordinator", "hq_admin"})
COURSE_RUNNERS = frozenset({"donor_editor", "coordinator", "hq_admin"})
NOMINATION_READERS = frozenset({"recipient", "coordinator", "hq_admin", "auditor", "donor_editor", "donor_viewer"})
TODAY = timezone.localdate()
_codes = itertools.count(1)


def make_course_type(personas) -> CourseType:
    return services.create_course_type(
        actor=personas.coordinator,
        fields={
            "code": f"CT-{next(_codes)}",
            "name": "Air defence crew course",
            "qualification": "Launcher crew",
            "system": factories.item_type(personas, crew_size=4, standard=""),
            "weeks": 10,
            "seat_value_eur": Decimal("40000.00"),
        },
    )


def make_course(personas, kind=None, **overrides) -> Course:
    fields = {
        "course_type": kind or make_course_type(personas),
        "reference": f"REF-{next(_codes)}",
        "provider": "Air Defence School",
        "site": "PL",
        "starts_on": TODAY - dt.timedelta(days=60),
        "ends_on": TODAY - dt.timedelta(days=2),
        "seats": 5,
    }
    fields.update(overrides)
    return services.offer_course(actor=personas.donor_editor, fields=fields)


def unit(personas, code="ADB-1"):
    return eum.create_unit(actor=personas.recipient, fields={"code": code, "name": f"{code} battalion", "kind": "battalion"})


def make_nomination(personas) -> Nomination:
    course = make_course(personas)
    unit(personas)
    (nomination,) = services.nominate(
        actor=personas.recipient, course_id=course.pk, trainees=[{"trainee": f"T-9-{next(_codes):04d}", "unit": "ADB-1"}]
    )
    return nomination


def course_data(personas, record):
    return {
        "course_type": record.course_type_id,
        "reference": f"NEW-{next(_codes)}",
        "provider": "School",
        "site": "Poland",
        "starts_on": "2027-01-04",
        "ends_on": "2027-03-12",
        "seats": 8,
        "marking": "participants",
    }


CONTRACTS = [
    PageContract(
        name="course type",
        make=make_course_type,
        list_url=lambda r: "/training/course-types/",
        detail_url=lambda r: f"/training/course-types/{r.pk}/",
        create_url=lambda r: "/training/course-types/new/",
        create_data=lambda p, r: {
            "code": f"NEW-{next(_codes)}",
            "name": "New course",
            "qualification": "New crew",
            "weeks": 4,
            "language": "en",
            "seat_value_eur": "100.00",
            "marking": "participants",
        },
        edit_url=lambda r: f"/training/course-types/{r.pk}/edit/",
        edit_data=lambda r: {
            "code": r.code,
            "name": "Renamed course",
            "qualification": r.qualification,
            "system": r.system_id,
            "weeks": 12,
            "language": "en",
            "seat_value_eur": "100.00",
            "marking": r.marking,
            "version": r.version,
        },
        delete_url=None,
        label=lambda r: r.code,
        can_see=MEMBERS,
        can_create=HQ_EDITORS,
        can_change=HQ_EDITORS,
    ),
    PageContract(
        name="course",
        make=make_course,
        list_url=lambda r: "/training/",
        detail_url=lambda r: f"/training/courses/{r.pk}/",
        create_url=lambda r: "/training/courses/offer/",
        create_data=course_data,
        edit_url=lambda r: f"/training/courses/{r.pk}/edit/",
        edit_data=lambda r: {**course_data(None, r), "reference": r.reference, "seats": 9, "version": r.version},
        delete_url=None,
        label=lambda r: r.reference,
        can_see=MEMBERS,
        can_create=frozenset({"donor_editor", "second_donor"}),
        can_change=COURSE_RUNNERS,
    ),
    PageContract(
        name="trainee",
        make=make_nomination,
        list_url=lambda r: "/training/trainees/",
        detail_url=lambda r: f"/training/trainees/{r.pk}/",
        create_url=lambda r: f"/training/courses/{r.course_id}/nominate/",
        create_data=lambda p, r: {"lines": "T-9-NEW1, ADB-1\nT-9-NEW2, adb-1\n"},
        edit_url=lambda r: f"/training/trainees/{r.pk}/withdraw/",
        edit_data=lambda r: {"reason": "Needed in the unit"},
        delete_url=None,
        label=lambda r: r.trainee,
        can_see=NOMINATION_READERS,
        can_create=frozenset({"recipient"}),
        can_change=frozenset({"recipient"}),
        create_entries=2,
    ),
]


@pytest.mark.parametrize("operation", ("list", "detail", "create", "edit"))
@pytest.mark.parametrize("persona", PERSONA_NAMES)
@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.name)
def test_page_contract(contract, persona, operation, personas, as_client):
    """As tests/test_pages.py checks every model's pages (training records are never deleted, only cancelled or
    withdrawn, so there is no delete page)."""
    record = contract.make(personas)
    client = as_client(persona)
    expected = contract.expected(persona, operation)
    if contract.name == "trainee" and persona == "anonymous" and operation in ("list", "detail"):
        expected = 302  # trainees are for members only: the public is sent to sign in
    ledger_before = ChangeRecord.objects.count()
    if operation == "list":
        response = client.get(contract.list_url(record))
        assert response.status_code == expected
        assert (contract.label(record) in response.content.decode()) == (persona in contract.can_see)
        return
    if operation == "detail":
        assert client.get(contract.detail_url(record)).status_code == expected
        return
    if operation == "create":
        response = client.post(contract.create_url(record), contract.create_data(personas, record))
        entries = contract.create_entries
    else:
        response = client.post(contract.edit_url(record), contract.edit_data(record))
        entries = 1
    assert response.status_code == expected, response.content.decode()[:2000]
    if expected == 302 and persona != "anonymous":
        assert ChangeRecord.objects.count() == ledger_before + entries
    else:
        assert ChangeRecord.objects.count() == ledger_before
        if persona == "anonymous":
            assert response["Location"].startswith("/sign-in/")


@pytest.mark.parametrize("persona", sorted(MEMBERS))
def test_every_member_opens_the_training_pages(personas, as_client, persona):
    course = make_course(personas)
    client = as_client(persona)
    for url in (
        "/training/",
        "/training/course-types/",
        "/training/trainees/",
        "/training/qualified/",
        course.get_absolute_url(),
    ):
        assert client.get(url).status_code == 200, url


def cell(html: str, table: str, attribute: str) -> str:
    return re.search(rf'<table[^>]*id="{table}".*?{attribute}="([^"]*)"', html, re.S).group(1)


def test_the_course_list_shows_seats_and_the_in_kind_value_the_database_holds(personas, as_client):
    kind = make_course_type(personas)
    course = make_course(personas, kind, seats=6)
    services.confirm_course(actor=personas.donor_editor, course_id=course.pk, expected_version=1)
    make_course(personas, kind, seats=3)  # only offered: no in-kind value yet
    unit(personas)
    services.nominate(
        actor=personas.recipient,
        course_id=course.pk,
        trainees=[{"trainee": "T-9-0001", "unit": "ADB-1"}, {"trainee": "T-9-0002", "unit": "ADB-1"}],
    )
    html = as_client("second_donor").get("/training/").content.decode()
    (row,) = queries.in_kind_by_donor(personas.second_donor)
    taken_seats = Nomination.objects.filter(course=course, state__in=services.SEAT_HOLDING).count()
    assert row.value_eur == taken_seats * course.seat_value_eur == Decimal("80000.00")  # 2 of 6 seats taken
    assert cell(html, "in-kind", "data-value") == str(row.value_eur)
    detail = as_client("donor_editor").get(course.get_absolute_url()).content.decode()
    taken = Nomination.objects.filter(course=course, state__in=services.SEAT_HOLDING).count()
    assert re.search(rf"<dt>Seats taken</dt><dd>{taken}</dd>", detail) and re.search(r"<dt>Seats free</dt><dd>4</dd>", detail)


def test_a_donor_finds_its_own_offers(personas, as_client):
    mine = make_course(personas)
    other_kind = mine.course_type
    theirs = services.offer_course(
        actor=personas.second_donor,
        fields={
            "course_type": other_kind,
            "reference": "THEIRS",
            "provider": "X",
            "site": "PL",
            "starts_on": TODAY,
            "ends_on": TODAY,
            "seats": 1,
        },
    )
    html = as_client("donor_editor").get("/training/").content.decode()
    assert 'href="/training/?donor=XDA"' in html
    own = as_client("donor_editor").get("/training/?donor=XDA").content.decode()
    assert mine.reference in own and theirs.reference not in own


def test_the_recipient_nominates_from_a_text_box_and_every_bad_line_is_named(personas, as_client):
    course = make_course(personas, seats=3)
    unit(personas)
    client = as_client("recipient")
    response = client.post(
        f"/training/courses/{course.pk}/nominate/", {"lines": "T-9-0001, ADB-1\nIvan Petrenko, ADB-1\nT-9-0003, NOWHERE\n"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Line 2:" in html and "Line 3:" in html and "Line 1:" not in html
    assert not Nomination.objects.filter(course=course).exists()
    response = client.post(f"/training/courses/{course.pk}/nominate/", {"lines": "T-9-0001, ADB-1\n\nt-9-0002 , adb-1\n"})
    assert response.status_code == 302
    assert sorted(Nomination.objects.filter(course=course).values_list("trainee", flat=True)) == ["T-9-0001", "T-9-0002"]


def test_more_lines_than_any_course_has_seats_are_refused_before_any_line_is_read(personas, as_client):
    course = make_course(personas, seats=3)
    unit(personas)
    lines = "".join(f"T-9-{number:05d}, ADB-1\n" for number in range(5001))
    response = as_client("recipient").post(f"/training/courses/{course.pk}/nominate/", {"lines": lines})
    assert response.status_code == 400
    assert "No course has more than 5,000 seats" in response.content.decode()
    assert not Nomination.objects.filter(course=course).exists()


def test_attendance_and_graduation_are_ticked_on_the_course_page_and_the_unit_counts_its_qualified(personas, as_client):
    course = make_course(personas)
    unit(personas)
    first, second = services.nominate(
        actor=personas.recipient,
        course_id=course.pk,
        trainees=[{"trainee": "T-9-0001", "unit": "ADB-1"}, {"trainee": "T-9-0002", "unit": "ADB-1"}],
    )
    client = as_client("recipient")
    page = f"http://testserver{course.get_absolute_url()}"
    html = client.get(course.get_absolute_url()).content.decode()
    assert f'value="{first.pk}"' in html and "Record the ticked trainees as graduates" in html
    client.post(f"/training/courses/{course.pk}/results/", {"nominations": [first.pk, second.pk], "action": "attend"})
    assert set(Nomination.objects.filter(course=course).values_list("state", flat=True)) == {NominationState.ATTENDING}
    day = TODAY - dt.timedelta(days=2)
    response = as_client("donor_editor").post(
        f"/training/courses/{course.pk}/results/",
        {"nominations": [first.pk], "action": "graduate", "on": day.isoformat()},
        HTTP_REFERER=page,
    )
    assert response.status_code == 302
    assert Nomination.objects.get(pk=first.pk).graduated_on == day
    qualified = as_client("recipient").get("/training/qualified/?unit=ADB-1").content.decode()
    people = sum(row.people for row in queries.qualified_people(personas.recipient))
    assert people == 1 and re.search(r"data-total>(\d+)<", qualified).group(1) == str(people)
    assert cell(qualified, "qualified", "data-unit") == "ADB-1"


def test_a_graduation_in_the_future_is_refused_with_the_reason(personas, as_client):
    course = make_course(personas)
    unit(personas)
    (first,) = services.nominate(
        actor=personas.recipient, course_id=course.pk, trainees=[{"trainee": "T-9-0001", "unit": "ADB-1"}]
    )
    client = as_client("recipient")
    tomorrow = TODAY + dt.timedelta(days=1)
    response = client.post(
        f"/training/courses/{course.pk}/results/", {"nominations": [first.pk], "action": "graduate", "on": tomorrow.isoformat()}
    )
    assert response.status_code == 302
    assert "This day has not come yet." in client.get(course.get_absolute_url()).content.decode()
    assert Nomination.objects.get(pk=first.pk).state == NominationState.NOMINATED


def test_another_donor_is_told_who_sees_trainees_and_offered_no_tick_boxes(personas, as_client):
    nomination = make_nomination(personas)
    html = as_client("second_donor").get(nomination.course.get_absolute_url()).content.decode()
    assert nomination.trainee not in html and 'name="nominations"' not in html
    assert "seen by the recipient, the headquarters and the donor running it" in html


def test_the_course_page_offers_only_the_steps_its_reader_may_take(personas, as_client):
    course = make_course(personas)
    donor = as_client("donor_editor").get(course.get_absolute_url()).content.decode()
    assert f"/training/courses/{course.pk}/confirm/" in donor and f"/training/courses/{course.pk}/complete/" not in donor
    recipient = as_client("recipient").get(course.get_absolute_url()).content.decode()
    assert f"/training/courses/{course.pk}/confirm/" not in recipient and f"/training/courses/{course.pk}/nominate/" in recipient
    response = as_client("donor_editor").post(f"/training/courses/{course.pk}/cancel/", {"reason": "", "version": 1})
    assert response.status_code == 400


@pytest.mark.parametrize("persona", ("recipient", "donor_editor", "coordinator"))
def test_the_course_page_asks_the_same_queries_however_many_trainees(personas, as_client, persona, django_assert_max_num_queries):
    course = make_course(personas, seats=40)
    unit(personas)
    services.nominate(actor=personas.recipient, course_id=course.pk, trainees=[{"trainee": "T-9-0001", "unit": "ADB-1"}])
    client = as_client(persona)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(course.get_absolute_url())
    services.nominate(
        actor=personas.recipient,
        course_id=course.pk,
        trainees=[{"trainee": f"T-9-{index:04d}", "unit": "ADB-1"} for index in range(2, 31)],
    )
    with CaptureQueriesContext(connection) as many:
        client.get(course.get_absolute_url())
    assert len(many) == len(few)


@pytest.mark.parametrize("url", ("/training/", "/training/trainees/", "/training/qualified/", "/training/course-types/"))
def test_the_training_lists_ask_the_same_queries_however_many_courses_and_trainees(personas, as_client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    kind = make_course_type(personas)
    unit(personas)

    def add_courses(count: int) -> None:
        for _index in range(count):
            course = make_course(personas, kind)
            services.confirm_course(actor=personas.donor_editor, course_id=course.pk, expected_version=1)
            made = services.nominate(
                actor=personas.recipient,
                course_id=course.pk,
                trainees=[{"trainee": f"T-8-{next(_codes):04d}", "unit": "ADB-1"} for _trainee in range(2)],
            )
            services.graduate(actor=personas.recipient, nomination_ids=[made[0].pk], on=TODAY - dt.timedelta(days=3))

    add_courses(1)
    client = as_client("coordinator")
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    add_courses(4)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few)


def test_a_course_not_started_offers_no_results_and_says_from_when(personas, as_client):
    course = make_course(personas, starts_on=TODAY + dt.timedelta(days=150), ends_on=TODAY + dt.timedelta(days=200))
    unit(personas)
    (first,) = services.nominate(
        actor=personas.recipient, course_id=course.pk, trainees=[{"trainee": "T-9-0001", "unit": "ADB-1"}]
    )
    client = as_client("recipient")
    html = client.get(course.get_absolute_url()).content.decode()
    assert 'id="results-from"' in html and course.starts_on.isoformat() in html
    assert "Record the ticked trainees as graduates" not in html and 'name="nominations"' not in html and "Tick" not in html
    client.post(f"/training/courses/{course.pk}/results/", {"nominations": [first.pk], "action": "attend"})
    assert Nomination.objects.get(pk=first.pk).state == NominationState.NOMINATED
    assert "can be recorded from that day on" in client.get(course.get_absolute_url()).content.decode()


def test_the_confirm_page_says_what_confirming_means_and_goes_back(personas, as_client):
    course = make_course(personas)
    html = as_client("donor_editor").get(f"/training/courses/{course.pk}/confirm/").content.decode()
    assert "Confirming says the course will run" in html and "empty seats count for nothing" in html
    assert f'<a href="{course.get_absolute_url()}">Back</a>' in html


def test_a_full_course_says_so_instead_of_offering_the_nomination_form(personas, as_client):
    course = make_course(personas, seats=1)
    unit(personas)
    services.nominate(actor=personas.recipient, course_id=course.pk, trainees=[{"trainee": "T-9-0001", "unit": "ADB-1"}])
    client = as_client("recipient")
    html = client.get(course.get_absolute_url()).content.decode()
    assert 'id="course-full"' in html and f"/training/courses/{course.pk}/nominate/" not in html
    response = client.get(f"/training/courses/{course.pk}/nominate/")
    assert response.status_code == 302 and response["Location"] == course.get_absolute_url()


def test_too_many_trainees_say_how_many_were_listed_and_that_nothing_was_written(personas, as_client):
    course = make_course(personas, seats=1)
    unit(personas)
    response = as_client("recipient").post(
        f"/training/courses/{course.pk}/nominate/", {"lines": "T-9-0001, ADB-1\nT-9-0002, ADB-1\nIVAN-PETRENKO, ADB-1\n"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "you listed 3 trainees, so nothing was written" in html and "IVAN-PETRENKO" in html
    assert not Nomination.objects.filter(course=course).exists()


def test_the_offer_form_reports_every_problem_at_once_and_offers_the_training_sites(personas, as_client):
    course = make_course(personas)
    client = as_client("donor_editor")
    html = client.get("/training/courses/offer/").content.decode()
    assert '<datalist id="training-sites">' in html and 'value="US-FORT-SILL"' in html
    assert 'value="PL"' not in html  # a country is not a training site
    data = {**course_data(personas, course), "site": "Nowhere-at-all", "starts_on": "2027-03-12", "ends_on": "2027-01-04"}
    data.pop("seats")
    response = client.post("/training/courses/offer/", data)
    html = response.content.decode()
    assert response.status_code == 400
    assert "Nowhere-at-all" in html and "A course cannot end before it starts." in html and "This field is required." in html
    assert not Course.objects.filter(reference=data["reference"]).exists()


def test_the_course_list_names_a_course_once_totals_every_column_and_orders_donors_by_name(personas, as_client):
    from umbrella.orgs.models import Organization

    kind = make_course_type(personas)
    mine = make_course(personas, kind, reference=f"{kind.code}-A", language="de")
    services.confirm_course(actor=personas.donor_editor, course_id=mine.pk, expected_version=1)
    theirs = services.offer_course(
        actor=personas.second_donor,
        fields={
            "course_type": kind,
            "reference": "B",
            "provider": "X",
            "site": "PL",
            "starts_on": TODAY,
            "ends_on": TODAY,
            "seats": 2,
        },
    )
    services.confirm_course(actor=personas.second_donor, course_id=theirs.pk, expected_version=1)
    html = as_client("coordinator").get("/training/").content.decode()
    assert f"{kind.code} {kind.code}-A" not in html and f">{kind.code}-A</a>" in html and f">{kind.code} B</a>" in html
    assert "German" in html and "<td>de</td>" not in html
    names = [row.donor_name for row in queries.in_kind_by_donor(personas.coordinator)]
    assert (
        names
        == sorted(names, key=str.casefold)
        == sorted(Organization.objects.filter(code__in=["XDA", "XDB"]).values_list("name", flat=True), key=str.casefold)
    )
    assert cell(html, "in-kind", "data-courses") == "2" and cell(html, "in-kind", "data-seats") == "0"


def test_training_pages_write_dates_one_way_in_ukrainian(personas, as_client):
    from django.conf import settings
    from django.utils import formats, translation

    course = make_course(personas)
    client = as_client("recipient")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "uk"
    with translation.override("uk"):
        written = formats.date_format(course.starts_on).replace(" ", "\u00a0")
    listed = client.get("/training/").content.decode()
    shown = client.get(course.get_absolute_url()).content.decode()
    assert written in listed and written in shown and course.starts_on.isoformat() not in shown.split("<h1>")[1].split("</h1>")[1]


@pytest.mark.parametrize("url", ["/training/trainees/", "/training/qualified/"])
def test_trainees_and_qualified_people_are_for_members_only(as_client, url):
    response = as_client("anonymous").get(url)
    assert response.status_code == 302 and response["Location"].startswith("/sign-in/")


def test_a_course_page_links_to_its_trainees_and_their_history(personas, as_client):
    nomination = make_nomination(personas)
    (other,) = services.nominate(
        actor=personas.recipient, course_id=make_course(personas).pk, trainees=[{"trainee": "T-9-OTHER", "unit": "ADB-1"}]
    )
    html = as_client("recipient").get(nomination.course.get_absolute_url()).content.decode()
    url = f"/training/trainees/?course={nomination.course_id}"
    assert f'href="{url}"' in html
    listed = as_client("recipient").get(url).content.decode()
    assert nomination.trainee in listed and other.trainee not in listed


def test_a_donor_who_cannot_tick_sees_no_tick_column(personas, as_client):
    nomination = make_nomination(personas)
    for persona in ("donor_viewer", "donor_editor"):
        html = as_client(persona).get(nomination.course.get_absolute_url()).content.decode()
        assert nomination.trainee in html
        assert ("Tick" in html) == (persona == "donor_editor"), persona

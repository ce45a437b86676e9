"""Training: course types, courses offered by donors, pseudonymous nominations, graduates, and what follows from
them (seats, qualified people, in-kind value, fair share)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tests import factories
from umbrella.core.errors import Forbidden, Invalid, InvalidTransition, NotFound, StaleVersion
from umbrella.core.models import ChangeRecord
from umbrella.core.verify import verify
from umbrella.eum import services as eum
from umbrella.training import queries, services
from umbrella.training.models import Course, CourseState, Nomination, NominationState

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def system_item(personas):
    return factories.item_type(personas, crew_size=4, standard="")


def course_type(personas, **overrides):
    fields = {
        "code": "PATRIOT-OP",
        "name": "Patriot operator course",
        "qualification": "Patriot launcher crew",
        "system": system_item(personas),
        "weeks": 10,
        "language": "en",
        "seat_value_eur": Decimal("50000.00"),
    }
    fields.update(overrides)
    return services.create_course_type(actor=personas.coordinator, fields=fields)


def offer(personas, kind=None, *, donor="donor_editor", **overrides) -> Course:
    fields = {
        "course_type": kind or course_type(personas),
        "reference": "GER-PAT-1",
        "provider": "Air Defence School",
        "site": "PL",
        "starts_on": TODAY - dt.timedelta(days=70),
        "ends_on": TODAY - dt.timedelta(days=1),
        "seats": 3,
        "interpreters": 2,
    }
    fields.update(overrides)
    return services.offer_course(actor=personas[donor], fields=fields)


def units(personas):
    return [
        eum.create_unit(actor=personas.recipient, fields={"code": code, "name": code, "kind": "battalion"})
        for code in ("ADB-1", "ADB-2")
    ]


def entries(course) -> int:
    return ChangeRecord.objects.filter(entity="training.course", entity_id=str(course.pk)).count()


def test_only_coordination_staff_keep_course_types(personas):
    kind = course_type(personas)
    assert kind.owner.code == "XHQ"
    for persona in ("donor_editor", "recipient", "auditor"):
        with pytest.raises(Forbidden):
            services.create_course_type(actor=personas[persona], fields={"code": "X-1"})
    changed = services.update_course_type(
        actor=personas.coordinator, course_type_id=kind.pk, expected_version=1, changes={"weeks": 12}
    )
    assert changed.weeks == 12 and changed.version == 2
    with pytest.raises(StaleVersion):
        services.update_course_type(actor=personas.coordinator, course_type_id=kind.pk, expected_version=1, changes={"weeks": 9})


def test_a_donor_offers_a_course_as_its_own_with_the_course_types_seat_value_by_default(personas):
    course = offer(personas)
    assert course.owner.code == "XDA"
    assert course.state == CourseState.OFFERED
    assert course.seat_value_eur == Decimal("50000.00") and course.language == "en"
    assert course.site.code == "PL"
    assert course.marking == "participants"
    assert entries(course) == 1
    for persona in ("recipient", "coordinator", "donor_viewer"):
        with pytest.raises(Forbidden):
            offer(personas, course.course_type, donor=persona)


def test_an_offer_by_code_reports_every_problem_at_once(personas):
    course_type(personas)
    with pytest.raises(Invalid) as refused:
        offer(personas, "NO-SUCH", site="Atlantis-nowhere")
    assert set(refused.value.field_errors) == {"course_type", "site"}
    course = offer(personas, "patriot-op", seat_value_eur=Decimal("1.50"))
    assert course.course_type.code == "PATRIOT-OP" and course.seat_value_eur == Decimal("1.50")


def test_a_course_cannot_end_before_it_starts(personas):
    with pytest.raises(Invalid) as refused:
        offer(personas, starts_on=TODAY, ends_on=TODAY - dt.timedelta(days=1))
    assert "ends_on" in refused.value.field_errors


def test_the_owning_donor_or_coordination_staff_run_the_course_and_others_do_not(personas):
    course = offer(personas)
    with pytest.raises(Forbidden):
        services.confirm_course(actor=personas.second_donor, course_id=course.pk, expected_version=1)
    with pytest.raises(Forbidden):
        services.confirm_course(actor=personas.recipient, course_id=course.pk, expected_version=1)
    course = services.confirm_course(actor=personas.coordinator, course_id=course.pk, expected_version=1)
    assert course.state == CourseState.CONFIRMED
    course = services.update_course(
        actor=personas.donor_editor, course_id=course.pk, expected_version=2, changes={"seats": 5, "site": "UA"}
    )
    assert course.seats == 5 and course.site.code == "UA"
    course = services.complete_course(actor=personas.donor_editor, course_id=course.pk, expected_version=3)
    assert course.state == CourseState.COMPLETED
    assert entries(course) == 4
    with pytest.raises(InvalidTransition):
        services.update_course(actor=personas.donor_editor, course_id=course.pk, expected_version=4, changes={"seats": 6})
    with pytest.raises(InvalidTransition):
        services.cancel_course(actor=personas.donor_editor, course_id=course.pk, expected_version=4, reason="late")


def test_a_course_is_completed_only_once_it_has_ended(personas):
    course = offer(personas, starts_on=TODAY, ends_on=TODAY + dt.timedelta(days=30))
    course = services.confirm_course(actor=personas.donor_editor, course_id=course.pk, expected_version=1)
    with pytest.raises(InvalidTransition):
        services.complete_course(actor=personas.donor_editor, course_id=course.pk, expected_version=2)


def test_cancelling_needs_a_reason_and_keeps_it(personas):
    course = offer(personas)
    with pytest.raises(Invalid):
        services.cancel_course(actor=personas.donor_editor, course_id=course.pk, expected_version=1, reason=" ")
    course = services.cancel_course(actor=personas.donor_editor, course_id=course.pk, expected_version=1, reason="No site")
    assert course.state == CourseState.CANCELLED and course.cancel_reason == "No site"


def test_the_recipient_nominates_trainees_by_pseudonym_and_unit_all_at_once(personas):
    first, second = units(personas)
    course = offer(personas)
    made = services.nominate(
        actor=personas.recipient,
        course_id=course.pk,
        trainees=[{"trainee": "t-47-0001", "unit": "adb-1"}, {"trainee": "T-47-0002", "unit": second.pk}],
    )
    assert [(n.trainee, n.unit.code, n.state) for n in made] == [
        ("T-47-0001", "ADB-1", NominationState.NOMINATED),
        ("T-47-0002", "ADB-2", NominationState.NOMINATED),
    ]
    assert {n.owner.code for n in made} == {"XUA"}
    assert ChangeRecord.objects.filter(entity="training.nomination", action="nominate").count() == 2
    assert first.pk == made[0].unit_id
    assert verify().ok  # written together on the bulk path, each with the entry it would have had alone


def test_a_nomination_with_any_bad_row_writes_nothing_and_names_every_row(personas):
    units(personas)
    course = offer(personas, seats=10)
    services.nominate(actor=personas.recipient, course_id=course.pk, trainees=[{"trainee": "T-47-0001", "unit": "ADB-1"}])
    with pytest.raises(Invalid) as refused:
        services.nominate(
            actor=personas.recipient,
            course_id=course.pk,
            trainees=[
                {"trainee": "T-47-0001", "unit": "ADB-1"},  # already nominated
                {"trainee": "Ivan Petrenko", "unit": "ADB-1"},  # a name, not a pseudonym
                {"trainee": "T-47-0003", "unit": "NOWHERE"},
                {"trainee": "T-47-0004", "unit": "ADB-2"},
                {"trainee": "T-47-0004", "unit": "ADB-2"},
                {"trainee": "T-47-0005", "unit": "ADB-2"},  # fine
            ],
        )
    assert set(refused.value.field_errors) == {
        "trainees[0].trainee",
        "trainees[1].trainee",
        "trainees[2].unit",
        "trainees[3].trainee",
        "trainees[4].trainee",
    }
    assert Nomination.objects.filter(course=course).count() == 1


def test_nominations_beyond_the_free_seats_are_refused(personas):
    units(personas)
    course = offer(personas, seats=2)
    services.nominate(actor=personas.recipient, course_id=course.pk, trainees=[{"trainee": "T-47-0001", "unit": "ADB-1"}])
    with pytest.raises(Invalid) as refused:
        services.nominate(
            actor=personas.recipient,
            course_id=course.pk,
            trainees=[{"trainee": "T-47-0002", "unit": "ADB-1"}, {"trainee": "T-47-0003", "unit": "ADB-1"}],
        )
    assert "trainees" in refused.value.field_errors
    with pytest.raises(Invalid):
        services.update_course(actor=personas.donor_editor, course_id=course.pk, expected_version=1, changes={"seats": 0})


def test_a_withdrawn_trainee_gives_the_seat_back(personas):
    units(personas)
    course = offer(personas, seats=1)
    (nomination,) = services.nominate(
        actor=personas.recipient, course_id=course.pk, trainees=[{"trainee": "T-47-0001", "unit": "ADB-1"}]
    )
    with pytest.raises(Forbidden):
        services.withdraw(actor=personas.donor_editor, nomination_id=nomination.pk, reason="no")
    services.withdraw(actor=personas.recipient, nomination_id=nomination.pk, reason="Needed at the front")
    services.nominate(actor=personas.recipient, course_id=course.pk, trainees=[{"trainee": "T-47-0002", "unit": "ADB-1"}])
    assert services.seats_taken(course) == 1


def test_no_nominations_to_a_cancelled_course_nor_by_a_donor(personas):
    units(personas)
    course = offer(personas)
    with pytest.raises(Forbidden):
        services.nominate(actor=personas.donor_editor, course_id=course.pk, trainees=[{"trainee": "T-47-0001", "unit": "ADB-1"}])
    services.cancel_course(actor=personas.donor_editor, course_id=course.pk, expected_version=1, reason="Weather")
    with pytest.raises(InvalidTransition):
        services.nominate(actor=personas.recipient, course_id=course.pk, trainees=[{"trainee": "T-47-0001", "unit": "ADB-1"}])


def nominated(personas, course, count=2):
    return services.nominate(
        actor=personas.recipient,
        course_id=course.pk,
        trainees=[{"trainee": f"T-47-{index:04d}", "unit": "ADB-1"} for index in range(1, count + 1)],
    )


def test_attendance_and_graduation_make_qualified_people_of_the_unit(personas):
    units(personas)
    course = offer(personas)
    first, second = nominated(personas, course)
    attending = services.record_attendance(actor=personas.recipient, nomination_ids=[first.pk, second.pk])
    assert {n.state for n in attending} == {NominationState.ATTENDING}
    day = TODAY - dt.timedelta(days=1)
    services.graduate(actor=personas.donor_editor, nomination_ids=[first.pk], on=day)
    services.record_failure(actor=personas.recipient, nomination_id=second.pk, reason="Did not pass the final test")
    rows = queries.qualified_people(personas.recipient)
    assert [(r.unit_code, r.course_type_code, r.people, r.since) for r in rows] == [("ADB-1", "PATRIOT-OP", 1, day)]
    assert Nomination.objects.get(pk=second.pk).state == NominationState.FAILED
    assert ChangeRecord.objects.filter(entity="training.nomination", entity_id=str(first.pk)).count() == 3


def test_graduation_not_before_the_course_starts_nor_in_the_future(personas):
    units(personas)
    course = offer(personas)
    (first,) = nominated(personas, course, 1)
    for day in (course.starts_on - dt.timedelta(days=1), TODAY + dt.timedelta(days=1)):
        with pytest.raises(Invalid) as refused:
            services.graduate(actor=personas.recipient, nomination_ids=[first.pk], on=day)
        assert "on" in refused.value.field_errors
    services.graduate(actor=personas.recipient, nomination_ids=[first.pk], on=course.starts_on)
    with pytest.raises(InvalidTransition):
        services.graduate(actor=personas.recipient, nomination_ids=[first.pk], on=course.starts_on)


def test_another_donor_neither_sees_nor_records_the_trainees_of_a_course(personas):
    units(personas)
    course = offer(personas)
    (first,) = nominated(personas, course, 1)
    assert Course.objects.visible_to(personas.second_donor).filter(pk=course.pk).exists()  # offers are shared
    for persona in ("donor_editor", "donor_viewer", "recipient", "coordinator", "auditor"):
        assert Nomination.objects.visible_to(personas[persona]).filter(pk=first.pk).exists(), persona
    for persona in ("second_donor", "observer", "anonymous"):
        assert not Nomination.objects.visible_to(personas[persona]).filter(pk=first.pk).exists(), persona
    with pytest.raises(NotFound):
        services.graduate(actor=personas.second_donor, nomination_ids=[first.pk], on=TODAY)
    with pytest.raises(Forbidden):
        services.record_attendance(actor=personas.coordinator, nomination_ids=[first.pk])


def test_a_course_marked_for_coordination_is_hidden_from_other_donors(personas):
    course = offer(personas, marking="coordination")
    assert not Course.objects.visible_to(personas.second_donor).filter(pk=course.pk).exists()
    assert Course.objects.visible_to(personas.recipient).filter(pk=course.pk).exists()


def test_course_rows_count_seats_taken_and_free(personas):
    units(personas)
    course = offer(personas, seats=3)
    first, _second = nominated(personas, course)
    services.withdraw(actor=personas.recipient, nomination_id=first.pk, reason="Reassigned")
    (row,) = queries.courses(personas.second_donor).filter(pk=course.pk)
    assert (row.seats_taken, row.seats_free) == (1, 2)


def test_in_kind_value_counts_confirmed_and_completed_courses_only(personas):
    units(personas)
    kind = course_type(personas)
    offered = offer(personas, kind, seats=3)
    nominated(personas, offered, 3)  # offered: counts for nothing yet
    confirmed = offer(personas, kind, seats=4, reference="B")
    nominated(personas, confirmed, 2)
    services.confirm_course(actor=personas.donor_editor, course_id=confirmed.pk, expected_version=1)
    cancelled = offer(personas, kind, seats=5, reference="C")
    nominated(personas, cancelled, 5)
    services.confirm_course(actor=personas.donor_editor, course_id=cancelled.pk, expected_version=1)
    services.cancel_course(actor=personas.donor_editor, course_id=cancelled.pk, expected_version=2, reason="No trainer")
    assert offered.state == CourseState.OFFERED
    values = {row.donor_code: row for row in queries.in_kind_by_donor(personas.coordinator)}
    assert values["XDA"].value_eur == Decimal("100000.00") and values["XDA"].seats == 2 and values["XDA"].courses == 1
    assert [course.reference for course in queries.course_offers(personas.coordinator, "XDA")] == ["GER-PAT-1", "B", "C"]


def test_confirmed_courses_count_towards_the_donors_fair_share_as_training(personas):
    from umbrella.funding import services as funding
    from umbrella.funding.queries import fair_share
    from umbrella.orgs import services as orgs
    from umbrella.orgs.models import Organization

    for code, amount in {"XDA": "300", "XDB": "100"}.items():
        orgs.record_gdp(
            actor=personas.hq_admin,
            organization_id=Organization.objects.get(code=code).pk,
            year=2023,
            amount_bn=Decimal(amount),
            currency="USD",
            source="test GDP",
        )
    funding.configure_year(
        actor=personas.coordinator, fields={"year": 2025, "floor_eur": Decimal("1000000.00"), "participants": ["XDA", "XDB"]}
    )
    kind = course_type(personas)
    in_2025 = dict(starts_on=dt.date(2025, 3, 1), ends_on=dt.date(2025, 5, 9))
    units(personas)
    confirmed = offer(personas, kind, seats=6, **in_2025)  # 4 seats taken of 6: 4 × 50,000 EUR
    nominated(personas, confirmed, 4)
    services.confirm_course(actor=personas.donor_editor, course_id=confirmed.pk, expected_version=1)
    offer(personas, kind, seats=10, reference="only offered", **in_2025)  # not counted until confirmed
    rows = {share.code: share for share in fair_share(personas.coordinator, 2025).shares}
    assert rows["XDA"].counted_eur == Decimal("200000.00")
    assert rows["XDB"].counted_eur == 0
    hidden = offer(personas, kind, seats=1, reference="hidden", marking="owner", **in_2025)
    services.confirm_course(actor=personas.donor_editor, course_id=hidden.pk, expected_version=1)
    assert not fair_share(personas.coordinator, 2025).complete


def test_a_trainee_identifier_needs_a_digit_and_the_refusal_quotes_it(personas):
    units(personas)
    course = offer(personas, seats=5)
    with pytest.raises(Invalid) as refused:
        services.nominate(
            actor=personas.recipient,
            course_id=course.pk,
            trainees=[{"trainee": "IVAN-PETRENKO", "unit": "ADB-1"}, {"trainee": "Ivan Petrenko", "unit": "ADB-1"}],
        )
    assert "“IVAN-PETRENKO”" in refused.value.field_errors["trainees[0].trainee"][0]
    assert "“Ivan Petrenko”" in refused.value.field_errors["trainees[1].trainee"][0]
    assert not Nomination.objects.filter(course=course).exists()


def test_no_attendance_nor_graduation_before_the_course_starts(personas):
    units(personas)
    course = offer(personas, starts_on=TODAY + dt.timedelta(days=150), ends_on=TODAY + dt.timedelta(days=220))
    (first,) = nominated(personas, course, 1)
    with pytest.raises(InvalidTransition) as refused:
        services.record_attendance(actor=personas.recipient, nomination_ids=[first.pk])
    assert str(course.starts_on) in refused.value.message
    with pytest.raises(InvalidTransition):
        services.graduate(actor=personas.recipient, nomination_ids=[first.pk], on=TODAY)
    assert Nomination.objects.get(pk=first.pk).state == NominationState.NOMINATED


def test_on_a_running_course_only_attending_trainees_graduate(personas):
    units(personas)
    course = offer(personas, starts_on=TODAY - dt.timedelta(days=10), ends_on=TODAY + dt.timedelta(days=30))
    first, second = nominated(personas, course)
    with pytest.raises(InvalidTransition) as refused:
        services.graduate(actor=personas.recipient, nomination_ids=[first.pk], on=TODAY)
    assert "record attendance first" in refused.value.message
    services.record_attendance(actor=personas.recipient, nomination_ids=[first.pk])
    (graduate,) = services.graduate(actor=personas.recipient, nomination_ids=[first.pk], on=TODAY)
    assert graduate.state == NominationState.GRADUATED
    assert Nomination.objects.get(pk=second.pk).state == NominationState.NOMINATED


def test_after_a_course_has_ended_nominated_trainees_graduate_straight(personas):
    units(personas)
    course = offer(personas)  # ended yesterday
    (first,) = nominated(personas, course, 1)
    (graduate,) = services.graduate(actor=personas.recipient, nomination_ids=[first.pk], on=course.ends_on)
    assert graduate.state == NominationState.GRADUATED


def in_kind(personas) -> tuple[int, int, Decimal]:
    rows = {row.donor_code: row for row in queries.in_kind_by_donor(personas.coordinator)}
    row = rows.get("XDA")
    return (row.courses, row.seats, row.value_eur) if row else (0, 0, Decimal(0))


def test_an_empty_confirmed_course_adds_nothing_to_the_donors_support(personas):
    course = offer(personas, seats=4)
    services.confirm_course(actor=personas.donor_editor, course_id=course.pk, expected_version=1)
    assert in_kind(personas) == (1, 0, Decimal("0.00"))


def test_in_kind_seats_follow_each_trainees_state(personas):
    """Confirmed: nominated, attending and those already through take a seat; withdrawn ones give it back.
    Completed: only those who attended (attending, graduated, did not graduate) count."""
    units(personas)
    course = offer(personas, seats=6)  # ran until yesterday
    first, second, third, fourth, fifth = nominated(personas, course, 5)
    services.confirm_course(actor=personas.donor_editor, course_id=course.pk, expected_version=1)
    assert in_kind(personas) == (1, 5, Decimal("250000.00"))
    services.withdraw(actor=personas.recipient, nomination_id=first.pk, reason="Needed in the unit")
    assert in_kind(personas)[1] == 4
    services.record_attendance(actor=personas.recipient, nomination_ids=[second.pk, third.pk])
    services.graduate(actor=personas.recipient, nomination_ids=[second.pk], on=course.ends_on)
    services.record_failure(actor=personas.recipient, nomination_id=fourth.pk, reason="Did not pass")
    assert in_kind(personas)[1] == 4  # graduated, attending, failed and still nominated
    course.refresh_from_db()
    services.complete_course(actor=personas.donor_editor, course_id=course.pk, expected_version=course.version)
    # completed: the graduate, the one attending and the one who failed; the fifth never came
    assert Nomination.objects.get(pk=fifth.pk).state == NominationState.NOMINATED
    assert in_kind(personas) == (1, 3, Decimal("150000.00"))

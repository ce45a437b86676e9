"""End-use monitoring: serials registered at handover, inventories that sight them, what is due and delinquent,
losses, and transfers that need the donor's consent; who sees what."""

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests import factories
from tests.test_logistics import allocated, hand_over, receive, ship, step
from umbrella.catalog.models import CapabilityArea
from umbrella.core.errors import Conflict, Forbidden, Invalid, NotFound
from umbrella.core.models import ChangeRecord
from umbrella.core.testing import PERSONA_NAMES
from umbrella.core.verify import verify
from umbrella.eum import services as eum
from umbrella.eum.models import ACCOUNTABLE, Inventory, Serial, SerialStatus, TransferState
from umbrella.eum.queries import card, delinquency, delinquency_over_time, donor_report, due_rows
from umbrella.eum.reads import public_counts, schedule_differences
from umbrella.logistics.models import ConsignmentState

TODAY = timezone.localdate


@pytest.fixture
def places(personas):
    return factories.hub_and_city(personas)


def missiles(count: int, prefix: str = "ATGM") -> list[str]:
    return [f"{prefix}-{number:05d}" for number in range(1, count + 1)]


def handed_over(personas, places, count=50, prefix="ATGM", donor="donor_editor"):
    world = allocated(personas, quantity=count, sensitive=True, donor=donor)
    consignment = ship(personas, places, world["allocation"], count, serials=missiles(count, prefix), actor=donor)
    step(personas, consignment, "arrive", who="recipient")
    receive(personas, consignment)
    hand_over(personas, places, consignment)
    consignment.refresh_from_db()
    assert consignment.state == ConsignmentState.HANDED_OVER
    return world, consignment


@pytest.mark.django_db
def test_fifty_missiles_need_fifty_distinct_serials_and_are_registered_at_handover(personas, places):
    world = allocated(personas, quantity=50, sensitive=True)
    with pytest.raises(Invalid) as short:
        ship(personas, places, world["allocation"], 50, serials=missiles(49))
    assert "one serial number per unit (50), not 49" in str(short.value)
    with pytest.raises(Invalid) as repeated:
        ship(personas, places, world["allocation"], 50, serials=[*missiles(49), "ATGM-00001"])
    assert "given twice: ATGM-00001" in str(repeated.value)

    consignment = ship(personas, places, world["allocation"], 50, serials=missiles(50))
    step(personas, consignment, "arrive", who="recipient")
    receive(personas, consignment)
    hand_over(personas, places, consignment)

    serials = Serial.objects.filter(consignment=consignment)
    assert sorted(serials.values_list("serial", flat=True)) == missiles(50)
    first = serials.get(serial="ATGM-00001")
    assert first.owner.code == "XDA" and first.holder.name == "A-1234 air-defence battalion"
    assert first.status == SerialStatus.IN_SERVICE and first.handover_date == TODAY()
    assert first.due_on == TODAY() + dt.timedelta(days=90)
    assert verify().ok


@pytest.mark.django_db
def test_a_serial_registered_twice_is_refused_with_the_handover(personas, places):
    handed_over(personas, places, count=2, prefix="NVD")
    world = allocated(personas, quantity=2, sensitive=True)
    # The same serials under another item type are other items: only the pair (item type, serial) is unique.
    handed_over_again = ship(personas, places, world["allocation"], 2, serials=missiles(2, "NVD"))
    step(personas, handed_over_again, "arrive", who="recipient")
    receive(personas, handed_over_again)
    hand_over(personas, places, handed_over_again)
    assert Serial.objects.filter(serial="NVD-00001").count() == 2

    item = Serial.objects.filter(serial="NVD-00001").first().item_type
    with pytest.raises(Invalid) as duplicate:
        eum.register_serial(
            actor=personas.recipient,
            donor=personas.donor_editor.organization,
            fields={"item_type": item, "serial": "NVD-00001", "handover_date": TODAY()},
        )
    assert "already registered" in str(duplicate.value)


@pytest.mark.django_db
def test_due_and_delinquent_follow_handover_then_every_sighting(personas, places):
    handed_over(personas, places, count=3)
    day = TODAY()
    assert [row.serial for row in due_rows(personas.coordinator, day + dt.timedelta(days=90), delinquent_only=True)] == []
    late = list(due_rows(personas.coordinator, day + dt.timedelta(days=91), delinquent_only=True))
    assert [(row.serial, row.due_on, row.days_overdue) for row in late] == [
        (serial, day + dt.timedelta(days=90), 1) for serial in missiles(3)
    ]

    inventory = eum.record_inventory(
        actor=personas.auditor,
        fields={"conducted_on": day, "method": "physical", "place": places["lviv"].code},
        sightings=[{"item_type": late[0].item_type, "serial": "ATGM-00001"}],
    )
    assert (inventory.expected_count, inventory.sighted_count) == (3, 1)
    assert len(inventory.not_sighted) == 2
    sighted = Serial.objects.get(serial="ATGM-00001")
    assert (sighted.last_sighted_on, sighted.due_on) == (day, day + dt.timedelta(days=365))
    assert sighted.last_sighting_method == "physical" and sighted.last_sighting_place == places["lviv"]
    still_late = [row.serial for row in due_rows(personas.coordinator, day + dt.timedelta(days=91), delinquent_only=True)]
    assert still_late == ["ATGM-00002", "ATGM-00003"]
    summary = delinquency(personas.coordinator, day + dt.timedelta(days=91))
    assert (summary.held.count, summary.delinquent.count) == (3, 2)
    assert summary.by["donor"]["XDA"].count == 2
    assert schedule_differences() == []


@pytest.mark.django_db
def test_a_past_day_is_answered_from_the_sightings_up_to_it(personas, places):
    handed_over(personas, places, count=2)
    day = TODAY()
    eum.record_inventory(
        actor=personas.recipient,
        fields={"conducted_on": day, "method": "physical"},
        sightings=[{"item_type": Serial.objects.first().item_type.code, "serial": "ATGM-00002"}],
    )
    # Yesterday nothing had been sighted yet: both were due 90 days after today's handover, neither late.
    yesterday = list(due_rows(personas.coordinator, day - dt.timedelta(days=1), within_days=100))
    assert yesterday == []  # handed over today: not held yesterday
    today_rows = {row.serial: row.due_on for row in due_rows(personas.coordinator, day, within_days=400)}
    assert today_rows == {"ATGM-00001": day + dt.timedelta(days=90), "ATGM-00002": day + dt.timedelta(days=365)}


@pytest.mark.django_db
def test_an_inventory_refuses_unknown_repeated_and_other_donors_serials_all_at_once(personas, places):
    world, _consignment = handed_over(personas, places, count=2)
    handed_over(personas, places, count=1, prefix="OTHER", donor="second_donor")
    code = world["item"].code
    with pytest.raises(Invalid) as refused:
        eum.record_inventory(
            actor=personas.donor_editor,
            fields={"conducted_on": TODAY(), "method": "physical"},
            sightings=[
                {"item_type": code, "serial": "ATGM-00001"},
                {"item_type": code, "serial": "NOPE-1"},
                {"item_type": code, "serial": "ATGM-00001"},
                {"item_type": Serial.objects.get(serial="OTHER-00001").item_type.code, "serial": "OTHER-00001"},
            ],
        )
    problems = refused.value.field_errors
    assert set(problems) == {"sightings[1].serial", "sightings[2].serial", "sightings[3].serial"}
    assert "not in the registry" in problems["sightings[1].serial"][0]
    assert "twice" in problems["sightings[2].serial"][0]
    assert "not in the registry" in problems["sightings[3].serial"][0]  # another donor's: the same words
    assert not Inventory.objects.exists()


@pytest.mark.django_db
def test_a_remote_inventory_keeps_its_evidence(personas, places):
    handed_over(personas, places, count=1)
    with pytest.raises(Invalid) as missing:
        eum.open_inventory(actor=personas.recipient, fields={"conducted_on": TODAY(), "method": "photo"})
    assert "evidence" in str(missing.value)
    inventory = eum.open_inventory(
        actor=personas.recipient,
        fields={
            "conducted_on": TODAY(),
            "method": "photo",
            "evidence_reference": "share://eum/2026/photo-1.jpg",
            "evidence_digest": "a" * 64,
        },
    )
    assert inventory.evidence_digest == "a" * 64


@pytest.mark.django_db
def test_a_loss_takes_the_item_out_of_the_schedule_and_its_donor_acknowledges(personas, places):
    handed_over(personas, places, count=2)
    serial = Serial.objects.get(serial="ATGM-00001")
    with pytest.raises(Forbidden):
        eum.report_loss(actor=personas.donor_editor, serial_id=serial.pk, kind="lost", occurred_on=TODAY(), circumstances="x")
    report = eum.report_loss(
        actor=personas.recipient,
        serial_id=serial.pk,
        kind="destroyed",
        occurred_on=TODAY(),
        circumstances="Destroyed by artillery fire at its firing position.",
        place=places["lviv"].code,
    )
    serial.refresh_from_db()
    assert (serial.status, serial.due_on) == (SerialStatus.DESTROYED, None)
    assert [row.serial for row in due_rows(personas.coordinator, TODAY() + dt.timedelta(days=100))] == ["ATGM-00002"]
    with pytest.raises(NotFound):
        eum.acknowledge_loss(actor=personas.second_donor, loss_id=report.pk)
    acknowledged = eum.acknowledge_loss(actor=personas.donor_editor, loss_id=report.pk, note="Noted.")
    assert acknowledged.acknowledged_on == TODAY()
    report = donor_report(personas.donor_editor, personas.donor_editor.organization)
    assert report.totals()["lost"] == 1 and report.totals()["held"] == 1


@pytest.mark.django_db
def test_a_third_party_transfer_is_refused_until_the_donor_consents(personas, places):
    handed_over(personas, places, count=1)
    serial = Serial.objects.get(serial="ATGM-00001")
    assert serial.retransfer_requires_consent
    transfer = {"serial_id": serial.pk, "kind": "third_party", "third_party": "Allied Army", "reason": "Joint defence"}
    with pytest.raises(Conflict) as refused:
        eum.transfer(actor=personas.recipient, **transfer)
    assert "consent is needed" in str(refused.value)

    request = eum.request_consent(actor=personas.recipient, **transfer)
    with pytest.raises(Conflict):
        eum.transfer(actor=personas.recipient, **transfer)
    with pytest.raises(NotFound):
        eum.decide_consent(actor=personas.second_donor, transfer_id=request.pk, consent=True, reason=None)
    with pytest.raises(Invalid):
        eum.decide_consent(actor=personas.donor_editor, transfer_id=request.pk, consent=False, reason="")
    eum.decide_consent(actor=personas.donor_editor, transfer_id=request.pk, consent=True, reason=None)

    with pytest.raises(Conflict):  # consent was for Allied Army, not for anyone
        eum.transfer(actor=personas.recipient, **{**transfer, "third_party": "Someone Else"})
    done = eum.transfer(actor=personas.recipient, **transfer)
    assert done.pk == request.pk and done.state == TransferState.DONE
    serial.refresh_from_db()
    assert (serial.status, serial.due_on) == (SerialStatus.TRANSFERRED, None)


@pytest.mark.django_db
def test_a_move_between_the_recipients_units_needs_no_consent(personas, places):
    handed_over(personas, places, count=1)
    serial = Serial.objects.get(serial="ATGM-00001")
    depot = eum.create_unit(actor=personas.recipient, fields={"code": "DEPOT-7", "name": "7th depot", "kind": "depot"})
    eum.transfer(actor=personas.recipient, serial_id=serial.pk, kind="internal", to_unit=depot, reason="Repair")
    serial.refresh_from_db()
    assert serial.holder == depot and serial.status == SerialStatus.IN_SERVICE


@pytest.mark.django_db
def test_a_donor_sees_its_own_serials_and_the_public_only_counts(personas, places):
    handed_over(personas, places, count=2)
    handed_over(personas, places, count=1, prefix="B", donor="second_donor")
    seen = {name: Serial.objects.visible_to(personas[name]).count() for name in PERSONA_NAMES}
    assert seen["donor_editor"] == 2 and seen["second_donor"] == 1
    assert seen["recipient"] == seen["coordinator"] == seen["auditor"] == 3
    assert seen["anonymous"] == seen["observer"] == 0
    assert delinquency(personas.second_donor, TODAY() + dt.timedelta(days=91)).delinquent.count == 1
    counts = public_counts()
    assert sum(row["handed_over"] for row in counts) == 3 and set(counts[0]) == {
        "capability_area",
        "name",
        "handed_over",
        "held",
        "lost",
    }


def spread_of_serials(personas, places) -> None:
    """Serials of two donors, three item types of other unit values and capability areas, two units, with and without
    a handover place; some sighted, one under repair, one lost, one transferred, one handed over long ago."""
    other_area = CapabilityArea.objects.exclude(code="artillery").order_by("code").first()
    items = [
        factories.item_type(personas, sensitive=True, unit_value_eur=Decimal("1000.00")),
        factories.item_type(personas, sensitive=True, unit_value_eur=Decimal("2500.50"), capability_area=other_area),
        factories.item_type(personas, sensitive=True, unit_value_eur=Decimal("0.00")),
    ]
    units = [
        eum.create_unit(actor=personas.recipient, fields={"code": code, "name": code, "kind": "brigade"})
        for code in ("U-1", "U-2")
    ]
    donors = [personas.donor_editor.organization, personas.second_donor.organization]
    entries = [
        (
            donors[number % 2],
            {
                "item_type": items[number % 3],
                "serial": f"S-{number}",
                # S-7 was handed over 90 days ago and not sighted: due today, not yet late.
                "handover_date": TODAY() - dt.timedelta(days=90 if number == 7 else (37 * number) % 400),
                "holder": units[number % 2] if number % 5 else None,
                "handover_place": places["lviv"] if number % 4 == 0 else None,
            },
        )
        for number in range(60)
    ]
    serials = eum.register_serials(actor=personas.recipient, entries=entries)
    eum.record_inventory(
        actor=personas.auditor,
        fields={"conducted_on": TODAY() - dt.timedelta(days=5), "method": "physical"},
        sightings=[
            {"item_type": serial.item_type.code, "serial": serial.serial}
            for serial in serials[::3]
            if serial.handover_date <= TODAY() - dt.timedelta(days=5)
        ],
    )
    day = TODAY() - dt.timedelta(days=1)
    eum.report_loss(actor=personas.recipient, serial_id=serials[1].pk, kind="lost", occurred_on=day, circumstances="Shelled.")
    eum.transfer(actor=personas.recipient, serial_id=serials[2].pk, kind="internal", to_unit=units[1], reason="Repair")
    late = Serial.objects.filter(due_on__lt=TODAY()).count()
    assert 10 < late < 55  # delinquent and not delinquent both present


@pytest.mark.django_db
def test_the_grouped_summaries_equal_a_count_of_each_visible_serial(personas, places):
    """The summary, the dashboards' card, a donor's report and the public figures are grouped queries; each is
    compared here with the same figures counted serial by serial in Python, for every persona (a donor sees its own
    serials only, and its summary counts only those)."""
    spread_of_serials(personas, places)
    today = TODAY()
    for name in PERSONA_NAMES:
        actor = personas[name]
        visible = Serial.objects.visible_to(actor).select_related("item_type", "owner", "holder", "handover_place")
        for donor_code in (None, personas.second_donor.organization.code.lower()):
            rows = [s for s in visible if donor_code is None or s.owner.code.lower() == donor_code]
            held = [s for s in rows if s.handover_date <= today and (s.status in ACCOUNTABLE or s.status_on > today)]
            late = [s for s in held if s.due_on is not None and s.due_on < today]
            expected = {
                "donor": Counter(s.owner.code for s in late),
                "item_type": Counter(s.item_type.code for s in late),
                "unit": Counter(s.holder.code if s.holder_id else "—" for s in late),
                "place": Counter(s.handover_place.code if s.handover_place_id else "—" for s in late),
            }
            summary = delinquency(actor, donor_code=donor_code)
            assert (summary.held.count, summary.delinquent.count) == (len(held), len(late)), (name, donor_code)
            assert summary.held.value_eur == sum((s.item_type.unit_value_eur for s in held), Decimal(0))
            assert summary.delinquent.value_eur == sum((s.item_type.unit_value_eur for s in late), Decimal(0))
            for dimension, counts in expected.items():
                assert {key: tally.count for key, tally in summary.by[dimension].items()} == dict(counts), (name, dimension)
            for key, tally in summary.by["item_type"].items():
                assert tally.value_eur == sum((s.item_type.unit_value_eur for s in late if s.item_type.code == key), Decimal(0))
            if donor_code is None:
                figures = card(actor)
                assert (figures["held"], figures["delinquent"]) == (len(held), len(late))
                assert (figures["held_value"], figures["delinquent_value"]) == (
                    summary.held.value_eur,
                    summary.delinquent.value_eur,
                )
    second = delinquency(personas.second_donor)
    assert set(second.by["donor"]) == {personas.second_donor.organization.code} and second.held.count == 29  # 30, one lost
    assert delinquency(personas.second_donor, donor_code=personas.donor_editor.organization.code).held.count == 0

    for donor in (personas.donor_editor.organization, personas.second_donor.organization):
        report = donor_report(personas.coordinator, donor).totals()
        mine = [s for s in Serial.objects.filter(owner=donor) if s.handover_date <= today]
        kept = [s for s in mine if s.status in ACCOUNTABLE]
        overdue = [s for s in kept if s.due_on is not None and s.due_on < today]
        sighted = [s for s in kept if s not in overdue and s.last_sighted_on is not None and s.last_sighted_on <= today]
        assert report == {
            "handed_over": len(mine),
            "held": len(kept),
            "inventoried": len(sighted),
            "awaiting_first": len(kept) - len(overdue) - len(sighted),
            "delinquent": len(overdue),
            "lost": sum(s.status in ("lost", "destroyed", "captured") for s in mine),
            "transferred": sum(s.status == "transferred" for s in mine),
            "other": sum(s.status in ("returned", "disposed_of") for s in mine),
        }, donor.code
        assert report["inventoried"] and report["delinquent"] and report["awaiting_first"]

    everything = list(Serial.objects.select_related("item_type__capability_area"))
    public = {row["capability_area"]: (row["handed_over"], row["held"], row["lost"]) for row in public_counts()}
    assert public == {
        area: (
            sum(s.item_type.capability_area.code == area for s in everything),
            sum(s.item_type.capability_area.code == area and s.status in ACCOUNTABLE for s in everything),
            sum(s.item_type.capability_area.code == area and s.status in ("lost", "destroyed", "captured") for s in everything),
        )
        for area in {s.item_type.capability_area.code for s in everything}
    }
    assert len(public) == 2


@pytest.mark.django_db
def test_a_stricter_rule_moves_every_serial_it_covers(personas, places):
    world, _consignment = handed_over(personas, places, count=2)
    eum.set_rule(actor=personas.coordinator, item_type=world["item"], donor=None, initial_days=30, interval_days=180)
    assert set(Serial.objects.values_list("due_on", flat=True)) == {TODAY() + dt.timedelta(days=30)}
    with pytest.raises(Forbidden):
        eum.set_rule(
            actor=personas.donor_editor,
            item_type=None,
            donor=personas.second_donor.organization,
            initial_days=10,
            interval_days=10,
        )
    eum.set_rule(
        actor=personas.donor_editor, item_type=None, donor=personas.donor_editor.organization, initial_days=60, interval_days=90
    )
    assert set(Serial.objects.values_list("due_on", flat=True)) == {TODAY() + dt.timedelta(days=30)}  # the strictest
    assert schedule_differences() == []


@pytest.mark.django_db
def test_the_donors_report_tells_inventoried_from_awaiting_a_first_inventory(personas, places):
    world, _consignment = handed_over(personas, places, count=3)
    eum.record_inventory(
        actor=personas.recipient,
        fields={"conducted_on": TODAY(), "method": "physical"},
        sightings=[{"item_type": world["item"].code, "serial": "ATGM-00001"}],
    )
    donor = personas.donor_editor.organization
    today = donor_report(personas.donor_editor, donor).totals()
    assert (today["held"], today["inventoried"], today["awaiting_first"], today["delinquent"]) == (3, 1, 2, 0)
    later = donor_report(personas.donor_editor, donor, TODAY() + dt.timedelta(days=91)).totals()
    assert (later["held"], later["inventoried"], later["awaiting_first"], later["delinquent"]) == (3, 1, 0, 2)


@pytest.mark.django_db
def test_many_earlier_deliveries_register_together_one_ledger_entry_each(personas, places):
    item = factories.item_type(personas, sensitive=True)
    donor = personas.donor_editor.organization
    handed = TODAY() - dt.timedelta(days=100)
    entries = [(donor, {"item_type": item, "serial": f"E-{n}", "handover_date": handed}) for n in range(1, 6)]
    with pytest.raises(Invalid) as repeated:
        eum.register_serials(actor=personas.recipient, entries=[*entries, entries[0]])
    assert "given twice: E-1" in str(repeated.value) and not Serial.objects.exists()
    before = ChangeRecord.objects.count()
    created = eum.register_serials(actor=personas.recipient, entries=entries)
    assert ChangeRecord.objects.count() - before == 5 == len(created)
    assert set(Serial.objects.values_list("due_on", flat=True)) == {handed + dt.timedelta(days=90)}
    assert verify().ok and schedule_differences() == []


@pytest.mark.django_db
def test_a_batch_looks_its_serials_up_together_and_names_every_one_already_registered(personas, places):
    item = factories.item_type(personas, sensitive=True)
    other = factories.item_type(personas, sensitive=True)
    donor = personas.donor_editor.organization
    handed = TODAY() - dt.timedelta(days=10)
    first = {"item_type": item, "serial": "B-1", "handover_date": handed}
    eum.register_serials(actor=personas.recipient, entries=[(donor, first)])
    entries = [
        (donor, {"item_type": kind, "serial": f"B-{n}", "handover_date": handed}) for n in range(1, 41) for kind in (item, other)
    ]
    with pytest.raises(Forbidden):  # who may not register learns nothing of what is registered
        eum.register_serials(actor=personas.donor_editor, entries=entries)
    with pytest.raises(Invalid) as taken:
        eum.register_serials(actor=personas.recipient, entries=entries)
    assert f"Already registered: {item.code} B-1." in str(taken.value) and Serial.objects.count() == 1
    assert f"{other.code} B-1" not in str(taken.value)  # the same number under another item type is another item

    with CaptureQueriesContext(connection) as queries:
        created = eum.register_serials(actor=personas.recipient, entries=entries[2:])
    sql = [query["sql"] for query in queries.captured_queries]
    lookups = [text for text in sql if text.startswith('SELECT 1 AS "a" FROM "eum_serial"')]
    reads = [text for text in sql if text.startswith("SELECT") and '"eum_serial"' in text]
    assert len(created) == 78 and lookups == [] and len(reads) == 2  # one per item type, not one per serial
    assert Serial.objects.count() == 79 and schedule_differences() == [] and verify().ok


@pytest.mark.django_db
def test_every_problem_of_a_transfer_or_an_inventory_at_once(personas, places):
    handed_over(personas, places, count=1)
    serial = Serial.objects.get()
    with pytest.raises(Invalid) as transfer:
        eum.transfer(actor=personas.recipient, serial_id=serial.pk, kind="internal", reason="", to_unit=None)
    assert set(transfer.value.field_errors) == {"reason", "to_unit"}
    with pytest.raises(Invalid) as inventory:
        eum.open_inventory(actor=personas.auditor, fields={"conducted_on": TODAY() + dt.timedelta(days=5), "method": "photo"})
    assert set(inventory.value.field_errors) == {"conducted_on", "evidence_reference"}


@pytest.mark.django_db
def test_a_refused_transfer_says_whether_the_donor_was_asked_and_what_it_answered(personas, places):
    handed_over(personas, places, count=1)
    serial = Serial.objects.get()
    transfer = {"serial_id": serial.pk, "kind": "end_use", "end_use": "Training of crews", "reason": "Training"}
    request = eum.request_consent(actor=personas.recipient, **transfer)
    with pytest.raises(Conflict) as waiting:
        eum.transfer(actor=personas.recipient, **transfer)
    assert "not yet decided" in str(waiting.value)
    eum.decide_consent(actor=personas.donor_editor, transfer_id=request.pk, consent=False, reason="Not for training.")
    with pytest.raises(Conflict) as refused:
        eum.transfer(actor=personas.recipient, **transfer)
    assert "refused this transfer: Not for training." in str(refused.value)


@pytest.mark.django_db
def test_the_history_of_delinquency_over_arrays_agrees_with_each_day_rebuilt_on_its_own(personas, places):
    item = factories.item_type(personas, sensitive=True)
    donor = personas.donor_editor.organization
    start = TODAY() - dt.timedelta(days=330)
    entries = [
        (donor, {"item_type": item, "serial": f"H-{n}", "handover_date": start + dt.timedelta(days=9 * n)}) for n in range(12)
    ]
    serials = eum.register_serials(actor=personas.recipient, entries=entries)
    for offset, sighted in ((100, serials[:4]), (250, serials[2:8])):
        day = start + dt.timedelta(days=offset)
        eum.record_inventory(
            actor=personas.auditor,
            fields={"conducted_on": day, "method": "physical"},
            sightings=[{"item_type": item.code, "serial": s.serial} for s in sighted if s.handover_date <= day],
        )
    eum.report_loss(
        actor=personas.recipient,
        serial_id=serials[5].pk,
        kind="lost",
        occurred_on=TODAY() - dt.timedelta(days=40),
        circumstances="Lost in a river crossing.",
    )
    history, today_only = delinquency_over_time(personas.coordinator)
    assert not today_only and len(history) == 12
    for point in history:
        alone = delinquency(personas.coordinator, point.as_of)
        assert (point.held.count, point.delinquent.count) == (alone.held.count, alone.delinquent.count), point.as_of
        assert point.delinquent.value_eur == alone.delinquent.value_eur
    assert any(point.delinquent.count for point in history)


@pytest.mark.django_db
def test_after_an_upgrade_the_recipient_registers_the_serials_of_earlier_handovers_once(personas, places):
    _world, consignment = handed_over(personas, places, count=3)
    Serial.objects.filter(consignment=consignment).delete()  # as if handed over before end-use monitoring existed
    with pytest.raises(Forbidden):
        eum.register_earlier_handovers(actor=personas.donor_editor)
    created = eum.register_earlier_handovers(actor=personas.recipient)
    assert sorted(serial.serial for serial in created) == missiles(3)
    assert {serial.holder.name for serial in created} == {"A-1234 air-defence battalion"}
    assert eum.register_earlier_handovers(actor=personas.recipient) == []
    assert schedule_differences() == []


@pytest.mark.django_db
def test_a_unit_is_stationed_at_a_place_given_by_its_code_and_an_unknown_place_is_refused(personas, places):
    unit = eum.create_unit(
        actor=personas.recipient, fields={"code": "24-MECH", "name": "24th brigade", "kind": "brigade", "station": "UA-46-LWO"}
    )
    assert unit.station == places["lviv"]
    with pytest.raises(Invalid) as refused:
        eum.update_unit(actor=personas.recipient, unit_id=unit.pk, expected_version=unit.version, changes={"station": "Atlantis"})
    assert "station" in refused.value.field_errors
    unit.refresh_from_db()
    assert unit.station == places["lviv"]

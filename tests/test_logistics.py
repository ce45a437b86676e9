"""Consignments carry parts of allocations to the recipient: pledges and coverage follow what was shipped, received
and handed over; a donor closes a pledge short and the next match run sees only what arrived; serials shipped and
received are compared, and a difference holds the handover until it is recorded as a discrepancy."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from tests import factories
from umbrella.core import services as core_services
from umbrella.core.errors import Forbidden, Invalid, InvalidTransition, NotFound
from umbrella.core.models import ChangeRecord
from umbrella.core.verify import verify
from umbrella.logistics import services as logistics
from umbrella.logistics.models import Consignment, ConsignmentState
from umbrella.logistics.queries import consignments, handover_entry, is_late, requirement_flow
from umbrella.matching import reasons as why
from umbrella.matching import services as matching
from umbrella.matching.inputs import open_market
from umbrella.matching.models import Allocation, AllocationState, RequirementOutcome
from umbrella.matching.queries import unmet_rows
from umbrella.needs import services as needs
from umbrella.pledges import services as pledges
from umbrella.pledges.models import Pledge, PledgeState


@pytest.fixture
def places(personas):
    return factories.hub_and_city(personas)


def allocated(personas, *, quantity=14, sensitive=False, bulk=False, donor="donor_editor"):
    """One requirement of `quantity` on the approved list, fully allocated from one pledge of `quantity`."""
    item = factories.item_type(personas, sensitive=sensitive, bulk=bulk)
    lst = needs.create_requirement_list(
        actor=personas.recipient, fields={"series": f"L-{item.code}", "title": "Logistics", "marking": "participants"}
    )
    requirement = needs.create_requirement(
        actor=personas.recipient, list_id=lst.pk, fields=factories.requirement_fields(item, quantity=quantity)
    )
    lst.refresh_from_db()
    lst = needs.propose_requirement_list(actor=personas.recipient, list_id=lst.pk, expected_version=lst.version)
    needs.approve_requirement_list(actor=personas.coordinator, list_id=lst.pk, expected_version=lst.version)
    pledge = pledges.create_pledge(
        actor=personas[donor],
        fields={"item_type": item, "quantity": quantity, "available_from": dt.date(2026, 3, 1)},
        sources=[factories.source()],
    )
    factories.advance(personas, pledge, "offer", "accept")
    run = matching.run_match(actor=personas.coordinator)
    matching.approve_proposals(actor=personas.coordinator, run_id=run.pk, expected_version=run.version)
    allocation = Allocation.objects.get(pledge=pledge, state=AllocationState.ACTIVE)
    return {"item": item, "requirement": requirement, "pledge": pledge, "allocation": allocation}


def ship(personas, places, allocation, quantity, *, serials=(), eta=dt.date(2026, 6, 1), actor="donor_editor") -> Consignment:
    consignment = logistics.create_consignment(
        actor=personas[actor],
        fields={"reference": f"CN-{quantity}-{Consignment.objects.count() + 1}", "weight_kg": Decimal("1200.0")},
        lines=[{"allocation": allocation.pk, "quantity": quantity, "serials": list(serials)}],
        legs=[
            {"from_place": places["hub"], "to_place": places["lviv"], "mode": "road", "planned_arrival": eta},
        ],
    )
    return step(personas, consignment, "dispatch", who=actor)


def step(personas, consignment, name, who="donor_editor", **extra) -> Consignment:
    consignment.refresh_from_db()
    return logistics.advance_consignment(
        actor=personas[who], consignment_id=consignment.pk, step=name, expected_version=consignment.version, **extra
    )


def receive(personas, consignment, received=None, *, serials=None, discrepancy=None, note="") -> Consignment:
    consignment.refresh_from_db()
    line = consignment.lines.get()
    entry = {
        "line": line.pk,
        "quantity_received": line.quantity if received is None else received,
        "serials": line.serials if serials is None else serials,
        "discrepancy": discrepancy,
        "note": note,
    }
    return logistics.record_receipt(
        actor=personas.recipient, consignment_id=consignment.pk, expected_version=consignment.version, lines=[entry]
    )


def hand_over(personas, places, consignment) -> Consignment:
    consignment.refresh_from_db()
    return logistics.hand_over(
        actor=personas.recipient,
        consignment_id=consignment.pk,
        expected_version=consignment.version,
        unit="A-1234 air-defence battalion",
        place=places["lviv"].code,
        date=timezone.localdate(),  # not before the receipt, which is recorded today
        officer_role="battalion logistics officer",
    )


def figures(pledge) -> tuple:
    pledge.refresh_from_db()
    return pledge.state, pledge.quantity_shipped, pledge.quantity_delivered, pledge.quantity_handed_over


@pytest.mark.django_db
def test_a_pledge_of_14_shipped_6_then_8_is_partly_delivered_until_all_of_it_arrives(personas, places):
    world = allocated(personas)
    pledge, allocation = world["pledge"], world["allocation"]
    first = ship(personas, places, allocation, 6)
    assert figures(pledge) == (PledgeState.SHIPPED, 6, 0, 0)
    second = ship(personas, places, allocation, 8)
    assert figures(pledge) == (PledgeState.SHIPPED, 14, 0, 0)
    step(personas, first, "arrive", who="recipient")
    receive(personas, first)
    assert figures(pledge) == (PledgeState.PARTLY_DELIVERED, 14, 6, 0)
    assert (pledge.quantity_delivered, pledge.quantity) == (6, 14)
    step(personas, second, "reach_hub")
    step(personas, second, "leave_hub")
    step(personas, second, "arrive", who="recipient")
    receive(personas, second)
    assert figures(pledge) == (PledgeState.DELIVERED, 14, 14, 0)
    hand_over(personas, places, first)
    assert figures(pledge) == (PledgeState.DELIVERED, 14, 14, 6)
    hand_over(personas, places, second)
    assert figures(pledge) == (PledgeState.HANDED_OVER, 14, 14, 14)
    assert verify().ok  # every consignment, line, leg and pledge change is in the ledger as it is in the tables
    flow = requirement_flow(personas.coordinator, [world["requirement"].pk])[world["requirement"].pk]
    assert flow == {"handed_over": 14, "in_transit": 0, "allocated": 0}


@pytest.mark.django_db
def test_coverage_counts_handed_over_in_transit_and_only_allocated_separately(personas, places, as_client):
    world = allocated(personas)
    first = ship(personas, places, world["allocation"], 6)
    ship(personas, places, world["allocation"], 4)
    step(personas, first, "arrive", who="recipient")
    receive(personas, first, 5, discrepancy="damaged", note="One launcher crushed in transit")
    hand_over(personas, places, first)
    flow = requirement_flow(personas.coordinator, [world["requirement"].pk])[world["requirement"].pk]
    # 5 handed over; 4 on the way; the 1 damaged and the 4 never shipped stay allocated only: 14 in all, never more.
    assert flow == {"handed_over": 5, "in_transit": 4, "allocated": 5}
    assert sum(flow.values()) == world["allocation"].covers
    home = as_client("coordinator").get("/").content.decode()
    row = home.split('data-priority="2"', 1)[1].split("</tr>", 1)[0]
    assert ("data-handed-over>5<" in row, "data-in-transit>4<" in row, "data-only-allocated>5<" in row) == (True,) * 3


@pytest.mark.django_db
def test_closed_short_at_6_the_allocation_drops_to_6_and_the_next_run_names_the_short_delivery(personas, places, as_client):
    world = allocated(personas)
    pledge, allocation, requirement = world["pledge"], world["allocation"], world["requirement"]
    first = ship(personas, places, allocation, 6)
    donor = as_client("donor_editor")
    assert "Close short" not in donor.get(pledge.get_absolute_url()).content.decode()  # not while it is on its way
    step(personas, first, "arrive", who="recipient")
    receive(personas, first)
    pledge.refresh_from_db()
    assert "Close short" in donor.get(pledge.get_absolute_url()).content.decode()
    form = f"/consignments/pledges/{pledge.pk}/close-short/"
    assert donor.post(form, {"version": pledge.version, "reason": ""}).status_code == 400
    assert donor.post(form, {"version": pledge.version, "reason": "Production line stopped"}).status_code == 302
    closed = Pledge.objects.get(pk=pledge.pk)
    assert (closed.closed_short, closed.closing_reason, closed.state) == (True, "Production line stopped", PledgeState.DELIVERED)
    assert "Reason for closing short" in donor.get(pledge.get_absolute_url()).content.decode()
    allocation.refresh_from_db()
    assert (allocation.state, allocation.quantity, allocation.covers) == (AllocationState.ACTIVE, 6, 6)
    assert ChangeRecord.objects.filter(entity="matching.allocation", entity_id=str(allocation.pk), action="close_short").exists()
    with pytest.raises(Invalid) as refused:  # nothing more ships against it
        logistics.create_consignment(
            actor=personas.donor_editor, fields={"reference": "CN-late"}, lines=[{"allocation": allocation.pk, "quantity": 1}]
        )
    assert "lines[0].quantity" in refused.value.field_errors

    run = matching.run_match(actor=personas.coordinator)
    outcome = RequirementOutcome.objects.get(run=run, requirement=requirement)
    assert (outcome.covered, outcome.status, outcome.reason, outcome.named) == (
        6,
        why.PARTLY_MET,
        why.SHORT_DELIVERY,
        [pledge.pk],
    )
    [row] = unmet_rows([outcome], personas.coordinator)
    assert row["covered"] == 6.0
    assert f"pledge #{pledge.pk}" in row["reason_text"] and "closed short" in row["reason_text"]
    hand_over(personas, places, first)
    assert figures(pledge) == (PledgeState.HANDED_OVER, 6, 6, 6)


@pytest.mark.django_db
def test_closing_short_waits_for_what_is_on_its_way_and_asks_a_reason(personas, places):
    world = allocated(personas)
    pledge = world["pledge"]
    first = ship(personas, places, world["allocation"], 6)
    pledge.refresh_from_db()
    with pytest.raises(InvalidTransition) as refused:
        logistics.close_pledge_short(
            actor=personas.donor_editor, pledge_id=pledge.pk, expected_version=pledge.version, reason="x"
        )
    assert first.reference in str(refused.value)
    step(personas, first, "arrive", who="recipient")
    receive(personas, first)
    pledge.refresh_from_db()
    with pytest.raises(Invalid) as missing:
        logistics.close_pledge_short(
            actor=personas.donor_editor, pledge_id=pledge.pk, expected_version=pledge.version, reason=" "
        )
    assert "reason" in missing.value.field_errors
    with pytest.raises(Forbidden):
        logistics.close_pledge_short(actor=personas.recipient, pledge_id=pledge.pk, expected_version=pledge.version, reason="x")


@pytest.mark.django_db
def test_shipping_more_than_the_allocation_has_left_is_refused(personas, places):
    world = allocated(personas, quantity=10)
    ship(personas, places, world["allocation"], 6)
    with pytest.raises(Invalid) as refused:
        logistics.create_consignment(
            actor=personas.donor_editor,
            fields={"reference": "CN-too-many"},
            lines=[{"allocation": world["allocation"].pk, "quantity": 5}],
        )
    assert "4 left to ship" in refused.value.field_errors["lines[0].quantity"][0]
    cancelled = Consignment.objects.get()
    step(personas, cancelled, "cancel", reason="Truck broke down")
    assert figures(world["pledge"])[:2] == (PledgeState.ALLOCATED, 0)
    ship(personas, places, world["allocation"], 10)  # a cancelled consignment carries nothing


@pytest.mark.django_db
def test_a_serial_difference_lists_every_missing_and_extra_serial_and_holds_the_handover(personas, places):
    world = allocated(personas, quantity=3, sensitive=True)
    shipped = ["SN-1", "SN-2", "SN-3"]
    consignment = ship(personas, places, world["allocation"], 3, serials=shipped)
    step(personas, consignment, "arrive", who="recipient")
    consignment = receive(personas, consignment, 3, serials=["SN-1", "SN-4", "SN-5"], discrepancy=None)
    line = consignment.lines.get()
    assert (line.missing_serials, line.extra_serials) == (["SN-2", "SN-3"], ["SN-4", "SN-5"])
    assert logistics.serial_differences(consignment) == {line.pk: {"missing": ["SN-2", "SN-3"], "extra": ["SN-4", "SN-5"]}}
    with pytest.raises(Invalid) as held:
        hand_over(personas, places, consignment)
    message = held.value.field_errors["serials"][0]
    assert all(serial in message for serial in ("SN-2", "SN-3", "SN-4", "SN-5"))
    assert Consignment.objects.get(pk=consignment.pk).state == ConsignmentState.RECEIVED
    # Recorded as a discrepancy (a correction of the receipt), the difference no longer holds the handover.
    receive(personas, consignment, 3, serials=["SN-1", "SN-4", "SN-5"], discrepancy="wrong_item", note="Two other units came")
    assert hand_over(personas, places, consignment).state == ConsignmentState.HANDED_OVER


@pytest.mark.django_db
def test_serials_are_one_per_unit_and_unique_per_item_type_among_live_lines(personas, places):
    world = allocated(personas, quantity=4, sensitive=True)
    allocation = world["allocation"]
    with pytest.raises(Invalid) as refused:
        logistics.create_consignment(
            actor=personas.donor_editor, fields={"reference": "CN-1"}, lines=[{"allocation": allocation.pk, "quantity": 2}]
        )
    assert "one serial number per unit" in refused.value.field_errors["lines[0].serials"][0]
    ship(personas, places, allocation, 2, serials=["A-1", "A-2"])
    with pytest.raises(Invalid) as clash:
        logistics.create_consignment(
            actor=personas.donor_editor,
            fields={"reference": "CN-2"},
            lines=[{"allocation": allocation.pk, "quantity": 2, "serials": ["A-2", "A-3"]}],
        )
    assert "A-2" in clash.value.field_errors["lines[0].serials"][0]


@pytest.mark.django_db
def test_each_step_is_taken_by_its_party_and_ledgered(personas, places):
    world = allocated(personas, quantity=5)
    consignment = logistics.create_consignment(
        actor=personas.coordinator,  # on the donor's behalf: the donor owns it
        fields={"reference": "CN-HQ"},
        lines=[{"allocation": world["allocation"].pk, "quantity": 5}],
    )
    assert consignment.owner == world["pledge"].owner
    with pytest.raises(Forbidden):
        step(personas, consignment, "dispatch", who="recipient")
    with pytest.raises(NotFound):  # another donor does not see it at all
        step(personas, consignment, "dispatch", who="second_donor")
    step(personas, consignment, "dispatch")
    with pytest.raises(Forbidden):
        step(personas, consignment, "arrive", who="donor_editor")
    with pytest.raises(InvalidTransition):
        step(personas, consignment, "receive", who="recipient")
    with pytest.raises(Invalid):
        step(personas, consignment, "cancel", reason="")
    step(personas, consignment, "arrive", who="recipient")
    actions = list(
        ChangeRecord.objects.filter(entity="logistics.consignment", entity_id=str(consignment.pk)).values_list(
            "action", flat=True
        )
    )
    assert actions == ["create", "dispatch", "arrive"]


@pytest.mark.django_db
def test_a_consignment_is_late_when_its_eta_passed_and_it_has_not_arrived(personas, places):
    world = allocated(personas, quantity=5)
    ship(personas, places, world["allocation"], 2, eta=dt.date(2020, 1, 1))
    ship(personas, places, world["allocation"], 3, eta=dt.date(2099, 1, 1))
    late = [c.reference for c in consignments(personas.coordinator) if is_late(c)]
    assert late == [Consignment.objects.order_by("id").first().reference]


@pytest.mark.django_db
def test_a_short_receipt_needs_a_discrepancy(personas, places):
    world = allocated(personas, quantity=5)
    consignment = ship(personas, places, world["allocation"], 5)
    step(personas, consignment, "arrive", who="recipient")
    with pytest.raises(Invalid) as refused:
        receive(personas, consignment, 4)
    assert any("discrepancy" in field for field in refused.value.field_errors)
    receive(personas, consignment, 4, discrepancy="short", note="One pallet missing")
    assert figures(Pledge.objects.get(pk=world["pledge"].pk))[2] == 4


@pytest.mark.django_db
def test_a_pledge_moving_with_consignments_takes_no_one_flag_delivery_step(personas, places, as_client):
    world = allocated(personas, quantity=5)
    ship(personas, places, world["allocation"], 2)
    pledge = Pledge.objects.get(pk=world["pledge"].pk)
    with pytest.raises(InvalidTransition):
        pledges.advance_pledge(actor=personas.recipient, pledge_id=pledge.pk, step="deliver", expected_version=pledge.version)
    assert "Confirm delivery" not in as_client("recipient").get(pledge.get_absolute_url()).content.decode()


@pytest.mark.django_db
def test_the_pages_show_consignments_late_ones_flagged_and_the_requirement_counts_each_part_once(personas, places, as_client):
    world = allocated(personas, quantity=5, sensitive=True)
    late = ship(personas, places, world["allocation"], 2, serials=["S-1", "S-2"], eta=dt.date(2020, 1, 1))
    received = ship(personas, places, world["allocation"], 3, serials=["S-3", "S-4", "S-5"], eta=dt.date(2020, 1, 1))
    step(personas, received, "arrive", who="recipient")
    receive(personas, received, 3, serials=["S-3", "S-4", "S-9"])
    client = as_client("coordinator")
    listing = client.get("/consignments/").content.decode()
    assert f'{late.reference}</a> <strong class="flag" data-flag>late</strong>' in listing
    assert listing.count("data-flag>late<") == 1  # the one that arrived is not late, though its ETA passed too
    assert received.reference not in client.get("/consignments/", {"late": "True"}).content.decode()
    detail = client.get(f"/consignments/{received.pk}/").content.decode()
    assert "S-5" in detail and "S-9" in detail and "differ from the shipped ones" in detail
    page = client.get(world["requirement"].get_absolute_url()).content.decode()
    assert all(label in page for label in ("Handed over", "In transit", "Only allocated"))
    flow = requirement_flow(personas.coordinator, [world["requirement"].pk])[world["requirement"].pk]
    assert flow == {"handed_over": 0, "in_transit": 5, "allocated": 0}
    late_ones = [c["reference"] for c in Client().get("/api/v1/consignments", {"late": "true"}).json()["items"]]
    assert late_ones == []  # the public sees no consignment marked for coordination
    assert as_client("second_donor").get(f"/consignments/{received.pk}/").status_code == 404


@pytest.mark.django_db
def test_through_the_pages_the_donor_dispatches_and_the_recipient_receives_short_and_hands_over(personas, places, as_client):
    world = allocated(personas, quantity=4, sensitive=True)
    donor = as_client("donor_editor")
    assert "New consignment" in donor.get("/consignments/").content.decode()
    plan = {"reference": "CN-PAGES", "line1-allocation": world["allocation"].pk, "line1-quantity": 2, "line1-serials": "P-1\nP-2"}
    leg = {"leg1-from_place": "PL-RZE", "leg1-to_place": "UA-46-LWO", "leg1-mode": "rail", "leg1-planned_arrival": "2026-05-08"}
    refused = donor.post("/consignments/new/", {**plan, "line1-serials": "P-1", **leg})
    assert refused.status_code == 400 and "one serial number per unit" in refused.content.decode()
    offered = donor.get("/consignments/new/").content.decode()
    assert f'<option value="{world["allocation"].pk}"' in offered and "4 left to ship" in offered
    assert donor.post("/consignments/new/", {**plan, **leg}).status_code == 302
    assert "2 left to ship" in donor.get("/consignments/new/").content.decode()
    consignment = Consignment.objects.get(reference="CN-PAGES")
    assert consignment.owner == world["pledge"].owner and consignment.lines.get().serials == ["P-1", "P-2"]
    url = consignment.get_absolute_url()
    assert "Dispatch" in donor.get(url).content.decode()
    assert donor.post(f"{url}dispatch/", {"version": 1, "on": "2026-05-02"}).status_code == 302
    consignment.refresh_from_db()
    assert consignment.state == ConsignmentState.DISPATCHED
    assert consignment.legs.get().actual_departure == dt.date(2026, 5, 2)
    assert donor.get(f"{url}arrive/").status_code == 403  # the recipient records arrival

    recipient = as_client("recipient")
    assert recipient.post(f"{url}arrive/", {"version": consignment.version}).status_code == 302
    consignment.refresh_from_db()
    line = consignment.lines.get()
    form = {"version": consignment.version, f"line_{line.pk}_quantity_received": 1, f"line_{line.pk}_serials": "P-1"}
    refused = recipient.post(f"{url}receipt/", {**form, f"line_{line.pk}_discrepancy": ""})
    assert refused.status_code == 400 and "record the discrepancy" in refused.content.decode()
    short = {f"line_{line.pk}_discrepancy": "short", f"line_{line.pk}_note": "One launcher missing at unloading"}
    assert recipient.post(f"{url}receipt/", {**form, **short}).status_code == 302
    assert figures(world["pledge"])[:3] == (PledgeState.PARTLY_DELIVERED, 2, 1)
    consignment.refresh_from_db()
    handover = {
        "unit": "A-1234",
        "place": "UA-46-LWO",
        "date": timezone.localdate().isoformat(),
        "officer_role": "deputy commander",
    }
    assert recipient.post(f"{url}handover/", {"version": consignment.version, **handover}).status_code == 302
    page = recipient.get(url).content.decode()
    assert "A-1234" in page and "deputy commander" in page and "handed over" in page
    assert figures(world["pledge"]) == (PledgeState.PARTLY_DELIVERED, 2, 1, 1)


@pytest.mark.django_db
def test_the_handover_is_one_ledger_entry_with_what_a_certificate_shows_and_its_inclusion_proof(personas, places, as_client):
    world = allocated(personas, quantity=2)
    consignment = ship(personas, places, world["allocation"], 2)
    step(personas, consignment, "arrive", who="recipient")
    receive(personas, consignment)
    hand_over(personas, places, consignment)
    entry = handover_entry(consignment, personas.donor_editor)
    assert entry.after["handover_unit"] == "A-1234 air-defence battalion"
    assert entry.after["handover_officer_role"] == "battalion logistics officer"
    assert entry.after["handover_date"] == timezone.localdate().isoformat()
    assert entry.after["state"] == ConsignmentState.HANDED_OVER
    assert handover_entry(consignment, personas.second_donor) is None
    proof = as_client("donor_editor").get("/api/v1/ledger/proofs/inclusion", {"sequence": entry.sequence})
    assert proof.status_code == 200


@pytest.mark.django_db
def test_one_consignment_carries_parts_of_several_allocations_of_one_donor_and_lots_for_ammunition(personas, places):
    launchers, shells = allocated(personas, quantity=3), allocated(personas, quantity=500, bulk=True)
    other_donor = allocated(personas, quantity=2, donor="second_donor")
    consignment = logistics.create_consignment(
        actor=personas.coordinator,
        fields={"reference": "CN-MIXED"},
        lines=[
            {"allocation": launchers["allocation"].pk, "quantity": 3},
            {"allocation": shells["allocation"].pk, "quantity": 200, "lots": ["LOT-2026-01", "LOT-2026-02"]},
        ],
    )
    assert [line.lots for line in consignment.lines.order_by("id")] == [[], ["LOT-2026-01", "LOT-2026-02"]]
    step(personas, consignment, "dispatch")
    assert figures(launchers["pledge"])[:2] == (PledgeState.SHIPPED, 3)
    assert figures(shells["pledge"])[:2] == (PledgeState.SHIPPED, 200)
    with pytest.raises(Invalid) as refused:
        logistics.create_consignment(
            actor=personas.coordinator,
            fields={"reference": "CN-TWO-DONORS"},
            lines=[
                {"allocation": shells["allocation"].pk, "quantity": 1},
                {"allocation": other_donor["allocation"].pk, "quantity": 1},
            ],
        )
    assert "one donor" in refused.value.field_errors["lines"][0]
    with pytest.raises(Invalid) as no_lots:
        logistics.create_consignment(
            actor=personas.donor_editor,
            fields={"reference": "CN-LOTS"},
            lines=[{"allocation": launchers["allocation"].pk, "quantity": 1, "lots": ["L-1"]}],
        )
    assert "lines[0].quantity" in no_lots.value.field_errors and "lines[0].lots" in no_lots.value.field_errors


@pytest.mark.django_db
def test_an_allocation_a_planned_consignment_carries_is_not_released_under_it(personas, places):
    world = allocated(personas, quantity=3)
    consignment = logistics.create_consignment(
        actor=personas.donor_editor, fields={"reference": "CN-P"}, lines=[{"allocation": world["allocation"].pk, "quantity": 1}]
    )
    allocation = world["allocation"]
    allocation.refresh_from_db()
    with pytest.raises(InvalidTransition):
        matching.release_allocation(actor=personas.coordinator, allocation_id=allocation.pk, expected_version=allocation.version)
    step(personas, consignment, "cancel", reason="Plans changed")
    released = matching.release_allocation(
        actor=personas.coordinator, allocation_id=allocation.pk, expected_version=allocation.version
    )
    assert released.state == AllocationState.RELEASED


@pytest.mark.django_db
def test_a_pledge_closed_short_with_nothing_delivered_is_withdrawn_and_its_allocation_released(personas, places):
    world = allocated(personas, quantity=3)
    consignment = ship(personas, places, world["allocation"], 2)
    step(personas, consignment, "arrive", who="recipient")
    receive(personas, consignment, 0, discrepancy="short", note="The truck came empty")
    pledge = Pledge.objects.get(pk=world["pledge"].pk)
    assert pledge.state == PledgeState.SHIPPED
    closed = logistics.close_pledge_short(
        actor=personas.donor_editor, pledge_id=pledge.pk, expected_version=pledge.version, reason="Stolen on the way"
    )
    assert (closed.state, closed.quantity_due) == (PledgeState.WITHDRAWN, 0)
    world["allocation"].refresh_from_db()
    assert (world["allocation"].state, world["allocation"].release_reason) == (AllocationState.RELEASED, "Stolen on the way")
    corrected = receive(personas, consignment, 0, discrepancy="short", note="The truck came empty; police report filed")
    assert corrected.lines.get().discrepancy_note.endswith("police report filed")
    assert figures(pledge) == (PledgeState.WITHDRAWN, 2, 0, 0)


@pytest.mark.django_db
def test_a_pledge_its_donor_keeps_to_itself_still_follows_the_consignment_the_recipient_receives(personas, places):
    world = allocated(personas, quantity=2)
    pledge = world["pledge"]
    with transaction.atomic():  # the donor marks it for itself only (no page offers that once allocated)
        kept = Pledge.objects.get(pk=pledge.pk)
        core_services.update_record(
            actor=personas.donor_editor, obj=kept, changes={"marking": "owner"}, expected_version=kept.version
        )
    assert not Pledge.objects.visible_to(personas.recipient).filter(pk=pledge.pk).exists()
    consignment = ship(personas, places, world["allocation"], 2)
    step(personas, consignment, "arrive", who="recipient")
    receive(personas, consignment)
    assert figures(pledge) == (PledgeState.DELIVERED, 2, 2, 0)


@pytest.mark.django_db
def test_a_replanning_run_leaves_an_allocation_a_planned_consignment_carries(personas, places):
    world = allocated(personas, quantity=3)
    logistics.create_consignment(
        actor=personas.donor_editor, fields={"reference": "CN-R"}, lines=[{"allocation": world["allocation"].pk, "quantity": 3}]
    )
    run = matching.run_match(actor=personas.coordinator, keep_approved=False)
    assert not run.proposals.filter(pledge=world["pledge"]).exists()  # what is already on a consignment is not offered again
    matching.approve_proposals(actor=personas.coordinator, run_id=run.pk, expected_version=run.version)
    world["allocation"].refresh_from_db()
    assert world["allocation"].state == AllocationState.ACTIVE


@pytest.mark.django_db
def test_a_what_if_without_a_donor_keeps_what_its_partly_delivered_pledge_already_delivered(personas, places):
    world = allocated(personas, quantity=14)
    consignment = ship(personas, places, world["allocation"], 6)
    step(personas, consignment, "arrive", who="recipient")
    receive(personas, consignment, 6)
    assert Pledge.objects.get(pk=world["pledge"].pk).state == PledgeState.PARTLY_DELIVERED
    requirement_list = world["requirement"].requirement_list
    rows = open_market(
        actor=personas.coordinator,
        requirement_list=requirement_list,
        keep_approved=False,
        withdrawn_pledges=frozenset({world["pledge"].pk}),
    )
    assert [(a.pk, a.quantity) for a in rows.kept] == [(world["allocation"].pk, Decimal(6))]
    assert rows.market.requirement_quantity.tolist() == [8.0]


@pytest.mark.django_db
def test_a_receipt_before_the_arrival_and_a_handover_before_the_receipt_are_refused(personas, places):
    world = allocated(personas, quantity=2)
    consignment = ship(personas, places, world["allocation"], 2)
    arrived_on = timezone.localdate()
    consignment = logistics.advance_consignment(
        actor=personas.recipient,
        consignment_id=consignment.pk,
        step="arrive",
        expected_version=consignment.version,
        on=arrived_on,
    )
    line = consignment.lines.get()
    entry = {"line": line.pk, "quantity_received": 2, "serials": []}
    with pytest.raises(Invalid) as early:
        logistics.record_receipt(
            actor=personas.recipient,
            consignment_id=consignment.pk,
            expected_version=consignment.version,
            lines=[entry],
            received_on=arrived_on - dt.timedelta(days=1),
        )
    assert list(early.value.field_errors) == ["received_on"]
    consignment = logistics.record_receipt(
        actor=personas.recipient,
        consignment_id=consignment.pk,
        expected_version=consignment.version,
        lines=[entry],
        received_on=arrived_on,
    )
    handover = {"unit": "A-1234", "officer_role": "logistics officer", "place": "Lviv"}
    with pytest.raises(Invalid) as before_receipt:
        logistics.hand_over(
            actor=personas.recipient,
            consignment_id=consignment.pk,
            expected_version=consignment.version,
            date=arrived_on - dt.timedelta(days=1),
            **handover,
        )
    assert list(before_receipt.value.field_errors) == ["date"]
    with pytest.raises(Invalid) as unknown_place:
        logistics.hand_over(
            actor=personas.recipient,
            consignment_id=consignment.pk,
            expected_version=consignment.version,
            date=arrived_on,
            **{**handover, "place": "Lvvi"},
        )
    assert "did you mean" in unknown_place.value.field_errors["place"][0]
    handed_over = logistics.hand_over(
        actor=personas.recipient, consignment_id=consignment.pk, expected_version=consignment.version, date=arrived_on, **handover
    )
    assert handed_over.handover_place.code == "UA-LVIV"  # named by its English name, not its code


@pytest.mark.django_db
def test_an_allocation_id_beyond_any_database_integer_is_no_such_allocation(personas):
    with pytest.raises(Invalid) as refused:
        logistics.create_consignment(
            actor=personas.donor_editor, fields={"reference": "CN-BIG"}, lines=[{"allocation": 2**70, "quantity": 1}]
        )
    assert list(refused.value.field_errors) == ["lines[0].allocation"]


@pytest.mark.django_db
def test_the_plan_form_offers_only_allocations_with_something_left_to_ship(personas, places, as_client):
    world = allocated(personas, quantity=2)
    ship(personas, places, world["allocation"], 2)
    offered = as_client("donor_editor").get("/consignments/new/").content.decode()
    assert f'<option value="{world["allocation"].pk}"' not in offered


@pytest.mark.django_db
def test_lateness_is_kept_after_arrival_in_days_past_the_eta(personas, places, as_client):
    world = allocated(personas, quantity=1)
    eta = timezone.localdate() - dt.timedelta(days=5)
    consignment = ship(personas, places, world["allocation"], 1, eta=eta)
    consignment.refresh_from_db()
    url = consignment.get_absolute_url()
    recipient = as_client("recipient")
    assert "yes: its ETA passed 5 days ago" in recipient.get(url).content.decode()
    step(personas, consignment, "arrive", who="recipient")
    page = recipient.get(url).content.decode()
    assert "arrived 5 days after its ETA" in page and "ETA passed" not in page


@pytest.mark.django_db
def test_a_consignment_ending_outside_its_requirements_destination_is_warned_about_never_refused(personas, places, as_client):
    from tests.test_manifests import api_client
    from umbrella.places.models import Place, PlaceKind

    shells = allocated(personas, quantity=10, bulk=True)
    lviv = Place.objects.get(code="UA-LVIV")  # the requirement's destination ("Lviv")
    depot = factories.place(personas, "UA-LVIV-D9", PlaceKind.DEPOT, lviv)
    elsewhere = logistics.create_consignment(
        actor=personas.donor_editor,
        fields={"reference": "CN-ASTRAY"},
        lines=[{"allocation": shells["allocation"].pk, "quantity": 4}],
        legs=[
            {"from_place": places["hub"], "to_place": lviv, "mode": "road"},
            {"from_place": lviv, "to_place": places["lviv"], "mode": "road"},  # on past Lviv, to another city
        ],
    )
    inside = logistics.create_consignment(
        actor=personas.donor_editor,
        fields={"reference": "CN-DEPOT"},
        lines=[{"allocation": shells["allocation"].pk, "quantity": 4}],
        legs=[{"from_place": places["hub"], "to_place": depot, "mode": "road"}],
    )
    page = as_client("recipient").get(elsewhere.get_absolute_url()).content.decode()
    assert "data-destination-warnings" in page
    assert "Line 1 (" in page and "UA-LVIV — Lviv" in page and "UA-46-LWO" in page
    assert "data-destination-warnings" not in as_client("recipient").get(inside.get_absolute_url()).content.decode()
    detail = api_client(personas, "donor_editor").get(f"/api/v1/consignments/{elsewhere.pk}").json()
    assert len(detail["destination_warnings"]) == 1
    assert "UA-LVIV — Lviv" in detail["destination_warnings"][0] and "UA-46-LWO" in detail["destination_warnings"][0]
    assert api_client(personas, "donor_editor").get(f"/api/v1/consignments/{inside.pk}").json()["destination_warnings"] == []
    # A warning, not a refusal: the consignment goes on its way.
    assert step(personas, elsewhere, "dispatch").state == ConsignmentState.DISPATCHED


@pytest.mark.django_db
def test_the_plan_form_takes_several_lines_and_a_leg_on_from_a_hub_and_names_each_problem_where_it_is(
    personas, places, as_client
):
    launchers, missiles = allocated(personas, quantity=4), allocated(personas, quantity=6)
    donor = as_client("donor_editor")
    lines = {
        "reference": "CN-TWO",
        "line1-allocation": launchers["allocation"].pk,
        "line1-quantity": 2,
        "line2-allocation": missiles["allocation"].pk,
        "line2-quantity": 9,  # more than the 6 left
    }
    legs = {
        "leg1-from_place": "PL",
        "leg1-to_place": "PL-RZE",
        "leg1-mode": "road",
        "leg2-from_place": "PL-RZE",
        "leg2-to_place": "Atlantis",
        "leg2-mode": "rail",
    }
    refused = donor.post("/consignments/new/", {**lines, **legs})
    body = refused.content.decode()
    assert refused.status_code == 400 and not Consignment.objects.filter(reference="CN-TWO").exists()
    leg2 = body.split("Leg 2 (optional)", 1)[1]
    assert "Unknown place" in leg2 and "Atlantis" in leg2
    # Named with the others on the first submit, at its own line: more than the allocation has left.
    assert "has 6 left to ship; 9 is more" in body.split("Line 2 (optional)", 1)[1].split("Line 3 (optional)", 1)[0]
    assert 'id="form-problems"' in body and "nothing was saved" in body
    late_second = {**lines, **legs, "line2-quantity": 6, "leg2-to_place": "UA-46-LWO"}
    late_second.update({"leg2-planned_departure": "2026-12-05", "leg2-planned_arrival": "2026-12-04"})
    body = donor.post("/consignments/new/", late_second).content.decode()
    first_leg, second_leg = body.split("Leg 1 (optional)", 1)[1].split("Leg 2 (optional)", 1)
    assert "The planned arrival comes before the planned departure." in second_leg
    assert "The planned arrival comes before the planned departure." not in first_leg
    elsewhere = donor.post(
        "/consignments/new/", {**lines, **legs, "line2-quantity": 6, "leg2-from_place": "UA-30", "leg2-to_place": "UA-46-LWO"}
    )
    assert elsewhere.status_code == 400
    assert "Leg 2 goes on from where leg 1 ends" in elsewhere.content.decode().split("Leg 2 (optional)", 1)[1]
    twice = donor.post(
        "/consignments/new/",
        {**lines, **legs, "line2-allocation": launchers["allocation"].pk, "line2-quantity": 3, "leg2-to_place": "UA-46-LWO"},
    )
    assert "With the lines above of the same allocation this makes 5; it has 4 left to ship." in twice.content.decode()
    fixed = donor.post("/consignments/new/", {**lines, **legs, "leg2-to_place": "UA-46-LWO"})
    body = fixed.content.decode()
    assert fixed.status_code == 400 and not Consignment.objects.filter(reference="CN-TWO").exists()
    line2 = body.split("Line 2 (optional)", 1)[1].split("Line 3 (optional)", 1)[0]
    assert "has 6 left to ship; 9 is more" in line2
    assert "left to ship; 9 is more" not in body.split("Line 2 (optional)", 1)[0]
    half_a_leg = donor.post("/consignments/new/", {**lines, "line2-quantity": 6, "leg1-from_place": "PL"})
    assert half_a_leg.status_code == 400 and "A leg goes from one place to another: name both." in half_a_leg.content.decode()
    assert "Choose how this leg travels." in half_a_leg.content.decode()
    planned = donor.post("/consignments/new/", {**lines, **legs, "line2-quantity": 6, "leg2-to_place": "UA-46-LWO"})
    assert planned.status_code == 302
    consignment = Consignment.objects.get(reference="CN-TWO")
    assert sorted((line.allocation_id, line.quantity) for line in consignment.lines.all()) == sorted(
        [(launchers["allocation"].pk, 2), (missiles["allocation"].pk, 6)]
    )
    assert [(leg.from_place.code, leg.to_place.code) for leg in consignment.legs.order_by("id")] == [
        ("PL", "PL-RZE"),
        ("PL-RZE", "UA-46-LWO"),
    ]

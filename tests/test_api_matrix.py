"""Every API operation × every persona × (an object it may see / one it may not), against its expected status.

The operations come from the OpenAPI document; one missing from MATRIX fails the suite, so a new endpoint
cannot ship without saying who may call it.
"""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from tests import factories
from umbrella.api import api
from umbrella.core.access import Actor, Marking
from umbrella.core.models import ChangeRecord
from umbrella.core.services import update_record
from umbrella.core.testing import PERSONA_NAMES
from umbrella.eum import services as eum
from umbrella.funding import services as money
from umbrella.logistics import services as logistics
from umbrella.matching import services as matching
from umbrella.matching.models import Allocation
from umbrella.needs import services as needs
from umbrella.orgs import services as orgs
from umbrella.orgs.models import Organization
from umbrella.orgs.services import issue_token
from umbrella.places import services as places
from umbrella.places.models import Place
from umbrella.pledges import services as pledges
from umbrella.scenarios import services as scenarios
from umbrella.training import services as training

HQ_EDITORS = {"coordinator", "hq_admin"}
HQ_APPROVERS = {"coordinator", "hq_admin"}
RUN_READERS = {"coordinator", "hq_admin", "auditor", "recipient"}
ALLOCATION_READERS = RUN_READERS | {"donor_editor", "donor_viewer"}
SOURCE_KEEPERS = {"donor_editor", "coordinator", "hq_admin", "recipient"}
SOURCE_REMOVERS = {"donor_editor", "coordinator", "hq_admin"}  # the donor added the source; HQ removes it with a reason
EVERYONE = set(PERSONA_NAMES)
# A consignment marked for coordination: its donor, the headquarters and the recipient see it.
CONSIGNMENT_READERS = {"donor_editor", "donor_viewer", "coordinator", "hq_admin", "auditor", "recipient"}
SHIPPERS = {"donor_editor", "coordinator", "hq_admin"}  # the donor, or coordination staff on its behalf
RECEIVERS = {"recipient"}
# A serial is its donor's, marked for coordination: its donor, the headquarters and the recipient see it.
SERIAL_READERS = CONSIGNMENT_READERS
INVENTORY_READERS = {"coordinator", "hq_admin", "auditor", "recipient"}  # the recipient's inventory
MEMBERS = set(PERSONA_NAMES) - {"anonymous"}
COURSE_RUNNERS = SHIPPERS  # the donor running the course, or coordination staff on its behalf
# Who sees a course's trainees: the recipient, the headquarters and the donor running the course.
NOMINATION_READERS = {"recipient", "coordinator", "hq_admin", "auditor", "donor_editor", "donor_viewer"}
INSPECTORS = {"coordinator", "hq_admin", "auditor", "recipient", "donor_editor", "second_donor"}
MISSING = 10**9


def build_world(personas) -> dict:
    """One visible (public) and one hidden (owner-only) object of every kind, in the states each operation needs."""
    coordinator, recipient, donor_a, donor_b = (
        personas.coordinator,
        personas.recipient,
        personas.donor_editor,
        personas.second_donor,
    )
    item = factories.item_type(personas, marking=Marking.PUBLIC)
    other = factories.item_type(personas, marking=Marking.PUBLIC)
    hidden_item = factories.item_type(personas, marking=Marking.OWNER)
    hidden_place = places.create_place(
        actor=coordinator,
        fields={"code": "XX-HIDDEN", "kind": "country", "name_en": "Hidden land", "marking": Marking.OWNER},
    )
    from umbrella.catalog import services as catalog

    link = catalog.create_compatibility(
        actor=coordinator, fields={"source": item, "kind": "fires", "target": other, "marking": Marking.PUBLIC}
    )
    hidden_link = catalog.create_compatibility(
        actor=coordinator, fields={"source": other, "kind": "fires", "target": item, "marking": Marking.OWNER}
    )
    system = factories.item_type(personas, marking=Marking.PUBLIC, crew_size=4)
    package = catalog.create_package_rule(
        actor=coordinator, fields={"system": system, "rounds_per_day": 10, "source": "matrix", "marking": Marking.PUBLIC}
    )
    hidden_system = factories.item_type(personas, marking=Marking.OWNER, crew_size=4)
    draft = factories.requirement_list(personas, requirements=1, marking=Marking.PUBLIC, item=item)
    hidden_draft = factories.requirement_list(personas, requirements=1, marking=Marking.OWNER, item=item)
    approved = factories.requirement_list(personas, requirements=1, marking=Marking.PUBLIC, item=item)
    approved = needs.propose_requirement_list(actor=recipient, list_id=approved.pk, expected_version=approved.version)
    approved = needs.approve_requirement_list(actor=coordinator, list_id=approved.pk, expected_version=approved.version)
    pledge = factories.pledge(personas, marking=Marking.PUBLIC, item=item)
    pledges.add_pledge_source(actor=donor_a, pledge_id=pledge.pk, fields=factories.source(url="https://example.invalid/2"))
    hidden_pledge = pledges.create_pledge(
        actor=donor_b,
        fields={"item_type": item, "quantity": 2, "available_from": dt.date(2026, 5, 1), "marking": Marking.OWNER},
        sources=[factories.source(), factories.source()],
    )
    aid_package = pledges.create_aid_package(
        actor=donor_a,
        fields={
            "reference": "AP-PUBLIC",
            "announced_on": dt.date(2026, 1, 10),
            "announced_amount": 1000,
            "marking": Marking.PUBLIC,
        },
        sources=[factories.source()],
    )
    hidden_aid_package = pledges.create_aid_package(
        actor=donor_b,
        fields={
            "reference": "AP-HIDDEN",
            "announced_on": dt.date(2026, 1, 10),
            "announced_amount": 1000,
            "marking": Marking.OWNER,
        },
        sources=[factories.source()],
    )
    return {
        **matching_world(personas, item),
        "aid_package": aid_package,
        "hidden_aid_package": hidden_aid_package,
        "item": item,
        "hidden_item": hidden_item,
        "place": Place.objects.get(code="UA-30"),
        "hidden_place": hidden_place,
        "link": link,
        "hidden_link": hidden_link,
        "system": system,
        "hidden_system": hidden_system,
        "package": package,
        "draft": draft,
        "hidden_draft": hidden_draft,
        "approved": approved,
        "requirement": draft.requirements.get(),
        "hidden_requirement": hidden_draft.requirements.get(),
        "pledge": pledge,
        "hidden_pledge": hidden_pledge,
        "source": pledge.sources.order_by("pk").first(),
        "hidden_source": hidden_pledge.sources.order_by("pk").first(),
        **funding_world(personas),
    }


def funding_world(personas) -> dict:
    """Funding of the first donor (public) and of the second (owner only), GDP figures so a fair share can be worked
    out, and two saved scenarios (one public, one for the headquarters only)."""
    coordinator = personas.coordinator

    def funding(donor, marking):
        return money.create_funding(
            actor=personas[donor],
            fields={
                "reference": f"API-{donor}",
                "year": 2026,
                "amount": Decimal("1000000.00"),
                "currency": "EUR",
                "fx_date": dt.date(2026, 1, 15),
                "category": "purchase",
                "source_url": "https://example.invalid/funding",
                "marking": marking,
            },
        )

    for code, gdp in (("XDA", "4000"), ("XDB", "1000")):
        orgs.record_gdp(
            actor=coordinator,
            organization_id=Organization.objects.get(code=code).pk,
            year=2025,
            amount_bn=Decimal(gdp),
            currency="EUR",
            source="tests",
        )
    scenario = scenarios.save_scenario(actor=coordinator, name="Public", donors=["XDA"], as_of=dt.date(2026, 1, 1))
    hidden_scenario = scenarios.save_scenario(actor=coordinator, name="HQ only", donors=["XDB"], as_of=dt.date(2026, 1, 1))
    with transaction.atomic():
        update_record(actor=coordinator, obj=scenario, changes={"marking": Marking.PUBLIC}, expected_version=scenario.version)
        update_record(
            actor=coordinator, obj=hidden_scenario, changes={"marking": Marking.OWNER}, expected_version=hidden_scenario.version
        )
    made = {"funding": funding("donor_editor", Marking.PUBLIC), "hidden_funding": funding("second_donor", Marking.OWNER)}
    money.configure_year(actor=coordinator, fields={"year": 2026, "participants": ["XDA", "XDB"]})
    money.publish_statement(actor=coordinator, year=2026, reason="matrix")  # pledged funding counts for nothing: whole
    return {
        **made,
        "scenario": scenario,
        "hidden_scenario": hidden_scenario,
    }


def matching_world(personas, item) -> dict:
    """Two allocations from an approved run (one then marked for HQ only), a hidden run (HQ only) and a
    visible, proposed run."""
    coordinator = personas.coordinator
    accepted = []
    for donor, quantity in (("donor_editor", 5), ("second_donor", 2)):
        offered = pledges.create_pledge(
            actor=personas[donor],
            fields={"item_type": item, "quantity": quantity, "available_from": dt.date(2026, 3, 1), "marking": Marking.PUBLIC},
            sources=[factories.source()],
        )
        offered = pledges.advance_pledge(
            actor=personas[donor], pledge_id=offered.pk, step="offer", expected_version=offered.version
        )
        accepted.append(
            pledges.advance_pledge(actor=coordinator, pledge_id=offered.pk, step="accept", expected_version=offered.version)
        )
    first = matching.run_match(actor=coordinator)
    allocation, hidden_allocation = matching.approve_proposals(actor=coordinator, run_id=first.pk, expected_version=first.version)
    hidden_run = matching.run_match(actor=coordinator)
    with transaction.atomic():
        update_record(
            actor=coordinator,
            obj=hidden_allocation,
            changes={"marking": Marking.OWNER},
            expected_version=hidden_allocation.version,
        )
        update_record(actor=coordinator, obj=hidden_run, changes={"marking": Marking.OWNER}, expected_version=hidden_run.version)
    extra = pledges.create_pledge(
        actor=personas.donor_editor,
        fields={"item_type": item, "quantity": 1, "available_from": dt.date(2026, 3, 1), "marking": Marking.PUBLIC},
        sources=[factories.source()],
    )
    extra = pledges.advance_pledge(actor=personas.donor_editor, pledge_id=extra.pk, step="offer", expected_version=extra.version)
    pledges.advance_pledge(actor=coordinator, pledge_id=extra.pk, step="accept", expected_version=extra.version)
    run = matching.run_match(actor=coordinator)
    return {"run": run, "hidden_run": hidden_run, "allocation": allocation, "hidden_allocation": hidden_allocation}


def logistics_world(personas, world) -> dict:
    """Consignments of Donor A's allocation in the states the operations need (planned, arrived, received), one
    of Donor B's marked for itself only (hidden), and a pledge of Donor B partly delivered, to be closed short.
    Built only for the logistics operations: shipping changes the pledges' states the other operations use."""
    places = factories.hub_and_city(personas)
    mine = Allocation.objects.get(pk__in=[world["allocation"].pk, world["hidden_allocation"].pk], pledge__owner__code="XDA")
    theirs = Allocation.objects.get(pk__in=[world["allocation"].pk, world["hidden_allocation"].pk], pledge__owner__code="XDB")
    legs = [{"from_place": places["hub"], "to_place": places["lviv"], "mode": "road", "planned_arrival": dt.date(2026, 6, 1)}]

    def consignment(donor, allocation, reference, steps, marking=Marking.COORDINATION):
        made = logistics.create_consignment(
            actor=personas[donor],
            fields={"reference": reference, "marking": marking},
            lines=[{"allocation": allocation.pk, "quantity": 1}],
            legs=legs,
        )
        for step, who in steps:
            made.refresh_from_db()
            if step == "receive":
                lines = [{"line": made.lines.get().pk, "quantity_received": 1}]
                made = logistics.record_receipt(
                    actor=personas[who], consignment_id=made.pk, expected_version=made.version, lines=lines
                )
            else:
                reason = "Test: cancelled" if step == "cancel" else None
                made = logistics.advance_consignment(
                    actor=personas[who], consignment_id=made.pk, step=step, expected_version=made.version, reason=reason
                )
        return made

    on_the_way = (("dispatch", "donor_editor"), ("arrive", "recipient"))
    hidden = consignment("second_donor", theirs, "CN-B-OWN", (("cancel", "second_donor"),), marking=Marking.OWNER)
    consignment(
        "second_donor", theirs, "CN-B-1", (("dispatch", "second_donor"), ("arrive", "recipient"), ("receive", "recipient"))
    )
    handed_over = consignment("donor_editor", mine, "CN-A-4", (*on_the_way, ("receive", "recipient")))
    handed_over = logistics.hand_over(
        actor=personas.recipient,
        consignment_id=handed_over.pk,
        expected_version=handed_over.version,
        unit="A-1234",
        place=places["lviv"].code,
        date=timezone.localdate(),
        officer_role="logistics officer",
    )
    return {
        "place": places["lviv"],
        "handed_over": handed_over,
        "hidden_handed_over": hidden,
        "planned": consignment("donor_editor", mine, "CN-A-1", ()),
        "arrived": consignment("donor_editor", mine, "CN-A-2", on_the_way),
        "received": consignment("donor_editor", mine, "CN-A-3", (*on_the_way, ("receive", "recipient"))),
        "hidden_planned": hidden,
        "hidden_arrived": hidden,
        "hidden_received": hidden,
        "partly_delivered": theirs.pledge,
        "hidden_partly_delivered": world["hidden_pledge"],
    }


def eum_world(personas) -> dict:
    """Serials of Donor A (visible to its readers) and of Donor B (hidden from them), each with a loss report and a
    consent request, a unit of the recipient, and an inventory by the recipient and one by Donor B (hidden)."""
    recipient = personas.recipient
    item = factories.item_type(personas, sensitive=True, marking=Marking.PUBLIC)
    day = timezone.localdate() - dt.timedelta(days=10)

    def serial(donor, number):
        return eum.register_serial(
            actor=recipient,
            donor=personas[donor].organization,
            fields={"item_type": item, "serial": number, "handover_date": day},
        )

    mine, theirs = serial("donor_editor", "A-1"), serial("second_donor", "B-1")
    lost, their_lost = serial("donor_editor", "A-2"), serial("second_donor", "B-2")

    def loss(of):
        return eum.report_loss(actor=recipient, serial_id=of.pk, kind="lost", occurred_on=day, circumstances="Test: lost")

    def consent_request(of):
        return eum.request_consent(actor=recipient, serial_id=of.pk, kind="third_party", third_party="Ally", reason="Test")

    def inventory(actor):
        return eum.record_inventory(actor=actor, fields={"conducted_on": day, "method": "physical"}, sightings=[])

    eum.create_unit(actor=recipient, fields={"code": "DEPOT-1", "name": "1st depot", "kind": "depot"})
    return {
        "eum_item": item,
        "serial": mine,
        "hidden_serial": theirs,
        "loss": loss(lost),
        "hidden_loss": loss(their_lost),
        "consent_request": consent_request(mine),
        "hidden_consent_request": consent_request(theirs),
        "inventory": inventory(recipient),
        "hidden_inventory": inventory(personas.second_donor),
    }


def training_world(personas) -> dict:
    """A course type for every participant and one for the headquarters only; Donor A's course offered to every
    participant (open), one confirmed and ended, each with a nomination of the recipient's unit; Donor B's course
    for itself only (hidden)."""
    item = factories.item_type(personas, crew_size=3, standard="", marking=Marking.PUBLIC)
    fields = {"name": "Crew course", "qualification": "Crew", "system": item, "weeks": 6, "seat_value_eur": "1000.00"}
    kind = training.create_course_type(actor=personas.coordinator, fields={"code": "API-CREW", **fields})
    hidden_kind = training.create_course_type(
        actor=personas.coordinator, fields={"code": "API-SECRET", **fields, "marking": Marking.OWNER}
    )
    eum.create_unit(actor=personas.recipient, fields={"code": "TRN-1", "name": "Training battalion", "kind": "battalion"})
    today = timezone.localdate()

    def course(donor, reference, **more):
        return training.offer_course(
            actor=personas[donor],
            fields={
                "course_type": kind,
                "reference": reference,
                "provider": "School",
                "site": "PL",
                "starts_on": today - dt.timedelta(days=40),
                "ends_on": today - dt.timedelta(days=1),
                "seats": 4,
                **more,
            },
        )

    open_course, ended = course("donor_editor", "OPEN"), course("donor_editor", "ENDED")
    ended = training.confirm_course(actor=personas.donor_editor, course_id=ended.pk, expected_version=ended.version)
    hidden = course("second_donor", "HIDDEN", marking=Marking.OWNER)
    (nomination,) = training.nominate(
        actor=personas.recipient, course_id=open_course.pk, trainees=[{"trainee": "T-API-0001", "unit": "TRN-1"}]
    )
    return {
        "course_type": kind,
        "hidden_course_type": hidden_kind,
        "course": open_course,
        "hidden_course": hidden,
        "ended_course": ended,
        "hidden_ended_course": hidden,
        "nomination": nomination,
    }


def pick(world, name, visible, persona, personas):
    """The object's id; when the persona happens to see even the hidden one (it owns it), a missing id."""
    if visible:
        return world[name].pk
    hidden = world[f"hidden_{name}"]
    actor = personas[persona]
    return MISSING if type(hidden).objects.visible_to(actor).filter(pk=hidden.pk).exists() else hidden.pk


def writes(allowed: set[str], ok: int = 200):
    """Expected status of a write on a visible object: ok for `allowed`, 401 for the public, else 403."""
    return lambda persona: ok if persona in allowed else 401 if persona == "anonymous" else 403


def reads(persona):
    return 200


def seen_by(readers: set[str], writers: set[str] = frozenset(), ok: int = 200):
    """For records most cannot see: ok for `writers`, 403 for other readers, 404 for everyone else."""
    return lambda persona: (
        ok if persona in writers else 403 if persona in readers and writers else 200 if persona in readers else 404
    )


item_body = {"code": "API-NEW", "name": "New", "capability_area": "drones", "unit_value_eur": "10.00"}
pledge_body = {
    "item_type": None,
    "quantity": 3,
    "available_from": "2026-06-01",
    "sources": [{"kind": "official", "url": "https://example.invalid/x", "date": "2026-05-01"}],
}
aid_package_body = {
    "reference": "AP-NEW",
    "announced_on": "2026-01-10",
    "announced_amount": "2500000.00",
    "sources": [{"kind": "official", "url": "https://example.invalid/ap", "date": "2026-01-10"}],
}
requirement_body = {"item_type": None, "quantity": 4, "priority": 2, "needed_by": "2026-09-01", "destination": "Odesa"}
source_body = {"kind": "media", "url": "https://example.invalid/m", "date": "2026-05-02"}
funding_body = {
    "reference": "API-NEW",
    "year": 2026,
    "amount": "250000.00",
    "currency": "EUR",
    "fx_date": "2026-02-01",
    "category": "training",
    "source_url": "https://example.invalid/f",
}
rate_body = {"currency": "USD", "date": "2026-02-02", "units_per_eur": "1.0850", "source": "ECB"}
scenario_question = {"donors": ["XDA"], "as_of": "2026-01-01"}

# (method, path) → (path parameters(world, visible, persona, personas), body(world), If-Match version(world),
#                   expected(persona), parent-hidden → 404?)
MATRIX = {
    ("GET", "/api/v1/organizations"): (lambda w, v, p, ps: "/api/v1/organizations", None, None, reads, False),
    ("GET", "/api/v1/organizations/{code}"): (
        lambda w, v, p, ps: f"/api/v1/organizations/{'XDA' if v else 'NOPE'}",
        None,
        None,
        reads,
        True,
    ),
    ("GET", "/api/v1/item-types"): (lambda w, v, p, ps: "/api/v1/item-types", None, None, reads, False),
    ("GET", "/api/v1/places"): (lambda w, v, p, ps: "/api/v1/places", None, None, reads, False),
    ("GET", "/api/v1/places/resolve"): (lambda w, v, p, ps: "/api/v1/places/resolve?name=Kiev", None, None, reads, False),
    ("GET", "/api/v1/places/{place_id}"): (
        lambda w, v, p, ps: f"/api/v1/places/{pick(w, 'place', v, p, ps)}",
        None,
        None,
        reads,
        True,
    ),
    ("POST", "/api/v1/item-types"): (
        lambda w, v, p, ps: "/api/v1/item-types",
        lambda w: item_body,
        None,
        writes(HQ_EDITORS, 201),
        False,
    ),
    ("GET", "/api/v1/item-types/{item_type_id}"): (
        lambda w, v, p, ps: f"/api/v1/item-types/{pick(w, 'item', v, p, ps)}",
        None,
        None,
        reads,
        True,
    ),
    ("PATCH", "/api/v1/item-types/{item_type_id}"): (
        lambda w, v, p, ps: f"/api/v1/item-types/{pick(w, 'item', v, p, ps)}",
        lambda w: {"name": "Renamed"},
        "item",
        writes(HQ_EDITORS),
        True,
    ),
    ("PUT", "/api/v1/item-types/{item_type_id}/marking"): (
        lambda w, v, p, ps: f"/api/v1/item-types/{pick(w, 'item', v, p, ps)}/marking",
        lambda w: {"marking": "participants"},
        "item",
        writes(HQ_EDITORS),
        True,
    ),
    ("DELETE", "/api/v1/item-types/{item_type_id}"): (
        lambda w, v, p, ps: f"/api/v1/item-types/{pick(w, 'item', v, p, ps)}",
        None,
        "item",
        lambda p: 409 if p in HQ_EDITORS else writes(set())(p),
        True,
    ),
    ("GET", "/api/v1/item-types/{item_type_id}/package"): (
        lambda w, v, p, ps: f"/api/v1/item-types/{pick(w, 'system', v, p, ps)}/package",
        None,
        None,
        reads,
        True,
    ),
    ("PUT", "/api/v1/item-types/{item_type_id}/package"): (
        lambda w, v, p, ps: f"/api/v1/item-types/{pick(w, 'system', v, p, ps)}/package",
        lambda w: {"crews_per_system": 2, "rounds_per_day": "20", "days_of_supply": 15, "source": "matrix, changed"},
        "package",
        writes(HQ_EDITORS),
        True,
    ),
    ("GET", "/api/v1/compatibilities"): (lambda w, v, p, ps: "/api/v1/compatibilities", None, None, reads, False),
    ("POST", "/api/v1/compatibilities"): (
        lambda w, v, p, ps: "/api/v1/compatibilities",
        lambda w: {"item": w["item"].code, "kind": "consumes", "related_item": w["link"].target.code},
        None,
        writes(HQ_EDITORS, 201),
        False,
    ),
    ("GET", "/api/v1/compatibilities/{compatibility_id}"): (
        lambda w, v, p, ps: f"/api/v1/compatibilities/{pick(w, 'link', v, p, ps)}",
        None,
        None,
        reads,
        True,
    ),
    ("DELETE", "/api/v1/compatibilities/{compatibility_id}"): (
        lambda w, v, p, ps: f"/api/v1/compatibilities/{pick(w, 'link', v, p, ps)}",
        None,
        "link",
        writes(HQ_EDITORS, 204),
        True,
    ),
    ("GET", "/api/v1/requirement-lists"): (lambda w, v, p, ps: "/api/v1/requirement-lists", None, None, reads, False),
    ("POST", "/api/v1/requirement-lists"): (
        lambda w, v, p, ps: "/api/v1/requirement-lists",
        lambda w: {"series": "API-S", "title": "From the API"},
        None,
        writes({"recipient"}, 201),
        False,
    ),
    ("GET", "/api/v1/requirement-lists/{list_id}"): (
        lambda w, v, p, ps: f"/api/v1/requirement-lists/{pick(w, 'draft', v, p, ps)}",
        None,
        None,
        reads,
        True,
    ),
    ("PATCH", "/api/v1/requirement-lists/{list_id}"): (
        lambda w, v, p, ps: f"/api/v1/requirement-lists/{pick(w, 'draft', v, p, ps)}",
        lambda w: {"title": "Renamed"},
        "draft",
        writes({"recipient"}),
        True,
    ),
    ("PUT", "/api/v1/requirement-lists/{list_id}/marking"): (
        lambda w, v, p, ps: f"/api/v1/requirement-lists/{pick(w, 'draft', v, p, ps)}/marking",
        lambda w: {"marking": "participants"},
        "draft",
        writes({"recipient"}),
        True,
    ),
    ("POST", "/api/v1/requirement-lists/{list_id}/steps/{step}"): (
        lambda w, v, p, ps: f"/api/v1/requirement-lists/{pick(w, 'draft', v, p, ps)}/steps/propose",
        None,
        "draft",
        writes({"recipient"}),
        True,
    ),
    ("POST", "/api/v1/requirement-lists/{list_id}/revisions"): (
        lambda w, v, p, ps: f"/api/v1/requirement-lists/{w['approved'].pk if v else pick(w, 'draft', False, p, ps)}/revisions",
        None,
        None,
        writes({"recipient"}, 201),
        True,
    ),
    ("DELETE", "/api/v1/requirement-lists/{list_id}"): (
        lambda w, v, p, ps: f"/api/v1/requirement-lists/{pick(w, 'draft', v, p, ps)}",
        None,
        "draft",
        writes({"recipient"}, 204),
        True,
    ),
    ("GET", "/api/v1/requirement-lists/{list_id}/requirements"): (
        lambda w, v, p, ps: f"/api/v1/requirement-lists/{pick(w, 'draft', v, p, ps)}/requirements",
        None,
        None,
        reads,
        True,
    ),
    ("POST", "/api/v1/requirement-lists/{list_id}/requirements"): (
        lambda w, v, p, ps: f"/api/v1/requirement-lists/{pick(w, 'draft', v, p, ps)}/requirements",
        lambda w: {**requirement_body, "item_type": w["item"].code},
        None,
        writes({"recipient"}, 201),
        True,
    ),
    ("GET", "/api/v1/requirements/{requirement_id}"): (
        lambda w, v, p, ps: f"/api/v1/requirements/{pick(w, 'requirement', v, p, ps)}",
        None,
        None,
        reads,
        True,
    ),
    ("PATCH", "/api/v1/requirements/{requirement_id}"): (
        lambda w, v, p, ps: f"/api/v1/requirements/{pick(w, 'requirement', v, p, ps)}",
        lambda w: {"quantity": 99},
        "requirement",
        writes({"recipient"}),
        True,
    ),
    ("DELETE", "/api/v1/requirements/{requirement_id}"): (
        lambda w, v, p, ps: f"/api/v1/requirements/{pick(w, 'requirement', v, p, ps)}",
        None,
        "requirement",
        writes({"recipient"}, 204),
        True,
    ),
    ("GET", "/api/v1/pledges"): (lambda w, v, p, ps: "/api/v1/pledges", None, None, reads, False),
    ("POST", "/api/v1/pledges"): (
        lambda w, v, p, ps: "/api/v1/pledges",
        lambda w: {**pledge_body, "item_type": w["item"].code},
        None,
        writes({"donor_editor", "second_donor"}, 201),
        False,
    ),
    ("GET", "/api/v1/pledges/{pledge_id}"): (
        lambda w, v, p, ps: f"/api/v1/pledges/{pick(w, 'pledge', v, p, ps)}",
        None,
        None,
        reads,
        True,
    ),
    ("PATCH", "/api/v1/pledges/{pledge_id}"): (
        lambda w, v, p, ps: f"/api/v1/pledges/{pick(w, 'pledge', v, p, ps)}",
        lambda w: {"quantity": 7},
        "pledge",
        writes({"donor_editor"}),
        True,
    ),
    ("PUT", "/api/v1/pledges/{pledge_id}/marking"): (
        lambda w, v, p, ps: f"/api/v1/pledges/{pick(w, 'pledge', v, p, ps)}/marking",
        lambda w: {"marking": "coordination"},
        "pledge",
        writes({"donor_editor"}),
        True,
    ),
    ("POST", "/api/v1/pledges/{pledge_id}/steps/{step}"): (
        lambda w, v, p, ps: f"/api/v1/pledges/{pick(w, 'pledge', v, p, ps)}/steps/offer",
        lambda w: {},
        "pledge",
        writes({"donor_editor"}),
        True,
    ),
    ("DELETE", "/api/v1/pledges/{pledge_id}"): (
        lambda w, v, p, ps: f"/api/v1/pledges/{pick(w, 'pledge', v, p, ps)}",
        None,
        "pledge",
        writes({"donor_editor"}, 204),
        True,
    ),
    ("GET", "/api/v1/pledges/{pledge_id}/sources"): (
        lambda w, v, p, ps: f"/api/v1/pledges/{pick(w, 'pledge', v, p, ps)}/sources",
        None,
        None,
        reads,
        True,
    ),
    ("POST", "/api/v1/pledges/{pledge_id}/sources"): (
        lambda w, v, p, ps: f"/api/v1/pledges/{pick(w, 'pledge', v, p, ps)}/sources",
        lambda w: source_body,
        None,
        writes(SOURCE_KEEPERS, 201),
        True,
    ),
    ("DELETE", "/api/v1/sources/{source_id}"): (
        lambda w, v, p, ps: f"/api/v1/sources/{pick(w, 'source', v, p, ps)}?reason=Duplicate",
        None,
        None,
        writes(SOURCE_REMOVERS, 204),
        True,
    ),
    ("PUT", "/api/v1/pledges/{pledge_id}/tranches"): (
        lambda w, v, p, ps: f"/api/v1/pledges/{pick(w, 'pledge', v, p, ps)}/tranches",
        lambda w: {"tranches": [{"date": "2026-06-01", "quantity": 1}]},
        "pledge",
        writes({"donor_editor"}),
        True,
    ),
    ("GET", "/api/v1/aid-packages"): (lambda w, v, p, ps: "/api/v1/aid-packages", None, None, reads, False),
    ("POST", "/api/v1/aid-packages"): (
        lambda w, v, p, ps: "/api/v1/aid-packages",
        lambda w: aid_package_body,
        None,
        writes({"donor_editor", "second_donor"}, 201),
        False,
    ),
    ("GET", "/api/v1/aid-packages/{aid_package_id}"): (
        lambda w, v, p, ps: f"/api/v1/aid-packages/{pick(w, 'aid_package', v, p, ps)}",
        None,
        None,
        reads,
        True,
    ),
    ("GET", "/api/v1/match-runs"): (lambda w, v, p, ps: "/api/v1/match-runs", None, None, reads, False),
    ("POST", "/api/v1/match-runs"): (
        lambda w, v, p, ps: "/api/v1/match-runs",
        lambda w: {"keep_approved": True},
        None,
        writes(HQ_EDITORS, 201),
        False,
    ),
    ("GET", "/api/v1/match-runs/{run_id}"): (
        lambda w, v, p, ps: f"/api/v1/match-runs/{pick(w, 'run', v, p, ps)}",
        None,
        None,
        seen_by(RUN_READERS),
        True,
    ),
    ("GET", "/api/v1/match-runs/{run_id}/proposals"): (
        lambda w, v, p, ps: f"/api/v1/match-runs/{pick(w, 'run', v, p, ps)}/proposals",
        None,
        None,
        seen_by(RUN_READERS),
        True,
    ),
    ("POST", "/api/v1/match-runs/{run_id}/approve"): (
        lambda w, v, p, ps: f"/api/v1/match-runs/{pick(w, 'run', v, p, ps)}/approve",
        lambda w: {},
        "run",
        seen_by(RUN_READERS, HQ_APPROVERS),
        True,
    ),
    ("GET", "/api/v1/allocations"): (lambda w, v, p, ps: "/api/v1/allocations", None, None, reads, False),
    ("GET", "/api/v1/allocations/{allocation_id}"): (
        lambda w, v, p, ps: f"/api/v1/allocations/{pick(w, 'allocation', v, p, ps)}",
        None,
        None,
        seen_by(ALLOCATION_READERS),
        True,
    ),
    ("POST", "/api/v1/allocations/{allocation_id}/release"): (
        lambda w, v, p, ps: f"/api/v1/allocations/{pick(w, 'allocation', v, p, ps)}/release",
        None,
        "allocation",
        seen_by(ALLOCATION_READERS, HQ_APPROVERS),
        True,
    ),
    ("GET", "/api/v1/funding"): (lambda w, v, p, ps: "/api/v1/funding", None, None, reads, False),
    ("POST", "/api/v1/funding"): (
        lambda w, v, p, ps: "/api/v1/funding",
        lambda w: funding_body,
        None,
        writes({"donor_editor", "second_donor"}, 201),
        False,
    ),
    ("GET", "/api/v1/funding/{funding_id}"): (
        lambda w, v, p, ps: f"/api/v1/funding/{pick(w, 'funding', v, p, ps)}",
        None,
        None,
        reads,
        True,
    ),
    ("PATCH", "/api/v1/funding/{funding_id}"): (
        lambda w, v, p, ps: f"/api/v1/funding/{pick(w, 'funding', v, p, ps)}",
        lambda w: {"amount": "2000000.00"},
        "funding",
        writes({"donor_editor"}),
        True,
    ),
    ("PUT", "/api/v1/funding/{funding_id}/marking"): (
        lambda w, v, p, ps: f"/api/v1/funding/{pick(w, 'funding', v, p, ps)}/marking",
        lambda w: {"marking": "coordination"},
        "funding",
        writes({"donor_editor"}),
        True,
    ),
    ("POST", "/api/v1/funding/{funding_id}/steps/{step}"): (
        lambda w, v, p, ps: f"/api/v1/funding/{pick(w, 'funding', v, p, ps)}/steps/commit",
        None,
        "funding",
        writes({"donor_editor"}),
        True,
    ),
    ("GET", "/api/v1/fx-rates"): (lambda w, v, p, ps: "/api/v1/fx-rates", None, None, reads, False),
    ("POST", "/api/v1/fx-rates"): (
        lambda w, v, p, ps: "/api/v1/fx-rates",
        lambda w: rate_body,
        None,
        writes(HQ_EDITORS, 201),
        False,
    ),
    ("GET", "/api/v1/fair-share/{year}"): (lambda w, v, p, ps: "/api/v1/fair-share/2026", None, None, reads, False),
    ("GET", "/api/v1/fair-share/{year}/statement"): (
        lambda w, v, p, ps: "/api/v1/fair-share/2026/statement",
        None,
        None,
        reads,
        False,
    ),
    ("GET", "/api/v1/fair-share/{year}/statements"): (
        lambda w, v, p, ps: "/api/v1/fair-share/2026/statements",
        None,
        None,
        reads,
        False,
    ),
    ("GET", "/api/v1/fair-share/{year}/statements/{sequence}"): (
        lambda w, v, p, ps: "/api/v1/fair-share/2026/statements/1",
        None,
        None,
        reads,
        False,
    ),
    ("POST", "/api/v1/fair-share/{year}/statements"): (
        lambda w, v, p, ps: "/api/v1/fair-share/2026/statements",
        lambda w: {"reason": "From the API"},
        None,
        writes(HQ_EDITORS, 201),
        False,
    ),
    ("GET", "/api/v1/scenarios"): (lambda w, v, p, ps: "/api/v1/scenarios", None, None, reads, False),
    ("GET", "/api/v1/scenarios/{scenario_id}"): (
        lambda w, v, p, ps: f"/api/v1/scenarios/{pick(w, 'scenario', v, p, ps)}",
        None,
        None,
        reads,
        True,
    ),
    ("POST", "/api/v1/scenarios"): (
        lambda w, v, p, ps: "/api/v1/scenarios",
        lambda w: {**scenario_question, "name": "From the API"},
        None,
        writes(HQ_EDITORS, 201),
        False,
    ),
    ("POST", "/api/v1/scenarios/preview"): (
        lambda w, v, p, ps: "/api/v1/scenarios/preview",
        lambda w: scenario_question,
        None,
        writes(HQ_EDITORS),
        False,
    ),
    ("GET", "/api/v1/ledger/entries"): (lambda w, v, p, ps: "/api/v1/ledger/entries", None, None, reads, False),
    ("GET", "/api/v1/ledger/entries/{sequence}"): (
        lambda w, v, p, ps: f"/api/v1/ledger/entries/{1 if v else MISSING}",
        None,
        None,
        reads,
        True,
    ),
    ("GET", "/api/v1/ledger/checkpoint"): (lambda w, v, p, ps: "/api/v1/ledger/checkpoint", None, None, reads, False),
    ("GET", "/api/v1/ledger/proofs/inclusion"): (
        lambda w, v, p, ps: "/api/v1/ledger/proofs/inclusion?sequence=1",
        None,
        None,
        reads,
        False,
    ),
    ("GET", "/api/v1/consignments"): (lambda w, v, p, ps: "/api/v1/consignments", None, None, reads, False),
    ("GET", "/api/v1/readiness"): (
        lambda w, v, p, ps: "/api/v1/readiness?destination=UA",
        None,
        None,
        seen_by(RUN_READERS),
        False,
    ),
    ("GET", "/api/v1/training/gaps"): (lambda w, v, p, ps: "/api/v1/training/gaps", None, None, seen_by(RUN_READERS), False),
    ("GET", "/api/v1/consignments/hub-board"): (lambda w, v, p, ps: "/api/v1/consignments/hub-board", None, None, reads, False),
    ("GET", "/api/v1/consignments/coming"): (lambda w, v, p, ps: "/api/v1/consignments/coming", None, None, reads, False),
    ("GET", "/api/v1/consignments/{consignment_id}/certificate"): (
        lambda w, v, p, ps: f"/api/v1/consignments/{pick(w, 'handed_over', v, p, ps)}/certificate",
        None,
        None,
        seen_by(CONSIGNMENT_READERS),
        True,
    ),
    ("POST", "/api/v1/consignments"): (
        lambda w, v, p, ps: "/api/v1/consignments",
        lambda w: {"reference": "CN-API", "lines": [{"allocation": w["planned"].lines.get().allocation_id, "quantity": 1}]},
        None,
        # Donor B is a shipper too, but Donor A's allocation is not its own to ship: it does not see it (422 on the line).
        lambda persona: {**{name: 201 for name in SHIPPERS}, "second_donor": 422}.get(persona, writes(SHIPPERS)(persona)),
        False,
    ),
    ("GET", "/api/v1/consignments/{consignment_id}"): (
        lambda w, v, p, ps: f"/api/v1/consignments/{pick(w, 'planned', v, p, ps)}",
        None,
        None,
        seen_by(CONSIGNMENT_READERS),
        True,
    ),
    ("GET", "/api/v1/consignments/{consignment_id}/manifest"): (
        lambda w, v, p, ps: f"/api/v1/consignments/{pick(w, 'planned', v, p, ps)}/manifest?format=xlsx",
        None,
        None,
        seen_by(CONSIGNMENT_READERS),
        True,
    ),
    ("POST", "/api/v1/consignments/{consignment_id}/steps/{step}"): (
        lambda w, v, p, ps: f"/api/v1/consignments/{pick(w, 'planned', v, p, ps)}/steps/dispatch",
        lambda w: {},
        "planned",
        seen_by(CONSIGNMENT_READERS, SHIPPERS),
        True,
    ),
    ("POST", "/api/v1/consignments/{consignment_id}/legs"): (
        lambda w, v, p, ps: f"/api/v1/consignments/{pick(w, 'planned', v, p, ps)}/legs",
        lambda w: {"from_place": "PL-RZE", "to_place": w["place"].code, "mode": "rail"},
        "planned",
        seen_by(CONSIGNMENT_READERS, SHIPPERS),
        True,
    ),
    ("POST", "/api/v1/consignments/{consignment_id}/receipt"): (
        lambda w, v, p, ps: f"/api/v1/consignments/{pick(w, 'arrived', v, p, ps)}/receipt",
        lambda w: {"lines": [{"line": w["arrived"].lines.get().pk, "quantity_received": 1}]},
        "arrived",
        seen_by(CONSIGNMENT_READERS, RECEIVERS),
        True,
    ),
    ("POST", "/api/v1/consignments/{consignment_id}/handover"): (
        lambda w, v, p, ps: f"/api/v1/consignments/{pick(w, 'received', v, p, ps)}/handover",
        lambda w: {
            "unit": "A-1234",
            "place": w["place"].code,
            "date": timezone.localdate().isoformat(),
            "officer_role": "logistics officer",
        },
        "received",
        seen_by(CONSIGNMENT_READERS, RECEIVERS),
        True,
    ),
    ("POST", "/api/v1/pledges/{pledge_id}/close-short"): (
        lambda w, v, p, ps: f"/api/v1/pledges/{pick(w, 'partly_delivered', v, p, ps)}/close-short",
        lambda w: {"reason": "Production stopped"},
        "partly_delivered",
        writes({"second_donor"}),
        True,
    ),
    ("GET", "/api/v1/ledger/proofs/consistency"): (
        lambda w, v, p, ps: "/api/v1/ledger/proofs/consistency?first=1",
        None,
        None,
        reads,
        False,
    ),
    ("GET", "/api/v1/eum/serials"): (lambda w, v, p, ps: "/api/v1/eum/serials", None, None, reads, False),
    ("GET", "/api/v1/eum/serials/{serial_id}"): (
        lambda w, v, p, ps: f"/api/v1/eum/serials/{pick(w, 'serial', v, p, ps)}",
        None,
        None,
        seen_by(SERIAL_READERS),
        True,
    ),
    ("GET", "/api/v1/eum/units"): (lambda w, v, p, ps: "/api/v1/eum/units", None, None, reads, False),
    ("POST", "/api/v1/eum/units"): (
        lambda w, v, p, ps: "/api/v1/eum/units",
        lambda w: {"code": "47-MECH", "name": "47th mechanized brigade", "kind": "brigade"},
        None,
        writes({"recipient"}, 201),
        False,
    ),
    ("POST", "/api/v1/eum/inventories"): (
        lambda w, v, p, ps: "/api/v1/eum/inventories",
        lambda w: {
            "conducted_on": timezone.localdate().isoformat(),
            "method": "physical",
            "sightings": [{"item_type": w["eum_item"].code, "serial": "A-1"}],
        },
        None,
        # Donor B inspects its own serials only: Donor A's is "not in the registry" to it (422).
        lambda persona: {**{name: 201 for name in INSPECTORS}, "second_donor": 422}.get(persona, writes(INSPECTORS)(persona)),
        False,
    ),
    ("GET", "/api/v1/eum/inventories/{inventory_id}"): (
        lambda w, v, p, ps: f"/api/v1/eum/inventories/{pick(w, 'inventory', v, p, ps)}",
        None,
        None,
        seen_by(INVENTORY_READERS),
        True,
    ),
    ("POST", "/api/v1/eum/serials/{serial_id}/losses"): (
        lambda w, v, p, ps: f"/api/v1/eum/serials/{pick(w, 'serial', v, p, ps)}/losses",
        lambda w: {"kind": "captured", "occurred_on": timezone.localdate().isoformat(), "circumstances": "Overrun"},
        None,
        seen_by(SERIAL_READERS, {"recipient"}, 201),
        True,
    ),
    ("POST", "/api/v1/eum/losses/{loss_id}/acknowledge"): (
        lambda w, v, p, ps: f"/api/v1/eum/losses/{pick(w, 'loss', v, p, ps)}/acknowledge",
        lambda w: {"note": "Noted"},
        None,
        seen_by(SERIAL_READERS, {"donor_editor"}),
        True,
    ),
    ("POST", "/api/v1/eum/serials/{serial_id}/consent-requests"): (
        lambda w, v, p, ps: f"/api/v1/eum/serials/{pick(w, 'serial', v, p, ps)}/consent-requests",
        lambda w: {"kind": "end_use", "end_use": "Training", "reason": "Training school"},
        None,
        seen_by(SERIAL_READERS, {"recipient"}, 201),
        True,
    ),
    ("POST", "/api/v1/eum/transfers/{transfer_id}/decision"): (
        lambda w, v, p, ps: f"/api/v1/eum/transfers/{pick(w, 'consent_request', v, p, ps)}/decision",
        lambda w: {"consent": True},
        None,
        seen_by(SERIAL_READERS, {"donor_editor"}),
        True,
    ),
    ("POST", "/api/v1/eum/serials/{serial_id}/transfers"): (
        lambda w, v, p, ps: f"/api/v1/eum/serials/{pick(w, 'serial', v, p, ps)}/transfers",
        lambda w: {"kind": "internal", "to_unit": "DEPOT-1", "reason": "To the depot"},
        None,
        seen_by(SERIAL_READERS, {"recipient"}, 201),
        True,
    ),
    ("GET", "/api/v1/eum/rules"): (lambda w, v, p, ps: "/api/v1/eum/rules", None, None, reads, False),
    ("PUT", "/api/v1/eum/rules"): (
        lambda w, v, p, ps: "/api/v1/eum/rules",
        lambda w: {"item_type": w["eum_item"].code, "initial_days": 30, "interval_days": 180},
        None,
        writes(HQ_EDITORS),
        False,
    ),
    ("GET", "/api/v1/eum/due"): (lambda w, v, p, ps: "/api/v1/eum/due?within=365", None, None, reads, False),
    ("GET", "/api/v1/eum/delinquency"): (lambda w, v, p, ps: "/api/v1/eum/delinquency", None, None, reads, False),
    ("GET", "/api/v1/eum/public"): (lambda w, v, p, ps: "/api/v1/eum/public", None, None, reads, False),
    ("GET", "/api/v1/course-types"): (lambda w, v, p, ps: "/api/v1/course-types", None, None, reads, False),
    ("POST", "/api/v1/course-types"): (
        lambda w, v, p, ps: "/api/v1/course-types",
        lambda w: {"code": "API-NEW", "name": "New course", "qualification": "New crew", "weeks": 4},
        None,
        writes(HQ_EDITORS, 201),
        False,
    ),
    ("GET", "/api/v1/course-types/{course_type_id}"): (
        lambda w, v, p, ps: f"/api/v1/course-types/{pick(w, 'course_type', v, p, ps)}",
        None,
        None,
        seen_by(MEMBERS),
        True,
    ),
    ("PATCH", "/api/v1/course-types/{course_type_id}"): (
        lambda w, v, p, ps: f"/api/v1/course-types/{pick(w, 'course_type', v, p, ps)}",
        lambda w: {"weeks": 8},
        "course_type",
        seen_by(MEMBERS, HQ_EDITORS),
        True,
    ),
    ("GET", "/api/v1/courses"): (lambda w, v, p, ps: "/api/v1/courses", None, None, reads, False),
    ("POST", "/api/v1/courses"): (
        lambda w, v, p, ps: "/api/v1/courses",
        lambda w: {
            "course_type": "API-CREW",
            "reference": "NEW",
            "provider": "School",
            "site": "Poland",
            "starts_on": "2027-01-04",
            "ends_on": "2027-02-26",
            "seats": 6,
        },
        None,
        writes({"donor_editor", "second_donor"}, 201),
        False,
    ),
    ("GET", "/api/v1/courses/{course_id}"): (
        lambda w, v, p, ps: f"/api/v1/courses/{pick(w, 'course', v, p, ps)}",
        None,
        None,
        seen_by(MEMBERS),
        True,
    ),
    ("PATCH", "/api/v1/courses/{course_id}"): (
        lambda w, v, p, ps: f"/api/v1/courses/{pick(w, 'course', v, p, ps)}",
        lambda w: {"seats": 5},
        "course",
        seen_by(MEMBERS, COURSE_RUNNERS),
        True,
    ),
    ("POST", "/api/v1/courses/{course_id}/confirm"): (
        lambda w, v, p, ps: f"/api/v1/courses/{pick(w, 'course', v, p, ps)}/confirm",
        None,
        "course",
        seen_by(MEMBERS, COURSE_RUNNERS),
        True,
    ),
    ("POST", "/api/v1/courses/{course_id}/complete"): (
        lambda w, v, p, ps: f"/api/v1/courses/{pick(w, 'ended_course', v, p, ps)}/complete",
        None,
        "ended_course",
        seen_by(MEMBERS, COURSE_RUNNERS),
        True,
    ),
    ("POST", "/api/v1/courses/{course_id}/cancel"): (
        lambda w, v, p, ps: f"/api/v1/courses/{pick(w, 'course', v, p, ps)}/cancel",
        lambda w: {"reason": "No instructors"},
        "course",
        seen_by(MEMBERS, COURSE_RUNNERS),
        True,
    ),
    ("GET", "/api/v1/courses/{course_id}/nominations"): (
        lambda w, v, p, ps: f"/api/v1/courses/{pick(w, 'course', v, p, ps)}/nominations",
        None,
        None,
        seen_by(MEMBERS),
        True,
    ),
    ("POST", "/api/v1/courses/{course_id}/nominations"): (
        lambda w, v, p, ps: f"/api/v1/courses/{pick(w, 'course', v, p, ps)}/nominations",
        lambda w: {"trainees": [{"trainee": "T-API-0002", "unit": "TRN-1"}, {"trainee": "T-API-0003", "unit": "TRN-1"}]},
        None,
        seen_by(MEMBERS, {"recipient"}, 201),
        True,
    ),
    ("POST", "/api/v1/courses/{course_id}/attendance"): (
        lambda w, v, p, ps: f"/api/v1/courses/{pick(w, 'course', v, p, ps)}/attendance",
        lambda w: {"nominations": [w["nomination"].pk]},
        None,
        seen_by(NOMINATION_READERS, {"recipient", "donor_editor"}),
        True,
    ),
    ("POST", "/api/v1/courses/{course_id}/graduates"): (
        lambda w, v, p, ps: f"/api/v1/courses/{pick(w, 'course', v, p, ps)}/graduates",
        lambda w: {"nominations": [w["nomination"].pk], "on": (timezone.localdate() - dt.timedelta(days=1)).isoformat()},
        None,
        seen_by(NOMINATION_READERS, {"recipient", "donor_editor"}),
        True,
    ),
    ("POST", "/api/v1/courses/{course_id}/nominations/{nomination_id}/failure"): (
        lambda w, v, p, ps: f"/api/v1/courses/{pick(w, 'course', v, p, ps)}/nominations/{w['nomination'].pk}/failure",
        lambda w: {"reason": "Failed the final test"},
        None,
        seen_by(NOMINATION_READERS, {"recipient", "donor_editor"}),
        True,
    ),
    ("POST", "/api/v1/courses/{course_id}/nominations/{nomination_id}/withdrawal"): (
        lambda w, v, p, ps: f"/api/v1/courses/{pick(w, 'course', v, p, ps)}/nominations/{w['nomination'].pk}/withdrawal",
        lambda w: {"reason": "Needed in the unit"},
        None,
        seen_by(NOMINATION_READERS, {"recipient"}),
        True,
    ),
}


def operations() -> set[tuple[str, str]]:
    document = api.get_openapi_schema(path_prefix="/api/v1")
    return {(method.upper(), path) for path, methods in document["paths"].items() for method in methods}


def test_every_operation_in_the_openapi_document_is_in_the_matrix():
    assert operations() == set(MATRIX), {"missing": operations() - set(MATRIX), "stale": set(MATRIX) - operations()}


@pytest.fixture
def clients(personas):
    system = Actor.system("tests")
    made = {"anonymous": Client()}
    for name in PERSONA_NAMES:
        actor = personas[name]
        if actor.user is None:
            continue
        _, secret = issue_token(actor=system, user_id=actor.user.pk, organization_id=actor.organization.pk, name="matrix")
        made[name] = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return made


CELLS = []


@pytest.mark.django_db
@pytest.mark.parametrize("operation", sorted(MATRIX), ids=lambda o: f"{o[0]} {o[1]}")
def test_operation_matrix(operation, personas, clients):
    method, _ = operation
    path_of, body_of, versioned, expected_of, hidden_is_404 = MATRIX[operation]
    world = build_world(personas)
    if "/consignments" in operation[1] or operation[1].endswith("/close-short"):
        world.update(logistics_world(personas, world))
    if "/eum/" in operation[1]:
        world.update(eum_world(personas))
    if "/course" in operation[1]:
        world.update(training_world(personas))
    failures = []
    for persona in PERSONA_NAMES:
        for visible in (True, False):
            expected = expected_of(persona) if (visible or not hidden_is_404) else 404
            with transaction.atomic():
                path = path_of(world, visible, persona, personas)
                headers = {}
                if versioned:
                    headers["HTTP_IF_MATCH"] = f'"v{type(world[versioned]).objects.get(pk=world[versioned].pk).version}"'
                body = json.dumps(body_of(world)) if body_of else None
                ledger_before = ChangeRecord.objects.count()
                response = clients[persona].generic(method, path, body or "", content_type="application/json", **headers)
                wrote = ChangeRecord.objects.count() > ledger_before
                if response.status_code != expected:
                    failures.append(
                        f"{persona} {'visible' if visible else 'hidden'}: "
                        f"{response.status_code} != {expected} {response.content[:200]!r}"
                    )
                elif response.status_code >= 400 and wrote:
                    failures.append(f"{persona}: a refused request wrote to the ledger")
                elif response.status_code >= 400 and response["Content-Type"] != "application/problem+json":
                    failures.append(f"{persona}: error is {response['Content-Type']}, not problem+json")
                CELLS.append(operation)
                transaction.set_rollback(True)
    assert not failures, "\n".join(failures)


def test_the_matrix_size_is_reported():
    """operations × personas × (visible, hidden); printed so the number can be quoted."""
    cells = len(MATRIX) * len(PERSONA_NAMES) * 2
    print(f"API matrix: {len(MATRIX)} operations × {len(PERSONA_NAMES)} personas × 2 = {cells} cells")
    assert cells == len(operations()) * len(EVERYONE) * 2

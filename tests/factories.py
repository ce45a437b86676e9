"""Small builders for tests: each writes through the real services as the persona who would."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from django.db import transaction

from umbrella.catalog import services as catalog
from umbrella.catalog.models import CapabilityArea, ItemType
from umbrella.core.access import Marking
from umbrella.needs import services as needs
from umbrella.needs.models import RequirementList
from umbrella.places import services as places
from umbrella.places.models import Place, PlaceKind
from umbrella.pledges import services as pledges
from umbrella.pledges.models import CLOSING_STEPS, Pledge

_numbers = itertools.count(1)


def item_type(personas, **overrides) -> ItemType:
    number = next(_numbers)
    fields = {
        "code": f"T-{number:04d}",
        "name": f"Test item {number}",
        "capability_area": CapabilityArea.objects.get(code="artillery"),
        "unit_value_eur": Decimal("1000.00"),
        "standard": "155 mm NATO",
    }
    fields.update(overrides)
    return catalog.create_item_type(actor=personas.coordinator, fields=fields)


def requirement_list(personas, *, requirements: int = 1, marking: str = Marking.PARTICIPANTS, item=None) -> RequirementList:
    number = next(_numbers)
    lst = needs.create_requirement_list(
        actor=personas.recipient, fields={"series": f"S-{number}", "title": f"List {number}", "marking": marking}
    )
    item = item or item_type(personas)
    for _ in range(requirements):
        needs.create_requirement(actor=personas.recipient, list_id=lst.pk, fields=requirement_fields(item))
    lst.refresh_from_db()
    return lst


def requirement_fields(item: ItemType, **overrides) -> dict:
    fields = {"item_type": item, "quantity": 10, "priority": 2, "needed_by": dt.date(2026, 6, 1), "destination": "Lviv"}
    fields.update(overrides)
    return fields


def source(**overrides) -> dict:
    fields = {"kind": "official", "url": "https://example.invalid/announcement", "date": dt.date(2026, 1, 15)}
    fields.update(overrides)
    return fields


def pledge(personas, *, donor: str = "donor_editor", marking: str = Marking.COORDINATION, item=None, quantity: int = 5) -> Pledge:
    item = item or item_type(personas)
    fields = {"item_type": item, "quantity": quantity, "available_from": dt.date(2026, 3, 1), "marking": marking}
    return pledges.create_pledge(actor=personas[donor], fields=fields, sources=[source()])


def advance(personas, pledge_obj: Pledge, *steps: str) -> Pledge:
    who = {
        "offer": "donor_editor",
        "ship": "donor_editor",
        "withdraw": "donor_editor",
        "accept": "coordinator",
        "allocate": "coordinator",
        "release": "coordinator",
        "expire": "coordinator",
        "deliver": "recipient",
        "hand_over": "recipient",
    }
    for step in steps:
        actor = personas[who[step]] if pledge_obj.owner.code == "XDA" or who[step] != "donor_editor" else personas["second_donor"]
        if step in pledges.ALLOCATION_STEPS:  # in real life: approving a match run (umbrella.matching)
            with transaction.atomic():
                pledge_obj = pledges.record_allocation_step(actor=actor, pledge_id=pledge_obj.pk, step=step)
            continue
        reason = f"Test: {step}" if step in CLOSING_STEPS else None
        pledge_obj = pledges.advance_pledge(
            actor=actor, pledge_id=pledge_obj.pk, step=step, expected_version=pledge_obj.version, reason=reason
        )
    return pledge_obj


def place(personas, code: str, kind: str = PlaceKind.COUNTRY, parent: Place | None = None, **extra) -> Place:
    """The gazetteer's place with this code (the test database holds the packaged gazetteer: UA, PL, ...), or a
    new one written through the gazetteer's services."""
    existing = Place.objects.filter(code=code).first()
    if existing is not None:
        return existing
    fields = {"code": code, "kind": kind, "parent": parent, "name_en": code, **extra}
    return places.create_place(actor=personas.coordinator, fields=fields)


def hub_and_city(personas) -> dict[str, Place]:
    """A logistics hub in Poland and a city in Ukraine: the two ends of a consignment's leg."""
    poland, ukraine = place(personas, "PL"), place(personas, "UA")
    hub_fields = {"hub_capacity": 40, "hub_capacity_unit": "consignments", "hub_handling_days": 2}
    hub = place(personas, "PL-RZE", PlaceKind.LOGISTICS_HUB, poland, **hub_fields)
    return {"hub": hub, "lviv": place(personas, "UA-46-LWO", PlaceKind.CITY, ukraine), "poland": poland}

"""Reads that go past `visible_to` on purpose (tests/test_read_guard.py names this module and why):

- the schedule of a serial follows every rule that applies to it and every sighting of it, whoever may read them,
  so that a donor, the headquarters and the recipient see the same due date (`RuleBook`, `schedule_rows`), and
  `umbrella eum check` recomputes every serial's schedule for the operator (`schedule_differences`);
- the summaries name the donor, item type, holding unit and handover place of the serials the actor sees by code,
  as those serials' own pages do, looked up by id after the figures are counted (`codes_by_id`) instead of joined
  to a million rows;
- the public's figures are counts per capability area over every serial (`public_counts`): never a serial, a
  place or a unit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from django.db.models import Case, Count, IntegerField, Max, Sum, When

from umbrella.catalog.models import CapabilityArea, ItemType
from umbrella.eum import schedule
from umbrella.eum.models import ACCOUNTABLE, LOSS_STATUSES, InventoryRule, Serial, Sighting

CHUNK_ROWS = 5000
SCHEDULE_COLUMNS = ("last_sighted_on", "last_sighting_place_id", "last_sighting_method", "due_on")


class RuleBook:
    """Every inventory rule, read once: the rule that applies to a serial is the strictest of those for its item
    type and donor, its item type, its donor, and every item type of every donor."""

    def __init__(self) -> None:
        self.rules: dict[tuple[int | None, int | None], schedule.Rule] = {
            (rule.item_type_id, rule.donor_id): rule.rule for rule in InventoryRule.objects.all()
        }

    def for_serial(self, item_type_id: int, donor_id: int) -> schedule.Rule:
        keys = ((item_type_id, donor_id), (item_type_id, None), (None, donor_id), (None, None))
        return schedule.strictest([self.rules[key] for key in keys if key in self.rules])


def codes_by_id(model, ids, *fields: str) -> dict[int, tuple[Any, ...]]:
    """{id: (field, ...)} of the records of `model` with these ids: the item types, units and places a summary's
    groups of visible serials name (as a join from those serials would name them), whoever may list them."""
    return {row[0]: row[1:] for row in model.objects.filter(pk__in=list(ids)).values_list("pk", *fields).order_by()}


def schedule_rows(serial_ids: list[int], book: RuleBook) -> list[tuple[Any, ...]]:
    """What the schedule columns of these serials should hold: (pk, last sighted on, its place, its method, due on)."""
    serials = list(
        Serial.objects.filter(pk__in=serial_ids).values_list("pk", "item_type_id", "owner_id", "handover_date", "status")
    )
    latest = dict(
        Sighting.objects.filter(serial_id__in=serial_ids)
        .values("serial_id")
        .annotate(last=Max("sighted_on"))
        .values_list("serial_id", "last")
    )
    details = {}
    if latest:
        newest = Sighting.objects.filter(serial_id__in=list(latest)).order_by("serial_id", "sighted_on", "id")
        for serial_id, day, place_id, method in newest.values_list("serial_id", "sighted_on", "place_id", "method"):
            if day == latest[serial_id]:
                details[serial_id] = (place_id, method)
    rules = [book.for_serial(item_type_id, owner_id) for _pk, item_type_id, owner_id, _day, _status in serials]
    due = schedule.due_days(
        np.array([row[3].toordinal() for row in serials], dtype=np.int64),
        np.array([latest[row[0]].toordinal() if row[0] in latest else schedule.NEVER for row in serials], dtype=np.int64),
        np.array([rule.initial_days for rule in rules], dtype=np.int64),
        np.array([rule.interval_days for rule in rules], dtype=np.int64),
    )
    rows = []
    for (pk, _item, _owner, _day, status), due_day in zip(serials, due, strict=True):
        place_id, method = details.get(pk, (None, ""))
        rows.append((pk, latest.get(pk), place_id, method, dt.date.fromordinal(int(due_day)) if status in ACCOUNTABLE else None))
    return rows


def schedule_differences() -> list[dict[str, Any]]:
    """Every serial whose kept schedule columns differ from what its sightings and the rules give."""
    book = RuleBook()
    differences = []
    ids = list(Serial.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), CHUNK_ROWS):
        chunk = ids[start : start + CHUNK_ROWS]
        kept = {row[0]: row[1:] for row in Serial.objects.filter(pk__in=chunk).values_list("pk", *SCHEDULE_COLUMNS)}
        for pk, *recomputed in schedule_rows(chunk, book):
            if tuple(recomputed) != tuple(kept[pk]):
                differences.append({"id": pk, "kept": _plain(kept[pk]), "recomputed": _plain(recomputed)})
    return differences


def _plain(values) -> list[Any]:
    return [value.isoformat() if isinstance(value, dt.date) else value for value in values]


def public_counts() -> list[dict[str, Any]]:
    """What the public may know: per capability area, how many serial-tracked items were handed over, are held, and
    were reported lost, destroyed or captured. Never a serial, a place or a unit. Counted per donor and item type
    (the order of the summary index, read once without sorting a million rows), then added up per area."""
    counted = (
        Serial.objects.values_list("owner_id", "item_type_id")
        .annotate(
            handed_over=Count("*"),
            held=Sum(Case(When(status__in=ACCOUNTABLE, then=1), default=0, output_field=IntegerField())),
            lost=Sum(Case(When(status__in=LOSS_STATUSES, then=1), default=0, output_field=IntegerField())),
        )
        .order_by()
    )
    groups = list(counted)
    areas = dict(ItemType.objects.filter(pk__in={row[1] for row in groups}).values_list("pk", "capability_area_id").order_by())
    names = {pk: (code, name) for pk, code, name in CapabilityArea.objects.values_list("pk", "code", "name").order_by()}
    by_area: dict[int, dict[str, Any]] = {}
    for _owner_id, item_id, handed_over, held, lost in groups:
        code, name = names[areas[item_id]]
        row = by_area.setdefault(areas[item_id], {"capability_area": code, "name": name, "handed_over": 0, "held": 0, "lost": 0})
        row["handed_over"] += handed_over
        row["held"] += held
        row["lost"] += lost
    return sorted(by_area.values(), key=lambda row: row["capability_area"])

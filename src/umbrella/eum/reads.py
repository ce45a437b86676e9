"""What the schedule of serials is made of, read from the database: the rules that apply to each serial and what its
schedule columns should hold. Shared by the services that keep the columns and by the reports that check them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from django.db.models import Max

from umbrella.eum import schedule
from umbrella.eum.models import ACCOUNTABLE, InventoryRule, Serial, Sighting

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

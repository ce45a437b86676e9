"""Reads of end-use monitoring that pages, API, commands and exports share: what is due and delinquent on a day,
summed by donor, item type, unit and place; the public's aggregate counts.

On today or a later day the schedule columns the services keep answer directly, in the database (a million
serials summed in one grouped query). On an earlier day the answer is rebuilt from the ledgered sightings up to
that day and the rules, by the same engine (`schedule.py`), so a past report is reproducible.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
from django.db.models import Count, F, Max, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy

from umbrella.catalog.models import ItemType
from umbrella.core.access import Actor
from umbrella.core.listing import Column, Filter, Listing, flag_filter
from umbrella.eum import schedule
from umbrella.eum.models import ACCOUNTABLE, LOSS_STATUSES, Serial, SerialStatus, Sighting, Unit
from umbrella.eum.reads import SCHEDULE_COLUMNS, RuleBook, schedule_rows
from umbrella.orgs.models import Organization
from umbrella.orgs.queries import donor_codes

CHUNK = 5000


def accountable_on(actor: Actor, as_of: dt.date) -> QuerySet:
    """Serials the actor may see that were held by the recipient on `as_of`: handed over by then, and accountable
    then (accountable now, or out of the schedule only since a later day)."""
    held = Q(status__in=ACCOUNTABLE) | Q(status_on__gt=as_of)
    return Serial.objects.visible_to(actor).filter(held, handover_date__lte=as_of)


def _is_current(as_of: dt.date) -> bool:
    return as_of >= timezone.localdate()


@dataclass
class DueRow:
    serial_id: int
    item_type: str
    serial: str
    donor: str
    holder: str
    handover_date: dt.date
    last_sighted_on: dt.date | None
    due_on: dt.date
    delinquent: bool
    days_overdue: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.serial_id,
            "item_type": self.item_type,
            "serial": self.serial,
            "donor": self.donor,
            "holder": self.holder,
            "handover_date": self.handover_date.isoformat(),
            "last_sighted_on": self.last_sighted_on.isoformat() if self.last_sighted_on else None,
            "due_on": self.due_on.isoformat(),
            "delinquent": self.delinquent,
            "days_overdue": self.days_overdue,
        }


def due_rows(
    actor: Actor, as_of: dt.date, *, donor_code: str | None = None, within_days: int = 0, delinquent_only: bool = False
) -> Iterator[DueRow]:
    """Every serial delinquent on `as_of`, or due within `within_days` after it, in order of due date."""
    listed = current_due(actor, as_of, donor_code=donor_code, within_days=within_days, delinquent_only=delinquent_only)
    if listed is not None:
        for serial in listed.iterator(chunk_size=CHUNK):
            yield row_of(serial, as_of)
        return
    serials = accountable_on(actor, as_of).select_related("item_type", "owner", "holder").order_by("due_on", "pk")
    if donor_code:
        serials = serials.filter(owner__code__iexact=donor_code)
    horizon = as_of + dt.timedelta(days=0 if delinquent_only else within_days)
    found = []
    for chunk in _chunks(serials):
        last = _last_sightings(chunk, as_of)
        due = _due_days(chunk, last)
        for serial, day in zip(chunk, due, strict=True):
            due_day = dt.date.fromordinal(int(day))
            if due_day < as_of or (not delinquent_only and due_day <= horizon):
                found.append(_row(serial, last.get(serial.pk), due_day, as_of))
    yield from sorted(found, key=lambda row: (row.due_on, row.serial_id))


def current_due(
    actor: Actor, as_of: dt.date, *, donor_code: str | None = None, within_days: int = 0, delinquent_only: bool = False
) -> QuerySet | None:
    """On today or a later day, the serials `due_rows` lists, as a query (a page of them reads only its own rows,
    each made a row by `row_of`); None on an earlier day, which is rebuilt from the sightings instead."""
    if not _is_current(as_of):
        return None
    serials = accountable_on(actor, as_of).select_related("item_type", "owner", "holder").order_by("due_on", "pk")
    if donor_code:
        serials = serials.filter(owner__code__iexact=donor_code)
    if delinquent_only:
        return serials.filter(due_on__lt=as_of)
    return serials.filter(due_on__lte=as_of + dt.timedelta(days=within_days))


def row_of(serial: Serial, as_of: dt.date) -> DueRow:
    """A serial's due row from its kept schedule columns (today or later)."""
    return _row(serial, serial.last_sighted_on, serial.due_on, as_of)


def _row(serial: Serial, last: dt.date | None, due: dt.date, as_of: dt.date) -> DueRow:
    return DueRow(
        serial_id=serial.pk,
        item_type=serial.item_type.code,
        serial=serial.serial,
        donor=serial.owner.code,
        holder=serial.holder.code if serial.holder_id else "",
        handover_date=serial.handover_date,
        last_sighted_on=last,
        due_on=due,
        delinquent=due < as_of,
        days_overdue=max(0, (as_of - due).days),
    )


def _chunks(serials: QuerySet) -> Iterator[list[Serial]]:
    chunk: list[Serial] = []
    for serial in serials.iterator(chunk_size=CHUNK):
        chunk.append(serial)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _last_sightings(serials: list[Serial], as_of: dt.date) -> dict[int, dt.date]:
    return dict(
        Sighting.objects.filter(serial_id__in=[serial.pk for serial in serials], sighted_on__lte=as_of)
        .values("serial_id")
        .annotate(last=Max("sighted_on"))
        .values_list("serial_id", "last")
    )


def _due_days(serials: list[Serial], last: dict[int, dt.date]) -> np.ndarray:
    book = RuleBook()
    rules = [book.for_serial(serial.item_type_id, serial.owner_id) for serial in serials]
    return schedule.due_days(
        np.array([serial.handover_date.toordinal() for serial in serials], dtype=np.int64),
        np.array([last[s.pk].toordinal() if s.pk in last else schedule.NEVER for s in serials], dtype=np.int64),
        np.array([rule.initial_days for rule in rules], dtype=np.int64),
        np.array([rule.interval_days for rule in rules], dtype=np.int64),
    )


@dataclass
class Tally:
    count: int = 0
    value_eur: Decimal = Decimal(0)

    def add(self, count: int, value: Decimal | None) -> None:
        self.count += count
        self.value_eur += value or Decimal(0)


@dataclass
class Delinquency:
    """Serials held and delinquent on a day, their value at catalog unit value, by donor, item type, unit and place."""

    as_of: dt.date
    held: Tally = field(default_factory=Tally)
    delinquent: Tally = field(default_factory=Tally)
    by: dict[str, dict[str, Tally]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(Tally)))

    @property
    def share(self) -> float:
        return self.delinquent.count / self.held.count if self.held.count else 0.0

    def as_dict(self) -> dict[str, Any]:
        def tally(t: Tally) -> dict[str, Any]:
            return {"count": t.count, "value_eur": f"{t.value_eur:.2f}"}

        return {
            "as_of": self.as_of.isoformat(),
            "held": tally(self.held),
            "delinquent": tally(self.delinquent),
            "by": {
                dimension: {key: tally(value) for key, value in sorted(groups.items())} for dimension, groups in self.by.items()
            },
        }


DIMENSIONS = {
    "donor": "owner__code",
    "item_type": "item_type__code",
    "unit": "holder__code",
    "place": "handover_place__code",
}


def delinquency(actor: Actor, as_of: dt.date | None = None) -> Delinquency:
    """Counts and value held and delinquent on `as_of` (today when not given), whole and by each dimension. On
    today or later: grouped queries over the schedule columns; on an earlier day, rebuilt from the sightings."""
    as_of = as_of or timezone.localdate()
    result = Delinquency(as_of)
    serials = accountable_on(actor, as_of)
    value = F("item_type__unit_value_eur")
    if _is_current(as_of):
        totals = serials.aggregate(count=Count("pk"), value=Sum(value))
        result.held.add(totals["count"], totals["value"])
        late = serials.filter(due_on__lt=as_of)
        for dimension, path in DIMENSIONS.items():
            for key, count, total in late.values_list(path).annotate(count=Count("pk"), value=Sum(value)).order_by():
                result.by[dimension][key or "—"].add(count, total)
        totals = late.aggregate(count=Count("pk"), value=Sum(value))
        result.delinquent.add(totals["count"], totals["value"])
        return result
    for row_chunk in _chunks(serials.select_related("item_type", "owner", "holder", "handover_place")):
        last = _last_sightings(row_chunk, as_of)
        due = _due_days(row_chunk, last)
        for serial, day in zip(row_chunk, due, strict=True):
            unit_value = serial.item_type.unit_value_eur
            result.held.add(1, unit_value)
            if day < as_of.toordinal():
                result.delinquent.add(1, unit_value)
                keys = {
                    "donor": serial.owner.code,
                    "item_type": serial.item_type.code,
                    "unit": serial.holder.code if serial.holder_id else "—",
                    "place": serial.handover_place.code if serial.handover_place_id else "—",
                }
                for dimension, key in keys.items():
                    result.by[dimension][key].add(1, unit_value)
    return result


def public_counts() -> list[dict[str, Any]]:
    """What the public may know: per capability area, how many serial-tracked items were handed over, are held, and
    were reported lost, destroyed or captured. Never a serial, a place or a unit."""
    rows = (
        Serial.objects.values("item_type__capability_area__code", "item_type__capability_area__name")
        .annotate(
            handed_over=Count("pk"),
            held=Count("pk", filter=Q(status__in=ACCOUNTABLE)),
            lost=Count("pk", filter=Q(status__in=LOSS_STATUSES)),
        )
        .order_by("item_type__capability_area__code")
    )
    return [
        {
            "capability_area": row["item_type__capability_area__code"],
            "name": row["item_type__capability_area__name"],
            "handed_over": row["handed_over"],
            "held": row["held"],
            "lost": row["lost"],
        }
        for row in rows
    ]


@dataclass
class DonorReport:
    """What a donor hands its parliament or inspector general: per item type, items handed over, inventoried on
    time, delinquent, lost, transferred."""

    donor: str
    as_of: dt.date
    rows: list[dict[str, Any]]

    def totals(self) -> dict[str, int]:
        keys = ("handed_over", "held", "on_time", "delinquent", "lost", "transferred", "other")
        return {key: sum(row[key] for row in self.rows) for key in keys}


def donor_report(actor: Actor, donor: Organization, as_of: dt.date | None = None) -> DonorReport:
    """The donor's serials the actor may see (all of them, for the donor itself, the headquarters and the
    recipient), by item type, with statuses as they stand and delinquency on `as_of`."""
    as_of = as_of or timezone.localdate()
    serials = Serial.objects.visible_to(actor).filter(owner=donor, handover_date__lte=as_of)
    delinquent_ids = {row.serial_id for row in due_rows(actor, as_of, donor_code=donor.code, delinquent_only=True)}
    per_item: dict[int, dict[str, Any]] = {}
    items = {item.pk: item for item in ItemType.objects.filter(pk__in=serials.values("item_type_id"))}
    for item_id, status, pk in serials.values_list("item_type_id", "status", "pk").order_by("item_type_id", "pk"):
        row = per_item.setdefault(
            item_id,
            {
                "item_type": items[item_id].code,
                "name": items[item_id].name,
                "handed_over": 0,
                "held": 0,
                "on_time": 0,
                "delinquent": 0,
                "lost": 0,
                "transferred": 0,
                "other": 0,
            },
        )
        row["handed_over"] += 1
        if status in ACCOUNTABLE:
            row["held"] += 1
            row["delinquent" if pk in delinquent_ids else "on_time"] += 1
        elif status in LOSS_STATUSES:
            row["lost"] += 1
        elif status == SerialStatus.TRANSFERRED:
            row["transferred"] += 1
        else:
            row["other"] += 1
    rows = [per_item[key] for key in sorted(per_item, key=lambda key: items[key].code)]
    return DonorReport(donor=donor.code, as_of=as_of, rows=rows)


def schedule_differences() -> list[dict[str, Any]]:
    """Every serial whose kept schedule columns differ from what its sightings and the rules give."""
    book = RuleBook()
    differences = []
    ids = list(Serial.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        kept = {row[0]: row[1:] for row in Serial.objects.filter(pk__in=chunk).values_list("pk", *SCHEDULE_COLUMNS)}
        for pk, *recomputed in schedule_rows(chunk, book):
            if tuple(recomputed) != tuple(kept[pk]):
                differences.append({"id": pk, "kept": _plain(kept[pk]), "recomputed": _plain(recomputed)})
    return differences


def _plain(values) -> list[Any]:
    return [value.isoformat() if isinstance(value, dt.date) else value for value in values]


# --- the list of serials (pages, API and exports alike) -------------------------------------------------------

DELINQUENT = gettext_lazy("delinquent")


def delinquent_now(actor: Actor) -> Q:
    """Held by the recipient and past its due date with no sighting since (the schedule column the services keep)."""
    return Q(status__in=ACCOUNTABLE, due_on__lt=timezone.localdate())


def serials(actor: Actor) -> QuerySet[Serial]:
    return Serial.objects.visible_to(actor).select_related(
        "item_type", "owner", "holder", "handover_place", "last_sighting_place"
    )


def _unit_choices(actor: Actor) -> list[tuple[str, str]]:
    return list(Unit.objects.visible_to(actor).values_list("code", "name"))


def _sensitive_item_choices(actor: Actor) -> list[tuple[str, str]]:
    return list(ItemType.objects.visible_to(actor).filter(sensitive=True).values_list("code", "name"))


SERIALS = Listing(
    columns=(
        Column(gettext_lazy("Item type"), lambda o: o.item_type.code, sort="item_type__code"),
        Column(gettext_lazy("Serial number"), lambda o: o.serial, sort="serial"),
        Column(gettext_lazy("Donor"), lambda o: o.owner.code, sort="owner__code"),
        Column(gettext_lazy("Holder"), lambda o: o.holder.code if o.holder_id else "", sort="holder__code"),
        Column(gettext_lazy("Status"), lambda o: o.get_status_display(), sort="status"),
        Column(gettext_lazy("Handed over"), lambda o: o.handover_date, sort="handover_date"),
        Column(gettext_lazy("Last sighted"), lambda o: o.last_sighted_on, sort="last_sighted_on"),
        Column(gettext_lazy("Next inventory due"), lambda o: o.due_on, sort="due_on"),
    ),
    filters=(
        Filter(
            "donor",
            gettext_lazy("Donor"),
            "owner__code",
            lambda actor: [(code, code) for code in donor_codes()],
            known=donor_codes,
            unknown=gettext_lazy("No such donor: %(value)s."),
        ),
        Filter(
            "item_type",
            gettext_lazy("Item type"),
            "item_type__code",
            _sensitive_item_choices,
            unknown=gettext_lazy("No serial-tracked item type %(value)s."),
        ),
        Filter("unit", gettext_lazy("Holder"), "holder__code", _unit_choices, unknown=gettext_lazy("No such unit: %(value)s.")),
        Filter("status", gettext_lazy("Status"), "status", lambda actor: SerialStatus.choices),
        flag_filter("delinquent", gettext_lazy("Delinquent"), delinquent_now),
    ),
    search=("serial", "item_type__code", "holder__code"),
    default_sort="item_type__code,serial",
    flag=lambda o: DELINQUENT if o.status in ACCOUNTABLE and o.due_on and o.due_on < timezone.localdate() else "",
)

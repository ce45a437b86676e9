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
from django.db import connection
from django.db.models import Case, Count, IntegerField, Max, OuterRef, Q, QuerySet, Subquery, Sum, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy

from umbrella.catalog.models import ItemType
from umbrella.core.access import Actor
from umbrella.core.listing import Column, Filter, Listing, flag_filter
from umbrella.eum import schedule
from umbrella.eum.models import (
    ACCOUNTABLE,
    LOSS_STATUSES,
    Inventory,
    LossReport,
    Serial,
    SerialStatus,
    Sighting,
    SightingMethod,
    Transfer,
    TransferState,
    Unit,
    UnitKind,
)
from umbrella.eum.reads import RuleBook, codes_by_id
from umbrella.orgs.models import Organization
from umbrella.orgs.queries import donor_codes
from umbrella.places.models import Place

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
        last = _last_sightings(actor, chunk, as_of)
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


def _last_sightings(actor: Actor, serials: list[Serial], as_of: dt.date) -> dict[int, dt.date]:
    return dict(
        Sighting.objects.visible_to(actor)
        .filter(serial_id__in=[serial.pk for serial in serials], sighted_on__lte=as_of)
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


# What the summary groups by, in the order of the covering index `eum_serial_summary`: one pass over the index reads
# every figure, and the codes of the few thousand groups are looked up after.
SUMMARY_GROUPS = ("owner_id", "item_type_id", "holder_id", "handover_place_id")


def counted(condition: Q) -> Sum:
    """How many rows of a group meet `condition` (`Count("*")` takes no filter, and counting a column would read
    the table instead of the index on PostgreSQL)."""
    return Sum(Case(When(condition, then=1), default=0, output_field=IntegerField()))


def held_and_late(serials: QuerySet, as_of: dt.date, groups: tuple[str, ...] = SUMMARY_GROUPS) -> list[tuple]:
    """(*group ids, held, delinquent) of these serials on `as_of` (today or later), grouped by `groups`, in one
    grouped query over the schedule columns."""
    return list(serials.values_list(*groups).annotate(held=Count("*"), late=counted(Q(due_on__lt=as_of))).order_by())


def _worth(count: int, unit_value: Decimal | None) -> Decimal | None:
    return None if unit_value is None else unit_value * count


def delinquency(actor: Actor, as_of: dt.date | None = None, *, donor_code: str | None = None) -> Delinquency:
    """Counts and value held and delinquent on `as_of` (today when not given), whole and by each dimension, of one
    donor's serials when `donor_code` is given. On today or later: one grouped query over the schedule columns
    (a group per donor, item type, unit and handover place), each group valued at its item type's unit value; on an
    earlier day, rebuilt from the sightings."""
    as_of = as_of or timezone.localdate()
    result = Delinquency(as_of)
    serials = accountable_on(actor, as_of)
    if donor_code:
        serials = serials.filter(owner__code__iexact=donor_code)
    if _is_current(as_of):
        groups = held_and_late(serials, as_of)
        donors = codes_by_id(Organization, {row[0] for row in groups}, "code")
        items = codes_by_id(ItemType, {row[1] for row in groups}, "code", "unit_value_eur")
        units = codes_by_id(Unit, {row[2] for row in groups if row[2] is not None}, "code")
        places = codes_by_id(Place, {row[3] for row in groups if row[3] is not None}, "code")
        for owner_id, item_id, holder_id, place_id, held, late in groups:
            item_code, unit_value = items[item_id]
            result.held.add(held, _worth(held, unit_value))
            if not late:
                continue
            value = _worth(late, unit_value)
            result.delinquent.add(late, value)
            keys = {
                "donor": donors[owner_id][0],
                "item_type": item_code,
                "unit": units[holder_id][0] if holder_id is not None else "—",
                "place": places[place_id][0] if place_id is not None else "—",
            }
            for dimension, key in keys.items():
                result.by[dimension][key].add(late, value)
        return result
    for row_chunk in _chunks(serials.select_related("item_type", "owner", "holder", "handover_place")):
        last = _last_sightings(actor, row_chunk, as_of)
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


@dataclass
class DonorReport:
    """What a donor hands its parliament or inspector general: per item type, items handed over and held; of those
    held, inventoried with the next inventory not yet due, awaiting their first inventory (not yet due), and
    delinquent; lost, transferred, returned or disposed of."""

    donor: str
    as_of: dt.date
    rows: list[dict[str, Any]]

    def totals(self) -> dict[str, int]:
        return {key: sum(row[key] for row in self.rows) for key in REPORT_KEYS}


REPORT_KEYS = ("handed_over", "held", "inventoried", "awaiting_first", "delinquent", "lost", "transferred", "other")


def donor_report(actor: Actor, donor: Organization, as_of: dt.date | None = None) -> DonorReport:
    """The donor's serials the actor may see (all of them, for the donor itself, the headquarters and the
    recipient), by item type, with statuses as they stand and delinquency on `as_of`. On today or later: one
    grouped query over the schedule columns (a group per item type and status); on an earlier day, each serial's
    delinquency rebuilt from the sightings (`due_rows`)."""
    as_of = as_of or timezone.localdate()
    serials = Serial.objects.visible_to(actor).filter(owner=donor, handover_date__lte=as_of)
    per_item: dict[int, dict[str, Any]] = {}
    if _is_current(as_of):
        late = Q(due_on__lt=as_of)
        inventoried = Q(last_sighted_on__lte=as_of) & (Q(due_on__gte=as_of) | Q(due_on__isnull=True))
        grouped = serials.values_list("item_type_id", "status").annotate(
            count=Count("*"), late=counted(late), inventoried=counted(inventoried)
        )
        counts = list(grouped.order_by())
    else:
        delinquent_ids = {row.serial_id for row in due_rows(actor, as_of, donor_code=donor.code, delinquent_only=True)}
        listed = serials.values_list("item_type_id", "status", "pk", "last_sighted_on").order_by("item_type_id", "pk")
        counts = [
            (item_id, status, 1, int(pk in delinquent_ids), int(pk not in delinquent_ids and last is not None and last <= as_of))
            for item_id, status, pk, last in listed
        ]
    items = {item.pk: item for item in ItemType.objects.visible_to(actor).filter(pk__in={row[0] for row in counts})}
    for item_id, status, count, late, sighted in counts:
        row = per_item.setdefault(
            item_id, {"item_type": items[item_id].code, "name": items[item_id].name, **dict.fromkeys(REPORT_KEYS, 0)}
        )
        row["handed_over"] += count
        if status in ACCOUNTABLE:
            row["held"] += count
            row["delinquent"] += late
            row["inventoried"] += sighted
            row["awaiting_first"] += count - late - sighted
        elif status in LOSS_STATUSES:
            row["lost"] += count
        elif status == SerialStatus.TRANSFERRED:
            row["transferred"] += count
        else:
            row["other"] += count
    rows = [per_item[key] for key in sorted(per_item, key=lambda key: items[key].code)]
    return DonorReport(donor=donor.code, as_of=as_of, rows=rows)


DELINQUENT = gettext_lazy("delinquent")
# The chart's past month ends are rebuilt from every visible serial and sighting, read once (25 ms for the demo's
# 1,700 serials): fine for tens of thousands, not for a million. Above this many the chart shows today only.
HISTORY_LIMIT = 20_000


def is_delinquent(serial: Serial, today: dt.date | None = None) -> bool:
    return serial.status in ACCOUNTABLE and serial.due_on is not None and serial.due_on < (today or timezone.localdate())


def delinquent_now(actor: Actor) -> Q:
    return Q(status__in=ACCOUNTABLE, due_on__lt=timezone.localdate())


def _serial_donor_choices(actor: Actor) -> list[tuple[str, str]]:
    """A donor sees its own serials only, so it is offered only itself; the others every donor (a public directory,
    and cheaper than asking a million serials which donors they have)."""
    donors = Organization.objects.filter(kind="donor")
    if actor.is_member and actor.kind == "donor":
        donors = donors.filter(pk=actor.organization.pk)
    return [(donor.code, donor.name) for donor in donors.order_by("code")]


def _sensitive_item_choices(actor: Actor) -> list[tuple[str, str]]:
    items = ItemType.objects.visible_to(actor).filter(sensitive=True).order_by("code")
    return [(item.code, f"{item.code} — {item.name}") for item in items]


def _unit_choices(actor: Actor) -> list[tuple[str, str]]:
    return [(unit.code, str(unit)) for unit in Unit.objects.visible_to(actor).order_by("code")]


def serials(actor: Actor) -> QuerySet:
    """The serials the actor may see, with what their list shows of each."""
    return Serial.objects.visible_to(actor).select_related("item_type", "owner", "holder")


SERIALS = Listing(
    columns=(
        Column(gettext_lazy("Serial number"), lambda o: o.serial, sort="serial", link=True),
        Column(gettext_lazy("Item type"), lambda o: o.item_type.code, sort="item_type__code"),
        Column(gettext_lazy("Donor"), lambda o: o.owner.code, sort="owner__code"),
        Column(gettext_lazy("Holder"), lambda o: o.holder.code if o.holder_id else "—", sort="holder__code"),
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
            _serial_donor_choices,
            known=donor_codes,
            unknown=gettext_lazy("No such donor: %(value)s."),
        ),
        Filter(
            "item_type",
            gettext_lazy("Item type"),
            "item_type__code",
            _sensitive_item_choices,
        ),
        Filter("unit", gettext_lazy("Holder"), "holder__code", _unit_choices),
        Filter("status", gettext_lazy("Status"), "status", lambda actor: SerialStatus.choices),
        flag_filter("delinquent", gettext_lazy("Delinquent"), delinquent_now),
    ),
    search=("serial", "item_type__code", "item_type__name"),
    default_sort="due_on",
    flag=lambda o: DELINQUENT if is_delinquent(o) else "",
    states={"status": SerialStatus},
)


def _scope(inventory: Inventory) -> str:
    parts = [
        inventory.holder.code if inventory.holder_id else "",
        inventory.item_type.code if inventory.item_type_id else "",
        inventory.donor.code if inventory.donor_id else "",
    ]
    return " · ".join(part for part in parts if part) or str(gettext_lazy("everything held"))


def inventories(actor: Actor) -> QuerySet:
    return Inventory.objects.visible_to(actor).select_related("owner", "place", "holder", "item_type", "donor")


INVENTORIES = Listing(
    columns=(
        Column(gettext_lazy("Conducted on"), lambda o: o.conducted_on, sort="conducted_on", link=True),
        Column(gettext_lazy("Inspected by"), lambda o: o.owner.code, sort="owner__code"),
        Column(gettext_lazy("Method"), lambda o: o.get_method_display(), sort="method"),
        Column(gettext_lazy("Place"), lambda o: o.place.code if o.place_id else "—"),
        Column(gettext_lazy("Scope"), _scope),
        Column(gettext_lazy("Expected"), lambda o: o.expected_count, sort="expected_count", numeric=True),
        Column(gettext_lazy("Sighted"), lambda o: o.sighted_count, sort="sighted_count", numeric=True),
        Column(gettext_lazy("Not sighted"), lambda o: len(o.not_sighted), numeric=True),
    ),
    filters=(Filter("method", gettext_lazy("Method"), "method", lambda actor: SightingMethod.choices),),
    search=("owner__code", "place__code", "holder__code", "note"),
    default_sort="-conducted_on",
)


def units(actor: Actor) -> QuerySet:
    """The units the actor may see, each with how many of the serials it holds are held (in service or under
    repair): counted per unit in a subquery over the index of holder and status, not by grouping a join of every
    unit's columns with a million serials."""
    held = (
        Serial.objects.visible_to(actor)
        .filter(holder=OuterRef("pk"), status__in=ACCOUNTABLE)
        .order_by()
        .values("holder")
        .annotate(count=Count("*"))
        .values("count")
    )
    return Unit.objects.visible_to(actor).select_related("parent", "station").annotate(held=Coalesce(Subquery(held), 0))


UNITS = Listing(
    columns=(
        Column(gettext_lazy("Code"), lambda o: o.code, sort="code", link=True),
        Column(gettext_lazy("Name"), lambda o: o.name, sort="name"),
        Column(gettext_lazy("Kind"), lambda o: o.get_kind_display(), sort="kind"),
        Column(gettext_lazy("Part of"), lambda o: o.parent.code if o.parent_id else "—"),
        Column(gettext_lazy("Stationed at"), lambda o: str(o.station) if o.station_id else "—", sort="station__code"),
        Column(gettext_lazy("Items held"), lambda o: o.held, sort="held", numeric=True),
    ),
    filters=(Filter("kind", gettext_lazy("Kind"), "kind", lambda actor: UnitKind.choices),),
    search=("code", "name"),
    default_sort="code",
)


def card(actor: Actor) -> dict[str, Any]:
    """A dashboard's end-use card: items held and delinquent today, counted and valued, in one grouped query (a
    group per donor and item type, valued at the item type's unit value)."""
    today = timezone.localdate()
    groups = held_and_late(accountable_on(actor, today), today, groups=("owner_id", "item_type_id"))
    values = codes_by_id(ItemType, {row[1] for row in groups}, "unit_value_eur")
    figures = {"held": 0, "held_value": Decimal(0), "delinquent": 0, "delinquent_value": Decimal(0)}
    for _owner_id, item_id, held, late in groups:
        unit_value = values[item_id][0] or Decimal(0)
        figures["held"] += held
        figures["held_value"] += unit_value * held
        figures["delinquent"] += late
        figures["delinquent_value"] += unit_value * late
    return figures


def month_ends(today: dt.date, count: int = 12) -> list[dt.date]:
    """The last `count` days the chart shows: the month ends before today, then today."""
    days = [today]
    first = today.replace(day=1)
    while len(days) < count:
        days.append(first - dt.timedelta(days=1))
        first = days[-1].replace(day=1)
    return sorted(days)


def delinquency_over_time(
    actor: Actor, today: dt.date | None = None, *, now: Delinquency | None = None
) -> tuple[list[Delinquency], bool]:
    """Held and delinquent (count and value) at each of the chart's days, and whether the past was left out: the
    visible serials and their sightings are read once and every day is counted by the schedule engine over arrays.
    Above HISTORY_LIMIT visible serials the chart shows today only (from the schedule columns, or `now`, today's
    summary when the caller has it already)."""
    today = today or timezone.localdate()
    serials = Serial.objects.visible_to(actor)
    if serials.order_by().values("pk")[HISTORY_LIMIT : HISTORY_LIMIT + 1].exists():  # counts no further than that
        return [now if now is not None and now.as_of == today else delinquency(actor, today)], True
    days = month_ends(today)
    rows = list(
        serials.values_list(
            "pk", "item_type_id", "owner_id", "handover_date", "status", "status_on", "item_type__unit_value_eur"
        ).order_by("pk")
    )
    if not rows:
        return [Delinquency(day) for day in days], False
    index = {row[0]: position for position, row in enumerate(rows)}
    book = RuleBook()
    rules = [book.for_serial(item_type_id, owner_id) for _pk, item_type_id, owner_id, *_rest in rows]
    handed = np.array([row[3].toordinal() for row in rows], dtype=np.int64)
    accountable_now = np.array([row[4] in ACCOUNTABLE for row in rows])
    status_on = np.array([row[5].toordinal() for row in rows], dtype=np.int64)
    values = np.array([float(row[6] or 0) for row in rows])
    initial = np.array([rule.initial_days for rule in rules], dtype=np.int64)
    interval = np.array([rule.interval_days for rule in rules], dtype=np.int64)
    sighted = Sighting.objects.visible_to(actor).filter(serial_id__in=serials.values("pk"))
    pairs = np.array(
        [(index[serial_id], day.toordinal()) for serial_id, day in sighted.values_list("serial_id", "sighted_on")],
        dtype=np.int64,
    ).reshape(-1, 2)
    history = []
    for day in days:
        ordinal = day.toordinal()
        held = (handed <= ordinal) & (accountable_now | (status_on > ordinal))
        last = np.full(len(rows), schedule.NEVER, dtype=np.int64)
        upto = pairs[pairs[:, 1] <= ordinal]
        np.maximum.at(last, upto[:, 0], upto[:, 1])
        late = schedule.delinquent(schedule.due_days(handed, last, initial, interval), held, ordinal)
        point = Delinquency(day)
        point.held.add(int(held.sum()), Decimal(str(round(values[held].sum(), 2))))
        point.delinquent.add(int(late.sum()), Decimal(str(round(values[late].sum(), 2))))
        history.append(point)
    return history, False


@dataclass
class PendingDecisions:
    """What waits for a donor's decision on its own serials: consent requests not yet decided and loss reports not
    yet acknowledged."""

    consent_requests: list[Transfer]
    losses: list[LossReport]

    @property
    def count(self) -> int:
        return len(self.consent_requests) + len(self.losses)


def pending_consent_requests(actor: Actor) -> QuerySet:
    """Consent requests on serials the actor's organization owns that wait for its decision (none for anyone but a
    donor: only the owner of a serial decides)."""
    if not actor.is_member:
        return Transfer.objects.none()
    return (
        Transfer.objects.visible_to(actor)
        .filter(state=TransferState.REQUESTED, serial__owner=actor.organization)
        .select_related("serial__item_type")
        .order_by("id")
    )


def unacknowledged_losses(actor: Actor) -> QuerySet:
    """Loss reports of serials the actor's organization owns that it has not acknowledged yet."""
    if not actor.is_member:
        return LossReport.objects.none()
    return (
        LossReport.objects.visible_to(actor)
        .filter(acknowledged_on__isnull=True, serial__owner=actor.organization)
        .select_related("serial__item_type", "place")
        .order_by("occurred_on", "id")
    )


def pending_decisions(actor: Actor) -> PendingDecisions:
    return PendingDecisions(list(pending_consent_requests(actor)), list(unacknowledged_losses(actor)))


def not_sighted(actor: Actor, inventory: Inventory) -> QuerySet:
    """The serials the inventory expected and did not sight that the actor may see. The database reads the ids
    from the inventory's own row (`json_each`, `jsonb_array_elements_text`) instead of being sent one parameter
    per id: an inventory closed over a million serials may list hundreds of thousands, past SQLite's limit of
    variables in one statement."""
    table = connection.ops.quote_name(Inventory._meta.db_table)
    if connection.vendor == "postgresql":
        ids = f"SELECT (jsonb_array_elements_text(not_sighted))::bigint FROM {table} WHERE id = %s"
    else:
        ids = f"SELECT value FROM json_each((SELECT not_sighted FROM {table} WHERE id = %s))"
    return Serial.objects.visible_to(actor).filter(pk__in=RawSQL(ids, [inventory.pk]))


def missed_in(actor: Actor, serial: Serial) -> list[Inventory]:
    """The inventories the actor may see that expected the serial and did not sight it, newest first. An inventory
    keeps whom it missed as a list of ids; only those whose scope could have held the serial are read."""
    candidates = (
        Inventory.objects.visible_to(actor)
        .filter(conducted_on__gte=serial.handover_date)
        .filter(Q(item_type__isnull=True) | Q(item_type=serial.item_type_id))
        .filter(Q(donor__isnull=True) | Q(donor=serial.owner_id))
        .select_related("owner", "place")
        .order_by("-conducted_on", "-id")
    )
    return [inventory for inventory in candidates if serial.pk in inventory.not_sighted]

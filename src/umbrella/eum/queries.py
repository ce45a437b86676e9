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
from umbrella.eum.reads import RuleBook
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


def delinquency(actor: Actor, as_of: dt.date | None = None, *, donor_code: str | None = None) -> Delinquency:
    """Counts and value held and delinquent on `as_of` (today when not given), whole and by each dimension, of one
    donor's serials when `donor_code` is given. On today or later: grouped queries over the schedule columns; on an
    earlier day, rebuilt from the sightings."""
    as_of = as_of or timezone.localdate()
    result = Delinquency(as_of)
    serials = accountable_on(actor, as_of)
    if donor_code:
        serials = serials.filter(owner__code__iexact=donor_code)
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
        keys = ("handed_over", "held", "inventoried", "awaiting_first", "delinquent", "lost", "transferred", "other")
        return {key: sum(row[key] for row in self.rows) for key in keys}


def donor_report(actor: Actor, donor: Organization, as_of: dt.date | None = None) -> DonorReport:
    """The donor's serials the actor may see (all of them, for the donor itself, the headquarters and the
    recipient), by item type, with statuses as they stand and delinquency on `as_of`."""
    as_of = as_of or timezone.localdate()
    serials = Serial.objects.visible_to(actor).filter(owner=donor, handover_date__lte=as_of)
    delinquent_ids = {row.serial_id for row in due_rows(actor, as_of, donor_code=donor.code, delinquent_only=True)}
    per_item: dict[int, dict[str, Any]] = {}
    items = {item.pk: item for item in ItemType.objects.visible_to(actor).filter(pk__in=serials.values("item_type_id"))}
    listed = serials.values_list("item_type_id", "status", "pk", "last_sighted_on").order_by("item_type_id", "pk")
    for item_id, status, pk, last_sighted in listed:
        row = per_item.setdefault(
            item_id,
            {
                "item_type": items[item_id].code,
                "name": items[item_id].name,
                "handed_over": 0,
                "held": 0,
                "inventoried": 0,
                "awaiting_first": 0,
                "delinquent": 0,
                "lost": 0,
                "transferred": 0,
                "other": 0,
            },
        )
        row["handed_over"] += 1
        if status in ACCOUNTABLE:
            row["held"] += 1
            if pk in delinquent_ids:
                row["delinquent"] += 1
            elif last_sighted is not None and last_sighted <= as_of:
                row["inventoried"] += 1
            else:
                row["awaiting_first"] += 1
        elif status in LOSS_STATUSES:
            row["lost"] += 1
        elif status == SerialStatus.TRANSFERRED:
            row["transferred"] += 1
        else:
            row["other"] += 1
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
    held = Count("serials", filter=Q(serials__status__in=ACCOUNTABLE))
    return Unit.objects.visible_to(actor).select_related("parent", "station").annotate(held=held)


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
    """A dashboard's end-use card: items held and delinquent today, counted and valued, in one query."""
    value = F("item_type__unit_value_eur")
    late = Q(due_on__lt=timezone.localdate())
    figures = accountable_on(actor, timezone.localdate()).aggregate(
        held=Count("pk"), held_value=Sum(value), delinquent=Count("pk", filter=late), delinquent_value=Sum(value, filter=late)
    )
    return {key: value or 0 for key, value in figures.items()}


def month_ends(today: dt.date, count: int = 12) -> list[dt.date]:
    """The last `count` days the chart shows: the month ends before today, then today."""
    days = [today]
    first = today.replace(day=1)
    while len(days) < count:
        days.append(first - dt.timedelta(days=1))
        first = days[-1].replace(day=1)
    return sorted(days)


def delinquency_over_time(actor: Actor, today: dt.date | None = None) -> tuple[list[Delinquency], bool]:
    """Held and delinquent (count and value) at each of the chart's days, and whether the past was left out: the
    visible serials and their sightings are read once and every day is counted by the schedule engine over arrays.
    Above HISTORY_LIMIT visible serials the chart shows today only (from the schedule columns)."""
    today = today or timezone.localdate()
    serials = Serial.objects.visible_to(actor)
    if serials.count() > HISTORY_LIMIT:
        return [delinquency(actor, today)], True
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

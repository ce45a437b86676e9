"""Every write of end-use monitoring: units, rules, serials, inventories and their sightings, losses, transfers.

Who does what, as in real life:
- the recipient (editor) keeps its units, registers serials handed over before Umbrella, reports losses and
  records transfers; its handovers register their serials themselves (`register_handed_over`);
- an inspector records inventories: coordination staff (any role: the headquarters' auditors are viewers), the
  recipient (editor), or a donor (editor), who sights its own serials only;
- the donor (editor) acknowledges loss reports and consents to, or refuses, a transfer of its items beyond the
  recipient; coordination staff (editor) and each donor (editor, for its own programme) set inventory rules.

A serial's schedule columns follow every change that moves them (`refresh_schedule`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import F, Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from umbrella.catalog.models import ItemType
from umbrella.core import bulk, services
from umbrella.core.access import (
    Actor,
    Marking,
    OrganizationKind,
    Role,
    deny,
    get_visible,
    require_owner,
    require_role,
)
from umbrella.core.derived import write_derived_columns
from umbrella.core.errors import Conflict, Invalid, InvalidTransition
from umbrella.eum import schedule
from umbrella.eum.models import (
    ACCOUNTABLE,
    Inventory,
    InventoryRule,
    LossKind,
    LossReport,
    Serial,
    SerialStatus,
    Sighting,
    Transfer,
    TransferKind,
    TransferState,
    Unit,
)
from umbrella.eum.reads import SCHEDULE_COLUMNS, RuleBook, schedule_rows
from umbrella.logistics.models import Consignment, ConsignmentState
from umbrella.orgs.models import Organization
from umbrella.places.models import Place
from umbrella.places.queries import resolve_place
from umbrella.pledges.services import given_reason

COORDINATORS = frozenset({OrganizationKind.COORDINATOR})
RECIPIENTS = frozenset({OrganizationKind.RECIPIENT})
DONORS = frozenset({OrganizationKind.DONOR})
UNIT_FIELDS = frozenset({"code", "name", "kind", "parent", "station"})
INVENTORY_FIELDS = frozenset(
    {"conducted_on", "place", "method", "evidence_reference", "evidence_digest", "holder", "item_type", "donor", "note"}
)
SERIAL_FIELDS = frozenset(
    {"item_type", "serial", "handover_date", "handover_place", "holder", "pledge", "retransfer_requires_consent"}
)
CHUNK = 2000


def require_recipient_editor(actor: Actor, *, doing: str) -> None:
    require_role(actor, Role.EDITOR, kinds=RECIPIENTS, doing=doing)


def require_inspector(actor: Actor) -> None:
    """Coordination staff of any role (the headquarters' auditors read only, and inspect), the recipient's and the
    donors' editors."""
    doing = _("Recording an inventory")
    if actor.is_member and actor.kind in COORDINATORS:
        require_role(actor, Role.VIEWER, kinds=COORDINATORS, doing=doing)
    else:
        require_role(actor, Role.EDITOR, kinds=RECIPIENTS | DONORS, doing=doing)


def _today() -> dt.date:
    return timezone.localdate()


def _place(value: Any, field: str) -> Place | None:
    if value is None or isinstance(value, Place):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return resolve_place(text)
    except ValidationError as error:
        raise Invalid({field: error.messages}) from None


def _not_in_future(day: dt.date | None, field: str, problems: dict[str, list[str]]) -> None:
    if day is not None and day > _today():
        problems.setdefault(field, []).append(_("This day has not come yet."))


# --- units ----------------------------------------------------------------------------------------------------


def create_unit(*, actor: Actor, fields: Mapping[str, Any]) -> Unit:
    with services.atomic():
        require_recipient_editor(actor, doing=_("Adding a unit"))
        values = _with_station(services.writable(fields, UNIT_FIELDS))
        return services.create_record(actor=actor, obj=Unit(owner=actor.organization, **values))


def update_unit(*, actor: Actor, unit_id: int, expected_version: int, changes: Mapping[str, Any]) -> Unit:
    with services.atomic():
        unit = get_visible(Unit.objects.select_for_update(), actor, pk=unit_id)
        require_recipient_editor(actor, doing=_("Changing a unit"))
        values = _with_station(services.writable(changes, UNIT_FIELDS))
        parent = values.get("parent", unit.parent)
        while parent is not None:
            if parent.pk == unit.pk:
                raise Invalid({"parent": [_("A unit cannot be part of itself or of a unit within it.")]})
            parent = parent.parent
        return services.update_record(actor=actor, obj=unit, changes=values, expected_version=expected_version)


def _with_station(values: dict[str, Any]) -> dict[str, Any]:
    """The station given as a place, or as its code, name or alias (as every place field takes it)."""
    if "station" in values:
        values["station"] = _place(values["station"], "station")
    return values


def unit_code_for(name: str) -> str:
    """A unit's code made from its name ("47th Mechanized Brigade" → 47TH-MECHANIZED-BRIGADE)."""
    code = re.sub(r"[^A-Z0-9]+", "-", name.upper()).strip("-")
    return (code or "UNIT")[:40].rstrip("-")


def unit_named(actor: Actor, name: str) -> Unit:
    """The recipient's unit with this code or name; a handover to a unit not yet listed adds it."""
    text = name.strip()
    found = Unit.objects.visible_to(actor).filter(Q(code__iexact=text) | Q(name__iexact=text)).order_by("id").first()
    if found is not None:
        return found
    if actor.kind not in RECIPIENTS:
        raise Invalid({"holder": [_("No unit %(name)s that you can see.") % {"name": text}]})
    code = unit_code_for(text)
    if Unit.objects.filter(code=code).exists():
        code = f"{code[:33]}-{Unit.objects.count() + 1}"
    return create_unit(actor=actor, fields={"code": code, "name": text[:200]})


# --- inventory rules ------------------------------------------------------------------------------------------


def set_rule(
    *,
    actor: Actor,
    item_type: ItemType | None,
    donor: Organization | None,
    initial_days: int,
    interval_days: int,
    reason: str | None = None,
) -> InventoryRule:
    """Set the rule for an item type, a donor programme or both (a new one, or a change of the one there is).
    Coordination staff set any rule; a donor sets rules for its own programme. Every serial it applies to is
    rescheduled."""
    with services.atomic():
        doing = _("Setting an inventory rule")
        if actor.is_member and actor.kind in DONORS:
            require_role(actor, Role.EDITOR, kinds=DONORS, doing=doing)
            if donor is None or donor.pk != actor.organization.pk:
                raise deny(actor, _("A donor sets the rules of its own programme only."))
        else:
            require_role(actor, Role.EDITOR, kinds=COORDINATORS, doing=doing)
        text = given_reason(reason, required=False)
        existing = InventoryRule.objects.select_for_update().filter(item_type=item_type, donor=donor).order_by("id").first()
        values = {"initial_days": initial_days, "interval_days": interval_days, "reason": text}
        if existing is None:
            rule = services.create_record(
                actor=actor,
                obj=InventoryRule(owner=services.acting_organization(actor), item_type=item_type, donor=donor, **values),
            )
        else:
            rule = services.update_record(actor=actor, obj=existing, changes=values, expected_version=existing.version)
        affected = Serial.objects.all()
        if item_type is not None:
            affected = affected.filter(item_type=item_type)
        if donor is not None:
            affected = affected.filter(owner=donor)
        refresh_schedule(affected.values_list("pk", flat=True).iterator(chunk_size=CHUNK))
        return rule


# --- the schedule ---------------------------------------------------------------------------------------------


def refresh_schedule(serial_ids: Iterable[int]) -> int:
    """Recompute the schedule columns of these serials from their sightings and the rules: last sighting (day,
    place, method) and next due date (none once a serial is no longer accountable). Returns how many."""
    book = RuleBook()
    count = 0
    batch: list[int] = []
    for serial_id in serial_ids:
        batch.append(serial_id)
        if len(batch) >= CHUNK:
            count += _refresh_chunk(batch, book)
            batch = []
    if batch:
        count += _refresh_chunk(batch, book)
    return count


def _refresh_chunk(serial_ids: list[int], book: RuleBook) -> int:
    return write_derived_columns(Serial, SCHEDULE_COLUMNS, schedule_rows(serial_ids, book))


# --- serials ----------------------------------------------------------------------------------------------------


def register_serial(*, actor: Actor, donor: Organization, fields: Mapping[str, Any]) -> Serial:
    """Register one item handed over before Umbrella kept the handovers (the recipient, or coordination staff, on
    the donor's records). The donor owns it; it is marked for coordination and stays so."""
    return _register(actor, donor, fields, pair_checked=False)


def _require_registrar(actor: Actor) -> None:
    if actor.is_member and actor.kind in COORDINATORS:
        require_role(actor, Role.EDITOR, kinds=COORDINATORS, doing=_("Registering a serial"))
    else:
        require_recipient_editor(actor, doing=_("Registering a serial"))


def _register(actor: Actor, donor: Organization, fields: Mapping[str, Any], *, pair_checked: bool) -> Serial:
    """`register_serial`; `pair_checked`: its (item type, serial) pair was already looked up with its batch's."""
    with services.atomic():
        _require_registrar(actor)
        values = services.writable(fields, SERIAL_FIELDS)
        problems: dict[str, list[str]] = {}
        if donor is None or donor.kind != OrganizationKind.DONOR:
            problems["donor"] = [_("Name the donor that gave the item.")]
        item = values.get("item_type")
        if item is not None and not item.sensitive:
            problems["item_type"] = [_("%(item)s is not serial-tracked.") % {"item": item.code}]
        _not_in_future(values.get("handover_date"), "handover_date", problems)
        if problems:
            raise Invalid(problems)
        values["serial"] = str(values.get("serial") or "").strip()
        serial = services.new(Serial, owner=donor, marking=Marking.COORDINATION, status_on=values.get("handover_date"), **values)
        if item is not None and serial.handover_date is not None:
            # Never sighted yet: due its rule's days after the handover. Set here, not by refresh_schedule, which
            # reads the table a row on the bulk path is not in yet.
            serial.due_on = schedule.due_on(serial.handover_date, None, _rule_book().for_serial(item.pk, donor.pk))
        if pair_checked:
            serial._pair_checked_with_batch = True
        return services.create_record(actor=actor, obj=serial)


def _creates_in_one_batch(*, rows_read_earlier_rows: bool):
    """Many creates written together on the bulk path (`core.bulk`): the same checks and one ledger entry each, the
    rows inserted at once. Inside a batch someone else holds (an import), its own."""
    if bulk.active_batch() is not None:
        return nullcontext(bulk.active_batch())
    return bulk.deferred_writes(rows_read_earlier_rows=rows_read_earlier_rows)


def registered_pairs(pairs: Iterable[tuple[int | None, str]]) -> set[tuple[int, str]]:
    """Which of these (item type id, serial) pairs are registered already: one query per CHUNK serial numbers
    of an item type, instead of one per serial. Read past `visible_to` on purpose, as the uniqueness rule reads:
    only those who see every serial (the recipient, coordination staff) register them."""
    by_item: dict[int, list[str]] = {}
    for item_id, number in pairs:
        if item_id is not None:
            by_item.setdefault(item_id, []).append(number)
    taken: set[tuple[int, str]] = set()
    for item_id, numbers in by_item.items():
        for start in range(0, len(numbers), CHUNK):
            found = Serial.objects.filter(item_type_id=item_id, serial__in=numbers[start : start + CHUNK])
            taken.update((item_id, number) for number in found.values_list("serial", flat=True))
    return taken


def register_serials(*, actor: Actor, entries: Sequence[tuple[Organization, Mapping[str, Any]]]) -> list[Serial]:
    """Register many items handed over before Umbrella (the demo, a donor's delivery records): each as
    `register_serial` checks and schedules it, written together. Serial numbers given twice, and those already
    registered for their item type, are each named, all at once, and nothing is written; the pairs are looked up
    together, not row by row."""
    with services.atomic():
        _require_registrar(actor)
        keys = [(getattr(fields.get("item_type"), "pk", None), str(fields.get("serial") or "").strip()) for _d, fields in entries]
        repeated = sorted({serial for (_item, serial), count in Counter(keys).items() if count > 1})
        if repeated:  # the batch's rows are checked against the table, not against each other
            raise Invalid({"serial": [_("Serial numbers given twice: %(serials)s.") % {"serials": ", ".join(repeated)}]})
        taken = registered_pairs(keys)
        if taken:
            codes = {fields["item_type"].pk: fields["item_type"].code for _d, fields in entries if fields.get("item_type")}
            clashes = sorted(f"{codes[item_id]} {number}" for item_id, number in taken)
            raise Invalid({"serial": [_("Already registered: %(serials)s.") % {"serials": ", ".join(clashes)}]})
        if bulk.active_batch() is not None:  # an import's batch, written as its rows end
            return [_register(actor, donor, fields, pair_checked=True) for donor, fields in entries]
        created = []
        with bulk.deferred_writes(rows_read_earlier_rows=True) as batch:
            for donor, fields in entries:
                created.append(_register(actor, donor, fields, pair_checked=True))
                batch.row_done()  # inserted a chunk at a time, not held to the end
        return created


def _rule_book() -> RuleBook:
    """The rules, read once per bulk batch (no rule changes while a batch registers serials), else now."""
    batch = bulk.active_batch()
    if batch is None:
        return RuleBook()
    if not hasattr(batch, "eum_rule_book"):
        batch.eum_rule_book = RuleBook()
    return batch.eum_rule_book


def register_handed_over(*, actor: Actor, consignment) -> list[Serial]:
    """The serials of a consignment just handed over: one per serial received of a serial-tracked item, held by the
    receiving unit. A serial already registered for its item type is refused, and with it the handover."""
    holder = unit_named(actor, consignment.handover_unit) if consignment.handover_unit.strip() else None
    lines = consignment.lines.select_related("allocation__pledge__item_type").order_by("id")
    wanted = [(line, serial) for line in lines if line.allocation.pledge.item_type.sensitive for serial in line.received_serials]
    if not wanted:
        return []
    taken = set(
        Serial.objects.filter(
            item_type_id__in={line.allocation.pledge.item_type_id for line, _serial in wanted},
            serial__in=[serial for _line, serial in wanted],
        ).values_list("item_type_id", "serial")
    )
    clashes = sorted(
        f"{line.allocation.pledge.item_type.code} {serial}"
        for line, serial in wanted
        if (line.allocation.pledge.item_type_id, serial) in taken
    )
    if clashes:
        raise Invalid({"serials": [_("Already registered: %(serials)s.") % {"serials": ", ".join(clashes)}]})
    created = []
    with _creates_in_one_batch(rows_read_earlier_rows=True):
        for line, serial in wanted:
            pledge = line.allocation.pledge
            obj = Serial(
                owner_id=consignment.owner_id,
                marking=Marking.COORDINATION,
                item_type=pledge.item_type,
                serial=serial,
                pledge=pledge,
                consignment=consignment,
                handover_date=consignment.handover_date,
                handover_place=consignment.handover_place,
                holder=holder,
                status=SerialStatus.IN_SERVICE,
                status_on=consignment.handover_date,
                retransfer_requires_consent=pledge.retransfer_requires_consent,
            )
            obj._pair_checked_with_batch = True  # with `taken` above
            created.append(services.create_record(actor=actor, obj=obj, action="handover"))
    if bulk.active_batch() is None:
        refresh_schedule(serial.pk for serial in created)
    return created


def register_earlier_handovers(*, actor: Actor) -> list[Serial]:
    """The serials of consignments handed over before end-use monitoring was installed (an upgrade): each
    handed-over consignment none of whose serials is registered yet, registered as its handover would have. The
    recipient (editor) runs it once after upgrading; running it again finds nothing left to register."""
    with services.atomic():
        require_recipient_editor(actor, doing=_("Registering the serials of earlier handovers"))
        registered = Serial.objects.filter(consignment_id__isnull=False).values("consignment_id")
        waiting = (
            Consignment.objects.visible_to(actor)
            .filter(state=ConsignmentState.HANDED_OVER, lines__allocation__pledge__item_type__sensitive=True)
            .exclude(pk__in=registered)
            .distinct()
            .order_by("pk")
        )
        created: list[Serial] = []
        for consignment in waiting:
            created += register_handed_over(actor=actor, consignment=consignment)
        return created


def _set_status(actor: Actor, serial: Serial, status: str, day: dt.date, action: str) -> Serial:
    serial = services.update_record(
        actor=actor,
        obj=serial,
        changes={"status": status, "status_on": day},
        expected_version=serial.version,
        action=action,
    )
    refresh_schedule([serial.pk])
    return serial


# --- inventories ------------------------------------------------------------------------------------------------


def open_inventory(*, actor: Actor, fields: Mapping[str, Any]) -> Inventory:
    """Start an inventory: the day, place and method, the evidence of a remote one, and its scope (a unit, an item
    type, a donor: the serials it expects to sight). A donor's inventory is of its own serials."""
    with services.atomic():
        require_inspector(actor)
        values = services.writable(fields, INVENTORY_FIELDS)
        problems: dict[str, list[str]] = {}
        try:
            values["place"] = _place(values.get("place"), "place")
        except Invalid as error:
            problems.update(error.field_errors)
            values.pop("place")
        _not_in_future(values.get("conducted_on"), "conducted_on", problems)
        if actor.kind in DONORS:
            donor = values.get("donor")
            if donor is not None and donor.pk != actor.organization.pk:
                problems["donor"] = [_("A donor inventories its own serials.")]
            values["donor"] = actor.organization
        inventory = Inventory(owner=services.acting_organization(actor), marking=Marking.COORDINATION, **values)
        _merge_problems(problems, lambda: services.validate(inventory))  # with the model's own rules, all at once
        if problems:
            raise Invalid(problems)
        return services.create_record(actor=actor, obj=inventory)


def _merge_problems(problems: dict[str, list[str]], check) -> None:
    try:
        check()
    except Invalid as error:
        for field, messages in error.field_errors.items():
            problems.setdefault(field, []).extend(message for message in messages if message not in problems.get(field, []))


def expected_serials(actor: Actor, inventory: Inventory):
    """The serials an inventory expects to sight: accountable ones in its scope, handed over by its day, that the
    inspector may see."""
    expected = Serial.objects.visible_to(actor).filter(status__in=ACCOUNTABLE, handover_date__lte=inventory.conducted_on)
    if inventory.holder_id is not None:
        expected = expected.filter(holder_id=inventory.holder_id)
    if inventory.item_type_id is not None:
        expected = expected.filter(item_type_id=inventory.item_type_id)
    if inventory.donor_id is not None:
        expected = expected.filter(owner_id=inventory.donor_id)
    return expected


class SerialFinder:
    """Serials by (item type code, serial number), as the inspector may see them: those in the inventory's scope read
    at once, others one by one. A serial not found, or not visible, is "not in the registry" either way."""

    def __init__(self, actor: Actor, inventory: Inventory) -> None:
        self.actor = actor
        self.known: dict[tuple[str, str], Serial] = {}
        # The owner too: each sighting's ledger entry names its serial's donor (a query a row otherwise).
        scope = expected_serials(actor, inventory).select_related("item_type", "owner")
        for serial in scope.iterator(chunk_size=CHUNK):
            self.known[(serial.item_type.code.upper(), serial.serial)] = serial

    def find(self, item_code: str, number: str) -> Serial | None:
        key = (item_code.strip().upper(), number.strip())
        if key not in self.known:
            self.known[key] = (
                Serial.objects.visible_to(self.actor)
                .select_related("item_type", "owner")
                .filter(item_type__code__iexact=key[0], serial=key[1])
                .first()
            )
        return self.known[key]


def sight(
    *,
    actor: Actor,
    inventory: Inventory,
    serial: Serial | None,
    reference: str,
    status: str = SerialStatus.IN_SERVICE,
    place: Any = None,
    evidence_reference: str = "",
    seen: set[int] | None = None,
) -> Sighting:
    """One serial sighted in an open inventory. Refused (Invalid, every reason at once): a serial not in the
    registry (or one the inspector may not see: the same words), one not held by the recipient any more, one
    sighted twice in this inventory, one handed over after the inventory's day, a status other than in service or
    under repair. The caller refreshes the schedule of what it sighted (`finish_sightings`)."""
    with services.atomic():
        problems: dict[str, list[str]] = {}
        if inventory.closed:
            raise InvalidTransition(_("This inventory is closed; open a new one."), inventory=inventory.pk)
        if serial is None:
            problems["serial"] = [_("%(serial)s is not in the registry.") % {"serial": reference}]
        else:
            if serial.status not in ACCOUNTABLE:
                problems["serial"] = [
                    _("%(serial)s is recorded as %(status)s since %(day)s; report it found before sighting it.")
                    % {
                        "serial": reference,
                        "status": serial.get_status_display(),
                        "day": formats.date_format(serial.status_on),
                    }
                ]
            elif serial.handover_date > inventory.conducted_on:
                problems["serial"] = [
                    _("%(serial)s was handed over on %(day)s, after this inventory.")
                    % {"serial": reference, "day": formats.date_format(serial.handover_date)}
                ]
            if seen is not None and serial.pk in seen:
                problems.setdefault("serial", []).append(_("Sighted twice in this inventory."))
        if status not in ACCOUNTABLE:
            problems["status"] = [_("A sighted item is in service or under repair; report a loss instead.")]
        try:
            where = _place(place, "place") or inventory.place
        except Invalid as error:
            problems.update(error.field_errors)
            where = None
        if problems:
            raise Invalid(problems)
        if seen is not None:
            seen.add(serial.pk)
        return services.create_record(
            actor=actor,
            obj=Sighting(
                serial=serial,
                inventory=inventory,
                sighted_on=inventory.conducted_on,
                place=where,
                method=inventory.method,
                status=status,
                evidence_reference=(evidence_reference or "").strip(),
            ),
        )


def finish_sightings(actor: Actor, inventory: Inventory) -> None:
    """After sightings are written: serials seen in another state than recorded take it (a ledgered change of
    each), and every sighted serial's schedule moves."""
    sighted = Sighting.objects.filter(inventory=inventory)
    changed = sighted.exclude(status=F("serial__status")).values_list("serial_id", "status")
    for serial_id, status in list(changed):
        serial = Serial.objects.select_for_update().get(pk=serial_id)
        services.update_record(
            actor=actor,
            obj=serial,
            changes={"status": status, "status_on": inventory.conducted_on},
            expected_version=serial.version,
            action="sighted",
        )
    refresh_schedule(sighted.values_list("serial_id", flat=True).distinct().order_by().iterator(chunk_size=CHUNK))


def add_sightings(*, actor: Actor, inventory_id: int, sightings: Sequence[Mapping[str, Any]]) -> list[Sighting]:
    """Sightings of an open inventory, each {item_type, serial, status, place, evidence_reference}; every problem of
    every one at once, under `sightings[i].field`, and nothing written unless all pass."""
    with services.atomic():
        inventory = get_visible(Inventory.objects.select_for_update(), actor, pk=inventory_id)
        require_inspector_of(actor, inventory)
        finder = SerialFinder(actor, inventory)
        seen = set(Sighting.objects.filter(inventory=inventory).values_list("serial_id", flat=True))
        problems: dict[str, list[str]] = {}
        with _creates_in_one_batch(rows_read_earlier_rows=False) as batch:
            written = _sight_all(actor, inventory, sightings, finder, seen, problems)
            if problems:
                batch.writing = False
        if problems:
            raise Invalid(problems)
        finish_sightings(actor, inventory)
        return written


def _sight_all(
    actor: Actor,
    inventory: Inventory,
    sightings: Sequence[Mapping[str, Any]],
    finder: SerialFinder,
    seen: set[int],
    problems: dict[str, list[str]],
) -> list[Sighting]:
    written = []
    for index, entry in enumerate(sightings):
        item_code, number = str(entry.get("item_type") or ""), str(entry.get("serial") or "").strip()
        try:
            written.append(
                sight(
                    actor=actor,
                    inventory=inventory,
                    serial=finder.find(item_code, number),
                    reference=f"{item_code} {number}".strip(),
                    status=entry.get("status") or SerialStatus.IN_SERVICE,
                    place=entry.get("place"),
                    evidence_reference=entry.get("evidence_reference") or "",
                    seen=seen,
                )
            )
        except Invalid as error:
            for field, messages in error.field_errors.items():
                problems[f"sightings[{index}].{field}"] = messages
    return written


def require_inspector_of(actor: Actor, inventory: Inventory) -> None:
    require_inspector(actor)
    if inventory.owner_id != actor.organization.pk:
        raise deny(actor, _("An inventory is recorded by the organization that inspects."))


def close_inventory(*, actor: Actor, inventory_id: int, expected_version: int) -> Inventory:
    """Close an inventory: every serial it expected and did not sight is kept as not sighted."""
    with services.atomic():
        inventory = get_visible(Inventory.objects.select_for_update(), actor, pk=inventory_id)
        require_inspector_of(actor, inventory)
        services.check_version(inventory, expected_version)
        if inventory.closed:
            raise InvalidTransition(_("This inventory is already closed."), inventory=inventory.pk)
        sighted = set(Sighting.objects.filter(inventory=inventory).values_list("serial_id", flat=True))
        expected = list(expected_serials(actor, inventory).order_by("pk").values_list("pk", flat=True))
        not_sighted = [pk for pk in expected if pk not in sighted]
        return services.update_record(
            actor=actor,
            obj=inventory,
            changes={
                "closed": True,
                "expected_count": len(expected),
                "sighted_count": len(sighted),
                "not_sighted": not_sighted,
            },
            expected_version=expected_version,
            action="close",
        )


def record_inventory(*, actor: Actor, fields: Mapping[str, Any], sightings: Sequence[Mapping[str, Any]]) -> Inventory:
    """Open, sight and close in one: the page's form and the API's create."""
    with services.atomic():
        inventory = open_inventory(actor=actor, fields=fields)
        add_sightings(actor=actor, inventory_id=inventory.pk, sightings=sightings)
        inventory.refresh_from_db()
        return close_inventory(actor=actor, inventory_id=inventory.pk, expected_version=inventory.version)


# --- losses -----------------------------------------------------------------------------------------------------


def report_loss(
    *,
    actor: Actor,
    serial_id: int,
    kind: str,
    occurred_on: dt.date | None,
    circumstances: str,
    place: Any = None,
    evidence_reference: str = "",
) -> LossReport:
    """The recipient reports an item lost, destroyed or captured; the serial takes that status and leaves the
    schedule. Its donor acknowledges the report."""
    with services.atomic():
        serial = get_visible(Serial.objects.select_for_update(), actor, pk=serial_id)
        require_recipient_editor(actor, doing=_("Reporting a loss"))
        problems: dict[str, list[str]] = {}
        if serial.status not in ACCOUNTABLE:
            problems["serial"] = [_("This item is recorded as %(status)s already.") % {"status": serial.get_status_display()}]
        if kind not in LossKind.values:
            problems["kind"] = [_("Choose lost, destroyed or captured.")]
        if occurred_on is None:
            problems["occurred_on"] = [_("Give the day it happened.")]
        elif occurred_on < serial.handover_date:
            problems["occurred_on"] = [
                _("This comes before the handover (%(day)s).") % {"day": formats.date_format(serial.handover_date)}
            ]
        _not_in_future(occurred_on, "occurred_on", problems)
        if not (circumstances or "").strip():
            problems["circumstances"] = [_("Say what happened.")]
        try:
            where = _place(place, "place")
        except Invalid as error:
            problems.update(error.field_errors)
            where = None
        if problems:
            raise Invalid(problems)
        report = services.create_record(
            actor=actor,
            obj=LossReport(
                serial=serial,
                kind=kind,
                occurred_on=occurred_on,
                place=where,
                circumstances=circumstances.strip(),
                evidence_reference=(evidence_reference or "").strip(),
            ),
        )
        _set_status(actor, serial, kind, occurred_on, "report_loss")
        return report


def acknowledge_loss(*, actor: Actor, loss_id: int, note: str | None = None) -> LossReport:
    """The donor acknowledges a loss report of one of its items."""
    with services.atomic():
        report = get_visible(LossReport.objects.select_for_update().select_related("serial__owner"), actor, pk=loss_id)
        require_owner(actor, report.serial, Role.EDITOR, doing=_("Acknowledging a loss"))
        if report.acknowledged_on is not None:
            raise InvalidTransition(_("This loss was acknowledged already."), loss=report.pk)
        return services.update_record(
            actor=actor,
            obj=report,
            changes={"acknowledged_on": _today(), "acknowledgement_note": given_reason(note, required=False)},
            expected_version=None,
            action="acknowledge",
        )


# --- transfers --------------------------------------------------------------------------------------------------


def _transfer_fields(kind: str, to_unit: Unit | None, third_party: str, end_use: str) -> dict[str, Any]:
    if kind not in TransferKind.values:
        raise Invalid({"kind": [_("Choose between the recipient's own units, to a third party, or a change of end use.")]})
    return {
        "kind": kind,
        "to_unit": to_unit if kind == TransferKind.INTERNAL else None,
        "third_party": (third_party or "").strip() if kind == TransferKind.THIRD_PARTY else "",
        "end_use": (end_use or "").strip() if kind == TransferKind.END_USE else "",
    }


def needs_consent(serial: Serial, kind: str) -> bool:
    return kind != TransferKind.INTERNAL and serial.retransfer_requires_consent


def request_consent(
    *, actor: Actor, serial_id: int, kind: str, reason: str, third_party: str = "", end_use: str = ""
) -> Transfer:
    """The recipient asks the donor's consent to transfer an item to a third party or to change its end use."""
    with services.atomic():
        serial = get_visible(Serial.objects.select_for_update(), actor, pk=serial_id)
        require_recipient_editor(actor, doing=_("Asking a donor's consent"))
        values = _transfer_fields(kind, None, third_party, end_use)
        if kind == TransferKind.INTERNAL:
            raise Invalid({"kind": [_("A move between the recipient's own units needs no consent.")]})
        if serial.status not in ACCOUNTABLE:
            raise InvalidTransition(
                _("This item is recorded as %(status)s.") % {"status": serial.get_status_display()}, serial=serial.pk
            )
        return services.create_record(
            actor=actor,
            obj=Transfer(serial=serial, state=TransferState.REQUESTED, reason=given_reason(reason, required=True), **values),
            action="request_consent",
        )


def decide_consent(*, actor: Actor, transfer_id: int, consent: bool, reason: str | None) -> Transfer:
    """The donor consents to, or refuses, a transfer of its item; a refusal gives its reason."""
    with services.atomic():
        transfer = get_visible(Transfer.objects.select_for_update().select_related("serial__owner"), actor, pk=transfer_id)
        require_owner(actor, transfer.serial, Role.EDITOR, doing=_("Deciding on a transfer"))
        if transfer.state != TransferState.REQUESTED:
            raise InvalidTransition(
                _("This request is %(state)s, not waiting for a decision.") % {"state": transfer.get_state_display()},
                transfer=transfer.pk,
            )
        return services.update_record(
            actor=actor,
            obj=transfer,
            changes={
                "state": TransferState.CONSENTED if consent else TransferState.REFUSED,
                "decided_on": _today(),
                "decision_reason": given_reason(reason, required=not consent),
            },
            expected_version=None,
            action="consent" if consent else "refuse",
        )


def transfer(
    *,
    actor: Actor,
    serial_id: int,
    kind: str,
    reason: str,
    on: dt.date | None = None,
    to_unit: Unit | None = None,
    third_party: str = "",
    end_use: str = "",
) -> Transfer:
    """Record a transfer: to another of the recipient's units (the holder changes), to a third party (the item
    leaves the schedule) or to another end use. Where the donor's consent is needed and not given for this very
    transfer, it is refused (Conflict) and nothing changes."""
    with services.atomic():
        serial = get_visible(Serial.objects.select_for_update(), actor, pk=serial_id)
        require_recipient_editor(actor, doing=_("Recording a transfer"))
        values = _transfer_fields(kind, to_unit, third_party, end_use)
        day = on or _today()
        problems: dict[str, list[str]] = {}
        if serial.status not in ACCOUNTABLE:
            problems["serial"] = [_("This item is recorded as %(status)s.") % {"status": serial.get_status_display()}]
        if day < serial.handover_date:
            problems["on"] = [_("This comes before the handover (%(day)s).") % {"day": formats.date_format(serial.handover_date)}]
        _not_in_future(day, "on", problems)
        if kind == TransferKind.INTERNAL and to_unit is not None and to_unit.pk == serial.holder_id:
            problems["to_unit"] = [_("The item is held by this unit already.")]
        given: list[str] = []
        _merge_problems(problems, lambda: given.append(given_reason(reason, required=True)))
        done = Transfer(serial=serial, state=TransferState.DONE, reason=given[0] if given else "", transferred_on=day, **values)
        _merge_problems(problems, lambda: services.validate(done, exclude=["reason"]))
        if problems:
            raise Invalid(problems)
        record = None
        if needs_consent(serial, kind):
            record = _consented_request(serial, values)
            if record is None:
                raise Conflict(_no_consent_message(serial, values), serial=serial.pk)
        if record is None:
            record = services.create_record(actor=actor, obj=done)
        else:
            record = services.update_record(
                actor=actor,
                obj=record,
                changes={"state": TransferState.DONE, "transferred_on": day},
                expected_version=None,
                action="transfer",
            )
        if kind == TransferKind.INTERNAL:
            services.update_record(
                actor=actor, obj=serial, changes={"holder": to_unit}, expected_version=serial.version, action="transfer"
            )
        elif kind == TransferKind.THIRD_PARTY:
            _set_status(actor, serial, SerialStatus.TRANSFERRED, day, "transfer")
        return record


def _no_consent_message(serial: Serial, values: Mapping[str, Any]) -> str:
    """Why a transfer needing consent is refused: nothing asked yet, a request waiting, or the donor's refusal."""
    asked = [
        request
        for request in Transfer.objects.filter(serial=serial, kind=values["kind"]).order_by("-id")
        if _same_party(request, values)
    ]
    if asked and asked[0].state == TransferState.REQUESTED:
        return _("%(donor)s has not yet decided on the request for this transfer; it can be recorded once it consents.") % {
            "donor": serial.owner.name
        }
    if asked and asked[0].state == TransferState.REFUSED:
        return _("%(donor)s refused this transfer: %(reason)s") % {
            "donor": serial.owner.name,
            "reason": asked[0].decision_reason,
        }
    return _(
        "%(donor)s's consent is needed to transfer this item to a third party or to change its end use; ask for it "
        "first (no consent has been given for this transfer)."
    ) % {"donor": serial.owner.name}


def _same_party(request: Transfer, values: Mapping[str, Any]) -> bool:
    return (
        request.third_party.casefold() == values["third_party"].casefold()
        and request.end_use.casefold() == values["end_use"].casefold()
    )


def _consented_request(serial: Serial, values: Mapping[str, Any]) -> Transfer | None:
    requests = Transfer.objects.select_for_update().filter(serial=serial, state=TransferState.CONSENTED, kind=values["kind"])
    return next((request for request in requests.order_by("id") if _same_party(request, values)), None)

"""Every write to consignments, their lines, legs, receipt and handover, and the pledges that follow them.

Each step is taken by the party that takes it in real life: the donor (editor) plans a consignment of its own
approved allocations, dispatches it and records its way through hubs, and may cancel it with a reason;
coordination staff (editor) may do the same on a donor's behalf. The recipient (editor) records its arrival,
the receipt (what arrived, line by line, with discrepancies and serials) and the handover, where title passes.
Every change of a consignment's lines moves the sums of the pledges they ship (`pledges.follow_consignments`).
A donor closes a pledge short once nothing of it is on its way: its allocations drop to what was delivered.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Max
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from umbrella.core import services
from umbrella.core.access import (
    DONOR_KINDS,
    Actor,
    OrganizationKind,
    Role,
    allowed,
    deny,
    get_visible,
    require_owner,
    require_role,
)
from umbrella.core.errors import Forbidden, Invalid, InvalidTransition
from umbrella.logistics.models import (
    CONSIGNMENT_LIFECYCLE,
    LIVE_STATES,
    NOT_YET_ARRIVED,
    RECEIVED_STATES,
    SHIPPED_STATES,
    Consignment,
    ConsignmentLine,
    ConsignmentState,
    DiscrepancyKind,
    Leg,
)
from umbrella.logistics.signals import consignment_handed_over
from umbrella.matching import services as matching
from umbrella.matching.models import Allocation, AllocationState
from umbrella.places.models import Place
from umbrella.places.queries import resolve_place
from umbrella.pledges import services as pledges
from umbrella.pledges.models import Pledge

COORDINATORS = frozenset({OrganizationKind.COORDINATOR})
RECIPIENTS = frozenset({OrganizationKind.RECIPIENT})
CONSIGNMENT_FIELDS = frozenset({"reference", "weight_kg", "marking"})
LINE_FIELDS = frozenset({"allocation", "quantity", "serials", "lots"})
LEG_FIELDS = frozenset({"from_place", "to_place", "mode", "planned_departure", "planned_arrival"})
SHIPPER_STEPS = frozenset({"dispatch", "reach_hub", "leave_hub", "cancel"})
RECIPIENT_STEPS = frozenset({"arrive", "receive", "hand_over"})
# Taken with what they record (record_receipt, hand_over), never as a bare step.
DETAILED_STEPS = frozenset({"receive", "hand_over"})


def require_shipper(actor: Actor, consignment: Consignment | None = None, *, doing: str | None = None) -> None:
    """The donor that owns the consignment (editor), or coordination staff (editor) on its behalf."""
    doing = doing or _("Shipping")
    if actor.is_member and actor.kind in COORDINATORS:
        require_role(actor, Role.EDITOR, kinds=COORDINATORS, doing=doing)
    elif consignment is None:
        require_role(actor, Role.EDITOR, kinds=DONOR_KINDS, doing=doing)
    else:
        require_owner(actor, consignment, Role.EDITOR, doing=doing)


def require_receiver(actor: Actor, *, doing: str | None = None) -> None:
    require_role(actor, Role.EDITOR, kinds=RECIPIENTS, doing=doing or _("Receiving"))


def require_step_party(actor: Actor, consignment: Consignment, step: str) -> None:
    label = str(CONSIGNMENT_LIFECYCLE.steps[step].label)
    if step in RECIPIENT_STEPS:
        require_receiver(actor, doing=label)
    else:
        require_shipper(actor, consignment, doing=label)


def _lifecycle_step(actor: Actor, consignment: Consignment, step: str):
    return CONSIGNMENT_LIFECYCLE.step(step, consignment, may=lambda name: allowed(require_step_party, actor, consignment, name))


def _locked(actor: Actor, consignment_id: int) -> Consignment:
    return get_visible(Consignment.objects.select_for_update().select_related("owner"), actor, pk=consignment_id)


def _text_list(values: Iterable[Any] | None) -> list[str]:
    return [str(value).strip() for value in (values or []) if str(value).strip()]


# --- creating ---------------------------------------------------------------------------------------------


def create_consignment(
    *,
    actor: Actor,
    fields: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]],
    legs: Sequence[Mapping[str, Any]] = (),
) -> Consignment:
    """Plan a consignment of parts of approved allocations of one donor, with its legs. Owned by that donor,
    whether the donor or coordination staff plan it. Every problem with the lines is reported at once."""
    with services.atomic():
        require_shipper(actor, doing=_("Planning a consignment"))
        values = services.writable(fields, CONSIGNMENT_FIELDS)
        if not lines:
            raise Invalid({"lines": [_("A consignment carries at least one line.")]})
        allocations = _allocations(actor, lines)
        donors = {allocation.pledge.owner_id for allocation in allocations.values()}
        problems: dict[str, list[str]] = {}
        if len(donors) > 1:
            problems["lines"] = [_("A consignment carries allocations of one donor only.")]
        owner = next(iter(allocations.values())).pledge.owner if allocations else None
        if owner is not None and actor.is_member and actor.kind not in COORDINATORS and owner.pk != actor.organization.pk:
            raise deny(actor, _("A donor ships its own allocations only."), owner=owner.pk)
        consignment = Consignment(owner=owner, **values) if owner is not None else None
        if problems:
            raise Invalid(problems)
        consignment = services.create_record(actor=actor, obj=consignment)
        _add_lines(actor, consignment, lines, allocations)
        for leg in legs:
            _add_leg(actor, consignment, leg)
        return consignment


def _allocation_id(value: Any) -> Any:
    return value.pk if isinstance(value, Allocation) else value


def _allocations(actor: Actor, lines: Sequence[Mapping[str, Any]]) -> dict[int, Allocation]:
    """The allocations the lines name, locked, each active and visible to the actor; Invalid naming each line that fails."""
    wanted = {_allocation_id(line.get("allocation")) for line in lines}
    ids = {value for value in wanted if isinstance(value, int) and 0 < value < 2**63}  # beyond a database's integer: none
    found = {
        allocation.pk: allocation
        for allocation in Allocation.objects.visible_to(actor)
        .select_for_update()
        .filter(pk__in=ids)
        .select_related("pledge__owner", "pledge__item_type")
    }
    problems: dict[str, list[str]] = {}
    for index, line in enumerate(lines):
        allocation = found.get(_allocation_id(line.get("allocation")))
        if allocation is None:
            problems[f"lines[{index}].allocation"] = [_("No such allocation.")]
        elif allocation.state != AllocationState.ACTIVE:
            problems[f"lines[{index}].allocation"] = [_("This allocation was released; it ships nothing.")]
    if problems:
        raise Invalid(problems)
    return found


def shipped_of(allocation_ids: Iterable[int], *, excluding: int | None = None) -> dict[int, int]:
    """Units each allocation has on live consignments (planned ones included: they are spoken for)."""
    totals: dict[int, int] = defaultdict(int)
    lines = ConsignmentLine.objects.filter(allocation_id__in=list(allocation_ids), consignment__state__in=LIVE_STATES)
    if excluding is not None:
        lines = lines.exclude(pk=excluding)
    for allocation_id, quantity in lines.values_list("allocation_id", "quantity"):
        totals[allocation_id] += quantity
    return totals


def serials_in_use(item_type_id: int) -> set[str]:
    """Serials already on live lines of this item type: one serial is one unit, on one line at a time."""
    used: set[str] = set()
    lines = ConsignmentLine.objects.filter(
        allocation__pledge__item_type_id=item_type_id, consignment__state__in=LIVE_STATES
    ).values_list("serials", flat=True)
    for serials in lines:
        used.update(serials or [])
    return used


def _add_lines(
    actor: Actor, consignment: Consignment, lines: Sequence[Mapping[str, Any]], allocations: dict[int, Allocation]
) -> list[ConsignmentLine]:
    shipped = shipped_of(allocations)
    problems: dict[str, list[str]] = {}
    taken: dict[int, set[str]] = defaultdict(set)
    built = []
    for index, line in enumerate(lines):
        values = services.writable(line, LINE_FIELDS)
        allocation = allocations[_allocation_id(values["allocation"])]
        item = allocation.pledge.item_type
        quantity = values.get("quantity")
        serials, lots = _text_list(values.get("serials")), _text_list(values.get("lots"))
        field = f"lines[{index}]"
        if not isinstance(quantity, int) or quantity < 1:
            problems[f"{field}.quantity"] = [_("Give a whole number of units, at least 1.")]
            continue
        left = allocation.quantity - shipped[allocation.pk]
        if quantity > left:
            problems[f"{field}.quantity"] = [
                _("This allocation has %(left)s left to ship; %(quantity)s is more.")
                % {"left": f"{max(left, Decimal(0)).normalize():f}", "quantity": quantity}
            ]
        shipped[allocation.pk] += quantity
        serial_problems = _serial_problems(item, quantity, serials, taken)
        if serial_problems:
            problems[f"{field}.serials"] = serial_problems
        if lots and not item.bulk:
            problems[f"{field}.lots"] = [_("Lot numbers are given for ammunition and other bulk supply only.")]
        built.append(
            ConsignmentLine(consignment=consignment, allocation=allocation, quantity=quantity, serials=serials, lots=lots)
        )
    if problems:
        raise Invalid(problems)
    return [services.create_record(actor=actor, obj=line) for line in built]


def _serial_problems(item, quantity: int, serials: list[str], taken: dict[int, set[str]]) -> list[str]:
    """A serial-tracked item needs one serial per unit, each new among live lines of its item type."""
    if not item.sensitive:
        return [_("This item type is not serial-tracked; give no serial numbers.")] if serials else []
    problems = []
    if len(serials) != quantity:
        problems.append(
            _("%(item)s is serial-tracked: give one serial number per unit (%(quantity)s), not %(count)s.")
            % {"item": item.name, "quantity": quantity, "count": len(serials)}
        )
    repeated = sorted(serial for serial, count in Counter(serials).items() if count > 1)
    if repeated:
        problems.append(_("Serial numbers given twice: %(serials)s.") % {"serials": ", ".join(repeated)})
    if item.pk not in taken:
        taken[item.pk] = serials_in_use(item.pk)
    clashing = sorted(set(serials) & taken[item.pk])
    if clashing:
        problems.append(
            _("Serial numbers already on another consignment of this item type: %(serials)s.") % {"serials": ", ".join(clashing)}
        )
    taken[item.pk].update(serials)
    return problems


# --- manifests: lines a file gives, checked row by row, written once each ----------------------------------


@dataclass
class DraftLine:
    """One line as the rows of a manifest give it: a new line, or one the consignment has (`recorded`), whose rows
    in the file give its whole content (quantity, serials, lots). `shown` is the line as the rows left it, for the
    import's report; it is saved only through `write_manifest`."""

    consignment: Consignment
    allocation: Allocation
    recorded: ConsignmentLine | None
    shown: ConsignmentLine
    quantity: int = 0
    serials: list[str] = dataclass_field(default_factory=list)
    lots: list[str] = dataclass_field(default_factory=list)
    given: set[str] = dataclass_field(default_factory=set)  # its serials, to find one given twice without a scan
    frozen: bool = False  # a line of a consignment no longer planned: its rows were checked, it never changes

    @property
    def changed(self) -> bool:
        """Whether writing it would change anything: rows in another order (a sorted spreadsheet) do not."""
        if self.frozen:
            return False
        if self.recorded is None:
            return True
        return (self.quantity, sorted(self.serials), sorted(self.lots)) != (
            self.recorded.quantity,
            sorted(self.recorded.serials),
            sorted(self.recorded.lots),
        )


class ManifestDraft:
    """The lines of a manifest, checked one row at a time with the rules of planning a consignment, against what
    is recorded and what earlier rows of the file gave; nothing is written until `write_manifest`, which writes
    each line once (one ledger entry), however many rows gave it. Each check reads what it needs once per file
    (the lines of a consignment, what an allocation has on live consignments, the serials of an item type in
    use), so a file of n rows costs n checks, not n times the line it grows."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.lines: dict[Any, DraftLine] = {}
        self._recorded: dict[int, dict[int, ConsignmentLine]] = {}
        self._shipper_refusal: dict[int, str | None] = {}
        self._shipped: dict[int, Decimal] = {}
        self._serial_owner: dict[int, dict[str, Any]] = {}
        self._carried_serials: dict[int, frozenset[str]] = {}

    def recorded_line(self, consignment: Consignment, line_id: int) -> ConsignmentLine | None:
        """The line of this consignment with this id, or None."""
        if consignment.pk not in self._recorded:
            lines = ConsignmentLine.objects.visible_to(self.actor).filter(consignment=consignment).order_by("id")
            self._recorded[consignment.pk] = {line.pk: line for line in lines}
        return self._recorded[consignment.pk].get(line_id)

    def add_row(
        self,
        *,
        key: Any,
        consignment: Consignment,
        allocation: Allocation,
        line: ConsignmentLine | None,
        quantity: int,
        serials: Sequence[str] = (),
        lots: Sequence[str] = (),
    ) -> DraftLine:
        """Check one row of the line `key` names (the recorded `line` it updates, or None for a new one) and add it
        to that line; Invalid with every problem of the row (fields consignment, allocation, quantity, serials,
        lots), and then the row counts for nothing. A row of a consignment no longer planned must say what its
        line records: it changes nothing."""
        refusal = self._refusal(consignment)
        if refusal is not None:
            raise Invalid({"consignment": [refusal]})
        serials, lots = _text_list(serials), _text_list(lots)
        drafted = self.lines.get(key)
        problems: dict[str, list[str]] = {}
        if allocation.pledge.owner_id != consignment.owner_id:
            problems["allocation"] = [
                _("This allocation is of another donor; a consignment carries allocations of one donor only.")
            ]
        elif line is not None and line.allocation_id != allocation.pk:
            problems["allocation"] = [
                _("The line with id %(id)s ships allocation %(line)s, not %(allocation)s.")
                % {"id": line.pk, "line": line.allocation_id, "allocation": allocation.pk}
            ]
        elif drafted is not None and drafted.allocation.pk != allocation.pk:
            problems["allocation"] = [
                _("This line ships allocation %(line)s, not %(allocation)s.")
                % {"line": drafted.allocation.pk, "allocation": allocation.pk}
            ]
        if not isinstance(quantity, int) or quantity < 1:
            raise Invalid({**problems, "quantity": [_("Give a whole number of units, at least 1.")]})
        if consignment.state != ConsignmentState.PLANNED:
            if line is None:
                raise Invalid({"consignment": [_not_planned(consignment)]})
            problems.update(_differences_from(line, self._carried(line), consignment, quantity, serials, lots))
            if problems:
                raise Invalid(problems)
            draft = self._draft(key, consignment, allocation, line)
            draft.frozen = True
            return draft
        item = allocation.pledge.item_type
        if allocation.state != AllocationState.ACTIVE and line is None:
            problems["allocation"] = [_("This allocation was released; it ships nothing.")]
        shipped = self._shipped_now(allocation, line if drafted is None else None)
        left = allocation.quantity - shipped
        if quantity > left:
            problems["quantity"] = [
                _("This allocation has %(left)s left to ship; %(quantity)s is more.")
                % {"left": f"{max(left, Decimal(0)).normalize():f}", "quantity": quantity}
            ]
        owners = self._owners(item)
        serial_problems = _serial_problems(item, quantity, serials, {item.pk: set()})
        clashing = sorted({serial for serial in serials if owners.get(serial, key) != key})
        twice = sorted({serial for serial in serials if drafted is not None and serial in drafted.given})
        if twice and item.sensitive:
            serial_problems.append(_("Serial numbers given twice: %(serials)s.") % {"serials": ", ".join(twice)})
        if clashing and item.sensitive:
            serial_problems.append(
                _("Serial numbers already on another consignment of this item type: %(serials)s.")
                % {"serials": ", ".join(clashing)}
            )
        if serial_problems:
            problems["serials"] = serial_problems
        if lots and not item.bulk:
            problems["lots"] = [_("Lot numbers are given for ammunition and other bulk supply only.")]
        if problems:
            raise Invalid(problems)
        draft = self._draft(key, consignment, allocation, line)
        if drafted is None and line is not None:
            self._shipped[allocation.pk] -= line.quantity  # its rows give it again
        self._shipped[allocation.pk] += quantity
        draft.quantity += quantity
        draft.serials.extend(serials)
        draft.given.update(serials)
        draft.lots.extend(lot for lot in dict.fromkeys(lots) if lot not in draft.lots)
        for serial in serials:
            owners[serial] = key
        draft.shown.quantity, draft.shown.serials, draft.shown.lots = draft.quantity, draft.serials, draft.lots
        return draft

    def _draft(self, key: Any, consignment: Consignment, allocation: Allocation, line: ConsignmentLine | None) -> DraftLine:
        if key not in self.lines:
            shown = ConsignmentLine(consignment=consignment, allocation=allocation, quantity=0)
            if line is not None:
                shown.pk = line.pk
                shown.quantity, shown.serials, shown.lots = line.quantity, list(line.serials), list(line.lots)
            self.lines[key] = DraftLine(consignment, allocation, line, shown)
        return self.lines[key]

    def _carried(self, line: ConsignmentLine) -> frozenset[str]:
        """The serials a recorded line carries, as a set: each row of a line of thousands is checked against it."""
        if line.pk not in self._carried_serials:
            self._carried_serials[line.pk] = frozenset(line.serials)
        return self._carried_serials[line.pk]

    def _refusal(self, consignment: Consignment) -> str | None:
        if consignment.pk not in self._shipper_refusal:
            try:
                require_shipper(self.actor, consignment, doing=_("Adding to a consignment"))
            except Forbidden as refusal:
                self._shipper_refusal[consignment.pk] = refusal.message
            else:
                self._shipper_refusal[consignment.pk] = None
        return self._shipper_refusal[consignment.pk]

    def _shipped_now(self, allocation: Allocation, replaced: ConsignmentLine | None) -> Decimal:
        """Units of the allocation on live consignments as the file leaves them so far: the recorded lines no
        row gave, and the lines the rows gave; `replaced` (a recorded line this row starts) counts no more."""
        if allocation.pk not in self._shipped:
            self._shipped[allocation.pk] = Decimal(shipped_of([allocation.pk])[allocation.pk])
        return self._shipped[allocation.pk] - (replaced.quantity if replaced is not None else 0)

    def _owners(self, item) -> dict[str, Any]:
        """Each serial of this item type on a live line: the key of the draft line that holds it (the line's id,
        as `recorded` keys are, for a line no row gave yet)."""
        if item.pk not in self._serial_owner:
            owners: dict[str, Any] = {}
            lines = ConsignmentLine.objects.filter(
                allocation__pledge__item_type_id=item.pk, consignment__state__in=LIVE_STATES
            ).values_list("pk", "serials")
            for line_id, serials in lines:
                owners.update(dict.fromkeys(serials or [], ("line", line_id)))
            self._serial_owner[item.pk] = owners
        return self._serial_owner[item.pk]


def manifest_key(line: ConsignmentLine | None, consignment: Consignment, group: Any) -> Any:
    """What names a line of a manifest: the recorded line (by its id), or the consignment and the group of rows
    of the file that make a new one (its `line` number, or its allocation)."""
    if line is not None:
        return ("line", line.pk)
    return ("new", consignment.pk, group)


def _not_planned(consignment: Consignment) -> str:
    return _("Lines are added to a planned consignment only; %(reference)s is %(state)s.") % {
        "reference": consignment.reference,
        "state": consignment.get_state_display(),
    }


def _differences_from(
    line: ConsignmentLine, carried: frozenset[str], consignment: Consignment, quantity: int, serials: list[str], lots: list[str]
) -> dict[str, list[str]]:
    """How a row of a line of a consignment no longer planned differs from what the line records (by column)."""
    where = {"reference": consignment.reference, "state": consignment.get_state_display(), "id": line.pk}
    problems: dict[str, list[str]] = {}
    if line.serials:
        foreign = [serial for serial in serials if serial not in carried]
        if foreign or quantity != len(serials):
            problems["serials"] = [
                _("%(reference)s is %(state)s, its lines no longer change: line id %(id)s does not carry %(serials)s.")
                % {**where, "serials": ", ".join(foreign) or _("these units")}
            ]
    elif quantity != line.quantity:
        problems["quantity"] = [
            _("%(reference)s is %(state)s, its lines no longer change: line id %(id)s carries %(recorded)s, not %(quantity)s.")
            % {**where, "recorded": line.quantity, "quantity": quantity}
        ]
    if not set(lots) <= set(line.lots) or (not line.serials and set(lots) != set(line.lots)):
        problems["lots"] = [
            _("%(reference)s is %(state)s, its lines no longer change: line id %(id)s carries the lots %(recorded)s.")
            % {**where, "recorded": ", ".join(line.lots) or "—"}
        ]
    return problems


def write_manifest(*, actor: Actor, draft: ManifestDraft) -> list[ConsignmentLine]:
    """Write the lines a manifest gave, each once: a new line is created, a recorded one that the rows change is
    updated (action `manifest`), one the rows give as it is writes nothing. Every line is checked again as a
    whole, under the lock of its consignment, with the rules of planning; the lines that shrink are written
    before those that grow or are new, so units and serials they give up are free for the others."""
    with services.atomic():
        changed = [line for line in draft.lines.values() if line.changed]
        locked: dict[int, Consignment] = {}
        for line in changed:
            if line.consignment.pk not in locked:
                consignment = _locked(actor, line.consignment.pk)
                require_shipper(actor, consignment, doing=_("Adding to a consignment"))
                if consignment.state != ConsignmentState.PLANNED:
                    raise InvalidTransition(_not_planned(consignment), state=consignment.state)
                locked[consignment.pk] = consignment
        owners: dict[int, dict[str, int]] = {}
        written = []
        for line in sorted(changed, key=_shrinking_first):
            consignment = locked[line.consignment.pk]
            item = line.allocation.pledge.item_type
            if item.pk not in owners:
                owners[item.pk] = {}
                for line_id, serials in ConsignmentLine.objects.filter(
                    allocation__pledge__item_type_id=item.pk, consignment__state__in=LIVE_STATES
                ).values_list("pk", "serials"):
                    owners[item.pk].update(dict.fromkeys(serials or [], line_id))
            own = line.recorded.pk if line.recorded is not None else None
            problems = _whole_line_problems(line, own, owners[item.pk])
            if problems:
                raise Invalid(problems)
            if line.recorded is None:
                record = ConsignmentLine(
                    consignment=consignment,
                    allocation=line.allocation,
                    quantity=line.quantity,
                    serials=line.serials,
                    lots=line.lots,
                )
                record = services.create_record(actor=actor, obj=record)
            else:
                record = ConsignmentLine.objects.select_for_update().get(pk=line.recorded.pk)
                for serial in record.serials:
                    owners[item.pk].pop(serial, None)
                changes = {"quantity": line.quantity, "serials": line.serials, "lots": line.lots}
                record = services.update_record(
                    actor=actor, obj=record, changes=changes, expected_version=None, action="manifest"
                )
            owners[item.pk].update(dict.fromkeys(record.serials, record.pk))
            line.shown.pk = record.pk
            written.append(record)
        return written


def _shrinking_first(line: DraftLine) -> tuple[bool, int]:
    return line.recorded is None, line.quantity - (line.recorded.quantity if line.recorded is not None else 0)


def _whole_line_problems(line: DraftLine, own: int | None, owners: dict[str, int]) -> dict[str, list[str]]:
    """The rules of planning, on a line as the whole file gives it."""
    problems: dict[str, list[str]] = {}
    allocation = line.allocation
    if allocation.pledge.owner_id != line.consignment.owner_id:
        problems["allocation"] = [_("This allocation is of another donor; a consignment carries allocations of one donor only.")]
    left = allocation.quantity - shipped_of([allocation.pk], excluding=own)[allocation.pk]
    if line.quantity > left:
        problems["quantity"] = [
            _("This allocation has %(left)s left to ship; %(quantity)s is more.")
            % {"left": f"{max(left, Decimal(0)).normalize():f}", "quantity": line.quantity}
        ]
    item = allocation.pledge.item_type
    serial_problems = _serial_problems(item, line.quantity, line.serials, {item.pk: set()})
    clashing = sorted({serial for serial in line.serials if owners.get(serial, own) != own})
    if clashing:
        serial_problems.append(
            _("Serial numbers already on another consignment of this item type: %(serials)s.") % {"serials": ", ".join(clashing)}
        )
    if serial_problems:
        problems["serials"] = serial_problems
    if line.lots and not item.bulk:
        problems["lots"] = [_("Lot numbers are given for ammunition and other bulk supply only.")]
    return problems


def _place(value: Any, field: str) -> Place:
    """A place by code, name or alias (Kyiv, Kiev, Київ), or the resolver's refusal naming the closest matches."""
    if isinstance(value, Place):
        return value
    try:
        return resolve_place(str(value or "").strip())
    except ValidationError as error:
        raise Invalid({field: error.messages}) from None


def _arrived_on(consignment: Consignment) -> dt.date | None:
    return consignment.legs.aggregate(last=Max("actual_arrival"))["last"]


def _add_leg(actor: Actor, consignment: Consignment, fields: Mapping[str, Any]) -> Leg:
    values = services.writable(fields, LEG_FIELDS)
    for name in ("from_place", "to_place"):
        if name in values:
            values[name] = _place(values[name], f"legs.{name}")
    return services.create_record(actor=actor, obj=Leg(consignment=consignment, **values))


def add_leg(*, actor: Actor, consignment_id: int, expected_version: int, fields: Mapping[str, Any]) -> Leg:
    """Add a leg to a consignment not yet arrived."""
    with services.atomic():
        consignment = _locked(actor, consignment_id)
        require_shipper(actor, consignment, doing=_("Planning a leg"))
        services.check_version(consignment, expected_version)
        if consignment.state not in NOT_YET_ARRIVED:
            raise InvalidTransition(_("Legs are planned before a consignment arrives."), state=consignment.state)
        return _add_leg(actor, consignment, fields)


# --- moving along -----------------------------------------------------------------------------------------


def advance_consignment(
    *,
    actor: Actor,
    consignment_id: int,
    step: str,
    expected_version: int,
    on: dt.date | None = None,
    reason: str | None = None,
) -> Consignment:
    """Dispatch, reach or leave a hub, arrive or cancel. `on` is the day it happened (today when not given), kept
    as the actual departure or arrival of the leg it ends or starts. Cancelling asks a reason."""
    if step in DETAILED_STEPS:
        raise InvalidTransition(_("A receipt and a handover are recorded with what they record, not as a bare step."), step=step)
    with services.atomic():
        consignment = _locked(actor, consignment_id)
        target = _lifecycle_step(actor, consignment, step).target
        require_step_party(actor, consignment, step)
        services.check_version(consignment, expected_version)
        changes: dict[str, Any] = {"state": target}
        if step == "cancel":
            changes["cancel_reason"] = pledges.given_reason(reason, required=True)
        elif reason is not None and reason.strip():
            raise Invalid({"reason": [_("Only a cancellation records a reason.")]})
        _record_leg_dates(actor, consignment, step, on or timezone.localdate())
        consignment = services.update_record(
            actor=actor, obj=consignment, changes=changes, expected_version=expected_version, action=step
        )
        _follow(actor, consignment)
        return consignment


def _record_leg_dates(actor: Actor, consignment: Consignment, step: str, day: dt.date) -> None:
    """The day a step happened, on the leg it concerns: departures start legs, arrivals end them."""
    legs = list(consignment.legs.order_by("id"))
    if step in ("dispatch", "leave_hub"):
        leg = next((leg for leg in legs if leg.actual_departure is None), None)
        field = "actual_departure"
    elif step in ("reach_hub", "arrive"):
        leg = next((leg for leg in legs if leg.actual_arrival is None), None)
        field = "actual_arrival"
        if step == "arrive" and leg is not None:
            leg = legs[-1] if legs[-1].actual_arrival is None else None
    else:
        return
    if leg is not None:
        services.update_record(actor=actor, obj=leg, changes={field: day}, expected_version=None, action=step)


# --- receipt and handover ---------------------------------------------------------------------------------


def record_receipt(
    *,
    actor: Actor,
    consignment_id: int,
    expected_version: int,
    lines: Sequence[Mapping[str, Any]],
    received_on: dt.date | None = None,
) -> Consignment:
    """The recipient records what arrived, for every line: the quantity, the serials of serial-tracked items, and
    any discrepancy (short, damaged, wrong item, over) with a note and an evidence reference. A quantity other
    than shipped needs a discrepancy; a serial difference is kept (see `serial_differences`) and holds the
    handover until it is recorded as a discrepancy. Recorded again while received, it corrects the receipt."""
    with services.atomic():
        consignment = _locked(actor, consignment_id)
        require_receiver(actor, doing=_("Recording a receipt"))
        correcting = consignment.state == ConsignmentState.RECEIVED
        if not correcting:
            _lifecycle_step(actor, consignment, "receive")
        services.check_version(consignment, expected_version)
        own_lines = {line.pk: line for line in consignment.lines.select_related("allocation__pledge__item_type")}
        given = {_line_id(entry): entry for entry in lines}
        problems: dict[str, list[str]] = {}
        missing = sorted(set(own_lines) - set(given))
        if missing:
            problems["lines"] = [_("Record every line; missing: %(lines)s.") % {"lines": ", ".join(map(str, missing))}]
        unknown = sorted(str(key) for key in set(given) - set(own_lines))
        if unknown:
            problems["lines"] = [
                *problems.get("lines", []),
                _("Not lines of this consignment: %(lines)s.") % {"lines": ", ".join(unknown)},
            ]
        changes = {}
        for line_id, line in own_lines.items():
            if line_id in given:
                found, change = _receipt_of(line, given[line_id])
                problems.update(found)
                changes[line_id] = change
        day = received_on or timezone.localdate()
        arrived = _arrived_on(consignment)
        if arrived is not None and day < arrived:
            problems["received_on"] = [
                _("The receipt comes before the arrival (%(arrived)s).") % {"arrived": formats.date_format(arrived)}
            ]
        if problems:
            raise Invalid(problems)
        for line_id, change in changes.items():
            services.update_record(
                actor=actor,
                obj=own_lines[line_id],
                changes=change,
                expected_version=None,
                action="correct_receipt" if correcting else "receive",
            )
        consignment = services.update_record(
            actor=actor,
            obj=consignment,
            changes={"state": ConsignmentState.RECEIVED, "received_on": day},
            expected_version=expected_version,
            action="correct_receipt" if correcting else "receive",
        )
        _follow(actor, consignment)
        return consignment


def _line_id(entry: Mapping[str, Any]) -> Any:
    value = entry.get("line")
    return value.pk if isinstance(value, ConsignmentLine) else value


def _receipt_of(line: ConsignmentLine, entry: Mapping[str, Any]) -> tuple[dict[str, list[str]], dict[str, Any]]:
    field = f"lines[{line.pk}]"
    problems: dict[str, list[str]] = {}
    received = entry.get("quantity_received")
    serials = _text_list(entry.get("serials"))
    discrepancy = entry.get("discrepancy") or ""
    note = (entry.get("note") or "").strip()
    if not isinstance(received, int) or received < 0:
        problems[f"{field}.quantity_received"] = [_("Give the number of units that arrived (0 or more).")]
        received = line.quantity
    if discrepancy and discrepancy not in DiscrepancyKind.values:
        problems[f"{field}.discrepancy"] = [_("Choose short, damaged, wrong item or over.")]
    if received != line.quantity and not discrepancy:
        problems[f"{field}.discrepancy"] = [
            _("%(received)s arrived of %(shipped)s shipped: record the discrepancy (short, damaged, wrong item or over).")
            % {"received": received, "shipped": line.quantity}
        ]
    if discrepancy and not note:
        problems[f"{field}.note"] = [_("Say what went wrong; the note is kept with the receipt.")]
    item = line.allocation.pledge.item_type
    if item.sensitive and len(serials) != received:
        problems[f"{field}.serials"] = [
            _("Give the serial number of every unit that arrived (%(received)s), not %(count)s.")
            % {"received": received, "count": len(serials)}
        ]
    elif not item.sensitive and serials:
        problems[f"{field}.serials"] = [_("This item type is not serial-tracked; give no serial numbers.")]
    change = {
        "quantity_received": received,
        "received_serials": serials,
        "discrepancy": discrepancy,
        "discrepancy_note": note,
        "evidence_reference": (entry.get("evidence_reference") or "").strip(),
    }
    return problems, change


def serial_differences(consignment: Consignment) -> dict[int, dict[str, list[str]]]:
    """Every line whose received serials differ from the shipped ones: {line: {"missing": [...], "extra": [...]}}."""
    differences = {}
    for line in consignment.lines.all():
        if line.quantity_received is None:
            continue
        missing, extra = line.missing_serials, line.extra_serials
        if missing or extra:
            differences[line.pk] = {"missing": missing, "extra": extra}
    return differences


def unresolved_serial_differences(consignment: Consignment) -> dict[int, dict[str, list[str]]]:
    """The serial differences no discrepancy accounts for: they hold the handover."""
    recorded = {line.pk for line in consignment.lines.all() if line.discrepancy}
    return {line: found for line, found in serial_differences(consignment).items() if line not in recorded}


def hand_over(
    *,
    actor: Actor,
    consignment_id: int,
    expected_version: int,
    unit: str,
    place: Place | str,
    date: dt.date,
    officer_role: str,
) -> Consignment:
    """The recipient records the handover: the receiving unit, the place, the day and the handing-over officer's
    role. Title passes to the recipient here. Refused while a serial difference is unresolved."""
    with services.atomic():
        consignment = _locked(actor, consignment_id)
        _lifecycle_step(actor, consignment, "hand_over")
        require_receiver(actor, doing=_("Recording a handover"))
        services.check_version(consignment, expected_version)
        problems: dict[str, list[str]] = {}
        if not (unit or "").strip():
            problems["unit"] = [_("Name the receiving unit.")]
        if not (officer_role or "").strip():
            problems["officer_role"] = [_("Give the handing-over officer's role.")]
        try:
            handover_place = _place(place, "place")
        except Invalid as error:
            problems.update(error.field_errors)
            handover_place = None
        if date is None:
            problems["date"] = [_("Give the day of the handover.")]
        elif consignment.received_on is not None and date < consignment.received_on:
            problems["date"] = [
                _("The handover comes before the receipt (%(received)s).")
                % {"received": formats.date_format(consignment.received_on)}
            ]
        unresolved = unresolved_serial_differences(consignment)
        if unresolved:
            problems["serials"] = [_serial_difference_text(line, found) for line, found in sorted(unresolved.items())]
        if problems:
            raise Invalid(problems)
        consignment = services.update_record(
            actor=actor,
            obj=consignment,
            changes={
                "state": ConsignmentState.HANDED_OVER,
                "handover_unit": unit.strip(),
                "handover_place": handover_place,
                "handover_date": date,
                "handover_officer_role": officer_role.strip(),
            },
            expected_version=expected_version,
            action="hand_over",
        )
        _follow(actor, consignment)
        consignment_handed_over.send(sender=Consignment, actor=actor, consignment=consignment)
        return consignment


def _serial_difference_text(line: int, found: dict[str, list[str]]) -> str:
    return _(
        "Line %(line)s: serials shipped but not received: %(missing)s; received but not shipped: %(extra)s. "
        "Record them as a discrepancy before the handover."
    ) % {"line": line, "missing": ", ".join(found["missing"]) or "—", "extra": ", ".join(found["extra"]) or "—"}


# --- pledges follow -----------------------------------------------------------------------------------------


def pledge_sums(pledge_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Shipped, received and handed-over units of each pledge: sums over its live consignment lines. What
    arrived beyond what was shipped is a discrepancy (over), not more of the pledge."""
    sums: dict[int, dict[str, int]] = defaultdict(lambda: {"shipped": 0, "received": 0, "handed_over": 0})
    rows = ConsignmentLine.objects.filter(allocation__pledge_id__in=list(pledge_ids)).values_list(
        "allocation__pledge_id", "consignment__state", "quantity", "quantity_received"
    )
    for pledge_id, state, quantity, received in rows:
        counted = sums[pledge_id]
        if state in SHIPPED_STATES:
            counted["shipped"] += quantity
        if state in RECEIVED_STATES:
            counted["received"] += min(received or 0, quantity)
        if state == ConsignmentState.HANDED_OVER:
            counted["handed_over"] += min(received or 0, quantity)
    return sums


def _follow(actor: Actor, consignment: Consignment) -> None:
    pledge_ids = sorted(set(consignment.lines.values_list("allocation__pledge_id", flat=True)))
    sums = pledge_sums(pledge_ids)
    allocated = set(
        Allocation.objects.filter(pledge_id__in=pledge_ids, state=AllocationState.ACTIVE).values_list("pledge_id", flat=True)
    )
    seen = set(Pledge.objects.visible_to(actor).filter(pk__in=pledge_ids).values_list("pk", flat=True))
    for pledge_id in pledge_ids:
        # The recipient receiving a consignment of a pledge its donor keeps to itself still moves that pledge's
        # sums: the system writes them, on the same request, since the recipient may not see the pledge.
        follower = actor if pledge_id in seen else Actor.system(f"logistics-{actor.request_id}")
        pledges.follow_consignments(actor=follower, pledge_id=pledge_id, allocated=pledge_id in allocated, **sums[pledge_id])


def close_pledge_short(*, actor: Actor, pledge_id: int, expected_version: int, reason: str | None) -> Pledge:
    """The donor ends a pledge at what arrived, with a reason. Nothing of it may still be on its way (cancel or
    receive that first). Each of its allocations drops to what its consignments delivered, so the requirements
    count only that, and the next match run sees what is still missing."""
    with services.atomic():
        pledge = get_visible(Pledge.objects.select_for_update(), actor, pk=pledge_id)
        pledges.require_short_closer(actor, pledge)
        travelling = (
            Consignment.objects.filter(lines__allocation__pledge=pledge, state__in=[*NOT_YET_ARRIVED, ConsignmentState.ARRIVED])
            .distinct()
            .order_by("id")
        )
        on_the_way = [consignment.reference for consignment in travelling]
        if on_the_way:
            raise InvalidTransition(
                _("Part of this pledge is still on its way (%(consignments)s): receive or cancel it before closing short.")
                % {"consignments": ", ".join(on_the_way)},
                state=pledge.state,
            )
        pledge = pledges.close_short(actor=actor, pledge_id=pledge_id, expected_version=expected_version, reason=reason)
        delivered: dict[int, int] = defaultdict(int)
        received_lines = ConsignmentLine.objects.filter(allocation__pledge=pledge, consignment__state__in=RECEIVED_STATES)
        for allocation_id, quantity, received in received_lines.values_list("allocation_id", "quantity", "quantity_received"):
            delivered[allocation_id] += min(received or 0, quantity)
        for allocation in Allocation.objects.filter(pledge=pledge, state=AllocationState.ACTIVE).order_by("id"):
            matching.shrink_to_delivered(
                actor=actor, allocation=allocation, delivered=Decimal(delivered[allocation.pk]), reason=pledge.closing_reason
            )
        return pledge

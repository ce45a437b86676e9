"""Every write to pledges and their sources.

A donor (editor role) announces, offers, ships and may withdraw its own pledges; coordination staff
(approver role) accept, allocate or mark them expired; the recipient (editor role) confirms delivery and
handover. Illegal steps raise InvalidTransition; steps by the wrong party raise Forbidden. Withdrawal and
expiry need a reason, kept on the pledge (so in the step's ledger entry), and release what was allocated
from the pledge (`signals.pledge_closed`, heard by umbrella.matching).

Once a consignment ships part of a pledge (umbrella.logistics), the consignments drive its delivery: what was
shipped, received and handed over are their sums (`follow_consignments`), and the pledge is partly delivered
until all of it arrives. The donor may then close it short (`close_short`, through umbrella.logistics).

Sources are evidence: the organization that added one removes it; coordination staff may remove anyone's,
giving a reason that the ledger keeps.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from umbrella.catalog.models import ItemType
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
from umbrella.core.errors import Conflict, DomainError, Invalid, InvalidTransition, NotFound
from umbrella.funding.rates import rate_and_date_on
from umbrella.orgs.models import Organization
from umbrella.places.models import Place
from umbrella.places.services import resolve_places_field, split_place_names
from umbrella.pledges.models import (
    CLOSING_STEPS,
    DELIVERY_STATES,
    EDITABLE_STATES,
    PLEDGE_LIFECYCLE,
    REASON_MAX_LENGTH,
    AidPackage,
    AidPackageSource,
    Pledge,
    PledgeDestination,
    PledgePayer,
    PledgeSource,
    PledgeState,
    PledgeTranche,
)
from umbrella.pledges.signals import pledge_closed
from umbrella.pledges.valuation import undisclosed_shares

DONORS = DONOR_KINDS
PLEDGE_FIELDS = frozenset(
    {
        "item_type",
        "quantity",
        "available_from",
        "value_eur",
        "valuation_basis",
        "end_use_restrictions",
        "allowed_destinations",
        "retransfer_requires_consent",
        "reference",
        "notes",
        "marking",
        "aid_package",
        "instrument",
        "supplier",
        "origin",
        "payers",
    }
)
AID_PACKAGE_FIELDS = frozenset({"reference", "announced_on", "announced_amount", "currency", "fx_date", "notes", "marking"})
# A tranche is due within this many years of the pledge's availability date; a date further out is a typing error.
TRANCHE_HORIZON_YEARS = 10
SOURCE_FIELDS = frozenset({"kind", "url", "document_reference", "date", "note"})
OWNER = "owner"
STEP_PARTY: dict[str, tuple[str | frozenset[str], str]] = {
    "offer": (OWNER, Role.EDITOR),
    "ship": (OWNER, Role.EDITOR),
    "withdraw": (OWNER, Role.EDITOR),
    "accept": (frozenset({OrganizationKind.COORDINATOR}), Role.APPROVER),
    "allocate": (frozenset({OrganizationKind.COORDINATOR}), Role.APPROVER),
    "release": (frozenset({OrganizationKind.COORDINATOR}), Role.APPROVER),
    "expire": (frozenset({OrganizationKind.COORDINATOR}), Role.APPROVER),
    "deliver": (frozenset({OrganizationKind.RECIPIENT}), Role.EDITOR),
    "hand_over": (frozenset({OrganizationKind.RECIPIENT}), Role.EDITOR),
}
# Taken only when allocations are approved or released (umbrella.matching), so a pledge is allocated
# exactly when it has an allocation.
ALLOCATION_STEPS = frozenset({"allocate", "release"})
# The one-flag steps of a pledge no consignment has shipped yet; once one has, the consignments drive it.
MANUAL_DELIVERY_STEPS = frozenset({"ship", "deliver", "hand_over"})
# What needs the pledge's quantity: an undisclosed quantity can be accepted, but not allocated or moved.
STEPS_NEEDING_QUANTITY = ALLOCATION_STEPS | MANUAL_DELIVERY_STEPS
UNDISCLOSED_REFUSAL = gettext_lazy(
    "The quantity of this pledge is undisclosed: it cannot be matched, allocated or shipped until its donor gives it."
)
SOURCE_KEEPERS = frozenset({OrganizationKind.COORDINATOR, OrganizationKind.RECIPIENT})
COORDINATORS = frozenset({OrganizationKind.COORDINATOR})


def _default_value(values: dict[str, Any]) -> None:
    item_type = values.get("item_type")
    if values.get("value_eur") is None and isinstance(item_type, ItemType) and values.get("quantity"):
        values["value_eur"] = item_type.unit_value_eur * values["quantity"]
        values.setdefault("valuation_basis", item_type.valuation_basis)


def _add_source(actor: Actor, pledge: Pledge, fields: Mapping[str, Any]) -> PledgeSource:
    values = services.writable(fields, SOURCE_FIELDS)
    source = services.new(PledgeSource, pledge=pledge, added_by=actor.organization, **values)
    return services.create_record(actor=actor, obj=source)


def given_reason(reason: str | None, *, required: bool) -> str:
    """The reason as kept (trimmed), or Invalid on the `reason` field: missing when required, or too long."""
    text = (reason or "").strip()
    if required and not text:
        raise Invalid({"reason": [_("Give a reason; it is kept in the ledger.")]})
    if len(text) > REASON_MAX_LENGTH:
        raise Invalid(
            {
                "reason": [
                    _("Keep the reason within %(limit)s characters (it has %(length)s).")
                    % {"limit": REASON_MAX_LENGTH, "length": len(text)}
                ]
            }
        )
    if "\x00" in text:
        raise Invalid({"reason": [_("Text must not contain NUL characters.")]})
    return text


def create_pledge(*, actor: Actor, fields: Mapping[str, Any], sources: Sequence[Mapping[str, Any]]) -> Pledge:
    """Announce a pledge owned by the actor's organization, with at least one source."""
    with services.atomic():
        require_donor_editor(actor)
        if not sources:
            raise Invalid({"sources": [_("A pledge needs at least one source (a URL or a document reference).")]})
        values = services.writable(fields, PLEDGE_FIELDS)
        destinations = _destinations(actor, values)
        owner = services.acting_organization(actor)
        _check_aid_package_line(values.get("quantity"), values.get("aid_package"), owner)
        payers = _payers(values)
        _organization(values, "supplier")
        _default_value(values)
        if values.get("quantity") is None:
            values["value_eur"] = Decimal(0)  # shared out of the aid package's announced value below
        pledge = services.new(Pledge, owner=owner, **values)
        services.create_record(actor=actor, obj=pledge)
        for source in sources:
            _add_source(actor, pledge, source)
        for place in destinations or ():
            services.create_record(actor=actor, obj=PledgeDestination(pledge=pledge, place=place))
        for organization, share in payers or ():
            services.create_record(actor=actor, obj=PledgePayer(pledge=pledge, organization=organization, share=share))
        if pledge.aid_package_id:
            share_out_aid_package(actor, pledge.aid_package_id)
            pledge.refresh_from_db()
        return pledge


def _check_aid_package_line(quantity: int | None, aid_package: AidPackage | None, owner) -> None:
    """A pledge joins an aid package of its own donor, and only a line of an aid package may keep its quantity
    undisclosed (its value comes from the announcement); every problem at once."""
    problems: dict[str, list[str]] = {}
    if quantity is None and aid_package is None:
        problems["quantity"] = [_("Give the quantity; only a line of an aid package may leave it undisclosed.")]
    if aid_package is not None and aid_package.owner_id != owner.pk:
        problems["aid_package"] = [_("A pledge joins an aid package its own donor announced.")]
    if problems:
        raise Invalid(problems)


def _destinations(actor: Actor, values: dict[str, Any]) -> list[Place] | None:
    """The allowed destinations given (places, or texts naming them; None: not given), taken out of `values`."""
    if "allowed_destinations" not in values:
        return None
    given = values.pop("allowed_destinations")
    if isinstance(given, str):
        given = split_place_names(given)
    named = {"allowed_destinations": list(given or [])}
    resolve_places_field(named, "allowed_destinations", actor)
    return named["allowed_destinations"]


def _set_destinations(actor: Actor, pledge: Pledge, places: list[Place]) -> None:
    """Make the pledge's links name exactly `places`: each link removed or added is a ledgered write."""
    links = list(pledge.destination_links.select_related("place"))
    wanted = {place.pk for place in places}
    have = {link.place_id for link in links}
    for link in links:
        if link.place_id not in wanted:
            services.delete_record(actor=actor, obj=link, expected_version=None)
    for place in places:
        if place.pk not in have:
            services.create_record(actor=actor, obj=PledgeDestination(pledge=pledge, place=place))


def _organization(values: dict[str, Any], name: str) -> None:
    """An organization given by its code (a form's or an import's text) becomes the organization, or Invalid."""
    given = values.get(name)
    if isinstance(given, str):
        code = given.strip().upper()
        found = Organization.objects.filter(code=code).first() if code else None
        if code and found is None:
            raise Invalid({name: [_("No organization has the code %(code)s.") % {"code": code}]})
        values[name] = found


def parse_payers(text: str) -> list[tuple[str, str]]:
    """Payers written as text, one per line or separated by ';': an organization code and its share, such as
    "NLD 0.6; DEU 0.4". Empty: the donor pays all of it."""
    return [
        tuple(part.split(None, 1)) if len(part.split(None, 1)) == 2 else (part, "")
        for part in (piece.strip() for piece in re.split(r"[;\n]", text))
        if part
    ]


def payers_text(pledge: Pledge) -> str:
    """The payers as `parse_payers` reads them (empty when the donor pays all of it)."""
    return "; ".join(f"{payer.organization.code} {payer.share.normalize():f}" for payer in pledge.payers.all())


def _payers(values: dict[str, Any]) -> list[tuple[Organization, Decimal]] | None:
    """The payers given, taken out of `values` (None: not given; empty: the donor pays all of it), as organizations
    and shares. Every problem at once: an unknown code, a payer twice, a share that is not a number above 0 and at
    most 1 with at most four decimals, shares not adding up to exactly 1."""
    if "payers" not in values:
        return None
    given = values.pop("payers") or []
    if isinstance(given, str):
        given = parse_payers(given)
    pairs = [(p["organization"], p["share"]) if isinstance(p, Mapping) else tuple(p) for p in given]
    codes = [org.code if isinstance(org, Organization) else str(org).strip().upper() for org, _share in pairs]
    known = {org.code: org for org in Organization.objects.filter(code__in=codes)}
    problems = []
    unknown = [code for code in codes if code not in known]
    if unknown:
        problems.append(_("No organization has the code %(codes)s.") % {"codes": ", ".join(unknown)})
    twice = sorted({code for code in codes if codes.count(code) > 1})
    if twice:
        problems.append(_("Name each payer once: %(codes)s.") % {"codes": ", ".join(twice)})
    shares = []
    for code, (_org, share) in zip(codes, pairs, strict=True):
        try:
            number = Decimal(str(share).strip())
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or not Decimal(0) < number <= 1 or number.as_tuple().exponent < -4:
            problems.append(
                _("The share of %(code)s must be a number above 0 and at most 1, with at most four decimals (it is %(share)s).")
                % {"code": code, "share": share}
            )
        shares.append(number)
    if shares and None not in shares and sum(shares) != 1:
        problems.append(_("The payers' shares add up to %(total)s; they must add up to exactly 1.") % {"total": sum(shares)})
    if problems:
        raise Invalid({"payers": problems})
    return [(known[code], share) for code, share in zip(codes, shares, strict=True)]


def _set_payers(actor: Actor, pledge: Pledge, payers: list[tuple[Organization, Decimal]]) -> None:
    """Make the pledge's payers exactly `payers`: each one removed, changed or added is a ledgered write."""
    wanted = {org.pk: share for org, share in payers}
    kept = set()
    for payer in list(pledge.payers.all()):
        if payer.organization_id not in wanted:
            services.delete_record(actor=actor, obj=payer, expected_version=None)
            continue
        kept.add(payer.organization_id)
        if payer.share != wanted[payer.organization_id]:
            services.update_record(
                actor=actor, obj=payer, changes={"share": wanted[payer.organization_id]}, expected_version=None
            )
    for org, share in payers:
        if org.pk not in kept:
            services.create_record(actor=actor, obj=PledgePayer(pledge=pledge, organization=org, share=share))


def _locked_pledge(actor: Actor, pledge_id: int) -> Pledge:
    return get_visible(Pledge.objects.select_for_update().select_related("item_type"), actor, pk=pledge_id)


PLEDGING = gettext_lazy("Pledging")  # translated when a refusal says it, not for every row an import checks


def require_donor_editor(actor: Actor) -> None:
    require_role(actor, Role.EDITOR, kinds=DONORS, doing=PLEDGING)


def require_pledge_editor(actor: Actor, pledge: Pledge) -> None:
    require_owner(actor, pledge, Role.EDITOR, doing=_("Editing a pledge"))
    if pledge.state not in EDITABLE_STATES:
        raise InvalidTransition(
            _("A pledge that is %(state)s can no longer be edited.") % {"state": pledge.get_state_display()}, state=pledge.state
        )


def update_pledge(*, actor: Actor, pledge_id: int, expected_version: int, changes: Mapping[str, Any]) -> Pledge:
    with services.atomic():
        pledge = _locked_pledge(actor, pledge_id)
        require_pledge_editor(actor, pledge)
        values = services.writable(changes, PLEDGE_FIELDS)
        destinations = _destinations(actor, values)
        payers = _payers(values)
        _organization(values, "supplier")
        services.check_version(pledge, expected_version)
        quantity = values.get("quantity", pledge.quantity)
        _check_aid_package_line(quantity, values.get("aid_package", pledge.aid_package), pledge.owner)
        if quantity is None:
            values.pop("value_eur", None)  # an undisclosed line is valued from its aid package
        elif pledge.quantity is None and values.get("value_eur") is None:  # disclosed now: valued as any pledge
            values["value_eur"] = values.get("item_type", pledge.item_type).unit_value_eur * quantity
        if destinations is not None:  # the pledge's version moves on below, so an ETag sees a changed condition
            _set_destinations(actor, pledge, destinations)
        if payers is not None:
            _set_payers(actor, pledge, payers)
        packages = {pledge.aid_package_id}
        pledge = services.update_record(actor=actor, obj=pledge, changes=values, expected_version=expected_version)
        packages.add(pledge.aid_package_id)
        for aid_package_id in sorted(filter(None, packages)):
            share_out_aid_package(actor, aid_package_id)
        pledge.refresh_from_db()
        return pledge


def delete_pledge(*, actor: Actor, pledge_id: int, expected_version: int) -> None:
    """Only an announced pledge is deleted (a mistake); later, a pledge is withdrawn so its history stays."""
    with services.atomic():
        pledge = _locked_pledge(actor, pledge_id)
        require_owner(actor, pledge, Role.EDITOR, doing=_("Deleting a pledge"))
        if pledge.state != PledgeState.ANNOUNCED:
            raise InvalidTransition(_("Only an announced pledge can be deleted; withdraw it instead."), state=pledge.state)
        services.check_version(pledge, expected_version)
        for source in pledge.sources.all():
            services.delete_record(actor=actor, obj=source, expected_version=None)
        for link in (*pledge.destination_links.all(), *pledge.payers.all()):
            services.delete_record(actor=actor, obj=link, expected_version=None)
        for tranche in pledge.tranches.all():
            services.delete_record(actor=actor, obj=tranche, expected_version=None)
        services.delete_record(actor=actor, obj=pledge, expected_version=expected_version)
        if pledge.aid_package_id:
            share_out_aid_package(actor, pledge.aid_package_id)


def require_step_party(actor: Actor, pledge: Pledge, step: str) -> None:
    party, role = STEP_PARTY[step]
    label = PLEDGE_LIFECYCLE.steps[step].label
    if party == OWNER:
        require_owner(actor, pledge, role, doing=str(label))
    else:
        require_role(actor, role, kinds=party, doing=str(label))


def _taken_by_matching(step: str) -> InvalidTransition:
    return InvalidTransition(
        _("A pledge is allocated by approving a match run, and released when its allocations are."), step=step
    )


def _lifecycle_step(actor: Actor, pledge: Pledge, step: str):
    """The step from the pledge's state; a refusal names the steps this actor could take instead."""
    return PLEDGE_LIFECYCLE.step(
        step, pledge, may=lambda name: name not in ALLOCATION_STEPS and allowed(require_step_party, actor, pledge, name)
    )


def require_step(actor: Actor, pledge: Pledge, step: str) -> None:
    """Whether the actor may take `step` on the pledge now, as advance_pledge decides before the step's details."""
    if step in ALLOCATION_STEPS:
        raise _taken_by_matching(step)
    _lifecycle_step(actor, pledge, step)
    require_step_party(actor, pledge, step)
    if step in STEPS_NEEDING_QUANTITY and not pledge.quantity_disclosed:
        raise InvalidTransition(str(UNDISCLOSED_REFUSAL), step=step, state=pledge.state)


def advance_pledge(
    *,
    actor: Actor,
    pledge_id: int,
    step: str,
    expected_version: int,
    quantity_delivered: int | None = None,
    reason: str | None = None,
) -> Pledge:
    """Move a pledge one step along its lifecycle. `deliver` records the quantity that arrived; `withdraw` and
    `expire` need a reason, and release the pledge's allocations in the same transaction."""
    if step in ALLOCATION_STEPS:
        raise _taken_by_matching(step)
    return _advance(
        actor=actor,
        manual=True,
        pledge_id=pledge_id,
        step=step,
        expected_version=expected_version,
        quantity_delivered=quantity_delivered,
        reason=reason,
    )


def record_allocation_step(*, actor: Actor, pledge_id: int, step: str) -> Pledge:
    """For umbrella.matching only: allocate a pledge whose first allocation was approved, or release one whose
    last allocation was released. Runs inside the caller's transaction, which holds the pledge's lock."""
    if step not in ALLOCATION_STEPS:
        raise InvalidTransition(_("%(step)s is not an allocation step.") % {"step": repr(step)}, step=step)
    pledge = Pledge.objects.get(pk=pledge_id)
    return _advance(actor=actor, pledge_id=pledge_id, step=step, expected_version=pledge.version)


def _advance(
    *,
    actor: Actor,
    pledge_id: int,
    step: str,
    expected_version: int,
    quantity_delivered: int | None = None,
    reason: str | None = None,
    manual: bool = False,
) -> Pledge:
    with services.atomic():
        pledge = _locked_pledge(actor, pledge_id)
        changes = _checked_step(actor, pledge, step, quantity_delivered, reason, manual=manual)
        pledge = services.update_record(actor=actor, obj=pledge, changes=changes, expected_version=expected_version, action=step)
        _announce_closing(actor, [pledge], step)
        return pledge


def advance_pledges(*, actor: Actor, versions: Mapping[int, int], step: str, reason: str | None = None) -> list[Pledge]:
    """The same step for many pledges at once (pledge id → the version the actor read), all or none: a
    coordinator accepting a morning's offers, a donor offering what it announced. Each pledge is checked as
    `advance_pledge` checks it, every refusal is reported at once, and the ledger gets one entry per pledge.
    A delivery records each pledge's whole quantity."""
    if step in ALLOCATION_STEPS:
        raise _taken_by_matching(step)
    with services.atomic():
        found = _locked_pledges(actor, sorted(versions))
        updates, problems = [], []
        for pledge_id, expected_version in sorted(versions.items()):
            pledge = found.get(pledge_id)
            try:
                if pledge is None:
                    raise NotFound(_("No pledge matches."), lookup={"pk": pledge_id})
                services.check_version(pledge, expected_version)
                updates.append((pledge, _checked_step(actor, pledge, step, None, reason, manual=True), expected_version))
            except DomainError as refusal:
                problems.append(f"{_pledge_label(pledge, pledge_id)}: {_refusal_text(refusal)}")
        if problems:
            raise Invalid({"pledges": problems})
        advanced = services.update_records(actor=actor, updates=updates, action=step)
        _announce_closing(actor, advanced, step)
        return advanced


LOCKED_AT_ONCE = 500  # ids in one statement, well inside every database's limit on parameters


def _locked_pledges(actor: Actor, pledge_ids: Sequence[int]) -> dict[int, Pledge]:
    found: dict[int, Pledge] = {}
    for start in range(0, len(pledge_ids), LOCKED_AT_ONCE):
        chunk = pledge_ids[start : start + LOCKED_AT_ONCE]
        locked = Pledge.objects.select_for_update().select_related("item_type", "owner").visible_to(actor).filter(pk__in=chunk)
        found.update((pledge.pk, pledge) for pledge in locked.order_by("pk"))
    return found


def _pledge_label(pledge: Pledge | None, pledge_id: int) -> str:
    if pledge is not None and pledge.reference:
        return _("Pledge %(id)s (%(reference)s)") % {"id": pledge_id, "reference": pledge.reference}
    return _("Pledge %(id)s") % {"id": pledge_id}


def _refusal_text(refusal: DomainError) -> str:
    if isinstance(refusal, Invalid):
        return " ".join(str(message) for messages in refusal.field_errors.values() for message in messages)
    return refusal.message


def _checked_step(
    actor: Actor, pledge: Pledge, step: str, quantity_delivered: int | None, reason: str | None, *, manual: bool
) -> dict[str, Any]:
    """The changes `step` makes to the pledge, once the actor may take it from the pledge's state."""
    if manual and step in MANUAL_DELIVERY_STEPS and pledge.quantity_shipped:
        raise InvalidTransition(
            _("This pledge moves with its consignments: record the dispatch, receipt and handover there."),
            step=step,
            state=pledge.state,
        )
    target = _lifecycle_step(actor, pledge, step).target
    require_step_party(actor, pledge, step)
    if step in STEPS_NEEDING_QUANTITY and not pledge.quantity_disclosed:
        raise InvalidTransition(str(UNDISCLOSED_REFUSAL), step=step, state=pledge.state)
    return {"state": target, **_step_details(pledge, step, quantity_delivered, reason)}


def _announce_closing(actor: Actor, closed: Sequence[Pledge], step: str) -> None:
    if step in CLOSING_STEPS:
        for pledge in closed:
            pledge_closed.send(sender=Pledge, actor=actor, pledge=pledge, reason=pledge.closing_reason)


def _step_details(pledge: Pledge, step: str, quantity_delivered: int | None, reason: str | None) -> dict[str, Any]:
    """What a step records beside the new state, every problem with it at once."""
    details: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    if step == "deliver":
        delivered = pledge.quantity if quantity_delivered is None else quantity_delivered
        if not 0 < delivered <= pledge.quantity:
            problems["quantity_delivered"] = [_("Give a quantity from 1 to %(quantity)s.") % {"quantity": pledge.quantity}]
        details["quantity_delivered"] = delivered
    elif quantity_delivered is not None:
        problems["quantity_delivered"] = [_("Only a delivery records a delivered quantity.")]
    if step in CLOSING_STEPS:
        try:
            details["closing_reason"] = given_reason(reason, required=True)
        except Invalid as error:
            problems.update(error.field_errors)
    elif reason is not None and reason.strip():
        problems["reason"] = [_("Only a withdrawal or an expiry records a reason.")]
    if problems:
        raise Invalid(problems)
    return details


def delivery_state(*, allocated: bool, shipped: int, received: int, handed_over: int, due: int) -> str:
    """A pledge's state from its consignments' sums: partly delivered until all that is due has arrived."""
    if due and handed_over >= due:
        return PledgeState.HANDED_OVER
    if due and received >= due:
        return PledgeState.DELIVERED
    if received:
        return PledgeState.PARTLY_DELIVERED
    if shipped:
        return PledgeState.SHIPPED
    return PledgeState.ALLOCATED if allocated else PledgeState.ACCEPTED


DELIVERY_ACTIONS = {
    PledgeState.ACCEPTED: "release",
    PledgeState.ALLOCATED: "unship",
    PledgeState.SHIPPED: "ship",
    PledgeState.PARTLY_DELIVERED: "deliver_part",
    PledgeState.DELIVERED: "deliver",
    PledgeState.HANDED_OVER: "hand_over",
}


def follow_consignments(
    *, actor: Actor, pledge_id: int, shipped: int, received: int, handed_over: int, allocated: bool = True
) -> Pledge:
    """For umbrella.logistics only: record the sums over the pledge's consignment lines, and the state they give.
    Runs inside the caller's transaction; one ledger entry when anything changed, named by the state reached."""
    pledge = Pledge.objects.select_for_update().get(pk=pledge_id)
    due = received if pledge.closed_short else pledge.quantity
    state = delivery_state(allocated=allocated, shipped=shipped, received=received, handed_over=handed_over, due=due)
    if pledge.state not in DELIVERY_STATES:
        if not pledge.closed_short:
            raise InvalidTransition(
                _("A pledge that is %(state)s ships nothing.") % {"state": pledge.get_state_display()}, state=pledge.state
            )
        state = pledge.state  # closed short with nothing delivered: it stays withdrawn, its figures still follow
    changes = {
        "quantity_shipped": shipped,
        "quantity_delivered": received,
        "quantity_handed_over": handed_over,
        "state": state,
    }
    if all(getattr(pledge, name) == value for name, value in changes.items()):
        return pledge
    action = DELIVERY_ACTIONS[state] if state != pledge.state else "consignments"
    return services.update_record(actor=actor, obj=pledge, changes=changes, expected_version=pledge.version, action=action)


def require_short_closer(actor: Actor, pledge: Pledge) -> None:
    require_owner(actor, pledge, Role.EDITOR, doing=_("Closing a pledge short"))


def close_short(*, actor: Actor, pledge_id: int, expected_version: int, reason: str | None) -> Pledge:
    """For umbrella.logistics, which checks nothing is still on its way: the donor ends the pledge at what
    arrived, giving a reason. What is due becomes what was received."""
    pledge = _locked_pledge(actor, pledge_id)
    require_short_closer(actor, pledge)
    services.check_version(pledge, expected_version)
    if pledge.closed_short or pledge.state not in (PledgeState.SHIPPED, PledgeState.PARTLY_DELIVERED):
        raise InvalidTransition(
            _("Only a pledge partly delivered is closed short (this one is %(state)s); withdraw one not yet shipped.")
            % {"state": pledge.get_state_display()},
            state=pledge.state,
        )
    kept_reason = given_reason(reason, required=True)
    received, handed_over = pledge.quantity_delivered, pledge.quantity_handed_over
    state = delivery_state(allocated=True, shipped=1, received=received, handed_over=handed_over, due=received)
    if not received:
        state = PledgeState.WITHDRAWN
    return services.update_record(
        actor=actor,
        obj=pledge,
        changes={"closed_short": True, "closing_reason": kept_reason, "state": state},
        expected_version=expected_version,
        action="close_short",
    )


def require_source_keeper(actor: Actor, pledge: Pledge) -> None:
    if actor.is_system or actor.kind not in SOURCE_KEEPERS:
        require_owner(actor, pledge, Role.EDITOR, doing=_("Changing a pledge's sources"))
    else:
        require_role(actor, Role.EDITOR, kinds=SOURCE_KEEPERS, doing=_("Changing a pledge's sources"))


def add_pledge_source(*, actor: Actor, pledge_id: int, fields: Mapping[str, Any]) -> PledgeSource:
    """The donor, coordination staff or the recipient add evidence to a pledge they can see."""
    with services.atomic():
        pledge = _locked_pledge(actor, pledge_id)
        require_source_keeper(actor, pledge)
        return _add_source(actor, pledge, fields)


def _added_by_actor(actor: Actor, source: PledgeSource) -> bool:
    return actor.is_system or (actor.is_member and source.added_by_id == actor.organization.pk)


def require_source_remover(actor: Actor, source: PledgeSource) -> None:
    """The organization that added a source removes it; coordination staff may remove anyone's (with a reason)."""
    if _added_by_actor(actor, source):
        require_role(actor, Role.EDITOR, doing=_("Removing a source"))
        return
    if actor.kind in COORDINATORS:
        require_role(actor, Role.EDITOR, kinds=COORDINATORS, doing=_("Removing a source"))
        return
    require_role(actor, Role.EDITOR, doing=_("Removing a source"))
    raise deny(
        actor,
        _("Removing a source is done by the organization that added it, or by coordination staff."),
        added_by=source.added_by_id,
    )


def source_removal_needs_reason(actor: Actor, source: PledgeSource) -> bool:
    """Coordination staff removing evidence someone else gave say why."""
    return not _added_by_actor(actor, source)


def delete_pledge_source(*, actor: Actor, source_id: int, reason: str | None = None) -> None:
    """Remove a source. A reason, when given (required of coordination staff removing another's source), is
    recorded on the source just before it goes, so the ledger keeps it."""
    with services.atomic():
        source = get_visible(PledgeSource.objects.select_for_update().select_related("pledge"), actor, pk=source_id)
        require_source_remover(actor, source)
        kept_reason = given_reason(reason, required=source_removal_needs_reason(actor, source))
        if source.pledge.sources.count() <= 1:
            raise Conflict(_("A pledge keeps at least one source; add another before removing this one."))
        if kept_reason:
            source = services.update_record(
                actor=actor, obj=source, changes={"removal_reason": kept_reason}, expected_version=None
            )
        services.delete_record(actor=actor, obj=source, expected_version=None)


def require_aid_package_editor(actor: Actor, aid_package: AidPackage) -> None:
    require_owner(actor, aid_package, Role.EDITOR, doing=_("Changing an aid package"))


def _valued_aid_package(values: dict[str, Any], current: AidPackage | None = None) -> dict[str, Any]:
    """The announced total valued in euros at the latest rate on or before the rate date (the announcement's date
    when none is given), with the rate and its date, every problem with the figures at once."""
    merged = {name: getattr(current, name) for name in AID_PACKAGE_FIELDS} if current is not None else {}
    merged.update(values)
    if not merged.get("fx_date") and merged.get("announced_on"):
        values["fx_date"] = merged["fx_date"] = merged["announced_on"]
    amount, currency, day = merged.get("announced_amount"), merged.get("currency") or "EUR", merged.get("fx_date")
    if amount is None or day is None:
        return values  # the model's own checks name what is missing
    rate, rate_date = rate_and_date_on(currency, day)
    values.update(units_per_eur=rate, rate_date=rate_date, value_eur=(Decimal(amount) / rate).quantize(Decimal("0.01")))
    return values


def create_aid_package(*, actor: Actor, fields: Mapping[str, Any], sources: Sequence[Mapping[str, Any]]) -> AidPackage:
    """Record a donor's announcement as made, with at least one source; its pledges join it afterwards."""
    with services.atomic():
        require_donor_editor(actor)
        if not sources:
            raise Invalid({"sources": [_("An aid package needs at least one source (a URL or a document reference).")]})
        values = _valued_aid_package(services.writable(fields, AID_PACKAGE_FIELDS))
        aid_package = services.new(AidPackage, owner=services.acting_organization(actor), **values)
        services.create_record(actor=actor, obj=aid_package)
        for source in sources:
            values = services.writable(source, SOURCE_FIELDS)
            services.create_record(
                actor=actor, obj=AidPackageSource(aid_package=aid_package, added_by=actor.organization, **values)
            )
        return aid_package


def update_aid_package(*, actor: Actor, aid_package_id: int, expected_version: int, changes: Mapping[str, Any]) -> AidPackage:
    """Change an announcement's figures or text; a change of total, currency or rate date values it again, and
    its undisclosed lines with it."""
    with services.atomic():
        aid_package = get_visible(AidPackage.objects.select_for_update(), actor, pk=aid_package_id)
        require_aid_package_editor(actor, aid_package)
        services.check_version(aid_package, expected_version)
        values = _valued_aid_package(services.writable(changes, AID_PACKAGE_FIELDS), aid_package)
        aid_package = services.update_record(actor=actor, obj=aid_package, changes=values, expected_version=expected_version)
        share_out_aid_package(actor, aid_package.pk)
        return aid_package


def share_out_aid_package(actor: Actor, aid_package_id: int) -> None:
    """Value the undisclosed lines of an aid package from its announced value (`umbrella.pledges.valuation`):
    each line whose value changes is a ledgered write. Called within the write that changed the aid package or
    one of its lines, whoever may see what."""
    aid_package = AidPackage.objects.get(pk=aid_package_id)
    lines = list(Pledge.objects.select_for_update().filter(aid_package_id=aid_package_id).order_by("pk"))
    undisclosed = [line for line in lines if not line.quantity_disclosed]
    disclosed_eur = sum((line.value_eur for line in lines if line.quantity_disclosed), Decimal(0))
    for line, value in zip(undisclosed, undisclosed_shares(aid_package.value_eur, disclosed_eur, len(undisclosed)), strict=True):
        if line.value_eur != value:
            services.update_record(actor=actor, obj=line, changes={"value_eur": value}, expected_version=line.version)


def set_tranches(*, actor: Actor, pledge_id: int, expected_version: int, tranches: Sequence[Mapping[str, Any]]) -> Pledge:
    """Replace a pledge's schedule of deliveries (date, quantity), checked whole: every tranche within
    `TRANCHE_HORIZON_YEARS` of the availability date and not before it, and together no more than the pledge.
    Each tranche removed or added is a ledgered write, and the pledge's version moves on."""
    with services.atomic():
        pledge = _locked_pledge(actor, pledge_id)
        require_owner(actor, pledge, Role.EDITOR, doing=_("Scheduling a pledge's tranches"))
        services.check_version(pledge, expected_version)
        schedule = _checked_schedule(pledge, tranches)
        for tranche in pledge.tranches.all():
            services.delete_record(actor=actor, obj=tranche, expected_version=None)
        for day, quantity in schedule:
            services.create_record(actor=actor, obj=PledgeTranche(pledge=pledge, date=day, quantity=quantity))
        return services.update_record(actor=actor, obj=pledge, changes={}, expected_version=expected_version, action="schedule")


def _checked_schedule(pledge: Pledge, tranches: Sequence[Mapping[str, Any]]) -> list[tuple[dt.date, int]]:
    problems: list[str] = []
    if tranches and not pledge.quantity_disclosed:
        raise Invalid({"tranches": [_("Give the pledge's quantity before scheduling its tranches.")]})
    earliest = pledge.available_from
    latest = earliest.replace(year=earliest.year + TRANCHE_HORIZON_YEARS, day=min(earliest.day, 28))
    schedule = []
    for number, tranche in enumerate(tranches, start=1):
        day, quantity = tranche.get("date"), tranche.get("quantity")
        if not isinstance(day, dt.date):
            problems.append(_("Tranche %(n)s: give a date.") % {"n": number})
        elif not earliest <= day <= latest:
            problems.append(
                _("Tranche %(n)s: the date %(date)s is outside %(earliest)s to %(latest)s.")
                % {"n": number, "date": day.isoformat(), "earliest": earliest.isoformat(), "latest": latest.isoformat()}
            )
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            problems.append(_("Tranche %(n)s: give a quantity of at least 1.") % {"n": number})
        schedule.append((day, quantity))
    total = sum(quantity for _day, quantity in schedule if isinstance(quantity, int) and quantity > 0)
    if pledge.quantity_disclosed and total > pledge.quantity:
        problems.append(
            _("The tranches add up to %(total)s, more than the %(quantity)s pledged.")
            % {"total": total, "quantity": pledge.quantity}
        )
    if problems:
        raise Invalid({"tranches": problems})
    return sorted(schedule)

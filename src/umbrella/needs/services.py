"""Every write to requirement lists and requirements.

The recipient drafts and proposes; coordination staff (approver role) approve or return a proposal.
Requirements change only while their list is a draft; an approved list changes by a new revision.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from umbrella.core import services
from umbrella.core.access import Actor, OrganizationKind, Role, allowed, get_visible, require_owner, require_role
from umbrella.core.errors import Conflict, Invalid, InvalidTransition
from umbrella.needs.models import LIST_LIFECYCLE, ListState, Requirement, RequirementList
from umbrella.needs.signals import revision_approved
from umbrella.places.services import resolve_place_field

RECIPIENT = frozenset({OrganizationKind.RECIPIENT})
COORDINATOR = frozenset({OrganizationKind.COORDINATOR})
LIST_FIELDS = frozenset({"series", "title", "notes", "marking"})
REQUIREMENT_FIELDS = frozenset(
    {"item_type", "quantity", "priority", "needed_by", "destination", "accept_substitutes", "notes", "marking"}
)
COPIED_REQUIREMENT_FIELDS = tuple(sorted(REQUIREMENT_FIELDS))


def _locked_list(actor: Actor, list_id: int) -> RequirementList:
    return get_visible(RequirementList.objects.select_for_update(), actor, pk=list_id)


def _require_draft(requirement_list: RequirementList) -> None:
    if not requirement_list.is_editable:
        raise InvalidTransition(
            _("%(list)s is %(state)s: only a draft can change. Start a new revision to change an approved list.")
            % {"list": requirement_list, "state": requirement_list.get_state_display()},
            state=requirement_list.state,
        )


def require_list_step(actor: Actor, requirement_list: RequirementList, step: str) -> None:
    """Who takes each step: the recipient proposes, withdraws and starts revisions; coordination approves or returns."""
    if step == "approve" or (step == "return" and actor.kind == OrganizationKind.COORDINATOR and not actor.is_system):
        require_role(actor, Role.APPROVER, kinds=COORDINATOR, doing=_("Approving or returning a requirement list"))
    else:
        require_owner(actor, requirement_list, Role.EDITOR, doing=_("Changing a requirement list"))


def require_list_editor(actor: Actor, requirement_list: RequirementList) -> None:
    """Requirements and list details change only in a draft, and only by the recipient that owns it."""
    require_owner(actor, requirement_list, Role.EDITOR, doing=_("Changing a requirement list"))
    _require_draft(requirement_list)


def require_recipient_editor(actor: Actor) -> None:
    require_role(actor, Role.EDITOR, kinds=RECIPIENT, doing=_("Creating a requirement list"))


def create_requirement_list(*, actor: Actor, fields: Mapping[str, Any]) -> RequirementList:
    with services.atomic():
        require_recipient_editor(actor)
        values = services.writable(fields, LIST_FIELDS)
        if RequirementList.objects.filter(series=values.get("series")).exists():
            raise Invalid({"series": [_("This series exists; start a new revision of its latest list instead.")]})
        obj = RequirementList(owner=services.acting_organization(actor), **values)
        return services.create_record(actor=actor, obj=obj)


def update_requirement_list(*, actor: Actor, list_id: int, expected_version: int, changes: Mapping[str, Any]) -> RequirementList:
    with services.atomic():
        requirement_list = _locked_list(actor, list_id)
        require_list_editor(actor, requirement_list)
        values = services.writable(changes, LIST_FIELDS - {"series"})
        return services.update_record(actor=actor, obj=requirement_list, changes=values, expected_version=expected_version)


def _step(actor: Actor, requirement_list: RequirementList, name: str, expected_version: int, **extra: Any) -> RequirementList:
    step = LIST_LIFECYCLE.step(
        name,
        requirement_list,
        may=lambda other: (
            other != "supersede"  # taken by approving the next revision
            and allowed(require_list_step, actor, requirement_list, other)
        ),
    )
    changes = {"state": step.target, **extra}
    return services.update_record(
        actor=actor, obj=requirement_list, changes=changes, expected_version=expected_version, action=name
    )


def propose_requirement_list(*, actor: Actor, list_id: int, expected_version: int) -> RequirementList:
    with services.atomic():
        requirement_list = _locked_list(actor, list_id)
        require_list_step(actor, requirement_list, "propose")
        if not requirement_list.requirements.exists():
            raise Invalid({"requirements": [_("An empty list cannot be proposed.")]})
        return _step(actor, requirement_list, "propose", expected_version)


def return_requirement_list(*, actor: Actor, list_id: int, expected_version: int) -> RequirementList:
    """Coordination sends a proposal back, or the recipient withdraws it, to draft."""
    with services.atomic():
        requirement_list = _locked_list(actor, list_id)
        require_list_step(actor, requirement_list, "return")
        return _step(actor, requirement_list, "return", expected_version)


def approve_requirement_list(*, actor: Actor, list_id: int, expected_version: int) -> RequirementList:
    """Approve a proposed revision; the series' previously approved revision becomes superseded, and whatever
    follows the list (allocations) is told, in the same transaction."""
    with services.atomic():
        requirement_list = _locked_list(actor, list_id)
        require_list_step(actor, requirement_list, "approve")
        previous = (
            RequirementList.objects.select_for_update()
            .filter(series=requirement_list.series, state=ListState.APPROVED)
            .exclude(pk=requirement_list.pk)
        )
        superseded = [_step(actor, older, "supersede", older.version) for older in previous]
        approved = _step(
            actor,
            requirement_list,
            "approve",
            expected_version,
            approved_at=timezone.now(),
            approved_by=actor.user,
        )
        revision_approved.send(sender=RequirementList, actor=actor, approved=approved, superseded=superseded)
        return approved


def start_new_revision(*, actor: Actor, list_id: int) -> RequirementList:
    """A new draft revision of an approved (or superseded) list, carrying a copy of its requirements (each
    remembers the row it was copied from, so allocations can follow it when the revision is approved)."""
    with services.atomic():
        source = _locked_list(actor, list_id)
        require_list_step(actor, source, "new-revision")
        if source.state not in (ListState.APPROVED, ListState.SUPERSEDED):
            raise InvalidTransition(_("Only an approved list gets a new revision; edit the draft instead."), state=source.state)
        open_draft = RequirementList.objects.filter(series=source.series, state__in=[ListState.DRAFT, ListState.PROPOSED])
        if open_draft.exists():
            raise Conflict(_("Series %(series)s already has a draft or proposed revision.") % {"series": source.series})
        latest = RequirementList.objects.filter(series=source.series).aggregate(n=Max("revision"))["n"]
        draft = RequirementList(
            owner=source.owner,
            series=source.series,
            revision=latest + 1,
            title=source.title,
            notes=source.notes,
            marking=source.marking,
            supersedes=source,
        )
        services.create_record(actor=actor, obj=draft, action="new-revision")
        for requirement in source.requirements.order_by("id"):
            values = {name: getattr(requirement, name) for name in COPIED_REQUIREMENT_FIELDS}
            services.create_record(
                actor=actor, obj=Requirement(owner=source.owner, requirement_list=draft, carried_from=requirement, **values)
            )
        return draft


def delete_requirement_list(*, actor: Actor, list_id: int, expected_version: int) -> None:
    with services.atomic():
        requirement_list = _locked_list(actor, list_id)
        require_list_editor(actor, requirement_list)
        for requirement in requirement_list.requirements.all():
            services.delete_record(actor=actor, obj=requirement, expected_version=None)
        services.delete_record(actor=actor, obj=requirement_list, expected_version=expected_version)


def create_requirement(*, actor: Actor, list_id: int, fields: Mapping[str, Any]) -> Requirement:
    with services.atomic():
        requirement_list = _locked_list(actor, list_id)
        require_list_editor(actor, requirement_list)
        values = services.writable(fields, REQUIREMENT_FIELDS)
        resolve_place_field(values, "destination", actor)
        values.setdefault("marking", requirement_list.marking)
        obj = Requirement(owner=requirement_list.owner, requirement_list=requirement_list, **values)
        return services.create_record(actor=actor, obj=obj)


def _locked_requirement(actor: Actor, requirement_id: int) -> Requirement:
    requirement = get_visible(
        Requirement.objects.select_for_update().select_related("requirement_list"), actor, pk=requirement_id
    )
    require_list_editor(actor, requirement.requirement_list)
    return requirement


def update_requirement(*, actor: Actor, requirement_id: int, expected_version: int, changes: Mapping[str, Any]) -> Requirement:
    with services.atomic():
        requirement = _locked_requirement(actor, requirement_id)
        values = services.writable(changes, REQUIREMENT_FIELDS)
        resolve_place_field(values, "destination", actor)
        return services.update_record(actor=actor, obj=requirement, changes=values, expected_version=expected_version)


def delete_requirement(*, actor: Actor, requirement_id: int, expected_version: int) -> None:
    with services.atomic():
        requirement = _locked_requirement(actor, requirement_id)
        services.delete_record(actor=actor, obj=requirement, expected_version=expected_version)

"""Who may see and change what.

Reads: every owned model's manager has `visible_to(actor)`; nothing reads owned data another way. What an
actor may not see is `NotFound`, never `Forbidden`, so a refusal does not confirm that a record exists.
Writes: services call `require_*` before changing anything.

The marking of a record decides who beyond its owner sees it:
    owner         the owning organization only
    coordination  the owner, the coordinating headquarters and the recipient
    participants  every member organization
    public        everyone, signed in or not
"""

from __future__ import annotations

import contextvars
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from umbrella.core.errors import Forbidden, InvalidTransition, NotFound

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from umbrella.orgs.models import Organization

denials = logging.getLogger("umbrella.access")


class Marking(models.TextChoices):
    OWNER = "owner", _("Owner only")
    COORDINATION = "coordination", _("Coordination (owner, HQ, recipient)")
    PARTICIPANTS = "participants", _("All participants")
    PUBLIC = "public", _("Public")


class OrganizationKind(models.TextChoices):
    DONOR = "donor", _("Donor")
    RECIPIENT = "recipient", _("Recipient")
    COORDINATOR = "coordinator", _("Coordinating headquarters")
    OBSERVER = "observer", _("Observer")
    MULTILATERAL = "multilateral", _("Multilateral donor")


class Role(models.TextChoices):
    VIEWER = "viewer", _("Viewer")
    EDITOR = "editor", _("Editor")
    APPROVER = "approver", _("Approver")
    ADMIN = "admin", _("Administrator")


ROLE_RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.APPROVER: 3, Role.ADMIN: 4}
# Who gives: states, and the EU institutions and other multilateral donors (EU Commission and Council, EIB, the
# European Peace Facility as the tracker names them). A multilateral pledges, funds, trains and ships as a state
# does and is counted in every total, but has no GDP of its own, so it never takes part in GDP fair shares
# (funding.queries.participants_of takes states only).
DONOR_KINDS = frozenset({OrganizationKind.DONOR, OrganizationKind.MULTILATERAL})
COORDINATION_KINDS = frozenset({OrganizationKind.COORDINATOR, OrganizationKind.RECIPIENT})


@dataclass(frozen=True)
class Actor:
    """Someone acting: a user through one membership, the public, or the system itself (set-up and demo)."""

    user: AbstractBaseUser | None
    organization: Organization | None
    role: str | None
    is_system: bool = False
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @classmethod
    def anonymous(cls) -> Actor:
        return cls(user=None, organization=None, role=None)

    @classmethod
    def system(cls, purpose: str = "system") -> Actor:
        return cls(user=None, organization=None, role=Role.ADMIN, is_system=True, request_id=f"{purpose}-{uuid.uuid4().hex}")

    @property
    def is_member(self) -> bool:
        return self.organization is not None and self.role is not None

    @property
    def kind(self) -> str | None:
        return self.organization.kind if self.organization is not None else None

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label) if self.role else ""

    def has_role(self, role: str) -> bool:
        return self.is_system or (self.role is not None and ROLE_RANK[self.role] >= ROLE_RANK[role])

    def label(self) -> str:
        if self.is_system:
            return "system"
        if self.user is None:
            return "anonymous"
        organization = self.organization.code if self.organization is not None else "-"
        return f"{self.user.get_username()}@{organization}"


def visible_markings(actor: Actor) -> list[str]:
    if not actor.is_member:
        return [Marking.PUBLIC]
    markings = [Marking.PARTICIPANTS, Marking.PUBLIC]
    if actor.kind in COORDINATION_KINDS:
        markings.append(Marking.COORDINATION)
    return markings


def visibility_q(actor: Actor, prefix: str = "") -> Q:
    """The filter every read of owned rows goes through. `prefix` reaches the owned row from a child."""
    if actor.is_system:
        return Q()
    condition = Q(**{f"{prefix}marking__in": visible_markings(actor)})
    if actor.is_member:
        condition |= Q(**{f"{prefix}owner": actor.organization})
    return condition


def visible_in_memory(actor: Actor, obj: Any) -> bool:
    """The rule of `visibility_q`, for one row held in memory (one the bulk write path has not inserted yet):
    its owned row (reached by the model's `visibility_path`) has a marking the actor sees, or is its own."""
    if actor.is_system:
        return True
    owned = obj
    for name in getattr(type(obj), "visibility_path", "").split("__"):
        if name:
            owned = getattr(owned, name)
    if owned.marking in visible_markings(actor):
        return True
    return actor.is_member and owned.owner_id == actor.organization.pk


class VisibleQuerySet(models.QuerySet):
    def visible_to(self, actor: Actor) -> VisibleQuerySet:
        return self.filter(visibility_q(actor, getattr(self.model, "visibility_path", "")))

    def hidden_from(self, actor: Actor) -> VisibleQuerySet:
        """The rows `actor` may not see: only ever tested for existence, to say that a figure added up from the
        visible ones is partial; never shown, counted aloud or summed."""
        return self.exclude(pk__in=self.visible_to(actor).values("pk"))


def can_see(actor: Actor, obj: Any) -> bool:
    return type(obj).objects.visible_to(actor).filter(pk=obj.pk).exists()


def get_visible(queryset: models.QuerySet, actor: Actor, **lookup: Any) -> Any:
    """The one object matching `lookup` that `actor` may see, else NotFound (whether or not it exists)."""
    try:
        return queryset.visible_to(actor).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise NotFound(gettext("No %(noun)s matches.") % {"noun": queryset.model._meta.verbose_name}, lookup=lookup) from None


_probing = contextvars.ContextVar("probing", default=False)


def deny(actor: Actor, message: str, **context: Any) -> Forbidden:
    if not _probing.get():
        denials.warning("denied %s: %s %s", actor.label(), message, context)
    return Forbidden(message, **context)


def allowed(check: Callable[..., None], *args: Any, **kwargs: Any) -> bool:
    """Whether a check (who may, and whether the record's state lets them now) passes, for deciding which
    buttons a page shows. A refusal here is not logged as a denied attempt."""
    token = _probing.set(True)
    try:
        check(*args, **kwargs)
        return True
    except (Forbidden, InvalidTransition):
        return False
    finally:
        _probing.reset(token)


def require_role(actor: Actor, role: str, *, kinds: frozenset[str] | set[str] | None = None, doing: str) -> None:
    """Refuse unless the actor holds at least `role` in an organization of one of `kinds`."""
    if actor.is_system:
        return
    if not actor.is_member or not actor.has_role(role):
        raise deny(
            actor, gettext("%(doing)s needs the %(role)s role.") % {"doing": doing, "role": Role(role).label.lower()}, role=role
        )
    if kinds is not None and actor.kind not in kinds:
        allowed = ", ".join(sorted(str(OrganizationKind(kind).label) for kind in kinds))
        raise deny(actor, gettext("%(doing)s is done by: %(kinds)s.") % {"doing": doing, "kinds": allowed}, kinds=sorted(kinds))


def require_owner(actor: Actor, obj: Any, role: str, *, doing: str) -> None:
    """Refuse unless the actor belongs to the object's owner with at least `role`."""
    if actor.is_system:
        return
    require_role(actor, role, doing=doing)
    if obj.owner_id != actor.organization.pk:
        raise deny(actor, gettext("%(doing)s is done by the owning organization only.") % {"doing": doing}, owner=obj.owner_id)

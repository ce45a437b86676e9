"""Every write to organizations, memberships and GDP figures."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from umbrella.core import services
from umbrella.core.access import Actor, OrganizationKind, Role, deny, require_role
from umbrella.core.errors import Invalid, NotFound
from umbrella.core.ledger import record_change
from umbrella.orgs.models import ApiToken, GdpFigure, Membership, Organization

HQ_ONLY = frozenset({OrganizationKind.COORDINATOR})


def create_organization(*, actor: Actor, code: str, name: str, kind: str, iso3: str = "") -> Organization:
    with transaction.atomic():
        require_role(actor, Role.ADMIN, kinds=HQ_ONLY, doing=_("Adding an organization"))
        return services.create_record(actor=actor, obj=Organization(code=code, name=name, kind=kind, iso3=iso3))


def create_user(
    *, actor: Actor, username: str, password: str, email: str = "", full_name: str = "", staff: bool = False
) -> object:
    """A sign-in account; what it may do comes from its memberships. Staff may also read the admin pages."""
    with transaction.atomic():
        require_role(actor, Role.ADMIN, kinds=HQ_ONLY, doing=_("Adding a user"))
        user_model = get_user_model()
        first, _space, last = full_name.partition(" ")
        user = user_model(username=username, email=email, first_name=first, last_name=last, is_staff=staff)
        user.set_password(password)
        services.validate(user, exclude=["password"])
        user.save()
        after = {"username": username, "email": email, "full_name": full_name, "staff": staff}
        record_change(actor=actor, action="create", obj=user, before=None, after=after)
        return user


def _require_member_admin(actor: Actor, organization: Organization) -> None:
    require_role(actor, Role.ADMIN, doing=_("Managing members"))
    if not actor.is_system and actor.kind != OrganizationKind.COORDINATOR and actor.organization.pk != organization.pk:
        raise deny(actor, _("Another organization's members are managed by that organization or the headquarters."))


def set_membership(*, actor: Actor, user_id: int, organization_id: int, role: str) -> Membership:
    """Give a user a role in an organization, or change it: the HQ's administrators or the organization's own."""
    with transaction.atomic():
        organization = Organization.objects.filter(pk=organization_id).first()
        if organization is None:
            raise NotFound(_("No such organization."), organization_id=organization_id)
        _require_member_admin(actor, organization)
        membership = Membership.objects.select_for_update().filter(user_id=user_id, organization=organization).first()
        if membership is None:
            return services.create_record(
                actor=actor, obj=Membership(user_id=user_id, organization=organization, role=role)
            )
        return services.update_record(actor=actor, obj=membership, changes={"role": role}, expected_version=None)


def record_gdp(*, actor: Actor, organization_id: int, year: int, amount_bn: Decimal, currency: str, source: str) -> GdpFigure:
    with transaction.atomic():
        require_role(actor, Role.EDITOR, kinds=HQ_ONLY, doing=_("Recording GDP figures"))
        existing = GdpFigure.objects.select_for_update().filter(organization_id=organization_id, year=year).first()
        if existing is None:
            figure = GdpFigure(organization_id=organization_id, year=year, amount_bn=amount_bn, currency=currency, source=source)
            return services.create_record(actor=actor, obj=figure)
        changes = {"amount_bn": amount_bn, "currency": currency, "source": source}
        return services.update_record(actor=actor, obj=existing, changes=changes, expected_version=None)


TOKEN_PREFIX = "umb_"


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(*, actor: Actor, user_id: int, organization_id: int, name: str, days: int = 90) -> tuple[ApiToken, str]:
    """A new API token for a user's membership; returns the token and its secret (shown only now).
    Users issue their own; HQ administrators may issue for anyone."""
    with transaction.atomic():
        if not (actor.is_system or (actor.user is not None and actor.user.pk == user_id)):
            require_role(actor, Role.ADMIN, kinds=HQ_ONLY, doing=_("Issuing a token for someone else"))
        if not Membership.objects.filter(user_id=user_id, organization_id=organization_id).exists():
            raise Invalid({"organization": [_("The user is not a member of this organization.")]})
        if not 1 <= days <= 366:
            raise Invalid({"days": [_("A token lives from 1 to 366 days.")]})
        prefix = secrets.token_hex(6)
        secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        token = ApiToken(user_id=user_id, organization_id=organization_id, name=name, prefix=prefix,
                         key_hash=hash_token(secret), expires_at=timezone.now() + dt.timedelta(days=days))
        services.validate(token)
        token.save(force_insert=True)
        record_change(actor=actor, action="issue-token", obj=token, before=None,
                      after={"name": name, "prefix": prefix, "user_id": user_id, "organization_id": organization_id,
                             "expires_at": token.expires_at.isoformat()})
        return token, secret


def revoke_token(*, actor: Actor, token_id: int) -> ApiToken:
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
        if token is None:
            raise NotFound(_("No such token."))
        if not (actor.is_system or (actor.user is not None and actor.user.pk == token.user_id)):
            require_role(actor, Role.ADMIN, kinds=HQ_ONLY, doing=_("Revoking someone else's token"))
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            record_change(actor=actor, action="revoke-token", obj=token, before=None,
                          after={"prefix": token.prefix, "revoked_at": token.revoked_at.isoformat()})
        return token


def token_actor(secret: str, request_id: str) -> Actor | None:
    """The actor a presented API token stands for, or None if it is unknown, expired or revoked."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = ApiToken.objects.select_related("user", "organization").filter(key_hash=hash_token(secret)).first()
    if token is None or token.revoked_at is not None or token.expires_at <= timezone.now() or not token.user.is_active:
        return None
    membership = Membership.objects.filter(user=token.user, organization=token.organization).first()
    if membership is None:
        return None
    return Actor(user=token.user, organization=token.organization, role=membership.role, request_id=request_id)

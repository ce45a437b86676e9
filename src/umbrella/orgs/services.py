"""Every write to organizations, accounts (users, their flags and passwords), memberships, API tokens and GDP figures."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from decimal import Decimal

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.hashers import identify_hasher, make_password
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from umbrella.core import plain, services
from umbrella.core.access import Actor, OrganizationKind, Role, deny, require_role
from umbrella.core.errors import Invalid, NotFound
from umbrella.core.ledger import last_recorded, matches_ledger, record_change, snapshot
from umbrella.orgs.models import ApiToken, GdpFigure, Membership, Organization

HQ_ONLY = frozenset({OrganizationKind.COORDINATOR})


def create_organization(*, actor: Actor, code: str, name: str, kind: str, iso3: str = "") -> Organization:
    with services.atomic():
        require_role(actor, Role.ADMIN, kinds=HQ_ONLY, doing=_("Adding an organization"))
        return services.create_record(actor=actor, obj=Organization(code=code, name=name, kind=kind, iso3=iso3))


def create_user(
    *,
    actor: Actor,
    username: str,
    password: str,
    email: str = "",
    full_name: str = "",
    staff: bool = False,
    superuser: bool = False,
    password_hash: str | None = None,
) -> object:
    """A sign-in account; what it may do comes from its memberships. Staff may also read the admin pages.
    The ledger keeps the account's columns with its password hash only as a salted digest.

    `password_hash`, when given, is `make_password(password)` made once by a caller creating many accounts with one
    known password (the demo's, which prints it): the password is still checked, and hashing it again for each
    account (a fifth of a second of Argon2 each) is left out. It must be a hash of a configured hasher."""
    with services.atomic():
        require_role(actor, Role.ADMIN, kinds=HQ_ONLY, doing=_("Adding a user"))
        first, _space, last = full_name.partition(" ")
        user = get_user_model()(
            username=username, email=email, first_name=first, last_name=last, is_staff=staff or superuser, is_superuser=superuser
        )
        _check_password(password, user)
        if password_hash is None:
            user.set_password(password)
        else:
            try:
                identify_hasher(password_hash)
            except ValueError:
                raise Invalid({"password": [_("This is not a password hash of a configured hasher.")]}) from None
            user.password = password_hash
        return services.create_record(actor=actor, obj=user)


def _check_password(password: str, user) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise Invalid({"password": list(error.messages)}) from None


def _locked_user(user_id: int):
    user = get_user_model().objects.select_for_update().filter(pk=user_id).first()
    if user is None:
        raise NotFound(_("No such user."), user_id=user_id)
    return user


def set_password(*, actor: Actor, user_id: int, password: str) -> object:
    """A new password, set by its holder or an HQ administrator. The ledger records that it changed."""
    with services.atomic():
        if not (actor.user is not None and actor.user.pk == user_id):
            require_role(actor, Role.ADMIN, kinds=HQ_ONLY, doing=_("Changing someone else's password"))
        user = _locked_user(user_id)
        _check_password(password, user)
        return services.update_record(
            actor=actor, obj=user, changes={"password": make_password(password)}, expected_version=None, action="set-password"
        )


def record_rehashed_password(*, user) -> None:
    """Django stores a new hash of the same password at sign-in when the hasher's settings have grown (after an
    upgrade). Nobody changed the password, but the row did change: the ledger says so, so verify accepts it."""
    with services.atomic():
        recorded = last_recorded(user)
        record_change(
            actor=Actor.system("sign-in"), action="rehash-password", obj=user, before=recorded, after=snapshot(user, recorded)
        )


ACCOUNT_FLAGS = ("is_active", "is_staff", "is_superuser")


def set_user_flags(*, actor: Actor, user_id: int, **flags: bool) -> object:
    """Switch an account on or off, or let it read the admin pages (staff, superuser): HQ administrators."""
    with services.atomic():
        require_role(actor, Role.ADMIN, kinds=HQ_ONLY, doing=_("Changing an account's flags"))
        unknown = sorted(set(flags) - set(ACCOUNT_FLAGS))
        if unknown:
            raise Invalid({name: [_("No such field.")] for name in unknown})
        user = _locked_user(user_id)
        return services.update_record(actor=actor, obj=user, changes=flags, expected_version=None, action="set-flags")


def _require_member_admin(actor: Actor, organization: Organization) -> None:
    require_role(actor, Role.ADMIN, doing=_("Managing members"))
    if not actor.is_system and actor.kind != OrganizationKind.COORDINATOR and actor.organization.pk != organization.pk:
        raise deny(actor, _("Another organization's members are managed by that organization or the headquarters."))


def set_membership(*, actor: Actor, user_id: int, organization_id: int, role: str) -> Membership:
    """Give a user a role in an organization, or change it: the HQ's administrators or the organization's own."""
    with services.atomic():
        organization = Organization.objects.filter(pk=organization_id).first()
        if organization is None:
            raise NotFound(_("No such organization."), organization_id=organization_id)
        _require_member_admin(actor, organization)
        membership = Membership.objects.select_for_update().filter(user_id=user_id, organization=organization).first()
        if membership is None:
            return services.create_record(actor=actor, obj=Membership(user_id=user_id, organization=organization, role=role))
        return services.update_record(actor=actor, obj=membership, changes={"role": role}, expected_version=None)


def record_gdp(*, actor: Actor, organization_id: int, year: int, amount_bn: Decimal, currency: str, source: str) -> GdpFigure:
    with services.atomic():
        require_role(actor, Role.EDITOR, kinds=HQ_ONLY, doing=_("Recording GDP figures"))
        if Organization.objects.filter(pk=organization_id, kind=OrganizationKind.MULTILATERAL).exists():
            raise Invalid({"organization": [_("A multilateral donor has no GDP of its own; fair shares are shared by states.")]})
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
    with services.atomic():
        if not (actor.is_system or (actor.user is not None and actor.user.pk == user_id)):
            require_role(actor, Role.ADMIN, kinds=HQ_ONLY, doing=_("Issuing a token for someone else"))
        if not Membership.objects.filter(user_id=user_id, organization_id=organization_id).exists():
            raise Invalid({"organization": [_("The user is not a member of this organization.")]})
        if not 1 <= days <= 366:
            raise Invalid({"days": [_("A token lives from 1 to 366 days.")]})
        prefix = secrets.token_hex(6)
        secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        token = ApiToken(
            user_id=user_id,
            organization_id=organization_id,
            name=name,
            prefix=prefix,
            key_hash=hash_token(secret),
            expires_at=timezone.now() + dt.timedelta(days=days),
        )
        return services.create_record(actor=actor, obj=token, action="issue-token"), secret


def revoke_token(*, actor: Actor, token_id: int) -> ApiToken:
    with services.atomic():
        token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
        if token is None:
            raise NotFound(_("No such token."))
        if not (actor.is_system or (actor.user is not None and actor.user.pk == token.user_id)):
            require_role(actor, Role.ADMIN, kinds=HQ_ONLY, doing=_("Revoking someone else's token"))
        if token.revoked_at is None:
            services.update_record(
                actor=actor, obj=token, changes={"revoked_at": timezone.now()}, expected_version=None, action="revoke-token"
            )
        return token


def token_actor(secret: str, request_id: str) -> Actor | None:
    """The actor a presented API token stands for, or None if it is unknown, expired or revoked, or if the
    token or the membership it acts through is not as the ledger recorded it (written behind the services'
    back: a token inserted into the database, a role raised by hand)."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    found = _token_with_membership(hash_token(secret))
    if found is None:
        return None
    token, user, organization, membership = found
    if token.revoked_at is not None or token.expires_at <= timezone.now() or not user.is_active:
        return None
    if membership is None or not (matches_ledger(token) and matches_ledger(membership)):
        return None
    token.user, token.organization = user, organization
    return Actor(user=user, organization=organization, role=membership.role, request_id=request_id)


def _token_with_membership(key_hash: str):
    """The token with its user, organization and the membership it acts through (None if there is none), in one
    plain statement: every API request reads them."""
    kinds = (ApiToken, get_user_model(), Organization, Membership)
    connection = plain.read_connection(ApiToken)
    select = plain.select_list(connection, list(zip(("t", "u", "o", "m"), kinds, strict=True)))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {select} FROM {plain.table(connection, ApiToken)} t"
            f" JOIN {plain.table(connection, kinds[1])} u ON u.id = t.user_id"
            f" JOIN {plain.table(connection, Organization)} o ON o.id = t.organization_id"
            f" LEFT JOIN {plain.table(connection, Membership)} m"
            " ON m.user_id = t.user_id AND m.organization_id = t.organization_id"
            " WHERE t.key_hash = %s",
            [key_hash],
        )
        row = cursor.fetchone()
    return None if row is None else plain.instances(connection, kinds, row)

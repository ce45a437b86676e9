"""Every write to organizations, memberships and GDP figures."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from umbrella.core import services
from umbrella.core.access import Actor, OrganizationKind, Role, deny, require_role
from umbrella.core.errors import NotFound
from umbrella.core.ledger import record_change
from umbrella.orgs.models import GdpFigure, Membership, Organization

HQ_ONLY = frozenset({OrganizationKind.COORDINATOR})


def create_organization(*, actor: Actor, code: str, name: str, kind: str, iso3: str = "") -> Organization:
    with transaction.atomic():
        require_role(actor, Role.ADMIN, kinds=HQ_ONLY, doing="Adding an organization")
        return services.create_record(actor=actor, obj=Organization(code=code, name=name, kind=kind, iso3=iso3))


def create_user(
    *, actor: Actor, username: str, password: str, email: str = "", full_name: str = "", staff: bool = False
) -> object:
    """A sign-in account; what it may do comes from its memberships. Staff may also read the admin pages."""
    with transaction.atomic():
        require_role(actor, Role.ADMIN, kinds=HQ_ONLY, doing="Adding a user")
        user_model = get_user_model()
        first, _, last = full_name.partition(" ")
        user = user_model(username=username, email=email, first_name=first, last_name=last, is_staff=staff)
        user.set_password(password)
        services.validate(user, exclude=["password"])
        user.save()
        after = {"username": username, "email": email, "full_name": full_name, "staff": staff}
        record_change(actor=actor, action="create", obj=user, before=None, after=after)
        return user


def _require_member_admin(actor: Actor, organization: Organization) -> None:
    require_role(actor, Role.ADMIN, doing="Managing members")
    if not actor.is_system and actor.kind != OrganizationKind.COORDINATOR and actor.organization.pk != organization.pk:
        raise deny(actor, "Another organization's members are managed by that organization or the headquarters.")


def set_membership(*, actor: Actor, user_id: int, organization_id: int, role: str) -> Membership:
    """Give a user a role in an organization, or change it: the HQ's administrators or the organization's own."""
    with transaction.atomic():
        organization = Organization.objects.filter(pk=organization_id).first()
        if organization is None:
            raise NotFound("No such organization.", organization_id=organization_id)
        _require_member_admin(actor, organization)
        membership = Membership.objects.select_for_update().filter(user_id=user_id, organization=organization).first()
        if membership is None:
            return services.create_record(
                actor=actor, obj=Membership(user_id=user_id, organization=organization, role=role)
            )
        return services.update_record(actor=actor, obj=membership, changes={"role": role}, expected_version=None)


def record_gdp(*, actor: Actor, organization_id: int, year: int, amount_bn: Decimal, currency: str, source: str) -> GdpFigure:
    with transaction.atomic():
        require_role(actor, Role.EDITOR, kinds=HQ_ONLY, doing="Recording GDP figures")
        existing = GdpFigure.objects.select_for_update().filter(organization_id=organization_id, year=year).first()
        if existing is None:
            figure = GdpFigure(organization_id=organization_id, year=year, amount_bn=amount_bn, currency=currency, source=source)
            return services.create_record(actor=actor, obj=figure)
        changes = {"amount_bn": amount_bn, "currency": currency, "source": source}
        return services.update_record(actor=actor, obj=existing, changes=changes, expected_version=None)

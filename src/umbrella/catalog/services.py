"""Every write to the catalog. The coordinating headquarters keeps the catalog (editor role or above)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from umbrella.catalog.models import Compatibility, ItemType, ItemTypeAlias, PackageRule
from umbrella.core import services
from umbrella.core.access import Actor, OrganizationKind, Role, get_visible, require_role

ITEM_TYPE_FIELDS = frozenset(
    {
        "code",
        "name",
        "nsn",
        "capability_area",
        "unit_of_issue",
        "unit_value_eur",
        "valuation_basis",
        "standard",
        "sensitive",
        "bulk",
        "crew_size",
        "description",
        "marking",
    }
)
COMPATIBILITY_FIELDS = frozenset({"source", "kind", "target", "ratio", "note", "citation", "marking"})
ALIAS_FIELDS = frozenset({"item_type", "name", "scheme", "marking"})
PACKAGE_RULE_FIELDS = frozenset(
    {"system", "crews_per_system", "rounds_per_day", "days_of_supply", "spare_kits_per_system", "source", "marking"}
)
CATALOG_KEEPERS = frozenset({OrganizationKind.COORDINATOR})


def require_catalog_editor(actor: Actor) -> None:
    require_role(actor, Role.EDITOR, kinds=CATALOG_KEEPERS, doing=_("Changing the catalog"))


def create_item_type(*, actor: Actor, fields: Mapping[str, Any]) -> ItemType:
    with services.atomic():
        require_catalog_editor(actor)
        values = services.writable(fields, ITEM_TYPE_FIELDS)
        return services.create_record(actor=actor, obj=ItemType(owner=services.acting_organization(actor), **values))


def update_item_type(*, actor: Actor, item_type_id: int, expected_version: int, changes: Mapping[str, Any]) -> ItemType:
    with services.atomic():
        item_type = get_visible(ItemType.objects.select_for_update(), actor, pk=item_type_id)
        require_catalog_editor(actor)
        values = services.writable(changes, ITEM_TYPE_FIELDS)
        return services.update_record(actor=actor, obj=item_type, changes=values, expected_version=expected_version)


def delete_item_type(*, actor: Actor, item_type_id: int, expected_version: int) -> None:
    with services.atomic():
        item_type = get_visible(ItemType.objects.select_for_update(), actor, pk=item_type_id)
        require_catalog_editor(actor)
        services.delete_record(actor=actor, obj=item_type, expected_version=expected_version)


def create_compatibility(*, actor: Actor, fields: Mapping[str, Any]) -> Compatibility:
    with services.atomic():
        require_catalog_editor(actor)
        values = services.writable(fields, COMPATIBILITY_FIELDS)
        return services.create_record(actor=actor, obj=Compatibility(owner=services.acting_organization(actor), **values))


def update_compatibility(
    *, actor: Actor, compatibility_id: int, expected_version: int, changes: Mapping[str, Any]
) -> Compatibility:
    with services.atomic():
        link = get_visible(Compatibility.objects.select_for_update(), actor, pk=compatibility_id)
        require_catalog_editor(actor)
        values = services.writable(changes, COMPATIBILITY_FIELDS)
        return services.update_record(actor=actor, obj=link, changes=values, expected_version=expected_version)


def delete_compatibility(*, actor: Actor, compatibility_id: int, expected_version: int) -> None:
    with services.atomic():
        link = get_visible(Compatibility.objects.select_for_update(), actor, pk=compatibility_id)
        require_catalog_editor(actor)
        services.delete_record(actor=actor, obj=link, expected_version=expected_version)


def create_package_rule(*, actor: Actor, fields: Mapping[str, Any]) -> PackageRule:
    """What one crew-served system needs beside itself: crews, days of munitions, spares (one rule per system)."""
    with services.atomic():
        require_catalog_editor(actor)
        values = services.writable(fields, PACKAGE_RULE_FIELDS)
        return services.create_record(actor=actor, obj=PackageRule(owner=services.acting_organization(actor), **values))


def update_package_rule(*, actor: Actor, rule_id: int, expected_version: int, changes: Mapping[str, Any]) -> PackageRule:
    with services.atomic():
        rule = get_visible(PackageRule.objects.select_for_update(), actor, pk=rule_id)
        require_catalog_editor(actor)
        values = services.writable(changes, PACKAGE_RULE_FIELDS - {"system"})
        return services.update_record(actor=actor, obj=rule, changes=values, expected_version=expected_version)


def create_alias(*, actor: Actor, fields: Mapping[str, Any]) -> ItemTypeAlias:
    """Another name for an item type (e.g. as the Kiel tracker writes it); the name is kept as given, spaces
    collapsed, and compared without case, accents or spaces."""
    with services.atomic():
        require_catalog_editor(actor)
        values = services.writable(fields, ALIAS_FIELDS)
        return services.create_record(actor=actor, obj=ItemTypeAlias(owner=services.acting_organization(actor), **values))


def delete_alias(*, actor: Actor, alias_id: int, expected_version: int) -> None:
    with services.atomic():
        alias = get_visible(ItemTypeAlias.objects.select_for_update(), actor, pk=alias_id)
        require_catalog_editor(actor)
        services.delete_record(actor=actor, obj=alias, expected_version=expected_version)

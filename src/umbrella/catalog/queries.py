"""Lists of catalog records that the pages, the API and the exports share: filters, search and sort."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from umbrella.catalog.models import (
    CapabilityArea,
    Compatibility,
    CompatibilityKind,
    ItemType,
    ItemTypeAlias,
    PackageRule,
    alias_key,
)
from umbrella.catalog.nsn import searched_digits
from umbrella.core.access import Actor
from umbrella.core.errors import Invalid
from umbrella.core.listing import Column, Filter, Listing
from umbrella.core.numbers import format_eur


def area_choices() -> list[tuple[str, str]]:
    """The capability areas to filter by, named in the reader's language."""
    return [(area.code, area.label) for area in CapabilityArea.objects.all()]


YES_NO = [("True", gettext_lazy("yes")), ("False", gettext_lazy("no"))]


def item_types(actor: Actor) -> QuerySet[ItemType]:
    """The item types the actor may see, with what the catalog's list shows of each (page and API alike)."""
    return ItemType.objects.visible_to(actor).select_related("capability_area", "owner")


def _search_also(text: str, actor: Actor) -> Q:
    """Item types whose NSN holds the digits typed, or that go by another name (an alias the reader may see)
    holding the text: as written, or compared as `alias_key` does ("m777howitzer" finds "M777 Howitzer").
    One subquery, so the number of queries does not grow with the rows."""
    names = Q(name__icontains=text)
    key = alias_key(text)
    if key:
        names |= Q(key__contains=key)
    condition = Q(pk__in=ItemTypeAlias.objects.visible_to(actor).filter(names).values("item_type_id"))
    digits = searched_digits(text)
    return condition | Q(nsn__contains=digits) if digits else condition


ITEM_TYPES = Listing(
    columns=(
        Column(gettext_lazy("Code"), lambda o: o.code, sort="code"),
        Column(gettext_lazy("Name"), lambda o: o.name, sort="name"),
        Column(gettext_lazy("Capability area"), lambda o: o.capability_area.label, sort="capability_area__order"),
        Column(gettext_lazy("Standard or calibre"), lambda o: o.standard, sort="standard"),
        Column(gettext_lazy("NSN"), lambda o: o.parsed_nsn or "", sort="nsn"),
        Column(gettext_lazy("Unit value"), lambda o: format_eur(o.unit_value_eur), sort="unit_value_eur", numeric=True),
        Column(gettext_lazy("Sensitive"), lambda o: _("yes") if o.sensitive else ""),
    ),
    filters=(
        Filter("area", gettext_lazy("Capability area"), "capability_area__code", lambda actor: area_choices()),
        Filter("sensitive", gettext_lazy("Sensitive"), "sensitive", lambda actor: YES_NO),
        Filter("bulk", gettext_lazy("Bulk"), "bulk", lambda actor: YES_NO),
    ),
    search=("code", "name", "standard", "description"),
    search_also=_search_also,
    default_sort="code",
)


def visible_item_type(actor: Actor, code: str, field: str) -> ItemType:
    """The item type with `code` that `actor` may see, or Invalid on `field` (an API body names items by code)."""
    found = ItemType.objects.visible_to(actor).filter(code=code).first()
    if found is None:
        raise Invalid({field: [_("No item type %(code)s that you can see.") % {"code": repr(code)}]})
    return found


@dataclass(frozen=True)
class Package:
    """What one system needs beside itself, written out: its rule, and the item types that rule counts (those it
    fires, those linked as spares for it) that the reader may see."""

    rule: PackageRule
    crew_size: int
    munitions: tuple[ItemType, ...]
    spares: tuple[ItemType, ...]

    @property
    def people_per_system(self) -> int:
        return self.rule.crews_per_system * self.crew_size

    @property
    def rounds_per_system(self) -> Decimal:
        return self.rule.rounds_per_day * self.rule.days_of_supply


def package_of(actor: Actor, system: ItemType) -> Package | None:
    """The package of `system` as `actor` may see it, or None when it has no rule the actor may see."""
    rule = PackageRule.objects.visible_to(actor).filter(system=system).first()
    if rule is None:
        return None
    visible = ItemType.objects.visible_to(actor)
    links = Compatibility.objects.visible_to(actor)
    munitions = visible.filter(pk__in=links.filter(source=system, kind=CompatibilityKind.FIRES).values("target_id")).order_by(
        "code"
    )
    spares = visible.filter(pk__in=links.filter(target=system, kind=CompatibilityKind.SPARES_FOR).values("source_id")).order_by(
        "code"
    )
    return Package(rule=rule, crew_size=system.crew_size or 0, munitions=tuple(munitions), spares=tuple(spares))


def name_index(actor: Actor, scheme: str = "kiel") -> dict[str, ItemType]:
    """Every name the actor's catalog knows an item type by, compared as `alias_key` does: codes, names, then
    the aliases of other schemes, then those of `scheme` (the later wins where two give the same key)."""
    visible = item_types(actor)
    index: dict[str, ItemType] = {}
    by_id: dict[int, ItemType] = {}
    for item in visible:
        by_id[item.pk] = item
        index.setdefault(alias_key(item.code), item)
        index.setdefault(alias_key(item.name), item)
    aliases = ItemTypeAlias.objects.visible_to(actor).filter(item_type__in=visible).order_by("scheme")
    for alias in sorted(aliases, key=lambda a: a.scheme == scheme):
        index[alias.key] = by_id[alias.item_type_id]
    return index


def resolve_name(index: dict[str, ItemType], name: str) -> ItemType | None:
    """The item type `name` stands for in `index` (see `name_index`), or None."""
    return index.get(alias_key(name))

"""Every write to the gazetteer. The coordinating headquarters keeps it (editor role or above), as it keeps the
catalog: destinations, conditions and consignment legs all name these places.

A place's `path` is the codes from its country down to it, joined by "/"; the services set it from the parent
and, when a place moves or its code changes, rewrite the paths of everything within it (each a ledgered update),
so that "within UA" stays one prefix test."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from umbrella.core import services
from umbrella.core.access import Actor, OrganizationKind, Role, get_visible, require_role
from umbrella.core.errors import Invalid
from umbrella.places.models import PATH_SEPARATOR, Place
from umbrella.places.queries import place_index, resolve_place

PLACE_FIELDS = frozenset(
    {
        "code",
        "kind",
        "parent",
        "name_en",
        "name_uk",
        "aliases",
        "latitude",
        "longitude",
        "hub_capacity",
        "hub_capacity_unit",
        "hub_handling_days",
        "source",
        "marking",
    }
)
GAZETTEER_KEEPERS = frozenset({OrganizationKind.COORDINATOR})
PATH_MAX_LENGTH = Place._meta.get_field("path").max_length


def require_gazetteer_editor(actor: Actor) -> None:
    require_role(actor, Role.EDITOR, kinds=GAZETTEER_KEEPERS, doing=_("Changing the gazetteer"))


def path_for(code: str, parent: Place | None) -> str:
    return code if parent is None else f"{parent.path}{PATH_SEPARATOR}{code}"


def _check_path(path: str) -> None:
    if len(path) > PATH_MAX_LENGTH:
        raise Invalid(
            {"parent": [_("The place lies too deep: its path would exceed %(limit)d characters.") % {"limit": PATH_MAX_LENGTH}]}
        )


def create_place(*, actor: Actor, fields: Mapping[str, Any]) -> Place:
    with services.atomic():
        require_gazetteer_editor(actor)
        values = services.writable(fields, PLACE_FIELDS)
        place = Place(owner=services.acting_organization(actor), **values)
        place.path = path_for(place.code or "", place.parent)
        _check_path(place.path)
        return services.create_record(actor=actor, obj=place)


def _refuse_cycle(place: Place, parent: Place | None) -> None:
    if parent is not None and (parent.pk == place.pk or parent.within(place)):
        raise Invalid({"parent": [_("A place cannot lie within itself or within a place inside it.")]})


def update_place(*, actor: Actor, place_id: int, expected_version: int, changes: Mapping[str, Any]) -> Place:
    """Change a place; when its code or parent changes, the paths of the places within it follow."""
    with services.atomic():
        place = get_visible(Place.objects.select_for_update(), actor, pk=place_id)
        require_gazetteer_editor(actor)
        values = services.writable(changes, PLACE_FIELDS)
        parent = values.get("parent", place.parent)
        _refuse_cycle(place, parent)
        old_path = place.path
        new_path = path_for(values.get("code", place.code), parent)
        _check_path(new_path)
        place = services.update_record(
            actor=actor, obj=place, changes={**values, "path": new_path}, expected_version=expected_version
        )
        if new_path != old_path:
            _move_descendants(actor, old_path, new_path)
        return place


def _move_descendants(actor: Actor, old_path: str, new_path: str) -> None:
    prefix = old_path + PATH_SEPARATOR
    for descendant in Place.objects.select_for_update().filter(path__startswith=prefix).order_by("path"):
        moved = new_path + descendant.path[len(old_path) :]
        _check_path(moved)
        services.update_record(actor=actor, obj=descendant, changes={"path": moved}, expected_version=descendant.version)


def delete_place(*, actor: Actor, place_id: int, expected_version: int) -> None:
    with services.atomic():
        place = get_visible(Place.objects.select_for_update(), actor, pk=place_id)
        require_gazetteer_editor(actor)
        services.delete_record(actor=actor, obj=place, expected_version=expected_version)


def resolve_place_field(values: dict[str, Any], field: str, actor: Actor) -> None:
    """Turn a place given as text (a code, a name or an alias, as forms, the API and callers may give it) into
    the place, in place; an unknown or ambiguous text is Invalid on `field`, naming the closest matches."""
    value = values.get(field)
    if isinstance(value, str):
        try:
            values[field] = resolve_place(value, actor)
        except ValidationError as error:
            raise Invalid({field: error.messages}) from None


def resolve_places_field(values: dict[str, Any], field: str, actor: Actor) -> None:
    """The same for a list of places (a donor's allowed destinations): every unknown text reported at once."""
    if field not in values or values[field] is None:
        return
    given = values[field]
    texts = [item for item in given if isinstance(item, str)]
    if not texts:
        values[field] = list(dict.fromkeys(given))
        return
    try:
        named = dict(zip(texts, resolve_places_in_order(texts, actor), strict=True))
    except ValidationError as error:
        raise Invalid({field: error.messages}) from None
    values[field] = list(dict.fromkeys(named[item] if isinstance(item, str) else item for item in given))


def resolve_places_in_order(texts: list[str], actor: Actor) -> list[Place]:
    index = place_index(actor)
    found, problems = [], []
    for text in texts:
        try:
            found.append(index.resolve(text))
        except ValidationError as error:
            problems.extend(error.messages)
    if problems:
        raise ValidationError(problems)
    return found


def split_place_names(text: str | None) -> list[str]:
    """Places named once each, in the order given, from lines or ';'-separated text."""
    names = (name.strip() for line in (text or "").splitlines() for name in line.split(";"))
    return list(dict.fromkeys(name for name in names if name))

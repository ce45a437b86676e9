"""Imports of places (the gazetteer), through the core pipeline: every row checked, nothing written on any error.

A row whose code is already in the gazetteer updates that place (so a corrected gazetteer can be imported again);
`parent` names a place by its code, name or alias, and may be a row earlier in the same file."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from umbrella.core import imports
from umbrella.core.access import Marking
from umbrella.core.imports import Column, ImportContext
from umbrella.places import services
from umbrella.places.models import CapacityUnit, Place, PlaceKind
from umbrella.places.queries import PlaceIndex, place_index
from umbrella.places.services import split_place_names

GAZETTEER = Path(__file__).parent / "data" / "gazetteer.csv"


def coordinate(value: str, context: ImportContext) -> Decimal:
    try:
        number = Decimal(value.replace(",", "."))
    except InvalidOperation:
        raise ValueError(_("not a number of degrees")) from None
    if not number.is_finite():
        raise ValueError(_("not a number of degrees"))
    return number


def alias_lines(value: str, context: ImportContext) -> str:
    """Aliases separated by ';' in a cell, one a line in the record."""
    return "\n".join(dict.fromkeys(alias.strip() for alias in value.replace("\n", ";").split(";") if alias.strip()))


def place_reference(value: str, context: ImportContext) -> Place:
    """A place by code, name or alias, among those the importing actor may see. The index is read once per
    run and learns each place the run writes, so a row may name a place an earlier row added."""
    try:
        return _index(context).resolve(value)
    except ValidationError as error:
        raise ValueError(" ".join(error.messages)) from None


def place_references(value: str, context: ImportContext) -> list[Place]:
    """Several places in one cell, separated by ';' (or on lines); every unknown one named in the one error."""
    found, problems = [], []
    for name in split_place_names(value):
        try:
            found.append(place_reference(name, context))
        except ValueError as error:
            problems.append(str(error))
    if problems:
        raise ValueError(" ".join(problems))
    return list(dict.fromkeys(found))


def _index(context: ImportContext) -> PlaceIndex:
    if "place-index" not in context.cache:
        context.cache["place-index"] = place_index(context.actor)
    return context.cache["place-index"]


def learn(place: Place, context: ImportContext) -> None:
    """Rows after this one may name the place (it may still wait in the bulk path's batch, not yet in the table)."""
    _index(context).add(place)


@imports.register
class PlaceImporter(imports.Importer):
    rows_read_earlier_rows = True
    organization_kinds = services.GAZETTEER_KEEPERS
    example = {
        "code": "UA-63",
        "kind": "region",
        "parent": "UA",
        "name_en": "Kharkiv Oblast",
        "name_uk": "Харківська область",
        "aliases": "Kharkivska oblast; Kharkov Oblast",
        "latitude": "49.99",
        "longitude": "36.23",
        "source": "ISO 3166-2:UA",
    }
    kind = "places"
    label = gettext_lazy("Places")
    columns = (
        Column("code", imports.text(20)),
        Column("kind", imports.choice(PlaceKind)),
        Column("parent", place_reference, required=False),
        Column("name_en", imports.text(120)),
        Column("name_uk", imports.text(120), required=False),
        Column("aliases", alias_lines, required=False),
        Column("latitude", coordinate, required=False),
        Column("longitude", coordinate, required=False),
        Column("hub_capacity", imports.integer(minimum=0, maximum=10_000_000), required=False),
        Column("hub_capacity_unit", imports.choice(CapacityUnit), required=False),
        Column("hub_handling_days", imports.integer(minimum=0, maximum=365), required=False),
        Column("source", imports.text(300), required=False),
        Column("marking", imports.choice(Marking), required=False),
    )

    def write(self, values: dict[str, Any], context: ImportContext) -> Place:
        values.setdefault("parent", None)
        existing = Place.objects.visible_to(context.actor).filter(code=values["code"]).first()
        if existing is None:
            place = services.create_place(actor=context.actor, fields=values)
        else:
            place = services.update_place(
                actor=context.actor, place_id=existing.pk, expected_version=existing.version, changes=values
            )
        learn(place, context)
        return place

"""Reads of the gazetteer that pages, API, importers and forms share: the resolver that turns what a person
typed (a code, a name in English or Ukrainian, a transliteration) into one place, and the place list."""

from __future__ import annotations

import difflib
import unicodedata
from collections import defaultdict
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from umbrella.core.access import Actor
from umbrella.core.listing import Column, Filter, Listing
from umbrella.places.models import PATH_SEPARATOR, Place, PlaceKind

SUGGESTIONS = 3
# Marks of one spelling (an apostrophe, a dash, a space) that people type in several ways: Kam'yanets, Kam’yanets.
_PUNCTUATION = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "‘": "'", "–": "-", "—": "-", "_": " "})


def normalized(text: str) -> str:
    """The form names are compared in: case-folded, accents of Latin letters removed (Rzeszów, Constanța, Košice
    match Rzeszow, Constanta, Kosice), Cyrillic letters kept whole (й, ї are letters of their own), spaces single."""
    decomposed = unicodedata.normalize("NFKD", (text or "").translate(_PUNCTUATION))
    kept: list[str] = []
    for char in decomposed:
        if unicodedata.combining(char) and kept and kept[-1].isascii():
            continue
        kept.append(char)
    return " ".join(unicodedata.normalize("NFC", "".join(kept)).casefold().split())


def names_of(place: Place) -> list[str]:
    return [name for name in (place.code, place.name_en, place.name_uk, *place.alias_list()) if name]


class PlaceIndex:
    """Every place by each of its names, built once for a run of lookups (an import, a form's cleaning)."""

    def __init__(self, places: Iterable[Place]) -> None:
        self.by_code: dict[str, Place] = {}
        # Keyed by code, not id: a place an import has just handed to the bulk path has no id yet.
        self.by_name: dict[str, dict[str, Place]] = defaultdict(dict)
        self.known: set[str] = set()
        for place in places:
            self.add(place)

    def add(self, place: Place) -> None:
        """Take in a place (a new one, or one whose names changed: its old names are forgotten)."""
        if place.code in self.known:
            for names in self.by_name.values():
                names.pop(place.code, None)
        self.known.add(place.code)
        self.by_code[normalized(place.code)] = place
        for name in names_of(place):
            self.by_name[normalized(name)][place.code] = place

    def resolve(self, text: str) -> Place:
        key = normalized(text)
        if key in self.by_code:  # a code is exact: it wins over a place that happens to be called so
            return self.by_code[key]
        found = list(self.by_name.get(key, {}).values())
        if len(found) == 1:
            return found[0]
        if found:
            listed = ", ".join(str(place) for place in sorted(found, key=lambda place: place.code))
            raise ValidationError(
                _("Place %(text)s is ambiguous: it names %(places)s. Give the code.") % {"text": repr(text), "places": listed},
                code="ambiguous",
            )
        raise ValidationError(self.unknown_message(text), code="unknown")

    def closest(self, text: str) -> list[Place]:
        key = normalized(text)
        matches = difflib.get_close_matches(key, list(self.by_name), n=SUGGESTIONS * 3, cutoff=0.6)
        chosen: dict[str, Place] = {}
        for match in matches:
            for place in self.by_name[match].values():
                chosen.setdefault(place.code, place)
        return list(chosen.values())[:SUGGESTIONS]

    def unknown_message(self, text: str) -> str:
        suggestions = self.closest(text)
        if not suggestions:
            return _("Unknown place %(text)s: give a code (UA-63), a name or an alias from the gazetteer.") % {"text": repr(text)}
        return _("Unknown place %(text)s: did you mean %(suggestions)s?") % {
            "text": repr(text),
            "suggestions": _(" or ").join(str(place) for place in suggestions),
        }


def place_index(actor: Actor | None = None) -> PlaceIndex:
    """The index of the places the actor may see (all of them for None: the gazetteer is public by default)."""
    places = Place.objects.visible_to(actor or Actor.system("gazetteer"))
    return PlaceIndex(places.only("id", "code", "path", "name_en", "name_uk", "aliases"))


def resolve_place(text: str, actor: Actor | None = None) -> Place:
    """The one place `text` names (a code in any case, an English or Ukrainian name, an alias), or a
    ValidationError that names the closest matches ("Unknown place 'Ukrain': did you mean UA — Ukraine?")."""
    return place_index(actor).resolve(text)


def places(actor: Actor) -> QuerySet[Place]:
    return Place.objects.visible_to(actor).select_related("parent")


def ancestors(place: Place, actor: Actor) -> list[Place]:
    """The places a place lies within, from its country down (those the actor may see)."""
    codes = place.path.split(PATH_SEPARATOR)[:-1]
    by_code = {p.code: p for p in Place.objects.visible_to(actor).filter(code__in=codes)}
    return [by_code[code] for code in codes if code in by_code]


def _coordinates(place: Place) -> str:
    if place.latitude is None:
        return ""
    return f"{place.latitude}, {place.longitude}"


PLACES = Listing(
    columns=(
        Column(gettext_lazy("Code"), lambda o: o.code, sort="code"),
        Column(gettext_lazy("Name"), lambda o: o.name_en, sort="name_en", link=True),
        Column(gettext_lazy("Name in Ukrainian"), lambda o: o.name_uk, sort="name_uk"),
        Column(gettext_lazy("Kind"), lambda o: o.get_kind_display(), sort="kind"),
        Column(gettext_lazy("Within"), lambda o: o.parent.code if o.parent else "", sort="path"),
        Column(gettext_lazy("Coordinates"), _coordinates),
    ),
    filters=(Filter("kind", gettext_lazy("Kind"), "kind", lambda actor: PlaceKind.choices),),
    search=("code", "name_en", "name_uk", "aliases", "path"),
    default_sort="path",
)

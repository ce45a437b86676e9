"""Form fields that name places the way people do: a code, a name in English or Ukrainian, or an alias."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from umbrella.core.access import Actor
from umbrella.places.models import Place
from umbrella.places.queries import place_index
from umbrella.places.services import split_place_names


def _code_of(value: Any, actor: Any) -> str:
    """The code a field shows for its value: a place, a place's id (a model form's initial value), or text."""
    if isinstance(value, Place):
        return value.code
    if isinstance(value, int):
        place = Place.objects.visible_to(actor or Actor.anonymous()).filter(pk=value).only("code").first()
        return place.code if place else ""
    return value or ""


class PlaceField(forms.CharField):
    """One place; the form's actor sets `actor` (what the person may see is what the field resolves against)."""

    default_help_text = _("A code (UA-63), a name (Kharkiv, Харків) or another name (Kharkov).")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 120)
        kwargs.setdefault("help_text", self.default_help_text)
        super().__init__(*args, **kwargs)
        self.actor = None

    def prepare_value(self, value: Any) -> str:
        return _code_of(value, self.actor)

    def clean(self, value: Any) -> Place | None:
        text = super().clean(value)
        if not text:
            return None
        return place_index(self.actor).resolve(text)

    def has_changed(self, initial: Any, data: Any) -> bool:
        return _code_of(initial, self.actor).casefold() != (data or "").strip().casefold()


class PlacesField(forms.CharField):
    """Several places, one a line or separated by ';' (empty: none)."""

    widget = forms.Textarea(attrs={"rows": 3})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)
        self.actor = None

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        return "\n".join(_code_of(place, self.actor) for place in value or [])

    def clean(self, value: Any) -> list[Place]:
        text = super().clean(value)
        index = place_index(self.actor)
        found, problems = [], []
        for name in split_place_names(text):
            try:
                found.append(index.resolve(name))
            except ValidationError as error:
                problems.extend(error.messages)
        if problems:
            raise ValidationError(problems)
        return list(dict.fromkeys(found))

    def has_changed(self, initial: Any, data: Any) -> bool:
        before = [code.casefold() for code in split_place_names(self.prepare_value(initial))]
        return before != [name.casefold() for name in split_place_names(data or "")]


def give_actor(form: forms.BaseForm, actor: Any) -> None:
    """Let the form's place fields resolve against what the actor may see."""
    for field in form.fields.values():
        if isinstance(field, PlaceField | PlacesField):
            field.actor = actor

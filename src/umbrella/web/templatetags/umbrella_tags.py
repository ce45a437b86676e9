from django import template

from umbrella.core.imports import importers_for
from umbrella.core.money import format_eur

register = template.Library()


@register.filter
def eur(amount):
    return format_eur(amount)


@register.filter
def get_item(mapping, key):
    return mapping.get(key, "")


@register.filter
def may_import(actor) -> bool:
    """Whether the navigation offers Import: the actor could import at least one kind of record."""
    return actor is not None and bool(importers_for(actor))

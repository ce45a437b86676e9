from django import template

from umbrella.core.money import format_eur

register = template.Library()


@register.filter
def eur(amount):
    return format_eur(amount)


@register.filter
def get_item(mapping, key):
    return mapping.get(key, "")

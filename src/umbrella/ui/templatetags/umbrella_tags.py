from django import template

from umbrella.core import numbers

register = template.Library()


@register.filter
def eur(amount, whole=""):
    """{{ value|eur }} with cents; {{ value|eur:"whole" }} without, for summaries."""
    return numbers.format_eur(amount, cents=whole != "whole")


@register.filter
def eur_short(amount):
    return numbers.format_eur_short(amount)


@register.filter
def number(value, places=0):
    return numbers.number(value, int(places))


@register.filter
def units(value):
    return numbers.units(value)


@register.filter
def percent(value, places=1):
    return numbers.percent(value, int(places))


@register.filter
def share(value, places=2):
    return numbers.share(value, int(places))


@register.filter
def get_item(mapping, key):
    return mapping.get(key, "")

"""The gazetteer's pages: the place list (searchable, by kind) and a place with its hierarchy and hub figures."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from umbrella.core.access import get_visible
from umbrella.places.models import Place
from umbrella.places.queries import PLACES, ancestors, places
from umbrella.ui.pages import DetailPage, history_rows, list_or_export


def place_list(request: HttpRequest) -> HttpResponse:
    return list_or_export(
        request,
        PLACES,
        places(request.actor),
        title=_("Places"),
        export_kind="places",
        empty=_("No places yet."),
        intro=_(
            "The gazetteer: countries, their regions and the sites within them. Destinations and donors' conditions "
            "name these places by code, name or alias; a condition naming a country or region covers every place within it."
        ),
    )


def _hub_figures(place: Place) -> list[tuple[str, object]]:
    if not place.is_hub:
        return []
    return [
        (_("Hub capacity"), f"{place.hub_capacity} {place.get_hub_capacity_unit_display()}"),
        (_("Handling time"), _("%(days)s days") % {"days": place.hub_handling_days}),
    ]


def place_detail(request: HttpRequest, pk: int) -> HttpResponse:
    place = get_visible(Place.objects.select_related("owner"), request.actor, pk=pk)
    page = DetailPage(
        title=str(place),
        obj=place,
        fields=[
            (_("Code"), place.code),
            (_("Kind"), place.get_kind_display()),
            (_("Name in English"), place.name_en),
            (_("Name in Ukrainian"), place.name_uk),
            (_("Other names"), "; ".join(place.alias_list())),
            (_("Path"), place.path),
            (_("Coordinates (WGS84)"), f"{place.latitude}, {place.longitude}" if place.latitude is not None else None),
            *_hub_figures(place),
            (_("Source"), place.source),
            (_("Marking"), place.get_marking_display()),
            (_("Version"), place.version),
        ],
        history=history_rows(place),
        extra={
            "ancestors": ancestors(place, request.actor),
            "children": Place.objects.visible_to(request.actor).filter(parent=place).order_by("code"),
        },
    )
    return render(request, "places/place_detail.html", {"page": page})

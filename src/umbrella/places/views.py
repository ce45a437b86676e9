"""The gazetteer's pages: the place list (searchable, by kind) and a place with its hierarchy and hub figures."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from umbrella.core.access import allowed, get_visible
from umbrella.places import services
from umbrella.places.forms import PlaceField, give_actor
from umbrella.places.models import Place
from umbrella.places.queries import PLACES, ancestors, places
from umbrella.ui.forms import ActorForm, posted_version
from umbrella.ui.pages import ConfirmPage, DetailPage, FormPage, history_rows, list_or_export, submit


class PlaceForm(ActorForm):
    parent = PlaceField(label=gettext_lazy("Within"), required=False, help_text=gettext_lazy("Empty for a country."))

    class Meta:
        model = Place
        fields = [
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
        ]

    def __init__(self, *args, actor, **kwargs) -> None:
        super().__init__(*args, actor=actor, **kwargs)
        give_actor(self, actor)


def _may_edit(request: HttpRequest) -> bool:
    return allowed(services.require_gazetteer_editor, request.actor)


def place_list(request: HttpRequest) -> HttpResponse:
    return list_or_export(
        request,
        PLACES,
        places(request.actor),
        title=_("Places"),
        export_kind="places",
        create_url=reverse("place-new") if _may_edit(request) else None,
        create_label=_("New place"),
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
            "may_edit": _may_edit(request),
        },
    )
    return render(request, "places/place_detail.html", {"page": page})


@login_required
def place_create(request: HttpRequest) -> HttpResponse:
    services.require_gazetteer_editor(request.actor)
    form = PlaceForm(request.POST or None, actor=request.actor, initial={"marking": "public"})
    page = FormPage(title=_("New place"), forms=[form], submit_label=_("Create"), cancel_url=reverse("places"))
    return submit(
        request, page, lambda: services.create_place(actor=request.actor, fields=form.cleaned_data), done=_("Place created.")
    )


@login_required
def place_edit(request: HttpRequest, pk: int) -> HttpResponse:
    place = get_visible(Place.objects.all(), request.actor, pk=pk)
    services.require_gazetteer_editor(request.actor)
    form = PlaceForm(request.POST or None, instance=place, actor=request.actor)
    page = FormPage(
        title=_("Edit %(place)s") % {"place": place},
        forms=[form],
        submit_label=_("Save"),
        cancel_url=place.get_absolute_url(),
        version=place.version,
    )
    return submit(
        request,
        page,
        lambda: services.update_place(
            actor=request.actor, place_id=pk, expected_version=posted_version(request), changes=form.changed_values()
        ),
        done=_("Saved."),
    )


@login_required
def place_delete(request: HttpRequest, pk: int) -> HttpResponse:
    place = get_visible(Place.objects.all(), request.actor, pk=pk)
    services.require_gazetteer_editor(request.actor)
    if request.method == "POST":
        services.delete_place(actor=request.actor, place_id=pk, expected_version=posted_version(request))
        messages.success(request, _("Place %(code)s deleted.") % {"code": place.code})
        return redirect("places")
    page = ConfirmPage(
        title=_("Delete %(place)s") % {"place": place},
        question=_("Delete this place? A place that destinations, conditions or other places name cannot be deleted."),
        submit_label=_("Delete"),
        cancel_url=place.get_absolute_url(),
        version=place.version,
    )
    return render(request, "ui/confirm_page.html", {"page": page})

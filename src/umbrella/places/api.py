"""The gazetteer in the API: the place list (the page's search and filter), one place, and the resolver that
turns a code, name or alias into a place (or a 422 naming the closest matches)."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from umbrella.core.access import get_visible
from umbrella.core.api import Pagination, with_etag
from umbrella.core.errors import Invalid
from umbrella.core.listing import filtered, params_of, sort_type
from umbrella.places.models import Place, PlaceKind
from umbrella.places.queries import PLACES, places, resolve_place

router = Router()


class PlaceOut(Schema):
    id: int
    code: str
    kind: str
    parent: str | None = Field(description="The code of the place this one lies within (none for a country)")
    path: str = Field(description="Codes from the country down to this place, joined by /")
    name_en: str
    name_uk: str
    aliases: list[str]
    latitude: Decimal | None = Field(description="WGS84, degrees north")
    longitude: Decimal | None = Field(description="WGS84, degrees east")
    hub_capacity: int | None
    hub_capacity_unit: str
    hub_handling_days: int | None
    source: str
    marking: str
    version: int

    @staticmethod
    def resolve_parent(obj) -> str | None:
        return obj.parent.code if obj.parent_id else None

    @staticmethod
    def resolve_aliases(obj) -> list[str]:
        return obj.alias_list()


class PlaceFilters(Schema):
    q: str | None = Field(None, description="Search in codes, names, aliases and paths")
    kind: PlaceKind | None = None
    sort: sort_type(PLACES) | None = Field(None, description="Prefix - to reverse")


@router.get("/places", response=list[PlaceOut], summary="List places (the gazetteer)")
@paginate(Pagination, page_size=50)
def list_places(request, filters: Query[PlaceFilters]):
    return filtered(PLACES, places(request.actor), params_of(filters), request.actor)


@router.get("/places/resolve", response=PlaceOut, summary="The place a code, name or alias names (422 names the closest)")
def resolve(request, name: str = Query(..., min_length=1, max_length=120)):
    try:
        return resolve_place(name, request.actor)
    except ValidationError as error:
        raise Invalid({"name": error.messages}) from None


@router.get("/places/{place_id}", response=PlaceOut, summary="One place, with its ETag")
def get_place(request, place_id: int, response: HttpResponse):
    place = get_visible(Place.objects.select_related("parent"), request.actor, pk=place_id)
    with_etag(response, place.version)
    return place

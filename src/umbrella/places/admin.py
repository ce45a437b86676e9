from django.contrib import admin

from umbrella.core.admin import ReadOnlyAdmin
from umbrella.places.models import Place


@admin.register(Place)
class PlaceAdmin(ReadOnlyAdmin):
    list_display = ("code", "name_en", "name_uk", "kind", "path", "hub_capacity", "hub_capacity_unit")
    list_filter = ("kind",)
    search_fields = ("code", "name_en", "name_uk", "aliases", "path")

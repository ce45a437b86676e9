from django.contrib import admin

from umbrella.core.admin import ReadOnlyAdmin
from umbrella.pledges.models import Pledge, PledgeDestination, PledgeSource


@admin.register(Pledge)
class PledgeAdmin(ReadOnlyAdmin):
    list_display = ("id", "owner", "item_type", "quantity", "state", "available_from", "value_eur", "marking")
    list_filter = ("state", "marking", "owner")
    search_fields = ("reference", "item_type__name")


@admin.register(PledgeSource)
class PledgeSourceAdmin(ReadOnlyAdmin):
    list_display = ("pledge", "kind", "date", "url", "document_reference")


@admin.register(PledgeDestination)
class PledgeDestinationAdmin(ReadOnlyAdmin):
    list_display = ("pledge", "place")

from django.contrib import admin

from umbrella.core.admin import ReadOnlyAdmin
from umbrella.logistics.models import Consignment, ConsignmentLine, Leg


@admin.register(Consignment)
class ConsignmentAdmin(ReadOnlyAdmin):
    list_display = ("id", "reference", "owner", "state", "received_on", "handover_date", "marking")
    list_filter = ("state", "marking", "owner")
    search_fields = ("reference",)


@admin.register(ConsignmentLine)
class ConsignmentLineAdmin(ReadOnlyAdmin):
    list_display = ("consignment", "allocation", "quantity", "quantity_received", "discrepancy")


@admin.register(Leg)
class LegAdmin(ReadOnlyAdmin):
    list_display = ("consignment", "from_place", "to_place", "mode", "planned_arrival", "actual_arrival")

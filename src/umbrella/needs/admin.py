from django.contrib import admin

from umbrella.core.admin import ReadOnlyAdmin
from umbrella.needs.models import Requirement, RequirementList


@admin.register(RequirementList)
class RequirementListAdmin(ReadOnlyAdmin):
    list_display = ("series", "revision", "title", "state", "owner")
    list_filter = ("state",)


@admin.register(Requirement)
class RequirementAdmin(ReadOnlyAdmin):
    list_display = ("requirement_list", "item_type", "quantity", "priority", "needed_by", "destination")
    list_filter = ("priority", "requirement_list")

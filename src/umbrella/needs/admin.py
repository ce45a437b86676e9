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
    # Only the lists of requirements the reader sees are offered, so the filter names no hidden list.
    list_filter = ("priority", ("requirement_list", admin.RelatedOnlyFieldListFilter))

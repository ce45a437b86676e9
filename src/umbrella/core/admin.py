"""Django admin for staff, read-only for everything Umbrella ledgers.

The admin saves models by hand, which would skip the services and the ledger; so staff read records
here and change them through the pages, the import pipeline or the command line.
"""

from django.contrib import admin

from umbrella.core.models import ChangeRecord


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ChangeRecord)
class ChangeRecordAdmin(ReadOnlyAdmin):
    list_display = ("sequence", "at", "actor_user", "actor_organization", "action", "entity", "entity_id")
    list_filter = ("action", "entity")
    search_fields = ("actor_user", "entity_id", "request_id")

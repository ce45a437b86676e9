"""Django admin for staff, read-only for everything Umbrella ledgers, and read through the one read rule.

The admin saves models by hand, which would skip the services and the ledger; so staff read records
here and change them through the pages, the import pipeline or the command line. What they read is what
the pages would show the same person acting for the same organization (`request.actor`, set by
`orgs.middleware`): a record they may not see is missing from every list and a 404 on its own page.
"""

from django.contrib import admin
from django.http import Http404

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

    def get_fields(self, request, obj=None):
        # Named from the model, not found by building an edit form nobody may submit.
        return self.fields or [field.name for field in self.model._meta.fields if field.editable and not field.auto_created]

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        return rows.visible_to(request.actor) if hasattr(rows, "visible_to") else rows

    def get_object(self, request, object_id, from_field=None):
        # Django's admin answers a missing object with a redirect and a message naming its id; a record
        # hidden from this person is a 404, the same as a missing one, as on every other page.
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404
        return obj


@admin.register(ChangeRecord)
class ChangeRecordAdmin(ReadOnlyAdmin):
    list_display = ("sequence", "at", "actor_user", "actor_organization", "action", "entity", "entity_id")
    list_filter = ("action", "entity")
    search_fields = ("actor_user", "entity_id", "request_id")

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from umbrella.core.access import visible_markings
from umbrella.core.admin import ReadOnlyAdmin
from umbrella.orgs.models import GdpFigure, Membership, Organization


@admin.register(Organization)
class OrganizationAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "kind", "iso3")
    list_filter = ("kind",)
    search_fields = ("code", "name")


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ("user", "organization", "role")
    list_filter = ("role", "organization__kind")


@admin.register(GdpFigure)
class GdpFigureAdmin(ReadOnlyAdmin):
    list_display = ("organization", "year", "amount_bn", "currency")


# Django's own user and group pages save accounts by hand, outside the services and the ledger; accounts
# change through `umbrella user`, `umbrella createsuperuser`, `umbrella changepassword` and the services.
admin.site.unregister(get_user_model())
admin.site.unregister(Group)


@admin.register(get_user_model())
class UserAdmin(ReadOnlyAdmin):
    list_display = ("username", "email", "first_name", "last_name", "is_active", "is_staff", "is_superuser")
    list_filter = ("is_active", "is_staff", "is_superuser")
    search_fields = ("username", "email", "first_name", "last_name")
    fields = (
        "username",
        "email",
        "first_name",
        "last_name",
        "is_active",
        "is_staff",
        "is_superuser",
        "date_joined",
        "last_login",
    )

    def get_queryset(self, request):
        # Accounts are read as their ledger entries are: by the headquarters and the recipient; others see their own.
        accounts = super().get_queryset(request)
        if request.actor.is_system or get_user_model().ledger_marking in visible_markings(request.actor):
            return accounts
        return accounts.filter(pk=request.user.pk)

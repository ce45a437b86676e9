from django.contrib import admin

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

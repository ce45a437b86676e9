from django.contrib import admin

from umbrella.catalog.models import CapabilityArea, Compatibility, ItemType, ItemTypeAlias
from umbrella.core.admin import ReadOnlyAdmin


@admin.register(CapabilityArea)
class CapabilityAreaAdmin(ReadOnlyAdmin):
    list_display = ("order", "code", "name")


@admin.register(ItemType)
class ItemTypeAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "capability_area", "standard", "unit_value_eur", "sensitive")
    list_filter = ("capability_area", "sensitive", "bulk", "marking")
    search_fields = ("code", "name", "nsn", "standard")


@admin.register(Compatibility)
class CompatibilityAdmin(ReadOnlyAdmin):
    list_display = ("source", "kind", "target", "ratio")
    list_filter = ("kind",)


@admin.register(ItemTypeAlias)
class ItemTypeAliasAdmin(ReadOnlyAdmin):
    list_display = ("name", "scheme", "item_type")
    list_filter = ("scheme",)
    search_fields = ("name",)

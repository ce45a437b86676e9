from django.urls import path

from umbrella.catalog import views

urlpatterns = [
    path("", views.item_type_list, name="item-types"),
    path("new/", views.item_type_create, name="item-type-new"),
    path("<int:pk>/", views.item_type_detail, name="item-type"),
    path("<int:pk>/edit/", views.item_type_edit, name="item-type-edit"),
    path("<int:pk>/delete/", views.item_type_delete, name="item-type-delete"),
    path("<int:pk>/package/", views.package_rule_edit, name="package-rule-edit"),
    path("<int:pk>/links/new/", views.compatibility_create, name="compatibility-new"),
    path("links/<int:pk>/delete/", views.compatibility_delete, name="compatibility-delete"),
    path("<int:pk>/aliases/new/", views.alias_create, name="alias-new"),
    path("aliases/<int:pk>/delete/", views.alias_delete, name="alias-delete"),
]

from django.urls import path

from umbrella.needs import views

urlpatterns = [
    path("", views.requirement_list_list, name="requirement-lists"),
    path("new/", views.requirement_list_create, name="requirement-list-new"),
    path("<int:pk>/", views.requirement_list_detail, name="requirement-list"),
    path("<int:pk>/edit/", views.requirement_list_edit, name="requirement-list-edit"),
    path("<int:pk>/delete/", views.requirement_list_delete, name="requirement-list-delete"),
    path("<int:pk>/add/", views.requirement_create, name="requirement-new"),
    path("<int:pk>/<slug:step>/", views.requirement_list_step, name="requirement-list-step"),
    path("item/<int:pk>/", views.requirement_detail, name="requirement"),
    path("item/<int:pk>/edit/", views.requirement_edit, name="requirement-edit"),
    path("item/<int:pk>/delete/", views.requirement_delete, name="requirement-delete"),
]

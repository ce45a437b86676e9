from django.urls import path

from umbrella.places import views

urlpatterns = [
    path("", views.place_list, name="places"),
    path("new/", views.place_create, name="place-new"),
    path("<int:pk>/", views.place_detail, name="place"),
    path("<int:pk>/edit/", views.place_edit, name="place-edit"),
    path("<int:pk>/delete/", views.place_delete, name="place-delete"),
]

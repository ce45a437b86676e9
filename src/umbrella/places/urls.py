from django.urls import path

from umbrella.places import views

urlpatterns = [
    path("", views.place_list, name="places"),
    path("<int:pk>/", views.place_detail, name="place"),
]

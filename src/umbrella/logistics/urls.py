from django.urls import path

from umbrella.logistics import views

urlpatterns = [
    path("", views.consignment_list, name="consignments"),
    path("<int:pk>/", views.consignment_detail, name="consignment"),
]

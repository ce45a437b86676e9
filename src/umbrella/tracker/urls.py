from django.urls import path

from umbrella.tracker import views

urlpatterns = [
    path("donors/", views.donor_comparison, name="donor-comparison"),
]

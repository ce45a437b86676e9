from django.urls import path

from umbrella.matching import views

urlpatterns = [
    path("", views.run_list, name="match-runs"),
    path("new/", views.run_create, name="match-run-new"),
    path("<int:pk>/", views.run_detail, name="match-run"),
    path("<int:pk>/approve/", views.run_approve, name="match-run-approve"),
    path("allocations/", views.allocation_list, name="allocations"),
    path("allocations/<int:pk>/", views.allocation_detail, name="allocation"),
    path("allocations/<int:pk>/release/", views.allocation_release, name="allocation-release"),
]

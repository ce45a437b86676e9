from django.urls import path

from umbrella.scenarios import views

urlpatterns = [
    path("", views.scenario_list, name="scenarios"),
    path("new/", views.scenario_create, name="scenario-new"),
    path("compare/", views.scenario_compare, name="scenario-compare"),
    path("<int:pk>/", views.scenario_detail, name="scenario"),
]

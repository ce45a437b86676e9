from django.urls import path

from umbrella.training import views_readiness as views

urlpatterns = [
    path("", views.readiness_board_page, name="readiness-board"),
    path("training-plan/", views.training_plan_page, name="training-plan"),
]

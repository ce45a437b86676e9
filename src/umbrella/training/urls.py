from django.urls import path

from umbrella.training import views

urlpatterns = [
    path("", views.course_list, name="training-courses"),
    path("courses/offer/", views.course_offer, name="training-course-offer"),
    path("courses/<int:pk>/", views.course_detail, name="training-course"),
    path("courses/<int:pk>/edit/", views.course_edit, name="training-course-edit"),
    path("courses/<int:pk>/nominate/", views.nominate, name="training-nominate"),
    path("courses/<int:pk>/results/", views.record_results, name="training-results"),
    path("courses/<int:pk>/<str:step>/", views.course_step, name="training-course-step"),
    path("course-types/", views.course_type_list, name="training-course-types"),
    path("course-types/new/", views.course_type_create, name="training-course-type-new"),
    path("course-types/<int:pk>/", views.course_type_detail, name="training-course-type"),
    path("course-types/<int:pk>/edit/", views.course_type_edit, name="training-course-type-edit"),
    path("trainees/", views.nomination_list, name="training-nominations"),
    path("trainees/<int:pk>/", views.nomination_detail, name="training-nomination"),
    path("trainees/<int:pk>/<str:ending>/", views.nomination_end, name="training-nomination-end"),
    path("qualified/", views.qualified, name="training-qualified"),
]

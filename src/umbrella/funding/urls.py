from django.urls import path

from umbrella.funding import views

urlpatterns = [
    path("", views.funding_list, name="funding-list"),
    path("new/", views.funding_create, name="funding-new"),
    path("<int:pk>/", views.funding_detail, name="funding"),
    path("<int:pk>/edit/", views.funding_edit, name="funding-edit"),
    path("<int:pk>/<slug:step>/", views.funding_step, name="funding-step"),
    path("fair-share/", views.fair_share_page, name="fair-share"),
    path("fair-share/publish/", views.publish_statement, name="fair-share-publish"),
]

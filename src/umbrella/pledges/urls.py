from django.urls import path

from umbrella.pledges import views

urlpatterns = [
    path("", views.pledge_list, name="pledges"),
    path("new/", views.pledge_create, name="pledge-new"),
    path("<int:pk>/", views.pledge_detail, name="pledge"),
    path("<int:pk>/edit/", views.pledge_edit, name="pledge-edit"),
    path("<int:pk>/delete/", views.pledge_delete, name="pledge-delete"),
    path("<int:pk>/sources/new/", views.source_create, name="pledge-source-new"),
    path("<int:pk>/<slug:step>/", views.pledge_step, name="pledge-step"),
    path("aid-packages/", views.aid_package_list, name="aid-packages"),
    path("aid-packages/<int:pk>/", views.aid_package_detail, name="aid-package"),
    path("sources/<int:pk>/delete/", views.source_delete, name="pledge-source-delete"),
]

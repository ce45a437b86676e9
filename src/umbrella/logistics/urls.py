from django.urls import path

from umbrella.logistics import views

urlpatterns = [
    path("", views.consignment_list, name="consignments"),
    path("new/", views.consignment_create, name="consignment-new"),
    path("<int:pk>/", views.consignment_detail, name="consignment"),
    path("<int:pk>/receipt/", views.consignment_receipt, name="consignment-receipt"),
    path("<int:pk>/handover/", views.consignment_handover, name="consignment-handover"),
    path("pledges/<int:pk>/close-short/", views.pledge_close_short, name="pledge-close-short"),
    path("<int:pk>/<slug:step>/", views.consignment_step, name="consignment-step"),
]

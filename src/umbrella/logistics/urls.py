from django.urls import path

from umbrella.logistics import views

urlpatterns = [
    path("", views.consignment_list, name="consignments"),
    path("new/", views.consignment_create, name="consignment-new"),
    path("hubs/", views.hub_board_page, name="hub-board"),
    path("coming/", views.coming_page, name="consignments-coming"),
    path("<int:pk>/", views.consignment_detail, name="consignment"),
    path("<int:pk>/receipt/", views.consignment_receipt, name="consignment-receipt"),
    path("<int:pk>/manifest.<slug:fmt>", views.consignment_manifest, name="consignment-manifest"),
    path("<int:pk>/handover/", views.consignment_handover, name="consignment-handover"),
    path("<int:pk>/certificate/", views.consignment_certificate, name="consignment-certificate"),
    path("pledges/<int:pk>/close-short/", views.pledge_close_short, name="pledge-close-short"),
    path("<int:pk>/<slug:step>/", views.consignment_step, name="consignment-step"),
]

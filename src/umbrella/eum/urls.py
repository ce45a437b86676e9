from django.urls import path

from umbrella.eum import views

urlpatterns = [
    path("", views.overview, name="eum-overview"),
    path("serials/", views.serial_list, name="eum-serials"),
    path("serials/<int:pk>/", views.serial_detail, name="eum-serial"),
    path("serials/<int:pk>/loss/", views.serial_loss, name="eum-serial-loss"),
    path("serials/<int:pk>/transfer/", views.serial_transfer, name="eum-serial-transfer"),
    path("serials/<int:pk>/consent/", views.serial_transfer, {"consent": True}, name="eum-serial-consent"),
    path("losses/<int:pk>/acknowledge/", views.loss_acknowledge, name="eum-loss-acknowledge"),
    path("transfers/<int:pk>/decide/", views.transfer_decide, name="eum-transfer-decide"),
    path("inventories/", views.inventory_list, name="eum-inventories"),
    path("inventories/new/", views.inventory_create, name="eum-inventory-new"),
    path("inventories/<int:pk>/", views.inventory_detail, name="eum-inventory"),
    path("units/", views.unit_list, name="eum-units"),
    path("units/new/", views.unit_create, name="eum-unit-new"),
    path("units/<int:pk>/", views.unit_detail, name="eum-unit"),
    path("units/<int:pk>/edit/", views.unit_edit, name="eum-unit-edit"),
    path("rules/", views.rules_page, name="eum-rules"),
    path("report/<str:code>/", views.donor_report_page, name="eum-report"),
    path("public/", views.public_page, name="eum-public"),
]

from django.contrib import admin
from django.urls import include, path

from umbrella.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("umbrella.web.urls")),
    path("catalog/", include("umbrella.catalog.urls")),
    path("places/", include("umbrella.places.urls")),
    path("requirements/", include("umbrella.needs.urls")),
    path("pledges/", include("umbrella.pledges.urls")),
    path("matching/", include("umbrella.matching.urls")),
    path("consignments/", include("umbrella.logistics.urls")),
    path("history/", include("umbrella.tracker.urls")),
    path("funding/", include("umbrella.funding.urls")),
    path("scenarios/", include("umbrella.scenarios.urls")),
    path("eum/", include("umbrella.eum.urls")),
    path("training/", include("umbrella.training.urls")),
    path("readiness/", include("umbrella.training.urls_readiness")),
]

handler404 = "umbrella.web.middleware.not_found"
handler500 = "umbrella.web.middleware.server_error"

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("umbrella.web.urls")),
    path("catalog/", include("umbrella.catalog.urls")),
    path("requirements/", include("umbrella.needs.urls")),
    path("pledges/", include("umbrella.pledges.urls")),
]

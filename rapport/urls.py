from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from rapport.api_urls import api

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="customers:contact-list", permanent=False)),
    path("", include("rapport.users.urls")),
    path("", include("rapport.customers.urls")),
    path("", include("rapport.ingest.urls")),
    path("", include("rapport.identity.urls")),
    path("", include("rapport.timeline.urls")),
    path("", include("rapport.followups.urls")),
    path("", include("rapport.sales.urls")),
    path("", include("rapport.service.urls")),
    path("", include("rapport.consent.urls")),
    path("", include("rapport.marketing.urls")),
    path("", include("rapport.surveys.urls")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]

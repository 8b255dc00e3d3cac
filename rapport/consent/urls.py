from django.urls import path, re_path

from rapport.consent import views
from rapport.consent.requests import views as requests

app_name = "consent"

urlpatterns = [
    path("consent/", views.home, name="home"),
    path("consent/purposes/", views.purpose_create, name="purpose-create"),
    path("consent/purposes/<int:pk>/", views.purpose_update, name="purpose-update"),
    path("consent/privacy/", requests.request_list, name="privacy-requests"),
    path("consent/privacy/new/", requests.request_create, name="privacy-request-create"),
    path("consent/privacy/<int:pk>/", requests.request_detail, name="privacy-request-detail"),
    path(
        "consent/privacy/<int:pk>/update/", requests.request_update, name="privacy-request-update"
    ),
    path("consent/privacy/<int:pk>/erase/", requests.request_erase, name="privacy-request-erase"),
    re_path(
        r"^consent/privacy/(?P<pk>[0-9]+)/export\.(?P<fmt>json|html)$",
        requests.request_export,
        name="privacy-request-export",
    ),
    path("contacts/<int:pk>/consent/", views.contact_panel, name="contact-panel"),
    path("contacts/<int:pk>/consent/record/", views.contact_record, name="contact-record"),
    # The person's own pages, reached from a signed link in a message: no login.
    path("c/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("c/confirm/<str:token>/", views.confirm, name="confirm"),
    path("c/preferences/<str:token>/", views.preferences, name="preferences"),
    path("c/webhooks/bounces/", views.bounce_webhook, name="bounce-webhook"),
]

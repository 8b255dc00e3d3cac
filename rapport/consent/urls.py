from django.urls import path

from rapport.consent import views

app_name = "consent"

urlpatterns = [
    path("consent/", views.home, name="home"),
    path("consent/purposes/", views.purpose_create, name="purpose-create"),
    path("consent/purposes/<int:pk>/", views.purpose_update, name="purpose-update"),
    path("contacts/<int:pk>/consent/", views.contact_panel, name="contact-panel"),
    path("contacts/<int:pk>/consent/record/", views.contact_record, name="contact-record"),
    # The person's own pages, reached from a signed link in a message: no login.
    path("c/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("c/confirm/<str:token>/", views.confirm, name="confirm"),
    path("c/preferences/<str:token>/", views.preferences, name="preferences"),
    path("c/webhooks/bounces/", views.bounce_webhook, name="bounce-webhook"),
]

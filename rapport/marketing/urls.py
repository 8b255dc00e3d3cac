from django.urls import path

from rapport.marketing import views

app_name = "marketing"

urlpatterns = [
    path("marketing/", views.home, name="home"),
    path("marketing/campaigns/new/", views.campaign_create, name="campaign-create"),
    path("marketing/campaigns/<int:pk>/", views.campaign_detail, name="campaign-detail"),
    path("marketing/campaigns/<int:pk>/variants/", views.variant_add, name="variant-add"),
    path(
        "marketing/campaigns/<int:pk>/variants/<int:variant>/delete/",
        views.variant_delete,
        name="variant-delete",
    ),
    path("marketing/campaigns/<int:pk>/send/", views.campaign_send, name="campaign-send"),
    path("marketing/campaigns/<int:pk>/winner/", views.campaign_winner, name="campaign-winner"),
    path("marketing/report/", views.report, name="report"),
    path("marketing/report.csv", views.report_csv, name="report-csv"),
    path("marketing/segments/", views.segments, name="segments"),
    path("marketing/segments/new/", views.segment_create, name="segment-create"),
    path("marketing/segments/builder/", views.segment_builder, name="segment-builder"),
    path("marketing/segments/<int:pk>/", views.segment_detail, name="segment-detail"),
    path("marketing/segments/<int:pk>/freeze/", views.segment_freeze, name="segment-freeze"),
    path("marketing/segments/<int:pk>/delete/", views.segment_delete, name="segment-delete"),
    path("marketing/events/", views.events, name="events"),
    path("marketing/events/<int:pk>/", views.event_detail, name="event-detail"),
    path("marketing/events/<int:pk>/people/", views.event_person_add, name="event-person-add"),
    path("marketing/events/<int:pk>/cards/", views.event_cards, name="event-cards"),
    path("contacts/<int:pk>/campaigns/", views.contact_campaigns, name="contact-campaigns"),
    # What a message carries, no login: rapport/marketing/tests/test_tracking.py.
    path("m/o/<str:token>/", views.open_pixel, name="open"),
    path("m/c/<str:token>/", views.click, name="click"),
]

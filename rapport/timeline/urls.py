from django.urls import path

from rapport.timeline import views

app_name = "timeline"
urlpatterns = [
    path("contacts/<int:pk>/timeline/", views.panel, {"kind": "contact"}, name="contact-panel"),
    path("accounts/<int:pk>/timeline/", views.panel, {"kind": "account"}, name="account-panel"),
    path("contacts/<int:pk>/notes/", views.note_add, {"kind": "contact"}, name="contact-note-add"),
    path("accounts/<int:pk>/notes/", views.note_add, {"kind": "account"}, name="account-note-add"),
    path("lookup/", views.lookup, name="lookup"),
    path("contacts/<int:pk>/calls/", views.call_log, name="call-log"),
    path(
        "timeline/entries/<int:pk>/attachments/<int:att_id>/",
        views.attachment,
        name="attachment",
    ),
]

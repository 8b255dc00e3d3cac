from django.urls import path

from rapport.ingest.capture import views as capture_views
from rapport.ingest.imports import views
from rapport.ingest.mail import views as mailbox_views
from rapport.ingest.proposals import views as proposal_views

app_name = "ingest"
urlpatterns = [
    path("imports/", views.import_list, name="import-list"),
    path("imports/new/", views.import_create, name="import-create"),
    path("imports/<int:pk>/", views.import_detail, name="import-detail"),
    path("imports/<int:pk>/progress/", views.import_progress, name="import-progress"),
    path("imports/<int:pk>/cancel/", views.import_cancel, name="import-cancel"),
    path("imports/<int:pk>/resume/", views.import_resume, name="import-resume"),
    path("imports/<int:pk>/undo/", views.import_undo, name="import-undo"),
    path("imports/<int:pk>/rejected.csv", views.import_rejected_csv, name="import-rejected-csv"),
]
# Channels and the review of what they propose, each in its own module.
urlpatterns += mailbox_views.urlpatterns + proposal_views.urlpatterns + capture_views.urlpatterns

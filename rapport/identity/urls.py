from django.urls import path

from rapport.identity import views

app_name = "identity"
urlpatterns = [
    path("duplicates/", views.queue, name="queue"),
    path("duplicates/clusters/<int:pk>/", views.cluster_detail, name="cluster"),
    path("duplicates/clusters/<int:pk>/merge/", views.cluster_merge, name="cluster-merge"),
    path(
        "duplicates/clusters/<int:pk>/not-duplicate/",
        views.cluster_not_duplicate,
        name="cluster-not-duplicate",
    ),
    path("duplicates/clusters/<int:pk>/skip/", views.cluster_skip, name="cluster-skip"),
    path("duplicates/clusters/<int:pk>/assign/", views.cluster_assign, name="cluster-assign"),
    path("duplicates/compare/", views.compare, name="compare"),
    path("duplicates/compare/merge/", views.compare_merge, name="compare-merge"),
    path(
        "duplicates/compare/not-duplicate/",
        views.compare_not_duplicate,
        name="compare-not-duplicate",
    ),
    path("duplicates/merges/", views.merge_list, name="merge-list"),
    path("duplicates/merges/<int:pk>/", views.merge_detail, name="merge"),
    path("duplicates/merges/<int:pk>/undo/", views.merge_undo, name="merge-undo"),
    path("duplicates/scans/", views.scans, name="scans"),
    path("duplicates/scans/<int:pk>/row/", views.scan_row, name="scan-row"),
    path("duplicates/settings/", views.match_settings, name="settings"),
]

from django.urls import path

from rapport.followups import views

app_name = "followups"

urlpatterns = [
    path("my-day/", views.my_day, name="my-day"),
    path("tasks/", views.task_list, name="task-list"),
    path("tasks/new/", views.task_create, name="task-create"),
    path("tasks/<int:pk>/", views.task_detail, name="task-detail"),
    path("tasks/<int:pk>/edit/", views.task_edit, name="task-edit"),
    path("tasks/<int:pk>/complete/", views.task_complete, name="task-complete"),
    path("tasks/<int:pk>/cancel/", views.task_cancel, name="task-cancel"),
    path("log/", views.activity_log, name="log"),
    path("tasks/for-contact/<int:pk>/", views.contact_tasks, name="contact-tasks"),
    # The installable app's shell: public, no data (see views).
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service-worker"),
    path("offline/", views.offline, name="offline"),
]

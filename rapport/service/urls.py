from django.urls import path

from rapport.service import views
from rapport.service.reports import views as reports
from rapport.service.sla import web as goals

app_name = "service"

urlpatterns = [
    path("cases/", views.home, name="home"),
    path("cases/new/", views.case_create, name="case-create"),
    path("cases/<int:pk>/", views.case_detail, name="case-detail"),
    path("cases/<int:pk>/edit/", views.case_edit, name="case-edit"),
    path("cases/<int:pk>/history/", views.case_history, name="case-history"),
    path("cases/<int:pk>/status/", views.case_status, name="case-status"),
    path("cases/<int:pk>/reply/", views.case_reply, name="case-reply"),
    path("cases/<int:pk>/notes/", views.case_note, name="case-note"),
    path("cases/<int:pk>/calls/", views.case_call, name="case-call"),
    path("cases/<int:pk>/assign/", views.case_assign, name="case-assign"),
    path("cases/<int:pk>/escalate/", goals.case_escalate, name="case-escalate"),
    path("cases/escalations/<int:pk>/answer/", goals.escalation_answer, name="escalation-answer"),
    path("cases/notifications/read/", goals.notifications_read, name="notifications-read"),
    path("cases/reports/", reports.reports, name="reports"),
    path("contacts/<int:pk>/cases/", views.contact_cases, name="contact-cases"),
    path("accounts/<int:pk>/cases/", views.account_cases, name="account-cases"),
    path("forms/cases/<str:token>/", views.web_form, name="web-form"),
]

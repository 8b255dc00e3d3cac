"""Sales pages: the board is the app's home (``sales:home``), leads at ``sales:leads``."""

from django.urls import path

from rapport.sales import views
from rapport.sales.forecasting import views as forecast_views

app_name = "sales"

urlpatterns = [
    path("deals/", views.home, name="home"),
    path("deals/list/", views.deal_list, name="deal-list"),
    path("deals/new/", views.deal_create, name="deal-create"),
    path("deals/<int:pk>/", views.deal_detail, name="deal-detail"),
    path("deals/<int:pk>/edit/", views.deal_edit, name="deal-edit"),
    path("deals/<int:pk>/move/", views.deal_move, name="deal-move"),
    path("deals/<int:pk>/roles/", views.deal_role_add, name="deal-role-add"),
    path("deals/<int:pk>/follow-ups/", views.deal_task_add, name="deal-task-add"),
    path(
        "deals/<int:pk>/roles/<int:role_pk>/remove/",
        views.deal_role_remove,
        name="deal-role-remove",
    ),
    path("deals/forecast/", forecast_views.reports, name="reports"),
    path("deals/forecast/adjust/", forecast_views.adjust, name="forecast-adjust"),
    path("leads/", views.lead_list, name="leads"),
    path("leads/new/", views.lead_create, name="lead-create"),
    path("leads/<int:pk>/", views.lead_detail, name="lead-detail"),
    path("leads/<int:pk>/edit/", views.lead_edit, name="lead-edit"),
    path("leads/<int:pk>/status/", views.lead_status, name="lead-status"),
    path("leads/<int:pk>/convert/", views.lead_convert, name="lead-convert"),
    path("contacts/<int:pk>/qualify-lead/", views.lead_from_caller, name="lead-from-caller"),
    path("contacts/<int:pk>/deals/", views.contact_deals, name="contact-deals"),
    path("accounts/<int:pk>/deals/", views.account_deals, name="account-deals"),
]

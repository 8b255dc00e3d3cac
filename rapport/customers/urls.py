from django.urls import path, re_path

from rapport.customers import views

app_name = "customers"
urlpatterns = [
    path("search/", views.search, name="search"),
    path("contacts/", views.contact_list, name="contact-list"),
    re_path(r"^contacts/export\.(?P<fmt>csv|xlsx)$", views.export_list, {"kind": "contact"}, name="contact-export"),
    path("contacts/new/", views.contact_create, name="contact-create"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact-detail"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact-edit"),
    path("contacts/<int:pk>/delete/", views.contact_delete, name="contact-delete"),
    path("contacts/<int:pk>/<str:part>/add/", views.contact_part_add, name="contact-part-add"),
    path(
        "contacts/<int:pk>/<str:part>/<int:part_pk>/delete/",
        views.contact_part_delete,
        name="contact-part-delete",
    ),
    path("accounts/", views.account_list, name="account-list"),
    re_path(r"^accounts/export\.(?P<fmt>csv|xlsx)$", views.export_list, {"kind": "account"}, name="account-export"),
    path("accounts/new/", views.account_create, name="account-create"),
    path("accounts/<int:pk>/", views.account_detail, name="account-detail"),
    path("accounts/<int:pk>/edit/", views.account_edit, name="account-edit"),
    path("accounts/<int:pk>/delete/", views.account_delete, name="account-delete"),
    path("accounts/<int:pk>/<str:part>/add/", views.account_part_add, name="account-part-add"),
    path(
        "accounts/<int:pk>/<str:part>/<int:part_pk>/delete/",
        views.account_part_delete,
        name="account-part-delete",
    ),
    path("data-dictionary/", views.datadict, name="datadict"),
    path("data-dictionary/new/", views.datafield_create, name="datafield-create"),
    path("data-dictionary/<int:pk>/edit/", views.datafield_edit, name="datafield-edit"),
    path("data-dictionary/<int:pk>/retire/", views.datafield_retire, name="datafield-retire"),
]

"""Service setup in the Django admin: kinds of case, service mailboxes, web forms. Cases
themselves are worked in the app (their changes go through the services)."""

from django.contrib import admin

from rapport.service.models import CaseKind, ServiceMailbox, WebForm


@admin.register(CaseKind)
class CaseKindAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "builtin", "active", "order"]
    readonly_fields = ["builtin"]


@admin.register(ServiceMailbox)
class ServiceMailboxAdmin(admin.ModelAdmin):
    list_display = ["name", "address", "mailbox", "team", "kind", "active"]


@admin.register(WebForm)
class WebFormAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "kind", "active", "token"]
    readonly_fields = ["token"]

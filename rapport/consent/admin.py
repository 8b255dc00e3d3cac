from typing import Any

from django.contrib import admin

from rapport.consent.models import ConsentEvent, OutboundMessage, Purpose


class ReadOnly(admin.ModelAdmin):
    """Read-only: consent history is append-only, and purposes change through the consent
    page (rapport.consent.services, with an audit entry)."""

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Purpose)
class PurposeAdmin(ReadOnly):
    list_display = ["key", "label", "lawful_basis", "double_opt_in", "is_marketing", "active"]


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnly):
    list_display = ["recorded_at", "contact", "channel", "purpose", "status", "source", "via"]
    list_filter = ["channel", "purpose", "status", "source"]
    raw_id_fields = ["contact", "email", "phone"]


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnly):
    list_display = ["queued_at", "to_address", "subject", "purpose", "status", "attempts"]
    list_filter = ["status", "purpose"]
    raw_id_fields = ["contact", "batch"]

from django.contrib import admin

from rapport.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the trail cannot be edited through the app."""

    list_display = ["at", "actor_name", "via", "action", "entity_kind", "entity_id", "object_kind"]
    list_filter = ["via", "action", "entity_kind"]
    search_fields = ["actor_name", "object_repr"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from rapport.core import cache
from rapport.users.models import ApiToken, RolePolicy, Team, User
from rapport.users.services import user_sessions_end


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (*BaseUserAdmin.fieldsets, ("Rapport", {"fields": ("role", "teams")}))  # type: ignore[misc]
    list_display = ["username", "email", "role", "is_active", "is_staff"]
    list_filter = ["role", "is_active", "teams"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            # Deactivated in the admin: end their sessions now, as user_deactivate does.
            user_sessions_end(user=obj)


admin.site.register(Team)


@admin.register(RolePolicy)
class RolePolicyAdmin(admin.ModelAdmin):
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        cache.clear()  # this process at once; others within PROCESS_CACHE_SECONDS

    list_display = ["role", "kind", "can_view", "can_add", "can_change", "can_delete", "can_export", "visibility"]
    list_filter = ["role", "kind"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "digest", "created_at", "last_used_at"]

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class UsersConfig(AppConfig):
    name = "rapport.users"
    label = "users"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from rapport.users.checks import check_default_policies

        checks.register(check_default_policies)


class RapportAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with its login replaced by the app's (rapport.users.adminsite)."""

    default = False  # UsersConfig stays this module's app config
    default_site = "rapport.users.adminsite.RapportAdminSite"

"""The Django admin site, behind the app's own login (see ``views.admin_login``)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse


class RapportAdminSite(admin.AdminSite):
    def login(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        from rapport.users.views import admin_login

        return admin_login(request, site=self)

"""Sales setup in the admin: assignment and score rules, lost reasons, lead forms, and the
pipelines with their stages. (Deals and leads are worked on the app's own pages.)"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages

from rapport.sales import models as m
from rapport.sales.services import new_form_token


class StageInline(admin.TabularInline):
    model = m.Stage
    extra = 0
    fields = ["name", "order", "probability", "kind", "is_active"]


@admin.register(m.Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ["name", "is_default", "currency", "is_active"]
    inlines = [StageInline]


@admin.register(m.LostReason)
class LostReasonAdmin(admin.ModelAdmin):
    list_display = ["name", "order", "is_active"]


@admin.register(m.AssignmentRule)
class AssignmentRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "order", "kind", "team", "user", "is_active"]
    list_filter = ["kind", "is_active"]
    fields = ["name", "order", "kind", "countries", "team", "user", "is_active"]


@admin.register(m.ScoreRule)
class ScoreRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "field", "value", "days", "points", "is_active"]
    list_filter = ["kind", "is_active"]


@admin.register(m.LeadForm)
class LeadFormAdmin(admin.ModelAdmin):
    """A new form gets its token here, shown once; only its hash is kept."""

    list_display = ["name", "prefix", "source", "team", "is_active"]
    fields = ["name", "allowed_origins", "honeypot", "source", "team", "per_address_per_hour",
              "per_form_per_hour", "is_active", "prefix"]  # fmt: skip
    readonly_fields = ["prefix"]

    def save_model(self, request: Any, obj: m.LeadForm, form: Any, change: bool) -> None:
        if not change:
            token, obj.prefix, obj.digest = new_form_token()
            messages.success(request, f"The form's token (shown this once): {token}")
        super().save_model(request, obj, form, change)


@admin.register(m.Quota)
class QuotaAdmin(admin.ModelAdmin):
    """Quotas of reps and teams; the API (``/quotas``) and the admin both set them."""

    list_display = ["period_kind", "period_start", "user", "team", "amount", "currency", "set_by"]
    list_filter = ["period_kind", "team"]
    readonly_fields = ["set_by", "version"]

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        obj.set_by = request.user
        if change:
            obj.version += 1
        super().save_model(request, obj, form, change)


@admin.register(m.ForecastAdjustment)
class ForecastAdjustmentAdmin(admin.ModelAdmin):
    """The managers' adjustments: a history, read here (they are made on the forecast
    page or through the API, so who and when are always recorded)."""

    list_display = ["at", "user", "period_kind", "period_start", "amount", "currency", "by", "reason"]
    list_filter = ["period_kind"]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

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


# --- service goals and escalation -------------------------------------------------------------
# Calendars, policies and rules are set up here or through the API. A calendar changed
# here is recomputed for the open cases it counts for by ``save_related`` (below), like a
# change through the API.

from rapport.service.models import (  # noqa: E402 - grouped with their admin classes
    CalendarDay,
    CaseEscalation,
    CaseTarget,
    EscalationRule,
    ServiceCalendar,
    ServiceExpert,
    ServicePolicy,
    ServiceTeam,
    WorkingPeriod,
)


class WorkingPeriodInline(admin.TabularInline):
    model = WorkingPeriod
    extra = 0


class CalendarDayInline(admin.TabularInline):
    model = CalendarDay
    extra = 0


@admin.register(ServiceCalendar)
class ServiceCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone", "country", "subdivision", "is_default", "version"]
    readonly_fields = ["version"]
    inlines = [WorkingPeriodInline, CalendarDayInline]

    def save_related(self, request, form, formsets, change):  # type: ignore[no-untyped-def]
        from rapport.service.sla.calendars import clock_of
        from rapport.service.sla.targets import targets_recompute_calendar

        calendar = form.instance
        old_clock = clock_of(calendar)
        super().save_related(request, form, formsets, change)
        type(calendar).objects.filter(pk=calendar.pk).update(version=calendar.version + 1)
        calendar.refresh_from_db()
        targets_recompute_calendar(calendar=calendar, old_clock=old_clock)


@admin.register(ServiceTeam)
class ServiceTeamAdmin(admin.ModelAdmin):
    list_display = ["team", "calendar", "lead", "manager"]


@admin.register(ServicePolicy)
class ServicePolicyAdmin(admin.ModelAdmin):
    list_display = [
        "name", "active", "order", "kind", "priority", "channel", "tier",
        "first_response_minutes", "next_response_minutes", "resolution_minutes", "update_minutes",
    ]  # fmt: skip


@admin.register(EscalationRule)
class EscalationRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "active", "trigger", "target_kind", "team", "level", "recipient", "person"]


@admin.register(ServiceExpert)
class ServiceExpertAdmin(admin.ModelAdmin):
    list_display = ["topic", "user"]


@admin.register(CaseTarget)
class CaseTargetAdmin(admin.ModelAdmin):
    list_display = ["case", "kind", "cycle", "state", "due_at", "met_at", "breached"]
    list_filter = ["kind", "state", "breached"]

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False


@admin.register(CaseEscalation)
class CaseEscalationAdmin(admin.ModelAdmin):
    list_display = ["case", "level", "trigger", "to_user", "status", "created_at"]

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

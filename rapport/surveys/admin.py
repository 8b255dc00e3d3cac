"""Surveys in the admin: define a survey and its questions (the API does the same through
rapport.surveys.services). A question is checked by the services' own rule; once people
have answered, the questions are read-only (answers point at them). Invitations and
answers are read-only: they are written by the invitation and answer services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from rapport.audit.models import AuditEntry
from rapport.audit.services import audit_record
from rapport.core.actor import Actor
from rapport.surveys import services
from rapport.surveys.models import Answer, Invitation, Question, Survey, SurveyResponse


class QuestionForm(forms.ModelForm):
    class Meta:
        model = Question
        fields = ["order", "kind", "text", "required", "choices"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        errors: dict[str, list[str]] = {}
        services._clean_questions(
            [{"kind": data.get("kind", ""), "text": data.get("text", ""),
              "choices": data.get("choices") or []}],
            errors,
        )  # fmt: skip
        for key, messages in errors.items():
            field = key.rpartition(".")[2] if "." in key else None
            self.add_error(field if field in self.fields else None, " ".join(messages))
        return data


class QuestionInline(admin.TabularInline):
    model = Question
    form = QuestionForm
    extra = 1

    def _answered(self, obj: Survey | None) -> bool:
        return bool(obj and obj.pk and SurveyResponse.objects.filter(survey=obj).exists())

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return not self._answered(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return not self._answered(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return not self._answered(obj) and super().has_delete_permission(request, obj)


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ["name", "trigger", "department", "active", "cap_count", "cap_days"]
    list_filter = ["trigger", "department", "active"]
    inlines = [QuestionInline]
    exclude = ["created_by"]

    def save_model(self, request: Any, obj: Survey, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        audit_record(
            actor=Actor(user=request.user, via="admin"),
            action=AuditEntry.Action.UPDATE if change else AuditEntry.Action.CREATE,
            entity_kind="survey", entity_id=obj.pk, obj=obj,
            changes={name: [None, form.cleaned_data.get(name)] for name in form.changed_data},
        )  # fmt: skip

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        # A survey that invited anyone stays (pause it instead): its answers need it.
        if obj is not None and Invitation.objects.filter(survey=obj).exists():
            return False
        return super().has_delete_permission(request, obj)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Invitation)
class InvitationAdmin(ReadOnly):
    list_display = [
        "sent_at",
        "survey",
        "contact",
        "touchpoint",
        "department",
        "status",
        "skip_reason",
        "answered_at",
    ]
    list_filter = ["survey", "status", "skip_reason", "touchpoint", "department"]
    raw_id_fields = ["contact", "staff", "message", "sent_by"]
    exclude = ["token"]


class AnswerInline(admin.TabularInline):
    model = Answer
    extra = 0
    can_delete = False
    readonly_fields = ["question", "number", "choices", "text"]

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(SurveyResponse)
class SurveyResponseAdmin(ReadOnly):
    list_display = ["submitted_at", "survey", "contact", "touchpoint", "department", "score"]
    list_filter = ["survey", "touchpoint", "department"]
    raw_id_fields = ["contact", "invitation", "staff", "entry"]
    inlines = [AnswerInline]

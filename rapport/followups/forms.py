"""The task form: parses what a person typed; the services validate and decide."""

from __future__ import annotations

from typing import Any

from django import forms

from rapport.followups.models import Task

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


class TaskForm(forms.Form):
    kind = forms.ChoiceField(choices=Task.Kind.choices, initial=Task.Kind.CALL)
    title = forms.CharField(max_length=200)
    due_at = forms.DateTimeField(
        required=False, label="Due", widget=DATETIME, input_formats=DATETIME_FORMATS
    )
    starts_at = forms.DateTimeField(
        required=False, label="Meeting starts", widget=DATETIME, input_formats=DATETIME_FORMATS
    )
    ends_at = forms.DateTimeField(
        required=False, label="Meeting ends", widget=DATETIME, input_formats=DATETIME_FORMATS
    )
    assignee = forms.TypedChoiceField(
        coerce=int, label="Who does it", required=False, empty_value=None
    )
    contact = forms.IntegerField(required=False, widget=forms.HiddenInput)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    reminder_at = forms.DateTimeField(
        required=False, label="Remind me", widget=DATETIME, input_formats=DATETIME_FORMATS
    )

    def __init__(self, *args: Any, assignees: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = assignees  # type: ignore[attr-defined]

    def data_for_service(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k not in ("contact", "assignee") or v}

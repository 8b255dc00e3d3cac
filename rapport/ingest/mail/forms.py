"""The mailbox form: what a person types in, checked for shape only; the rules (unique
login, the password needed again for a new server) are the service's."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict

from rapport.ingest.models import Mailbox


class MailboxForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="For you, e.g. “My work mail” or “sales@”.")
    host = forms.CharField(max_length=255, help_text="The IMAP server, e.g. imap.example.com.")
    security = forms.ChoiceField(choices=Mailbox.Security.choices, initial=Mailbox.Security.SSL)
    port = forms.IntegerField(
        min_value=1,
        max_value=65535,
        required=False,
        help_text="Blank: 993 for SSL/TLS, 143 otherwise.",
    )
    username = forms.CharField(max_length=255, label="User name")
    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted.",
    )
    poll_minutes = forms.IntegerField(
        min_value=1, max_value=7 * 24 * 60, initial=5, label="Poll every (minutes)"
    )
    enabled = forms.BooleanField(required=False, initial=True, label="Poll on a schedule")
    shared = forms.BooleanField(required=False, label="Shared mailbox (not mine, e.g. sales@)")
    opens_leads = forms.BooleanField(
        required=False, label="Mail from outside opens a sales lead (a shared mailbox only)"
    )
    lead_address = forms.CharField(
        max_length=254,
        required=False,
        label="The mailbox's own address",
        help_text="e.g. sales@example.com: mail to it that reaches Rapport another way opens leads too.",
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(
        self, *args: Any, editing: bool = False, can_share: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing:
            self.fields[
                "password"
            ].help_text = "Stored encrypted. Leave blank to keep the stored one."
        else:
            self.fields["password"].required = True
        if editing or not can_share:
            del self.fields["shared"]

    def folders(self) -> list[str]:
        """The chosen folders: the ticked ones and any typed in (one a line or comma)."""
        data = self.data if isinstance(self.data, QueryDict) else QueryDict("")
        out: list[str] = []
        for value in (
            data.getlist("folders") + data.get("folders_more", "").replace(",", "\n").splitlines()
        ):
            if value.strip():
                out.append(value.strip())
        return list(dict.fromkeys(out))

    def service_data(self) -> dict[str, Any]:
        data = {
            k: v
            for k, v in self.cleaned_data.items()
            if k not in ("shared", "version", "lead_address")
        }
        data["address"] = self.cleaned_data.get("lead_address", "")
        data["folders"] = self.folders()
        if self.editing and not data.get("password"):
            data.pop("password", None)  # blank keeps the stored one
        return data


def form_for(mailbox: Mailbox) -> dict[str, Any]:
    """The initial values of the edit form (never the password)."""
    return {
        "name": mailbox.name,
        "host": mailbox.host,
        "security": mailbox.security,
        "port": mailbox.port,
        "username": mailbox.username,
        "poll_minutes": mailbox.poll_minutes,
        "enabled": mailbox.enabled,
        "opens_leads": mailbox.opens_leads,
        "lead_address": mailbox.address,
        "version": mailbox.version,
    }

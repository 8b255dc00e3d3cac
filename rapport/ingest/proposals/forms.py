"""Forms of the review queue: the steward's decision (with the value as edited) and the
admin's capture rules. They only read input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms

from rapport.ingest.models import CaptureSettings, FactAction, FactField, Proposal

# The value's parts a steward may edit, per field (and for a new contact), with labels.
EDITABLE: dict[str, list[tuple[str, str]]] = {
    FactField.PHONE: [("number", "Number")],
    FactField.MOBILE: [("number", "Mobile number")],
    FactField.TITLE: [("title", "Job title")],
    FactField.COMPANY: [("company", "Company")],
    FactField.ADDRESS: [
        ("street", "Street"),
        ("postal_code", "Postcode"),
        ("city", "City"),
        ("region", "Region"),
        ("country", "Country"),
    ],
    FactField.WEBSITE: [("url", "Web site")],
    "new_contact": [
        ("given_name", "Given name"),
        ("family_name", "Family name"),
        ("job_title", "Job title"),
        ("account", "Account id"),
    ],
}


def editable(proposal: Proposal) -> list[tuple[str, str]]:
    key = "new_contact" if proposal.kind == Proposal.Kind.NEW_CONTACT else proposal.field
    return EDITABLE.get(key, [])


class DecisionForm(forms.Form):
    """Accept as proposed, or with the parts typed differently; ``version`` is the one the
    steward saw (a decision on a changed proposal is refused)."""

    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, proposal: Proposal, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.proposal = proposal
        value = proposal.value or {}
        for name, label in editable(proposal):
            initial = value.get(name)
            self.fields[f"v_{name}"] = forms.CharField(
                label=label,
                required=False,
                max_length=300,
                initial="" if initial is None else str(initial),
            )
        if proposal.kind == Proposal.Kind.NEW_CONTACT:
            choices = [("", "A new contact")] + [
                (str(d["id"]), f"{d['label']} ({d['percent']} %)")
                for d in (proposal.evidence or {}).get("duplicates") or []
            ]
            self.fields["contact"] = forms.ChoiceField(
                label="Save as", choices=choices, required=False
            )
        self.initial.setdefault("version", proposal.version)

    def edited(self) -> dict[str, Any] | None:
        """The parts that differ from the proposal, as the service takes them."""
        value = self.proposal.value or {}
        out: dict[str, Any] = {}
        for name, _ in editable(self.proposal):
            typed = " ".join(str(self.cleaned_data.get(f"v_{name}") or "").split())
            before = value.get(name)
            if typed != ("" if before is None else str(before)):
                if name == "account":
                    out[name] = int(typed) if typed.isdigit() else None
                else:
                    out[name] = typed
        if self.cleaned_data.get("contact"):
            out["contact"] = int(self.cleaned_data["contact"])
        return out or None

    def value_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith("v_")]


class CaptureSettingsForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    unknown_senders = forms.BooleanField(
        required=False, label="Propose a new contact for a sender no contact has"
    )

    def __init__(self, *args: Any, conf: CaptureSettings, rules: dict[str, str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        for value, label in FactField.choices:
            self.fields[f"rule_{value}"] = forms.ChoiceField(
                label=str(label), choices=FactAction.choices, initial=rules[value]
            )
        self.initial.setdefault("version", conf.version)
        self.initial.setdefault("unknown_senders", conf.unknown_senders)

    def rule_fields(self) -> list[forms.BoundField]:
        return [self[f"rule_{v}"] for v in FactField.values]

    def rules(self) -> dict[str, str]:
        return {v: self.cleaned_data[f"rule_{v}"] for v in FactField.values}

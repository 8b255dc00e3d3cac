"""Web forms of imports: the upload, and a job's mapping and settings.

As in ``rapport.customers.forms``, the services validate; these describe the inputs, turn a
POST into the arguments a service takes, and put the service's ``ValidationFailed.errors``
next to the right input with what the user chose kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import QueryDict

from rapport.customers.forms import Errors, Form, FormField, Section, attach_errors
from rapport.customers.models import DataField
from rapport.ingest.imports import kinds
from rapport.ingest.imports.mapping import targets_for
from rapport.ingest.models import ImportJob, ImportKind, OnDuplicate, OnMatch

ACCEPT = ".csv,.txt,.tsv,.xlsx,.xlsm,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NOT_IMPORTED = ("", "— not imported —")

# Targets whose name alone does not say what they are.
TARGET_LABELS = {
    "id": "Rapport id (updates that record)",
    "full_name": "Full name",
    "email_2": "Second e-mail",
    "email": "E-mail",
    "emails": "E-mails (several)",
    "phones": "Phones (several)",
    "account.name": "Account: name",
    "account.domain": "Account: website or domain",
    "account.external_id": "Account: external id",
    "account_id": "Account: Rapport id",
    "external_id": "External id (in the source system)",
    "external_ids": "External ids (source:id, …)",
    "domain": "Website or domain",
    "domains": "Domains (several)",
    "region": "Region or state",
    "postal_code": "Postal code",
}


def target_label(target: str, kind: str = "") -> str:
    found = kinds.get(kind) if kind else None
    label = found.labels.get(target) if found is not None else None
    return label or TARGET_LABELS.get(target) or target.replace(".", ": ").replace("_", " ").capitalize()


def target_choices(kind: str, datafields: list[DataField]) -> list[tuple[str, str]]:
    """What a column may go to: the kind's fields, its data-dictionary fields, the record id."""
    choices = [NOT_IMPORTED]
    choices += [(t, target_label(t, kind)) for t in targets_for(kind)]
    choices += [(f"custom.{df.key}", f"{df.label} (custom field)") for df in datafields]
    choices.append(("id", target_label("id")))
    return choices


# --- upload -----------------------------------------------------------------------------


def upload_form(
    *, kinds: list[tuple[str, str]], post: QueryDict | None = None, errors: Errors | None = None
) -> Form:
    """The kind of records in the file; the file input itself is drawn by the template
    (``FormField`` has no file widget) with the errors under ``file``."""
    kind = FormField(
        "kind",
        "What the file holds",
        "select",
        value=kinds[0][0] if kinds else "",
        choices=kinds,
        required=True,
    )
    if post is not None:
        kind.value = post.get("kind", "")
    kind.display = str(dict(kinds).get(kind.value, kind.value))
    form = Form([Section("File", [kind])])
    attach_errors(form, {k: v for k, v in (errors or {}).items() if k != "file"})
    return form


# --- mapping and settings ---------------------------------------------------------------


@dataclass
class MappingRow:
    """One column of the file and the field it goes to."""

    name: str  # the <select>'s name: "col-<index>" (headers may hold any character)
    header: str
    value: str
    choices: list[tuple[str, str]]

    @property
    def id(self) -> str:
        return f"f-{self.name}"


def mapping_rows(
    job: ImportJob, choices: list[tuple[str, str]], post: QueryDict | None = None
) -> list[MappingRow]:
    chosen = mapping_from_post(job, post) if post is not None else dict(job.mapping)
    known = {v for v, _ in choices}
    rows = []
    for i, header in enumerate(job.headers):
        value = chosen.get(header, "") or ""
        value = "" if value == "ignore" else value
        row_choices = choices
        if (
            value not in known
        ):  # e.g. a saved mapping's retired field: show it, the service says why
            row_choices = [*choices, (value, f"{value} (not available)")]
        rows.append(MappingRow(f"col-{i}", str(header), value, row_choices))
    return rows


def mapping_from_post(job: ImportJob, post: QueryDict) -> dict[str, str]:
    return {h: post.get(f"col-{i}", "").strip() for i, h in enumerate(job.headers)}


SETTINGS_FIELDS = ("on_match", "on_duplicate", "region", "source", "create_accounts", "save_as")


def settings_form(
    *, job: ImportJob, post: QueryDict | None = None, errors: Errors | None = None
) -> Form:
    fields = [
        FormField(
            "on_match",
            "When a row matches an existing record",
            "select",
            value=job.on_match,
            choices=list(OnMatch.choices),
            help_text="Rows match by Rapport id, by external id from the same source, or by e-mail address.",
        ),
        FormField(
            "region",
            "Phone region",
            value=job.region,
            help_text="Two letters, e.g. GB or US: how to read phone numbers written without +code.",
        ),
        FormField(
            "source",
            "Source system",
            value=job.source,
            help_text="The system the file comes from; its ids are kept as external ids of this source.",
        ),
    ]
    creates = _creates_accounts(job.kind)
    if job.kind == ImportKind.CONTACTS:
        fields.append(
            FormField(
                "on_duplicate",
                "When a new row looks like an existing contact",
                "select",
                value=job.on_duplicate,
                choices=list(OnDuplicate.choices),
                help_text="A different e-mail but the same person by name, phone or employer (see Duplicates).",
            )
        )
    if creates:
        fields.append(
            FormField(
                "create_accounts",
                "Create accounts that do not exist yet",
                "checkbox",
                value=job.create_accounts,
            )
        )
    fields.append(
        FormField(
            "save_as",
            "Save this mapping as",
            value="",
            help_text="Optional: a name to reuse this mapping for files of the same shape.",
        )
    )
    form = Form([Section("Settings", fields)])
    if post is not None:
        for f in form.fields:
            f.value = (f.name in post) if f.widget == "checkbox" else post.get(f.name, "")
    for f in form.fields:
        f.display = str(f.value)
    # Other errors (the mapping's, the saved mapping's) are shown next to those inputs.
    attach_errors(form, {k: v for k, v in (errors or {}).items() if k in SETTINGS_FIELDS})
    return form


def settings_data(job: ImportJob, post: QueryDict) -> dict[str, Any]:
    """The keyword arguments of ``services.import_configure`` other than the mapping."""
    data: dict[str, Any] = {
        "on_match": post.get("on_match", job.on_match),
        "region": post.get("region", job.region),
        "source": post.get("source", job.source),
        "save_as": post.get("save_as", "").strip(),
    }
    if _creates_accounts(job.kind):
        data["create_accounts"] = "create_accounts" in post
    if job.kind == ImportKind.CONTACTS:
        data["on_duplicate"] = post.get("on_duplicate", job.on_duplicate)
    return data


def _creates_accounts(kind_name: str) -> bool:
    kind = kinds.get(kind_name)
    return bool(kind and kind.creates_accounts)

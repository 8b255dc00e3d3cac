"""Web forms for the customer master.

The services validate (one set of rules for web, API and imports), so these are not Django
forms: they describe which inputs to render for a role, turn a POST into the ``data`` a
service takes, and put the service's ``ValidationFailed.errors`` next to the right input,
with every value the user typed kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from rapport.customers import normalize
from rapport.customers.models import Account, AccountMembership, Contact, DataField, Kind, Lifecycle
from rapport.customers.services import NAME_PARTS, ContactParts
from rapport.users.models import Role

Errors = dict[str, list[str]]


@dataclass
class FormField:
    name: str  # the input's name, which is also the service's key ("custom.<key>" for extras)
    label: str
    widget: str = "text"  # text email tel url number date textarea select checkbox checkboxes
    value: Any = ""
    choices: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    editable: bool = True
    help_text: str = ""
    required: bool = False
    display: str = ""  # shown instead of an input when the role may not edit
    autocomplete: str = ""

    @property
    def id(self) -> str:
        return "f-" + re.sub(r"[^\w-]", "-", self.name)

    @property
    def is_checked(self) -> bool:
        return self.value in (True, "true", "on", "1")


@dataclass
class Section:
    title: str
    fields: list[FormField]
    collapsible: bool = False
    open: bool = True


@dataclass
class Form:
    sections: list[Section]
    non_field_errors: list[str] = field(default_factory=list)

    @property
    def fields(self) -> list[FormField]:
        return [f for s in self.sections for f in s.fields]


# Errors on a record's parts ("emails[0].email") belong to the single input of the form.
_PART_ERROR = re.compile(r"^(\w+)\[(\d+)\]\.(\w+)$")
PART_INPUT = {"emails": "email", "phones": "phone", "memberships": "account", "domains": "domains"}


def attach_errors(form: Form, errors: Errors) -> None:
    by_name = {f.name: f for f in form.fields}
    for key, messages in errors.items():
        name = key
        match = _PART_ERROR.match(key)
        if match:
            name = PART_INPUT.get(match.group(1), key)
        target = by_name.get(name)
        if target is None and name.startswith("custom") and "custom" in by_name:
            target = by_name["custom"]
        if target is not None:
            target.errors.extend(messages)
        else:
            label = key.replace("_", " ") if key != "__all__" else ""
            form.non_field_errors.extend(f"{label}: {m}" if label else m for m in messages)
    for section in form.sections:
        if section.collapsible and any(f.errors for f in section.fields):
            section.open = True


def _blank(choices: list[tuple[str, str]], label: str = "—") -> list[tuple[str, str]]:
    return [("", label), *choices]


def _value_from_post(f: FormField, post: QueryDict) -> Any:
    if f.widget == "checkboxes":
        return post.getlist(f.name)
    if f.widget == "checkbox":
        return f.name in post
    return post.get(f.name, "")


def _display(f: FormField) -> str:
    if f.widget in ("select",):
        return dict(f.choices).get(str(f.value), str(f.value or "—")) or "—"
    if f.widget == "checkbox":
        return "Yes" if f.is_checked else "No"
    if f.widget == "checkboxes":
        return ", ".join(f.value) or "—"
    return str(f.value) if f.value not in (None, "") else "—"


# The inputs of a create form that stand for a part of the record, or for the name parts.
_ACCESS_NAME = {v: k for k, v in PART_INPUT.items()} | {"full_name": "family_name"}


def _finish(form: Form, access: Any, post: QueryDict | None) -> Form:
    for f in form.fields:
        f.editable = f.editable and access.can_edit(_ACCESS_NAME.get(f.name, f.name))
        if post is not None and f.editable:
            f.value = _value_from_post(f, post)
        f.display = _display(f)
    # Fields the role may not see are not rendered at all.
    for section in form.sections:
        section.fields = [f for f in section.fields if access.can_view(_ACCESS_NAME.get(f.name, f.name))]
    form.sections = [s for s in form.sections if s.fields]
    return form


# --- data-dictionary fields -------------------------------------------------------------

_WIDGET: dict[str, str] = {
    DataField.Type.TEXT: "text",
    DataField.Type.NUMBER: "number",
    DataField.Type.DATE: "date",
    DataField.Type.CHOICE: "select",
    DataField.Type.MULTI_CHOICE: "checkboxes",
    DataField.Type.BOOLEAN: "checkbox",
    DataField.Type.EMAIL: "email",
    DataField.Type.PHONE: "tel",
    DataField.Type.URL: "url",
}


def custom_fields(datafields: list[DataField], values: dict[str, Any]) -> list[FormField]:
    out = []
    for df in datafields:
        value = values.get(df.key, [] if df.type == DataField.Type.MULTI_CHOICE else "")
        if df.type == DataField.Type.PHONE and value:
            value = normalize.format_phone(value)
        choices = [(c, c) for c in df.choices]
        widget = _WIDGET.get(str(df.type), "text")
        out.append(
            FormField(
                f"custom.{df.key}",
                df.label,
                widget,
                value=value if value is not None else "",
                choices=_blank(choices) if widget == "select" else choices,
                help_text=df.help_text,
                required=df.required,
            )
        )
    return out


def custom_data(datafields: list[DataField], post: QueryDict, access: Any) -> dict[str, Any]:
    """The custom values the role may edit, as typed (the service cleans them)."""
    data: dict[str, Any] = {}
    for df in datafields:
        name = f"custom.{df.key}"
        if not access.can_edit(name):
            continue
        if df.type == DataField.Type.MULTI_CHOICE:
            data[df.key] = post.getlist(name)
        elif df.type == DataField.Type.BOOLEAN:
            data[df.key] = name in post
        else:
            data[df.key] = post.get(name, "")
    return data


# --- contacts ---------------------------------------------------------------------------


def contact_form(
    *,
    access: Any,
    datafields: list[DataField],
    owners: list[tuple[int, str]],
    accounts: list[tuple[int, str]] | None = None,
    contact: Contact | None = None,
    post: QueryDict | None = None,
    errors: Errors | None = None,
    default_owner: int | None = None,
) -> Form:
    c = contact
    creating = c is None

    def val(name: str, default: Any = "") -> Any:
        return getattr(c, name) if c is not None else default

    name_parts = [
        FormField("prefix", "Prefix", value=val("prefix"), autocomplete="honorific-prefix"),
        FormField("given_name", "Given name", value=val("given_name"), autocomplete="given-name"),
        FormField("middle_name", "Middle name", value=val("middle_name"), autocomplete="additional-name"),
        FormField("family_name", "Family name", value=val("family_name"), autocomplete="family-name"),
        FormField("suffix", "Suffix", value=val("suffix"), autocomplete="honorific-suffix"),
    ]
    tags = ", ".join(t.name for t in c.tags.all()) if c is not None else ""
    sections = [
        Section(
            "Name",
            [
                FormField(
                    "full_name",
                    "Full name",
                    # A contact with no name shows as its e-mail or phone: not a name to edit.
                    value=val("full_name") if c is None or c.given_name or c.family_name else "",
                    required=False,
                    autocomplete="name",
                    help_text="Type the whole name, or fill in the parts below.",
                )
            ],
        ),
        Section("Name parts", name_parts, collapsible=True, open=False),
    ]
    if creating:
        first = [
            FormField("email", "E-mail", "email", autocomplete="email"),
            FormField("phone", "Phone", "tel", autocomplete="tel", help_text="Any format; +44… for abroad."),
        ]
        if accounts is not None:
            first.append(
                FormField("account", "Account", "select", choices=_blank([(str(i), n) for i, n in accounts], "— none —"))
            )
        sections.append(Section("Contact details", first))
    sections += [
        Section(
            "Work",
            [
                FormField("job_title", "Job title", value=val("job_title"), autocomplete="organization-title"),
                FormField("department", "Department", value=val("department")),
            ],
        ),
        Section(
            "Preferences",
            [
                FormField(
                    "preferred_channel",
                    "Preferred channel",
                    "select",
                    value=val("preferred_channel", Contact.Channel.NONE),
                    choices=list(Contact.Channel.choices),
                ),
                FormField("language", "Language", value=val("language"), help_text="e.g. en, fr-CA"),
                FormField("time_zone", "Time zone", value=val("time_zone"), help_text="e.g. Europe/London"),
            ],
        ),
        Section(
            "Management",
            [
                FormField(
                    "owner",
                    "Owner",
                    "select",
                    value=str(c.owner_id or "") if c is not None else str(default_owner or ""),
                    choices=_blank([(str(i), n) for i, n in owners], "— nobody —"),
                ),
                FormField(
                    "lifecycle", "Lifecycle", "select", value=val("lifecycle", Lifecycle.LEAD), choices=list(Lifecycle.choices)
                ),
                FormField("source", "Source", value=val("source"), help_text="Where the contact came from"),
                FormField("tags", "Tags", value=tags, help_text="Separate tags with commas"),
            ],
        ),
    ]
    extra = custom_fields(datafields, c.custom if c is not None else {})
    if extra:
        sections.append(Section("More fields", extra))
    form = _finish(Form(sections), access, post)
    if post is not None:
        # Open the name parts if the user typed in them, so nothing they typed is hidden.
        for s in form.sections:
            if s.collapsible and any(f.value != val(f.name) for f in s.fields):
                s.open = True
    attach_errors(form, errors or {})
    return form


def _clean_space(text: str) -> str:
    return " ".join((text or "").split())


def contact_data(
    *, post: QueryDict, access: Any, datafields: list[DataField], contact: Contact | None = None
) -> tuple[dict[str, Any], ContactParts | None]:
    """The service input for a submitted contact form: only the fields the role may edit."""
    data: dict[str, Any] = {}
    full = _clean_space(post.get("full_name", ""))
    parts = {n: post.get(n, "") for n in NAME_PARTS if access.can_edit(n)}
    if contact is None:
        typed_parts = {n: v for n, v in parts.items() if v.strip()}
        if full:
            data["full_name"] = full
            data.update(typed_parts)
        elif typed_parts:
            data.update(parts)
        else:
            data["full_name"] = ""
    elif full and full != contact.full_name:
        # The one-line name changed: it fills every part not changed separately.
        data["full_name"] = full
        data.update({n: v for n, v in parts.items() if v != getattr(contact, n)})
    else:
        data.update(parts)
    for name in ("job_title", "department", "preferred_channel", "language", "time_zone", "source", "lifecycle", "tags"):
        if access.can_edit(name) and name in post:
            data[name] = post.get(name, "")
    if access.can_edit("owner") and "owner" in post and (contact is not None or post.get("owner")):
        data["owner"] = post.get("owner") or None
    custom = custom_data(datafields, post, access)
    if custom:
        data["custom"] = custom
    if contact is not None:
        return data, None
    email, phone, account = (post.get(n, "").strip() for n in ("email", "phone", "account"))
    new_parts = ContactParts(
        emails=[{"email": email}] if email else [],
        phones=[{"number": phone}] if phone else [],
        memberships=[{"account": account, "is_primary": True}] if account else [],
    )
    return data, new_parts


# The duplicate check before a record is created reads the same data and parts as the
# create: rapport.identity.selectors.likely_duplicates.


# --- accounts ---------------------------------------------------------------------------


def account_form(
    *,
    access: Any,
    datafields: list[DataField],
    owners: list[tuple[int, str]],
    parents: list[tuple[int, str]],
    account: Account | None = None,
    post: QueryDict | None = None,
    errors: Errors | None = None,
    default_owner: int | None = None,
) -> Form:
    a = account

    def val(name: str, default: Any = "") -> Any:
        return getattr(a, name) if a is not None else default

    tags = ", ".join(t.name for t in a.tags.all()) if a is not None else ""
    phone = normalize.format_phone(a.phone) if a is not None and a.phone else ""
    main = [
        FormField("name", "Name", value=val("name"), required=True, autocomplete="organization"),
        FormField("legal_name", "Legal name", value=val("legal_name")),
        FormField("industry", "Industry", value=val("industry")),
        FormField("size", "Size (employees)", "select", value=val("size"), choices=_blank(list(Account.Size.choices))),
        FormField("country", "Country", value=val("country"), help_text="Code or name, e.g. GB or France"),
        FormField("phone", "Phone", "tel", value=phone),
    ]
    if a is None:
        main.append(
            FormField("domains", "Web domains", value="", help_text="e.g. example.com; separate several with commas")
        )
    sections = [
        Section("Organisation", main),
        Section(
            "Management",
            [
                FormField(
                    "parent",
                    "Parent account",
                    "select",
                    value=str(a.parent_id or "") if a is not None else "",
                    choices=_blank([(str(i), n) for i, n in parents], "— none —"),
                ),
                FormField(
                    "owner",
                    "Owner",
                    "select",
                    value=str(a.owner_id or "") if a is not None else str(default_owner or ""),
                    choices=_blank([(str(i), n) for i, n in owners], "— nobody —"),
                ),
                FormField("lifecycle", "Lifecycle", "select", value=val("lifecycle", Lifecycle.PROSPECT), choices=list(Lifecycle.choices)),
                FormField("tags", "Tags", value=tags, help_text="Separate tags with commas"),
                FormField("notes", "Notes", "textarea", value=val("notes")),
            ],
        ),
    ]
    extra = custom_fields(datafields, a.custom if a is not None else {})
    if extra:
        sections.append(Section("More fields", extra))
    form = _finish(Form(sections), access, post)
    attach_errors(form, errors or {})
    return form


def account_data(
    *, post: QueryDict, access: Any, datafields: list[DataField], account: Account | None = None
) -> tuple[dict[str, Any], list[str]]:
    data: dict[str, Any] = {}
    for name in ("name", "legal_name", "industry", "size", "country", "phone", "parent", "lifecycle", "tags", "notes"):
        if access.can_edit(name) and name in post:
            data[name] = post.get(name, "")
    if access.can_edit("owner") and "owner" in post and (account is not None or post.get("owner")):
        data["owner"] = post.get("owner") or None
    custom = custom_data(datafields, post, access)
    if custom:
        data["custom"] = custom
    domains = [d.strip() for d in re.split(r"[,\s]+", post.get("domains", "")) if d.strip()]
    return data, domains


# --- parts added inline on a detail page -------------------------------------------------

KIND_CHOICES = list(Kind.choices)


def part_data(part: str, post: QueryDict) -> dict[str, Any]:
    """The service input for one inline 'add' form."""
    if part == "emails":
        return {"email": post.get("email", ""), "kind": post.get("kind", Kind.WORK), "is_primary": "is_primary" in post}
    if part == "phones":
        return {"number": post.get("number", ""), "kind": post.get("kind", Kind.WORK), "is_primary": "is_primary" in post}
    if part == "addresses":
        data = {n: post.get(n, "") for n in ("street", "city", "region", "postal_code", "country")}
        return {**data, "kind": post.get("kind", Kind.WORK), "is_primary": "is_primary" in post}
    if part == "memberships":
        return {
            "account": post.get("account", ""),
            "job_title": post.get("job_title", ""),
            "buying_role": post.get("buying_role", ""),
            "rank": post.get("rank", ""),
            "is_primary": "is_primary" in post,
        }
    if part == "domains":
        return {"domain": post.get("domain", "")}
    return {}


BUYING_ROLE_CHOICES = list(AccountMembership.BuyingRole.choices)


# --- data dictionary --------------------------------------------------------------------

ROLE_CHOICES = list(Role.choices)


def datafield_form(*, field_: DataField | None = None, post: QueryDict | None = None, errors: Errors | None = None) -> Form:
    f = field_
    creating = f is None
    fields = []
    if creating:
        fields += [
            FormField("entity", "Record", "select", value="contact", choices=list(DataField.Entity.choices), required=True),
            FormField("type", "Type", "select", value="text", choices=list(DataField.Type.choices), required=True),
        ]
    fields += [
        FormField("label", "Label", value=f.label if f else "", required=True),
    ]
    if creating:
        fields.append(FormField("key", "Key", help_text="Machine name for the API and imports; made from the label if empty"))
    fields += [
        FormField("help_text", "Help text", value=f.help_text if f else ""),
        FormField(
            "choices",
            "Choices",
            "textarea",
            value="\n".join(f.choices) if f else "",
            help_text="For choice fields: one per line",
        ),
        FormField("required", "Required", "checkbox", value=f.required if f else False),
        FormField(
            "is_identifying",
            "Identifying (equal values mark the same person)",
            "checkbox",
            value=f.is_identifying if f else False,
            help_text=(
                "Such as a customer or tax number: two records with the same value are taken "
                "as very likely the same when looking for duplicates."
            ),
        ),
        FormField("view_roles", "Roles that see it", "checkboxes", value=f.view_roles if f else [], choices=ROLE_CHOICES, help_text="None ticked: every role"),
        FormField("edit_roles", "Roles that change it", "checkboxes", value=f.edit_roles if f else [], choices=ROLE_CHOICES, help_text="None ticked: every role that sees it"),
        FormField("position", "Position", "number", value=str(f.position) if f else "0", help_text="Order on forms, smallest first"),
    ]
    form = Form([Section("Field", fields)])
    if post is not None:
        for ff in form.fields:
            ff.value = _value_from_post(ff, post)
    for ff in form.fields:
        ff.display = _display(ff)
    attach_errors(form, errors or {})
    return form


def datafield_data(post: QueryDict, *, creating: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "label": post.get("label", ""),
        "help_text": post.get("help_text", ""),
        "choices": post.get("choices", ""),
        "required": "required" in post,
        "is_identifying": "is_identifying" in post,
        "view_roles": post.getlist("view_roles"),
        "edit_roles": post.getlist("edit_roles"),
        "position": post.get("position", "") or 0,
    }
    if creating:
        data.update(entity=post.get("entity", ""), type=post.get("type", ""))
        if post.get("key", "").strip():
            data["key"] = post.get("key", "").strip()
    return data

"""Turning one file row into the values to store, with the rules the UI and API use.

Cleaning needs no database: everything it looks up (users, the data dictionary) is loaded
once into a ``Context`` before the run. That lets an import clean rows in worker
processes while the main process writes. A row gives either a ``ContactRow`` or a list of
problems, each naming the column and the reason.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from rapport.core.bulk import json_text
from rapport.customers import normalize
from rapport.customers.datadict import clean_value
from rapport.customers.models import Contact, DataField, Kind, Lifecycle
from rapport.customers.normalize import words
from rapport.customers.services import NAME_PARTS, clean_contact_scalars

SCALARS = (
    "full_name", *NAME_PARTS, "job_title", "department", "preferred_channel", "language",
    "time_zone", "source", "lifecycle",
)  # fmt: skip
ADDRESS_PARTS = ("street", "city", "region", "postal_code", "country")
ACCOUNT_REFS = ("account_id", "account.external_id", "account.domain", "account.name")
CONTACT_TARGETS = {
    *SCALARS, "email", "email_2", "emails", "phone", "mobile", "phones", *ADDRESS_PARTS, "tags",
    "owner", "external_id", "external_ids", "id", *ACCOUNT_REFS,
}  # fmt: skip
ADDRESS_LIMITS = {"street": 300, "city": 100, "region": 100, "postal_code": 20}
# Text read from a spreadsheet export: Rapport's own export (and others) put an apostrophe
# before a value a spreadsheet would run as a formula. It is not part of the value.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def uninert(text: str) -> str:
    if text.startswith("'") and text[1:2] and text[1:].startswith(_FORMULA_STARTS):
        return text[1:]
    return text


@dataclass
class Context:
    """What cleaning needs, loaded before the run; small and picklable."""

    headers: list[str]
    mapping: dict[str, str]  # header -> target
    region: str
    source: str
    owners: dict[str, int] = field(default_factory=dict)  # folded username -> user id
    datafields: dict[str, DataField] = field(default_factory=dict)
    # How numeric dates that could be day or month first are read ("dmy"/"mdy", by region),
    # and whether a bare number in a date field is a spreadsheet's serial day (XLSX files).
    date_order: str = "dmy"
    excel_dates: bool = False

    def targets(self) -> list[tuple[int, str, str]]:
        """(column index, header, target) of the mapped columns, in file order."""
        return [
            (i, h, self.mapping[h])
            for i, h in enumerate(self.headers)
            if self.mapping.get(h) and self.mapping[h] != "ignore"
        ]


# Named tuples, not dataclasses: cleaned rows cross from the cleaning processes to the
# writer pickled, and a tuple unpickles several times faster than an object with slots.
class AccountRef(NamedTuple):
    id: int | None = None
    external_id: str = ""
    domain: str = ""
    name: str = ""


class ContactRow(NamedTuple):
    row: int
    fields: dict[str, Any]
    emails: list[tuple[str, str, str]]  # (address, domain, kind)
    phones: list[tuple[str, str, str, str]]  # (e164, as typed, extension, kind)
    address: dict[str, str] | None
    external_ids: list[tuple[str, str]]  # (source, id)
    account: AccountRef | None
    tags: list[str]
    custom: dict[str, Any]
    owner_id: int | None = None
    id: int | None = None
    # Derived here, in the cleaning processes, to spare the writer: the contact's columns from
    # prefix to custom (engine.CONTACT_COLUMNS[6:], display name at 5), its search words,
    # and what a creation records in the audit trail (but owner and account).
    values: tuple = ()
    tokens: tuple[str, ...] = ()
    changes_json: str = "{}"
    # For a row with no e-mail, id or external id: who it describes (see ``person_key``),
    # so that a later row of the file describing the same person finds the same contact.
    person_key: str = ""
    # Problems with single fields that leave the field empty but keep the row (a date that
    # cannot be read): (column, reason), reported in the preview and the import's result.
    notes: tuple[tuple[str, str], ...] = ()

    @property
    def full_name(self) -> str:
        return self.values[5] if self.values else ""


Problem = tuple[str, str]  # (column, reason)

_CHOICE_FIELDS = {"lifecycle": Lifecycle, "preferred_channel": Contact.Channel}


def _choice(value: str, choices: Any) -> str:
    """A choice by its value or its label, in any case ("Customer", "customer")."""
    folded = value.casefold()
    for v, label in choices.choices:
        if folded in (v.casefold(), str(label).casefold()):
            return v
    return value


def _split(value: str) -> list[str]:
    return [p.strip() for p in value.replace("\n", ";").split(";") if p.strip()]


def clean_contact_row(number: int, cells: list[str], ctx: Context) -> ContactRow | list[Problem]:
    problems: list[Problem] = []
    notes: list[Problem] = []
    scalars: dict[str, str] = {}
    column_of: dict[str, str] = {}
    emails: list[tuple[str, str, str]] = []
    phones: list[tuple[str, str, str, str]] = []
    address: dict[str, str] = {}
    xids: list[tuple[str, str]] = []
    ref_id: int | None = None
    ref_xid = ref_domain = ref_name = ""
    tags: list[str] = []
    custom: dict[str, Any] = {}
    owner_id: int | None = None
    record_id: int | None = None

    targets = ctx.targets()
    # A row's own country is the better guess for its national-format phone numbers.
    region = ctx.region
    for index, _, target in targets:
        if target == "country" and index < len(cells) and cells[index].strip():
            with contextlib.suppress(ValueError):  # a wrong country is reported below
                region = normalize.normalize_country(uninert(cells[index].strip()))
    for index, header, target in targets:
        raw = cells[index].strip() if index < len(cells) else ""
        if not raw:
            continue  # a blank cell never erases anything
        try:
            # Any mapped cell, whatever its target: a control character is the cell's problem.
            value = normalize.check_text(uninert(raw))
            if target in SCALARS:
                scalars[target] = _choice(value, _CHOICE_FIELDS[target]) if target in _CHOICE_FIELDS else value
                column_of[target] = header
            elif target in ("email", "email_2", "emails"):
                kind = Kind.OTHER if target == "email_2" else Kind.WORK
                for item in _split(value) if target == "emails" else [value]:
                    address_, domain = normalize.normalize_email(item)
                    if all(e[0] != address_ for e in emails):
                        emails.append((address_, domain, kind))
            elif target in ("phone", "mobile", "phones"):
                kind = Kind.MOBILE if target == "mobile" else Kind.WORK
                for item in _split(value) if target == "phones" else [value]:
                    e164, ext = normalize.normalize_phone(item, region)
                    if all(p[0] != e164 for p in phones):
                        phones.append((e164, item[:50], ext[:10], kind))
            elif target in ADDRESS_PARTS:
                if target == "country":
                    address["country"] = normalize.normalize_country(value)
                else:
                    text = " ".join(value.split())
                    if len(text) > ADDRESS_LIMITS[target]:
                        raise ValueError(f"At most {ADDRESS_LIMITS[target]} characters.")
                    address[target] = text
            elif target == "tags":
                tags = sorted({normalize.normalize_tag(t) for t in value.replace(",", ";").split(";") if t.strip()})
            elif target == "owner":
                owner_id = ctx.owners.get(value.casefold())
                if owner_id is None:
                    raise ValueError(f"No active user named '{value}'.")
            elif target == "external_id":
                if len(value) > 200:
                    raise ValueError("At most 200 characters.")
                xids.append((ctx.source, value))
            elif target == "external_ids":
                for item in _split(value):
                    source, sep, xid = item.partition(":")
                    if not sep or not source.strip() or not xid.strip():
                        raise ValueError(f"'{item}' is not SOURCE:ID.")
                    xids.append((source.strip()[:100], xid.strip()[:200]))
            elif target == "id":
                record_id = _positive_int(value)
            elif target == "account_id":
                ref_id = _positive_int(value)
            elif target == "account.external_id":
                ref_xid = value[:200]
            elif target == "account.domain":
                ref_domain = normalize.normalize_domain(value)
            elif target == "account.name":
                if len(value) > 200:
                    raise ValueError("At most 200 characters.")
                ref_name = " ".join(value.split())
            elif target.startswith("custom."):
                df = ctx.datafields.get(target[len("custom.") :])
                if df is None:
                    raise ValueError("No such field in the data dictionary.")
                try:
                    cleaned = clean_value(df, value, date_order=ctx.date_order, excel=ctx.excel_dates)
                except ValueError as exc:
                    if df.type != DataField.Type.DATE:
                        raise
                    # A date that cannot be read loses the field, not the whole person.
                    notes.append((header, f"{exc} The field was left empty."))
                    continue
                if cleaned is not None:
                    custom[df.key] = cleaned
            else:
                raise ValueError(f"Unknown target '{target}'.")
        except ValueError as exc:
            problems.append((header, str(exc)))

    cleaned_scalars, errors = clean_contact_scalars(scalars)
    for name, messages in errors.items():
        problems.append((column_of.get(name, column_of.get("full_name", name)), " ".join(messages)))
    identifying = next((str(v) for k, v in custom.items() if getattr(ctx.datafields.get(k), "is_identifying", False)), "")
    # No name, but an e-mail, phone or identifier: still a person (issue 13), shown by it.
    handle = emails[0][0] if emails else phones[0][1] if phones else f"{xids[0][0]}:{xids[0][1]}" if xids else identifying
    if not (cleaned_scalars.get("given_name") or cleaned_scalars.get("family_name") or handle or record_id):
        named = column_of.get("full_name") or column_of.get("family_name") or column_of.get("given_name")
        problems.append((named or "name", "Enter a name: the row has no given or family name, e-mail, phone or identifier."))
    if problems:
        return problems
    if address and "country" not in address:
        address["country"] = ctx.region  # the import's region stands for the country
    f = cleaned_scalars
    parts = {k: f.get(k, "") for k in NAME_PARTS}
    full_name = (normalize.display_name(parts) or handle)[:300]
    custom_json = json_text(custom) if custom else "{}"
    changes: dict[str, list] = {k: [None, v] for k, v in f.items() if v and k != "full_name"}
    for key, value in custom.items():
        changes[f"custom.{key}"] = [None, value]
    if emails:
        changes["emails"] = [None, [e[0] for e in emails]]
    if phones:
        changes["phones"] = [None, [p[0] for p in phones]]
    if address:
        changes["address"] = [None, ", ".join(v for v in address.values() if v)]
    if xids:
        changes["external_ids"] = [None, [f"{s}:{x}" for s, x in xids]]
    if tags:
        changes["tags"] = [None, tags]
    account = AccountRef(ref_id, ref_xid, ref_domain, ref_name) if (ref_id or ref_xid or ref_domain or ref_name) else None
    return ContactRow(
        tokens=tuple(set(words(f"{parts['given_name']} {parts['middle_name']} {parts['family_name']}"))),
        values=(
            parts["prefix"], parts["given_name"], parts["middle_name"], parts["family_name"],
            parts["suffix"], full_name, normalize.sort_key(parts) or normalize.fold(full_name)[:300], f.get("job_title", ""),
            f.get("department", ""), f.get("preferred_channel", "none"), f.get("language", ""),
            f.get("time_zone", ""), f.get("lifecycle", "lead"), custom_json,
        ),
        changes_json=json_text(changes),
        row=number,
        fields=cleaned_scalars,
        emails=emails,
        phones=phones,
        address=address or None,
        external_ids=xids,
        account=account,
        tags=tags,
        custom=custom,
        owner_id=owner_id,
        id=record_id,
        notes=tuple(notes),
        person_key="" if (emails or xids or record_id) else person_key(cleaned_scalars, phones, address, account, custom, ctx),
    )


def person_key(
    fields: dict[str, Any],
    phones: list[tuple[str, str, str, str]],
    address: dict[str, str],
    account: AccountRef | None,
    custom: dict[str, Any],
    ctx: Context,
) -> str:
    """What makes two keyless rows of one file the same person: the same name parts, phone
    numbers, address, account, job title and department and identifying data-dictionary
    values, after normalisation (case, accents, spacing, phone format). Descriptive fields
    (tags, lifecycle, language, owner, other custom values) may differ: the later row then
    updates the contact, as a row repeating an e-mail does."""
    def f(value: Any) -> str:
        return " ".join(normalize.fold(str(value)).split())

    parts = [f(fields.get(k, "")) for k in (*NAME_PARTS, "job_title", "department")]
    parts.append(",".join(sorted(p[0] for p in phones)))
    parts.append("|".join(f(address.get(k, "")) for k in ADDRESS_PARTS))
    if account is not None:
        parts.append(f"{account.id or ''}|{account.external_id}|{account.domain}|{normalize.normalize_org_name(account.name)}")
    identifying = sorted((k, json_text(v)) for k, v in custom.items() if getattr(ctx.datafields.get(k), "is_identifying", False))
    parts.append(json_text(identifying))
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()


def _positive_int(value: str) -> int:
    text = value.strip().removesuffix(".0")
    if not text.isdigit() or int(text) == 0:
        raise ValueError(f"'{value}' is not a record id (a whole number).")
    return int(text)


def clean_batch(batch: list[tuple[int, list[str]]], ctx: Context) -> list[ContactRow | tuple[int, list[Problem]]]:
    out: list[ContactRow | tuple[int, list[Problem]]] = []
    for number, cells in batch:
        result = clean_contact_row(number, cells, ctx)
        out.append(result if isinstance(result, ContactRow) else (number, result))
    return out

"""Exports of the customer master: the rows a list shows, as CSV or XLSX, streamed.

Columns are the ones the actor's role may see. Every cell that a spreadsheet would run as
a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is made
inert with a leading apostrophe. Control characters in legacy values (which XLSX cannot
hold, and input now refuses) are left out, in CSV and XLSX alike. Rows are read in chunks, so a million-row export neither
holds the table in memory nor times out.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from rapport.audit.models import AuditEntry
from rapport.audit.services import Actor, audit_record
from rapport.customers import selectors
from rapport.customers.models import Account, AccountMembership, Contact
from rapport.customers.normalize import strip_controls
from rapport.users import permissions
from rapport.users.models import RecordKind

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 2000


def inert(value: Any) -> Any:
    """A cell value a spreadsheet shows as text and never evaluates."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_cell(value: Any) -> Any:
    """``inert`` of the value without control characters: taken out first, so that what
    they hid ('\x01=cmd()') is made inert too. Applying it twice changes nothing."""
    return inert(strip_controls(value)) if isinstance(value, str) else value


def _plain(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Column:
    name: str  # header, and the field it comes from
    field: str  # the name permissions know it by


CONTACT_COLUMNS = [
    Column(n, n)
    for n in (
        "id", "prefix", "given_name", "middle_name", "family_name", "suffix", "job_title",
        "department", "emails", "phones", "account", "account_id", "owner", "lifecycle",
        "preferred_channel", "language", "time_zone", "source", "tags", "external_ids",
        "created_at", "updated_at",
    )
]  # fmt: skip
ACCOUNT_COLUMNS = [
    Column(n, n)
    for n in (
        "id", "name", "legal_name", "domains", "industry", "size", "country", "phone",
        "parent_id", "owner", "lifecycle", "tags", "notes", "external_ids", "created_at",
        "updated_at",
    )
]  # fmt: skip
_CONTACT_SCALARS = {
    "id", "prefix", "given_name", "middle_name", "family_name", "suffix", "job_title",
    "department", "lifecycle", "preferred_channel", "language", "time_zone", "source",
    "created_at", "updated_at",
}  # fmt: skip
_ACCOUNT_SCALARS = {
    "id", "name", "legal_name", "industry", "size", "country", "phone", "parent_id",
    "lifecycle", "notes", "created_at", "updated_at",
}  # fmt: skip
ALWAYS = {"id", "created_at", "updated_at", "name", "given_name", "family_name"}
PART_FIELD = {"account": "memberships", "account_id": "memberships"}


def columns_for(*, actor: Any, kind: str) -> list[Column]:
    """The built-in columns and data-dictionary fields the actor's role may see."""
    access = permissions.field_access(actor, kind)
    base = CONTACT_COLUMNS if kind == RecordKind.CONTACT else ACCOUNT_COLUMNS
    cols = [c for c in base if c.name in ALWAYS or access.can_view(PART_FIELD.get(c.field, c.field))]
    cols += [Column(f"custom.{df.key}", f"custom.{df.key}") for df in selectors.datafields_for(actor=actor, entity=kind)]
    return cols


def _chunks(qs: QuerySet, fields: list[str]) -> Iterator[list[dict[str, Any]]]:
    """The rows of ``qs`` as dicts of ``fields``, CHUNK at a time, from one cursor."""
    chunk: list[dict[str, Any]] = []
    for row in qs.values(*fields).iterator(chunk_size=CHUNK):
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _grouped(pairs: Iterable[tuple[int, Any]]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {}
    for key, value in pairs:
        out.setdefault(key, []).append(value)
    return out


def _usernames() -> dict[int, str]:
    from rapport.users.models import User

    return dict(User.objects.values_list("id", "username"))


# Each chunk's parts are read with one plain query per kind of part and grouped here: the
# ORM's prefetch machinery cost ten times the SQL at a million rows.
def _contact_rows(qs: QuerySet[Contact], columns: list[Column], actor: Any) -> Iterator[list[Any]]:
    from rapport.customers.models import ContactEmail, ContactExternalId, ContactPhone

    owners = _usernames()
    account_owners = permissions.visible_owner_ids(actor, RecordKind.ACCOUNT)
    visible_owners = set(account_owners) if account_owners is not None else None
    fields = sorted({c.name for c in columns if c.name in _CONTACT_SCALARS} | {"id", "owner_id", "custom"})
    tag_through = Contact.tags.through
    for chunk in _chunks(qs, fields):
        ids = [r["id"] for r in chunk]
        emails = _grouped(ContactEmail.objects.filter(contact_id__in=ids).order_by("contact_id", "-is_primary", "id").values_list("contact_id", "email"))
        phones = _grouped(ContactPhone.objects.filter(contact_id__in=ids).order_by("contact_id", "-is_primary", "id").values_list("contact_id", "e164"))
        tags = _grouped(tag_through.objects.filter(contact_id__in=ids).values_list("contact_id", "tag__name"))
        xids = _grouped(
            (c, f"{s}:{x}") for c, s, x in ContactExternalId.objects.filter(contact_id__in=ids).order_by("id").values_list("contact_id", "source", "external_id")
        )
        accounts = {
            c: (a, name, owner)
            for c, a, name, owner in AccountMembership.objects.filter(contact_id__in=ids, is_primary=True).values_list(
                "contact_id", "account_id", "account__name", "account__owner_id"
            )
        }
        for r in chunk:
            pk = r["id"]
            account = accounts.get(pk)
            if account is not None and visible_owners is not None and account[2] not in visible_owners:
                account = None  # never name an account the actor may not see
            values = {
                **r,
                "emails": emails.get(pk, []),
                "phones": phones.get(pk, []),
                "account": account[1] if account else "",
                "account_id": account[0] if account else "",
                "owner": owners.get(r["owner_id"], ""),
                "tags": sorted(tags.get(pk, [])),
                "external_ids": xids.get(pk, []),
            }
            yield [_cell(values, col) for col in columns]


def _account_rows(qs: QuerySet[Account], columns: list[Column], actor: Any) -> Iterator[list[Any]]:
    from rapport.customers.models import AccountDomain, AccountExternalId

    owners = _usernames()
    fields = sorted({c.name for c in columns if c.name in _ACCOUNT_SCALARS} | {"id", "owner_id", "custom"})
    tag_through = Account.tags.through
    for chunk in _chunks(qs, fields):
        ids = [r["id"] for r in chunk]
        domains = _grouped(AccountDomain.objects.filter(account_id__in=ids).order_by("account_id", "domain").values_list("account_id", "domain"))
        tags = _grouped(tag_through.objects.filter(account_id__in=ids).values_list("account_id", "tag__name"))
        xids = _grouped(
            (a, f"{s}:{x}") for a, s, x in AccountExternalId.objects.filter(account_id__in=ids).order_by("id").values_list("account_id", "source", "external_id")
        )
        for r in chunk:
            pk = r["id"]
            values = {
                **r,
                "domains": domains.get(pk, []),
                "owner": owners.get(r["owner_id"], ""),
                "tags": sorted(tags.get(pk, [])),
                "external_ids": xids.get(pk, []),
            }
            yield [_cell(values, col) for col in columns]


def _cell(values: dict[str, Any], col: Column) -> Any:
    if col.name.startswith("custom."):
        value = (values.get("custom") or {}).get(col.name[len("custom.") :])
    else:
        value = values.get(col.name)
    return safe_cell(_plain(value))


def export_rows(*, actor: Actor, kind: str, filters: selectors.ListFilters) -> tuple[list[str], Iterator[list[Any]]]:
    """Headers and rows of the records the actor may see under ``filters``.

    Requires the role's export right; records the export in the audit trail (who, what,
    which filters) before the first row leaves.
    """
    permissions.require(actor.user, "view", kind)
    permissions.require(actor.user, "export", kind)
    columns = columns_for(actor=actor.user, kind=kind)
    qs = selectors.export_queryset(actor=actor.user, kind=kind, filters=filters)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditEntry.Action.EXPORT,
            entity_kind=kind,
            entity_id=None,
            object_kind=kind,
            object_id=None,
            changes={"filters": [None, _filters_of(filters)], "columns": [None, [c.name for c in columns]]},
        )
    rows = _contact_rows(qs, columns, actor.user) if kind == RecordKind.CONTACT else _account_rows(qs, columns, actor.user)
    return [c.name for c in columns], rows


def _filters_of(filters: selectors.ListFilters) -> dict[str, Any]:
    keys = ("q", "lifecycle", "owner", "tag", "account")
    return {k: getattr(filters, k) for k in keys if getattr(filters, k)}


class _Echo:
    """A file-like object whose write returns the text, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def csv_chunks(headers: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(headers)  # BOM: spreadsheets then read UTF-8 right
    for row in rows:
        # Again here: other apps' exports write their rows through this too.
        yield writer.writerow([safe_cell(v) for v in row])


def write_xlsx(headers: list[str], rows: Iterable[list[Any]], target: Any) -> None:
    """Write an XLSX workbook in openpyxl's write-only mode (constant memory)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("export")
    sheet.append(headers)
    for row in rows:
        sheet.append([safe_cell(v) for v in row])
    book.save(target)


def write_file(headers: list[str], rows: Iterable[list[Any]], path: str) -> None:
    if path.lower().endswith(".xlsx"):
        write_xlsx(headers, rows, path)
        return
    with open(path, "w", newline="", encoding="utf-8") as handle:
        for chunk in csv_chunks(headers, rows):
            handle.write(chunk)


def xlsx_bytes(headers: list[str], rows: Iterable[list[Any]]) -> bytes:
    buffer = io.BytesIO()
    write_xlsx(headers, rows, buffer)
    return buffer.getvalue()

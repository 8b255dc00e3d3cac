"""Exports of the customer master: the rows a list shows, as CSV or XLSX, streamed.

Columns are the ones the actor's role may see. Every cell that a spreadsheet would run as
a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is made
inert with a leading apostrophe. Rows are read in chunks, so a million-row export neither
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
from django.db.models import Prefetch, QuerySet

from rapport.audit.models import AuditEntry
from rapport.audit.services import Actor, audit_record
from rapport.customers import selectors
from rapport.customers.models import Account, AccountMembership, Contact
from rapport.users import permissions
from rapport.users.models import RecordKind

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 2000


def inert(value: Any) -> Any:
    """A cell value a spreadsheet shows as text and never evaluates."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


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
ALWAYS = {"id", "created_at", "updated_at", "name", "given_name", "family_name"}
PART_FIELD = {"account": "memberships", "account_id": "memberships"}


def columns_for(*, actor: Any, kind: str) -> list[Column]:
    """The built-in columns and data-dictionary fields the actor's role may see."""
    access = permissions.field_access(actor, kind)
    base = CONTACT_COLUMNS if kind == RecordKind.CONTACT else ACCOUNT_COLUMNS
    cols = [c for c in base if c.name in ALWAYS or access.can_view(PART_FIELD.get(c.field, c.field))]
    cols += [Column(f"custom.{df.key}", f"custom.{df.key}") for df in selectors.datafields_for(actor=actor, entity=kind)]
    return cols


def _contact_rows(qs: QuerySet[Contact], columns: list[Column], actor: Any) -> Iterator[list[Any]]:
    qs = qs.select_related("owner").prefetch_related(
        "emails",
        "phones",
        "tags",
        "external_ids",
        Prefetch("memberships", queryset=AccountMembership.objects.filter(is_primary=True).select_related("account")),
    )
    for c in qs.iterator(chunk_size=CHUNK):
        memberships = list(c.memberships.all())
        account = memberships[0].account if memberships else None
        if account is not None and not permissions.can_see_record(actor, RecordKind.ACCOUNT, account):
            account = None
        values = {
            "emails": [e.email for e in c.emails.all()],
            "phones": [p.e164 for p in c.phones.all()],
            "account": account.name if account else "",
            "account_id": account.pk if account else "",
            "owner": c.owner.username if c.owner else "",
            "tags": sorted(t.name for t in c.tags.all()),
            "external_ids": [f"{x.source}:{x.external_id}" for x in c.external_ids.all()],
        }
        yield [_cell(c, col, values) for col in columns]


def _account_rows(qs: QuerySet[Account], columns: list[Column], actor: Any) -> Iterator[list[Any]]:
    qs = qs.select_related("owner").prefetch_related("domains", "tags", "external_ids")
    for a in qs.iterator(chunk_size=CHUNK):
        values = {
            "domains": [d.domain for d in a.domains.all()],
            "owner": a.owner.username if a.owner else "",
            "tags": sorted(t.name for t in a.tags.all()),
            "external_ids": [f"{x.source}:{x.external_id}" for x in a.external_ids.all()],
        }
        yield [_cell(a, col, values) for col in columns]


def _cell(obj: Any, col: Column, values: dict[str, Any]) -> Any:
    if col.name in values:
        value = values[col.name]
    elif col.name.startswith("custom."):
        value = obj.custom.get(col.name[len("custom.") :])
    else:
        value = getattr(obj, col.name)
    return inert(_plain(value))


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
        yield writer.writerow(row)


def write_xlsx(headers: list[str], rows: Iterable[list[Any]], target: Any) -> None:
    """Write an XLSX workbook in openpyxl's write-only mode (constant memory)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("export")
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
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

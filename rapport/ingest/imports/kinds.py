"""The kinds of record a file can be imported into, and what a domain app gives to add one.

Contacts (the bulk writer of ``engine``) and accounts (``accounts``) are the engine's own.
Another app adds a kind from its ``ready()`` (the sales app: deals and leads, in
``rapport/sales/imports.py``), so the import engine never imports a domain app:

    kinds.register(kinds.Kind(name="deals", label="Deals", record_kind=RecordKind.DEAL,
                              entity="deal", targets=DEAL_TARGETS, required=..., import_row=deal_row))

The engine does the rest, as for accounts: it reads the file as a stream, maps the
columns (``targets``: each target with the header names it goes by), cleans every cell
(bounded, formula marks removed), commits each batch of rows together with the job's
``rows_done`` (so a run resumes after its last committed batch and nothing is doubled),
runs each row in a savepoint of its own (a rejected row never stops the others: its
row, field and reason are kept, and the rejected-rows file has it), counts what the rows
did, keeps an ``ImportRecord`` per record for undo, and previews the first rows by running
them in a transaction it rolls back (so the preview is exactly what the run would do).

``import_row`` gets a ``RowInput`` (the row's values by target, an ``Actor`` marked *via
import, row N*, and a ``Lookup`` that finds accounts and contacts among those the importer
may see) and calls the domain's own services; it returns a ``RowDone`` or raises
``Reject(field, reason)``. Matching an earlier import's record by its external id uses
``Lookup.by_external_id`` (the ``ImportRecord`` key), so importing the same file twice
finds what the first run made.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rapport.core.actor import Actor
from rapport.customers import normalize
from rapport.customers.models import Account, Contact
from rapport.users import permissions
from rapport.users.models import RecordKind


class Reject(Exception):
    """The row is not imported: ``field`` (a target, or "") and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


@dataclass
class RowDone:
    """What one row did. ``action``: created, updated, unchanged or skipped."""

    action: str
    entity_kind: str = ""  # the ImportRecord's kind ("deal"); "" keeps no record
    object_id: int | None = None
    version: int = 1
    before: dict[str, Any] | None = None  # for undo of an update: {"fields": {...}}
    key: str = ""  # external_key() of the row's external id, for a later import to find
    match: str = ""  # what the preview says: "new deal", "deal 12: updated where it differs"
    field_problems: list[tuple[str, str]] = field(default_factory=list)  # (target, reason)
    accounts_created: int = 0


class Lookup:
    """Accounts and contacts among those the importer may see: another team's record is not
    found, as if it did not exist (decision 0008). Answers are kept for the run."""

    def __init__(self, user: Any, source: str) -> None:
        self.user, self.source = user, source
        self._accounts = permissions.visible(user, RecordKind.ACCOUNT, Account.objects.all())
        self._contacts = permissions.visible(user, RecordKind.CONTACT, Contact.objects.all())
        self._by_email: dict[str, Contact | None] = {}

    def account(
        self,
        *,
        id: int | None = None,
        external_ids: list[tuple[str, str]] | None = None,
        domains: list[str] | None = None,
        name: str = "",
    ) -> Account | None:  # noqa: A002
        """By Rapport id, else external id (``SOURCE``, id), else domain, else the name (the
        oldest account of that normalised name)."""
        accounts = self._accounts
        if id:
            return accounts.filter(pk=id).first()
        for s, x in external_ids or []:
            found = accounts.filter(external_ids__source=s, external_ids__external_id=x).first()
            if found:
                return found
        for d in domains or []:
            try:
                domain = normalize.normalize_domain(d)
            except ValueError:
                continue
            found = accounts.filter(domains__domain=domain).first()
            if found:
                return found
        norm = normalize.normalize_org_name(name)
        return accounts.filter(normalized_name=norm).order_by("id").first() if norm else None

    def contact_by_email(self, email: str) -> Contact | None:
        """The oldest visible contact with this (normalised) address."""
        if email not in self._by_email:
            self._by_email[email] = (
                self._contacts.filter(emails__email=email).order_by("id").first()
            )
        return self._by_email[email]

    def by_external_id(self, entity_kind: str, external_id: str) -> int | None:
        """The record an earlier import of this source made or updated for this external id
        (the newest such import's), or None; the caller checks that it still exists."""
        from rapport.ingest.models import ImportRecord

        key = external_key(self.source, external_id)
        return (
            ImportRecord.objects.filter(entity_kind=entity_kind, key=key)
            .order_by("-id")
            .values_list("object_id", flat=True)
            .first()
        )


def external_key(source: str, external_id: str) -> str:
    """The 32-character key an ``ImportRecord`` keeps for a source's external id."""
    return hashlib.sha256(f"{source}\x00{external_id}".encode()).hexdigest()[:32]


@dataclass
class RowInput:
    job: Any  # ImportJob
    number: int  # as a spreadsheet numbers it (the header is 1)
    values: dict[
        str, str
    ]  # target -> the cell as written (stripped, formula mark removed); only non-empty
    actor: Actor  # via import, context {"import": job, "row": number}
    lookup: Lookup
    preview: bool = False  # the row runs in a transaction that is rolled back
    owners: dict[str, int] = field(default_factory=dict)  # active users by folded username

    def date(self, target: str) -> Any:
        """A date cell read as the import reads dates (the job's region decides 05/06);
        ``Reject`` naming the column if it cannot be read."""
        value = self.values.get(target, "")
        if not value:
            return None
        try:
            return normalize.parse_date(
                value,
                order=normalize.date_order_for(self.job.region),
                excel=self.job.file_format == "xlsx",
            )
        except ValueError as exc:
            raise Reject(target, str(exc)) from None

    def owner(self, target: str = "owner") -> int | None:
        value = self.values.get(target, "")
        if not value:
            return None
        pk = self.owners.get(value.casefold())
        if pk is None:
            raise Reject(target, f"No active user named '{value}'.")
        return pk


@dataclass(frozen=True)
class Kind:
    name: str  # the job's kind: "deals"
    label: str  # "Deals"
    record_kind: (
        str  # the permissions' record kind (RecordKind.DEAL): add to import, delete to undo
    )
    entity: str  # ImportRecord.entity_kind and audit entity kind: "deal"
    targets: dict[str, tuple[str, ...]]  # target -> the header names it goes by (folded)
    # A file must map at least one of these targets, else this message.
    required: tuple[frozenset[str], str] = (frozenset(), "")
    import_row: Callable[[RowInput], RowDone] | None = None  # None: the engine's own
    # Undo of one record this kind made or changed: "" when undone, else why it was left.
    undo: Callable[[Actor, Any], str] | None = None
    labels: dict[str, str] = field(default_factory=dict)  # target -> label on the mapping page
    # Targets that write no field of the record (keys and links), for the field-rights check.
    not_fields: frozenset[str] = frozenset()
    creates_accounts: bool = False  # offer "Create accounts that do not exist yet"


_KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> None:
    _KINDS[kind.name] = kind  # ready() may run more than once in tests: the same kind again


def get(name: str) -> Kind | None:
    return _KINDS.get(name)


def names() -> list[str]:
    return list(_KINDS)


def all_kinds() -> list[Kind]:
    return list(_KINDS.values())


def _builtin() -> None:
    from rapport.ingest.imports.mapping import ACCOUNT_TARGETS, CONTACT_TARGETS

    register(
        Kind(
            name="contacts",
            label="Contacts",
            record_kind=RecordKind.CONTACT,
            entity="contact",
            targets=CONTACT_TARGETS,
            creates_accounts=True,
        )
    )
    register(
        Kind(
            name="accounts",
            label="Accounts",
            record_kind=RecordKind.ACCOUNT,
            entity="account",
            targets=ACCOUNT_TARGETS,
        )
    )


_builtin()

"""Running an import: read the file, clean rows (in worker processes), match them to
existing records and write them in batches.

Each batch is one transaction that writes the batch's records, its rejected rows, its
audit entries and undo records, *and* moves the job's ``rows_done`` to the batch's last
row. A run killed at any moment (even ``kill -9``) leaves either all of a batch or none
of it, and a resumed run starts right after ``rows_done``: no row lost, none doubled.
Matching (by record id, source + external id, or e-mail) makes a whole second import of
the same file change nothing.

Contacts are written with plain multi-row inserts (``BulkWriter``), not per-object ORM
saves: the per-row budget for a million-row file is a few dozen microseconds.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import datetime as dt
import gc
import json
import logging
import multiprocessing
import os
import signal
import time
import types
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from rapport.audit.models import AuditEntry, Via
from rapport.audit.services import Actor
from rapport.core.bulk import BulkWriter, rows_in
from rapport.customers import normalize, search_index
from rapport.customers.datadict import active_fields
from rapport.customers.models import (
    Account,
    AccountDomain,
    AccountExternalId,
    AccountMembership,
    Contact,
    ContactAddress,
    ContactEmail,
    ContactExternalId,
    ContactPhone,
    SearchToken,
    SearchVariant,
    Tag,
)
from rapport.ingest.imports import existing, kinds, storage
from rapport.ingest.imports.accounts import run_accounts
from rapport.ingest.imports.clean import AccountRef, ContactRow, Context, Problem, clean_batch
from rapport.ingest.imports.readers import FileProblem, Row
from rapport.ingest.imports.rows import KindRun
from rapport.ingest.imports.runs import Stop, mark_cancelled
from rapport.ingest.models import ImportJob, ImportRecord, ImportRejection, OnDuplicate, OnMatch
from rapport.users import permissions
from rapport.users.models import RecordKind, User

# The first six are the writer's; the rest come ready-made from the cleaner (ContactRow.values).
CONTACT_COLUMNS = ("id", "created_at", "updated_at", "version", "owner", "source", "prefix", "given_name", "middle_name", "family_name", "suffix", "full_name", "sort_name", "job_title", "department", "preferred_channel", "language", "time_zone", "lifecycle", "custom")  # fmt: skip
ACCOUNT_COLUMNS = ("id", "created_at", "updated_at", "version", "name", "legal_name", "normalized_name", "industry", "size", "country", "phone", "parent", "owner", "lifecycle", "notes", "custom")  # fmt: skip
EMAIL_COLUMNS = ("created_at", "updated_at", "contact", "email", "domain", "kind", "is_primary", "source")
PHONE_COLUMNS = ("created_at", "updated_at", "contact", "e164", "raw", "extension", "kind", "is_primary", "source")  # fmt: skip
ADDRESS_COLUMNS = ("created_at", "updated_at", "contact", "kind", "street", "city", "region", "postal_code", "country", "is_primary", "source")  # fmt: skip
XID_COLUMNS = ("created_at", "updated_at", "contact", "source", "external_id")
MEMBER_COLUMNS = ("created_at", "updated_at", "contact", "account", "is_primary", "job_title", "buying_role", "rank")  # fmt: skip
AUDIT_COLUMNS = ("at", "actor", "actor_name", "via", "action", "entity_kind", "entity_id", "object_kind", "object_id", "object_repr", "changes", "context")  # fmt: skip
logger = logging.getLogger(__name__)
RECORD_COLUMNS = ("job", "row", "entity_kind", "object_id", "action", "version", "before", "undo_status", "undo_reason", "key")
# Field problems kept on the job to show (all are counted).
FIELD_PROBLEMS_KEPT = 1000
# Fields that count as empty for "update empty fields only" even though they have a default.
EMPTY_DEFAULTS = {"preferred_channel": "none"}


def _splice(base: str, extra: list[str]) -> str:
    """A JSON object with ``extra``'s members ('"key":value') added to the ready-made ``base``."""
    if not extra:
        return base
    return "{" + ",".join(extra) + ("," + base[1:] if base != "{}" else "}")


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    rejected: int = 0
    accounts_created: int = 0
    # (row, column, reason) of fields left empty in rows that were imported (a bad date).
    field_problems: list[tuple[int, str, str]] = field(default_factory=list)


# --- reading and cleaning ------------------------------------------------------------------


def build_context(job: ImportJob) -> Context:
    owners = {u.casefold(): pk for pk, u in User.objects.filter(is_active=True).values_list("pk", "username")}
    return Context(
        headers=list(job.headers),
        mapping=dict(job.mapping),
        region=job.region,
        source=job.source,
        owners=owners,
        datafields={df.key: df for df in active_fields("contact")},
        date_order=normalize.date_order_for(job.region),
        excel_dates=job.file_format == "xlsx",
    )


_worker_ctx: Context | None = None


def _worker_init(ctx: Context) -> None:
    global _worker_ctx
    _worker_ctx = ctx
    # Die with the parent: a worker killed with -9 must not leave cleaners behind.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    gc.disable()  # see _contact_batches; cleaning makes no reference cycles
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _worker_clean(batch: list[tuple[int, list[str]]]) -> list:
    assert _worker_ctx is not None
    return clean_batch(batch, _worker_ctx)


def _raw_batches(rows: Iterator[Row], after: int, size: int) -> Iterator[list[tuple[int, list[str]]]]:
    batch: list[tuple[int, list[str]]] = []
    for row in rows:
        if row.number <= after:
            continue
        batch.append((row.number, row.raw))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def start_pool(ctx: Context, processes: int) -> Any:
    """Cleaning processes, or None to clean in this process."""
    if processes <= 0:
        return None
    connections.close_all()  # children never touch the database; do not share its socket
    return multiprocessing.get_context("fork").Pool(processes, initializer=_worker_init, initargs=(ctx,))


def cleaned_batches(
    rows: Iterator[Row], ctx: Context, *, after: int, size: int, pool: Any, processes: int
) -> Iterator[tuple[list[tuple[int, list[str]]], list]]:
    """(raw batch, cleaned batch) pairs in file order; cleaning runs in the pool's
    processes with a bounded window, so memory stays flat however big the file."""
    raw = _raw_batches(rows, after, size)
    if pool is None:
        for batch in raw:
            yield batch, clean_batch(batch, ctx)
        return
    window: collections.deque = collections.deque()
    for batch in raw:
        window.append((batch, pool.apply_async(_worker_clean, (batch,))))
        if len(window) > processes + 1:
            done, result = window.popleft()
            yield done, result.get()
    while window:
        done, result = window.popleft()
        yield done, result.get()


# --- matching ------------------------------------------------------------------------------


def row_keys(row: ContactRow) -> set[tuple]:
    keys: set[tuple] = {("email", e[0]) for e in row.emails}
    keys |= {("xid", s, x) for s, x in row.external_ids}
    if row.id:
        keys.add(("id", row.id))
    if row.person_key:
        keys.add(("person", row.person_key))
    return keys


def _chunked(values: list, n: int = 900) -> Iterator[list]:
    for i in range(0, len(values), n):
        yield values[i : i + n]


def _pairs(model: Any, key: str, value: str, keys: list, **equal: Any) -> list[tuple[Any, Any]]:
    """(key, value) of the rows whose ``key`` is in ``keys``, ordered by id."""
    return rows_in(model, key, keys, (key, value), **equal)


@dataclass
class _Lookups:
    ids: set[int] = field(default_factory=set)
    xids: dict[tuple[str, str], int] = field(default_factory=dict)
    emails: dict[str, int] = field(default_factory=dict)
    # External ids held by contacts the importer may not see: unique, so a row cannot take
    # them, but which contact has them is not said.
    taken_xids: set[tuple[str, str]] = field(default_factory=set)
    # Keyless rows: the contact an earlier row of this import describing the same person
    # made or updated (ImportRecord.key), so a repeat, or a resumed run, finds it.
    persons: dict[str, int] = field(default_factory=dict)


def hidden_owners_of(model: Any, ids: set[int], visible_owners: list[int] | None) -> set[int]:
    """Of the records ``ids`` of ``model``, those whose owner is not in ``visible_owners``
    (None: the importer sees everything, and no query is made)."""
    if visible_owners is None or not ids:
        return set()
    allowed = set(visible_owners)
    return {pk for pk, owner in rows_in(model, "id", list(ids), ("id", "owner")) if owner not in allowed}


def lookup_contacts(rows: list[ContactRow], *, visible_owners: list[int] | None = None, job_id: int | None = None) -> _Lookups:
    """The existing contacts the rows name, by id, external id and e-mail, among those the
    importer may see (``visible_owners`` as ``permissions.visible_owner_ids`` gives it): a
    contact of another team is not found, as if it did not exist."""
    found = _Lookups()
    ids = [r.id for r in rows if r.id]
    found.ids = {pk for pk, _ in _pairs(Contact, "id", "id", ids)}
    by_source: dict[str, set[str]] = collections.defaultdict(set)
    for r in rows:
        for s, x in r.external_ids:
            by_source[s].add(x)
    for source, values in by_source.items():
        for x, cid in _pairs(ContactExternalId, "external_id", "contact", list(values), source=source):
            found.xids[(source, x)] = cid
    emails = [e[0] for r in rows for e in r.emails]
    by_email = _pairs(ContactEmail, "email", "contact", emails)
    keys = [r.person_key for r in rows if r.person_key]
    by_person = _pairs(ImportRecord, "key", "object_id", keys, job=job_id, entity_kind="contact") if job_id and keys else []
    hidden = hidden_owners_of(Contact, found.ids | set(found.xids.values()) | {cid for _, cid in by_email} | {cid for _, cid in by_person}, visible_owners)
    for key, cid in by_person:
        if cid not in hidden:
            found.persons.setdefault(key, cid)
    found.ids -= hidden
    found.taken_xids = {k for k, cid in found.xids.items() if cid in hidden}
    found.xids = {k: cid for k, cid in found.xids.items() if cid not in hidden}
    for email, cid in by_email:
        # Of several contacts sharing an address, the oldest: ids grow with time.
        if cid not in hidden and (email not in found.emails or cid < found.emails[email]):
            found.emails[email] = cid
    return found


def likely_contact(row: ContactRow) -> int | None:
    """The existing contact a row near-certainly describes though no id, external id or
    e-mail matched it (a nickname, another address, the phone written another way)."""
    from rapport.identity import check
    from rapport.identity.blocking import Person

    address = row.address or {}
    person = Person(
        given=row.fields.get("given_name", ""),
        family=row.fields.get("family_name", ""),
        emails=tuple(e[0] for e in row.emails),
        phones=tuple(p[0] for p in row.phones),
        organisation=row.account.name if row.account else "",
        address=" ".join(v for v in (address.get("street"), address.get("postal_code"), address.get("city")) if v),
    )
    return check.likely_existing(person)


def match_row(row: ContactRow, found: _Lookups) -> tuple[int | None, Problem | None]:
    taken = next((k for k in row.external_ids if k in found.taken_xids), None)
    if taken is not None:
        return None, ("external_id", f"The external id {taken[0]}:{taken[1]} is already in use.")
    if row.id:
        if row.id not in found.ids:
            return None, ("id", f"No contact with id {row.id}.")
        return row.id, None
    by_xid = {found.xids[k] for k in row.external_ids if k in found.xids}
    if len(by_xid) > 1:
        return None, ("external_id", f"The external ids point at different contacts ({', '.join(map(str, sorted(by_xid)))}).")
    if by_xid:
        return by_xid.pop(), None
    for email, _, _ in row.emails:
        if email in found.emails:
            return found.emails[email], None
    if row.person_key in found.persons:
        return found.persons[row.person_key], None
    return None, None


# --- accounts the contacts point at ----------------------------------------------------------


@dataclass
class _NewAccount:
    id: int
    ref: AccountRef


class _Accounts:
    """Resolves each row's account reference (id, external id, domain, name, or the domain
    of its e-mail address) to an account id, planning new accounts where allowed."""

    def __init__(self, job: ImportJob, writer: BulkWriter, can_add: bool, visible_owners: list[int] | None = None) -> None:
        self.job, self.writer, self.can_add = job, writer, can_add
        # Accounts of owners outside this list are not found (None: all are visible).
        self.visible_owners = visible_owners
        self.by_id: set[int] = set()
        self.by_xid: dict[str, int] = {}
        self.by_domain: dict[str, int] = {}
        self.by_name: dict[str, int] = {}
        # Unique keys (domains, external ids) of accounts the importer may not see: a new
        # account cannot take them, and which account has them is not said.
        self.taken_xids: set[str] = set()
        self.taken_domains: set[str] = set()
        self.new: list[_NewAccount] = []
        self.spare_ids: list[int] = []

    def load(self, rows: list[ContactRow]) -> None:
        refs = [r.account for r in rows if r.account is not None]
        by_id = {pk for pk, _ in _pairs(Account, "id", "id", [a.id for a in refs if a.id])}
        xids = [a.external_id for a in refs if a.external_id]
        by_xid = _pairs(AccountExternalId, "external_id", "account", xids, source=self.job.source)
        domains = [a.domain for a in refs if a.domain] + [e[1] for r in rows if r.account is None for e in r.emails]
        by_domain = _pairs(AccountDomain, "domain", "account", [d for d in domains if d not in self.by_domain])
        names = {normalize.normalize_org_name(a.name) for a in refs if a.name} - {""}
        by_name = _pairs(Account, "normalized_name", "id", [n for n in names if n not in self.by_name])
        found = by_id | {pk for _, pk in by_xid} | {pk for _, pk in by_domain} | {pk for _, pk in by_name}
        hidden = hidden_owners_of(Account, found, self.visible_owners)
        self.by_id |= by_id - hidden
        for table, taken, pairs in ((self.by_xid, self.taken_xids, by_xid), (self.by_domain, self.taken_domains, by_domain)):
            for key, pk in pairs:
                if pk in hidden:
                    taken.add(key)
                else:
                    table[key] = pk
        for name, pk in by_name:
            if pk not in hidden:
                self.by_name.setdefault(name, pk)  # the oldest wins

    def resolve(self, row: ContactRow) -> tuple[int | None, Problem | None]:
        ref = row.account
        if ref is None:
            for _, domain, _ in row.emails:
                if domain in self.by_domain:
                    return self.by_domain[domain], None
            return None, None
        if ref.id:
            if ref.id not in self.by_id:
                return None, ("account_id", f"No account with id {ref.id}.")
            return ref.id, None
        norm = normalize.normalize_org_name(ref.name) if ref.name else ""
        for table, key in ((self.by_xid, ref.external_id), (self.by_domain, ref.domain), (self.by_name, norm)):
            if key and key in table:
                return table[key], None
        if not (ref.name or ref.domain):
            return None, ("account.external_id", f"No account with external id {ref.external_id} in {self.job.source}.")
        # Checked after a visible match had its chance: only a new account would clash.
        if ref.domain and ref.domain in self.taken_domains:
            return None, ("account.domain", f"The domain {ref.domain} is already in use.")
        if ref.external_id and ref.external_id in self.taken_xids:
            return None, ("account.external_id", f"The external id {ref.external_id} is already in use.")
        if not (self.job.create_accounts and self.can_add):
            why = "creating accounts is off for this import" if self.can_add else "you may not create accounts"
            return None, ("account.name", f"No account named '{ref.name or ref.domain}', and {why}.")
        pk = self._plan(ref, norm)
        return pk, None

    def _plan(self, ref: AccountRef, norm: str) -> int:
        # SQLite reserves from the table's highest id, which the planned rows do not raise yet;
        # PostgreSQL hands out ids from its sequence, a block at a time (gaps are harmless).
        if not self.writer.pg:
            pk = self.new[-1].id + 1 if self.new else self.writer.reserve_ids(Account, 1)[0]
        else:
            if not self.spare_ids:
                self.spare_ids = self.writer.reserve_ids(Account, 200)[::-1]
            pk = self.spare_ids.pop()
        self.new.append(_NewAccount(pk, ref))
        for table, key in ((self.by_xid, ref.external_id), (self.by_domain, ref.domain), (self.by_name, norm)):
            if key:
                table[key] = pk
        return pk


# --- writing -------------------------------------------------------------------------------


class ContactImport:
    """Writes batches of cleaned contact rows for one job run."""

    def __init__(self, job: ImportJob, run_token: str, actor: Actor) -> None:
        self.job_id = job.pk
        self.run_token = run_token
        self.actor = actor
        self.writer = BulkWriter()
        self.on_match = job.on_match
        self.match_likely = job.on_duplicate == OnDuplicate.MATCH
        user = actor.user
        self.can_add = permissions.can(user, "add", RecordKind.CONTACT)
        self.can_change = permissions.can(user, "change", RecordKind.CONTACT)
        self.can_add_account = permissions.can(user, "add", RecordKind.ACCOUNT)
        self.visible_owners = permissions.visible_owner_ids(user, RecordKind.CONTACT)
        self.required = [df.key for df in active_fields("contact") if df.required]
        self.known_tokens: set[str] = set()
        # Accounts found or made by earlier batches stay known: company names repeat.
        self.accounts = _Accounts(job, self.writer, self.can_add_account, permissions.visible_owner_ids(user, RecordKind.ACCOUNT))
        self.user_id = getattr(user, "pk", None)
        self.actor_name = actor.name

    # One batch: returns how many of ``items`` it consumed (it stops before a row whose
    # e-mail or external id repeats one earlier in the batch: that row must see the first).
    def write(self, items: list, raw: dict[int, list[str]], counts: Counts) -> int:
        with transaction.atomic():
            if self.writer.pg:
                # As with SQLite's NORMAL: a crash may lose the last batches' commits, never
                # consistency; their rows_done is lost with them, so a resume redoes them.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            job = ImportJob.objects.select_for_update().get(pk=self.job_id)
            if job.run_token != self.run_token:
                raise Stop("another run owns this import")
            if job.cancel_requested:
                mark_cancelled(job)
                return 0
            taken: set[tuple] = set()
            batch: list = []
            for item in items:
                if isinstance(item, ContactRow):
                    keys = row_keys(item)
                    if keys & taken and batch:
                        break
                    taken |= keys
                batch.append(item)
            self._write(job, batch, raw, counts)
            last = batch[-1].row if isinstance(batch[-1], ContactRow) else batch[-1][0]
            job.rows_done = last
            job.rows_seen += len(batch)
            for name in ("created", "updated", "unchanged", "skipped", "rejected", "accounts_created"):
                setattr(job, name, getattr(job, name) + getattr(counts, name))
            if counts.field_problems:
                job.field_problems += len(counts.field_problems)
                room = FIELD_PROBLEMS_KEPT - len(job.field_problem_rows)
                job.field_problem_rows = job.field_problem_rows + [list(p) for p in counts.field_problems[: max(room, 0)]]
            job.heartbeat_at = timezone.now()
            job.save()
        return len(batch)

    def _write(self, job: ImportJob, batch: list, raw: dict[int, list[str]], counts: Counts) -> None:
        now = timezone.now()
        rejected: list[tuple[int, str, str]] = []
        rows: list[ContactRow] = []
        for item in batch:
            if isinstance(item, ContactRow):
                rows.append(item)
            else:
                number, problems = item
                rejected.append((number, problems[0][0], "; ".join(f"{c}: {r}" if c else r for c, r in problems)))
        found = lookup_contacts(rows, visible_owners=self.visible_owners, job_id=self.job_id)
        accounts = self.accounts
        accounts.new = []
        accounts.load(rows)
        creates: list[tuple[ContactRow, int | None]] = []
        updates: list[tuple[ContactRow, int, int | None]] = []
        for row in rows:
            match, problem = match_row(row, found)
            if match is None and problem is None and self.match_likely:
                match = likely_contact(row)
                if match is not None and hidden_owners_of(Contact, {match}, self.visible_owners):
                    match = None  # another team's contact: as if there were none
            if problem is None and match is not None and self.on_match == OnMatch.SKIP:
                counts.skipped += 1
                continue
            account_id = None
            if problem is None:
                account_id, problem = accounts.resolve(row)
            if problem is None and match is None:
                problem = self._creatable(row)
            if problem is not None:
                rejected.append((row.row, problem[0], f"{problem[0]}: {problem[1]}" if problem[0] else problem[1]))
            elif match is None:
                creates.append((row, account_id))
            else:
                updates.append((row, match, account_id))
        if updates:
            rejected += self._update(job, updates, found, now, counts)
        refused = {n for n, _, _ in rejected}
        counts.field_problems += [(row.row, c, r) for row in rows if row.notes and row.row not in refused for c, r in row.notes]
        self._insert_accounts(job, accounts.new, now, counts)
        self._create(job, creates, now, counts)
        if rejected:
            ImportRejection.objects.bulk_create(
                [ImportRejection(job=job, row=n, field=f[:100], reason=r, cells=[normalize.strip_controls(c) for c in raw.get(n, [])]) for n, f, r in rejected],
                ignore_conflicts=True,
            )
            counts.rejected += len(rejected)

    def _creatable(self, row: ContactRow) -> Problem | None:
        if not self.can_add:
            return ("", "You may not add contacts.")
        missing = [k for k in self.required if k not in row.custom]
        if missing:
            return (f"custom.{missing[0]}", f"{missing[0]} is required for a new contact.")
        return None

    def _audit_row(self, stamp: Any, action: str, kind: str, pk: int, repr_: str, changes: dict, row: int) -> tuple:
        w = self.writer
        return (
            stamp, self.user_id, self.actor_name, Via.IMPORT, action, kind, pk, kind, pk,
            repr_[:300], w.json(changes), f'{{"import":{self.job_id},"row":{row}}}',
        )  # fmt: skip

    def _vocabulary(self, tokens: set[str]) -> None:
        new = tokens - self.known_tokens
        if new:
            search_index.ensure_variants(new)
            self.known_tokens |= new

    def _insert_accounts(self, job: ImportJob, new: list[_NewAccount], now: Any, counts: Counts) -> None:
        if not new:
            return
        w = self.writer
        stamp = w.stamp(now)
        rows: list[tuple] = []
        domains: list[tuple] = []
        xids: list[tuple] = []
        tokens: list[tuple] = []
        audits: list[tuple] = []
        records: list[tuple] = []
        vocab: set[str] = set()
        for a in new:
            name = a.ref.name or a.ref.domain
            rows.append((a.id, stamp, stamp, 1, name, "", normalize.normalize_org_name(name)[:200], "", "", "", "", None, self.user_id, "prospect", "", w.json({})))
            if a.ref.domain:
                domains.append((stamp, stamp, a.id, a.ref.domain))
            if a.ref.external_id:
                xids.append((stamp, stamp, a.id, job.source, a.ref.external_id))
            words = search_index.account_tokens(types.SimpleNamespace(name=name, legal_name=""))  # type: ignore[arg-type]
            vocab |= words
            tokens += [(t, None, a.id) for t in words]
            changes = {"name": [None, name]} | ({"domains": [None, [a.ref.domain]]} if a.ref.domain else {})
            audits.append(self._audit_row(stamp, AuditEntry.Action.CREATE, "account", a.id, name, changes, 0))
            records.append((job.pk, 0, "account", a.id, ImportRecord.Action.CREATED, 1, None, "", "", ""))
        w.insert(Account, ACCOUNT_COLUMNS, rows)
        w.insert(AccountDomain, ("created_at", "updated_at", "account", "domain"), domains)
        w.insert(AccountExternalId, ("created_at", "updated_at", "account", "source", "external_id"), xids)
        w.insert(SearchToken, ("token", "contact", "account"), tokens)
        w.insert(AuditEntry, AUDIT_COLUMNS, audits)
        w.insert(ImportRecord, RECORD_COLUMNS, records)
        self._vocabulary(vocab)
        counts.accounts_created += len(new)

    def _tag_ids(self, names: set[str]) -> dict[str, int]:
        if not names:
            return {}
        Tag.objects.bulk_create([Tag(name=n) for n in names], ignore_conflicts=True)
        return dict(Tag.objects.filter(name__in=names).values_list("name", "id"))

    def _create(self, job: ImportJob, creates: list[tuple[ContactRow, int | None]], now: Any, counts: Counts) -> None:
        if not creates:
            return
        w = self.writer
        stamp = w.stamp(now)
        ids = w.reserve_ids(Contact, len(creates))
        tag_ids = self._tag_ids({t for row, _ in creates for t in row.tags})
        main, emails, phones, addresses, xids, members, tags, tokens, audits, records = ([] for _ in range(10))  # type: list[tuple], list[tuple], list[tuple], list[tuple], list[tuple], list[tuple], list[tuple], list[tuple], list[tuple], list[tuple]
        vocab: set[str] = set()
        job_source_json = json.dumps(job.source, ensure_ascii=False)
        for (row, account_id), pk in zip(creates, ids, strict=True):
            owner = row.owner_id or self.user_id
            source = row.fields.get("source") or job.source
            main.append((pk, stamp, stamp, 1, owner, source, *row.values))
            extra = [] if "source" in row.fields else [f'"source":[null,{job_source_json}]']
            if owner:
                extra.append(f'"owner":[null,{owner}]')
            for i, (address, domain, kind) in enumerate(row.emails):
                emails.append((stamp, stamp, pk, address, domain, kind, i == 0, job.source))
            for i, (e164, typed, ext, kind) in enumerate(row.phones):
                phones.append((stamp, stamp, pk, e164, typed, ext, kind, i == 0, job.source))
            if row.address:
                a = row.address
                addresses.append((stamp, stamp, pk, "work", a.get("street", ""), a.get("city", ""), a.get("region", ""), a.get("postal_code", ""), a["country"], True, job.source))
            for source_, xid in row.external_ids:
                xids.append((stamp, stamp, pk, source_, xid))
            if account_id:
                members.append((stamp, stamp, pk, account_id, True, "", "", None))
                extra.append(f'"account":[null,{account_id}]')
            if row.tags:
                tags += [(pk, tag_ids[t]) for t in row.tags]
            vocab.update(row.tokens)
            tokens += [(t, pk, None) for t in row.tokens]
            changes_json = _splice(row.changes_json, extra)
            audits.append((stamp, self.user_id, self.actor_name, Via.IMPORT, AuditEntry.Action.CREATE, "contact", pk, "contact", pk, row.full_name, changes_json, f'{{"import":{self.job_id},"row":{row.row}}}'))
            records.append((job.pk, row.row, "contact", pk, ImportRecord.Action.CREATED, 1, None, "", "", row.person_key))
        w.insert(Contact, CONTACT_COLUMNS, main)
        w.insert(ContactEmail, EMAIL_COLUMNS, emails)
        w.insert(ContactPhone, PHONE_COLUMNS, phones)
        w.insert(ContactAddress, ADDRESS_COLUMNS, addresses)
        w.insert(ContactExternalId, XID_COLUMNS, xids)
        w.insert(AccountMembership, MEMBER_COLUMNS, members)
        w.insert(Contact.tags.through, ("contact", "tag"), tags)
        w.insert(SearchToken, ("token", "contact", "account"), tokens)
        w.insert(AuditEntry, AUDIT_COLUMNS, audits)
        w.insert(ImportRecord, RECORD_COLUMNS, records)
        self._vocabulary(vocab)
        counts.created += len(creates)

    # Updates are rarer than creations and each touches a different set of fields, so they
    # go through one UPDATE per changed record; their parts are still inserted in bulk.
    def _update(self, job: ImportJob, updates: list[tuple[ContactRow, int, int | None]], found: _Lookups, now: Any, counts: Counts) -> list[tuple[int, str, str]]:
        w = self.writer
        stamp = w.stamp(now)
        ids = sorted({pk for _, pk, _ in updates})
        qs = Contact.objects.filter(pk__in=ids)
        if connection.features.has_select_for_update:
            qs = qs.select_for_update()
        current = {c["id"]: c for c in qs.values("id", "version", "owner_id", "custom", *existing.CONTACT_FIELDS)}
        state = existing.load_parts(ids)
        rejected: list[tuple[int, str, str]] = []
        tag_ids = self._tag_ids({t for row, _, _ in updates for t in row.tags})
        emails, phones, xids, members, tags, audits, records = ([] for _ in range(7))
        reindex: list[int] = []
        for row, pk, account_id in updates:
            cur = current.get(pk)
            if cur is None:
                rejected.append((row.row, "id", f"Contact {pk} was deleted while the import ran."))
                continue
            if not self.can_change or (self.visible_owners is not None and cur["owner_id"] not in self.visible_owners):
                rejected.append((row.row, "", f"The row matches contact {pk}, which you may not change."))
                continue
            clash = next((found.xids[x] for x in row.external_ids if found.xids.get(x, pk) != pk), None)
            if clash is not None:
                rejected.append((row.row, "external_id", f"The row matches contact {pk}, but its external id belongs to contact {clash}."))
                continue
            fields, custom, before, changes = self._field_changes(row, cur)
            parts = state[pk]
            added: dict[str, list] = {}
            new_emails = [e for e in row.emails if e[0] not in parts.emails]
            for i, (address, domain, kind) in enumerate(new_emails):
                emails.append((stamp, stamp, pk, address, domain, kind, not parts.emails and i == 0, job.source))
            new_phones = [p for p in row.phones if p[0] not in parts.phones]
            for i, (e164, typed, ext, kind) in enumerate(new_phones):
                phones.append((stamp, stamp, pk, e164, typed, ext, kind, not parts.phones and i == 0, job.source))
            new_xids = [x for x in row.external_ids if x not in parts.xids]
            xids += [(stamp, stamp, pk, s, x) for s, x in new_xids]
            if row.address and not parts.has_address:
                a = row.address
                made = ContactAddress.objects.create(contact_id=pk, kind="work", is_primary=True, source=job.source, **a)
                added["address"] = [made.pk]
                changes["address"] = [None, ", ".join(v for v in a.values() if v)]
            if account_id and account_id not in parts.accounts:
                members.append((stamp, stamp, pk, account_id, not parts.has_primary_account, "", "", None))
                added["accounts"] = [account_id]
                changes["account"] = [None, account_id]
            new_tags = [t for t in row.tags if t not in parts.tags]
            tags += [(pk, tag_ids[t]) for t in new_tags]
            for name, values in (("emails", [e[0] for e in new_emails]), ("phones", [p[0] for p in new_phones]), ("external_ids", [list(x) for x in new_xids]), ("tags", new_tags)):
                if values:
                    added[name] = values
                    changes[f"{name}.added"] = [None, values if name != "external_ids" else [f"{s}:{x}" for s, x in new_xids]]
            if not changes:
                counts.unchanged += 1
                continue
            version = cur["version"] + 1
            existing.write_contact(pk, fields, custom, version, now)
            if any(k in fields for k in ("given_name", "middle_name", "family_name")):
                reindex.append(pk)
            audits.append(self._audit_row(stamp, AuditEntry.Action.UPDATE, "contact", pk, fields.get("full_name", cur["full_name"]), changes, row.row))
            records.append((job.pk, row.row, "contact", pk, ImportRecord.Action.UPDATED, version, w.json({"fields": before, "added": added}), "", "", row.person_key))
            counts.updated += 1
        w.insert(ContactEmail, EMAIL_COLUMNS, emails)
        w.insert(ContactPhone, PHONE_COLUMNS, phones)
        w.insert(ContactExternalId, XID_COLUMNS, xids)
        w.insert(AccountMembership, MEMBER_COLUMNS, members)
        w.insert(Contact.tags.through, ("contact", "tag"), tags)
        w.insert(AuditEntry, AUDIT_COLUMNS, audits)
        w.insert(ImportRecord, RECORD_COLUMNS, records)
        if reindex:
            for contact in Contact.objects.filter(pk__in=reindex):
                search_index.index_contact(contact)
        return rejected

    def _field_changes(self, row: ContactRow, cur: dict) -> tuple[dict, dict | None, dict, dict]:
        """(fields to write, new custom or None, old values, audit changes) for a match."""
        overwrite = self.on_match == OnMatch.OVERWRITE
        fields: dict[str, Any] = {}
        before: dict[str, Any] = {}
        changes: dict[str, list] = {}
        for name, value in row.fields.items():
            if name == "full_name" or name not in cur:
                continue
            old = cur[name]
            empty = old in ("", None) or EMPTY_DEFAULTS.get(name) == old
            if value != old and (overwrite or empty):
                fields[name] = value
        if row.owner_id and row.owner_id != cur["owner_id"] and (overwrite or cur["owner_id"] is None):
            fields["owner_id"] = row.owner_id
        custom = None
        old_custom = cur["custom"] or {}
        new_custom = dict(old_custom)
        for key, value in row.custom.items():
            if old_custom.get(key) != value and (overwrite or old_custom.get(key) in (None, "", [])):
                new_custom[key] = value
                changes[f"custom.{key}"] = [old_custom.get(key), value]
        if new_custom != old_custom:
            custom = new_custom
            before["custom"] = old_custom
        for name, value in fields.items():
            before[name] = cur[name]
            changes[name.removesuffix("_id")] = [cur[name], value]
        if any(k in fields for k in ("prefix", "given_name", "middle_name", "family_name", "suffix")):
            parts = {k: fields.get(k, cur[k]) for k in ("prefix", "given_name", "middle_name", "family_name", "suffix")}
            fields["full_name"] = normalize.display_name(parts)[:300]
            fields["sort_name"] = normalize.sort_key(parts)
            before["full_name"], before["sort_name"] = cur["full_name"], cur["sort_name"]
        return fields, custom, before, changes


# --- a run ---------------------------------------------------------------------------------


def claim(job_id: int, *, force: bool = False) -> tuple[ImportJob, str] | None:
    """Take the job for this run, or None when it is finished or another live run has it.

    A run that stopped sending heartbeats for IMPORT_STALE_SECONDS is presumed dead.
    """
    token = uuid.uuid4().hex
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.state not in (ImportJob.State.QUEUED, ImportJob.State.RUNNING, ImportJob.State.FAILED):
            return None
        stale = timezone.now() - dt.timedelta(seconds=settings.IMPORT_STALE_SECONDS)
        if job.state == ImportJob.State.RUNNING and not force and job.heartbeat_at and job.heartbeat_at > stale:
            return None
        job.state = ImportJob.State.RUNNING
        job.run_token = token
        job.heartbeat_at = timezone.now()
        job.started_at = job.started_at or timezone.now()
        job.error = ""
        job.save()
    return job, token


def _count_rows(job: ImportJob) -> int:
    with storage.open_table(job) as table:
        return sum(1 for _ in table.rows)


def run(job_id: int, *, force: bool = False, progress: Callable[[ImportJob], None] | None = None, processes: int | None = None) -> ImportJob | None:
    """Run (or resume) an import to its end. Safe to call twice: the second call finds the
    job claimed or finished and does nothing."""
    claimed = claim(job_id, force=force)
    if claimed is None:
        return None
    job, token = claimed
    user = job.created_by
    actor = Actor(user=user, via=Via.IMPORT, context={"import": job.pk})
    started = time.monotonic()
    base_seconds = job.run_seconds
    try:
        if job.total_rows is None:
            total = _count_rows(job)
            ImportJob.objects.filter(pk=job.pk).update(total_rows=total)
            job.total_rows = total
        kind = kinds.get(job.kind)
        if kind is not None and kind.import_row is not None:
            KindRun(job, kind, actor).run(token, progress=progress, started=started, base_seconds=base_seconds)
        elif job.kind == "accounts":
            run_accounts(job, token, actor, progress=progress, started=started, base_seconds=base_seconds)
        else:
            _run_contacts(job, token, actor, progress=progress, started=started, base_seconds=base_seconds, processes=processes)
    except Stop:
        job.refresh_from_db()
        return job
    except FileProblem as exc:
        _fail(job.pk, token, str(exc), started, base_seconds)
        job.refresh_from_db()
        return job
    except BaseException as exc:
        _fail(job.pk, token, f"{type(exc).__name__}: {exc}", started, base_seconds)
        raise
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.run_token == token and job.state == ImportJob.State.RUNNING:
            job.state = ImportJob.State.DONE
            job.finished_at = timezone.now()
            job.run_seconds = base_seconds + (time.monotonic() - started)
            job.save()
    if job.created >= 50_000 and not connection.in_atomic_block:
        _analyze()  # the planner's figures for the pages that read these tables next
    if job.kind == "contacts" and job.state == ImportJob.State.DONE and job.created and job.on_duplicate == OnDuplicate.REVIEW:
        _queue_duplicate_scan(job)
    if progress:
        progress(job)
    return job


def _queue_duplicate_scan(job: ImportJob) -> None:
    """New contacts that look like existing ones reach the steward's queue: an incremental
    scan compares the records changed since the last scan (system work, not the importer's)."""
    from rapport.identity import scans as identity

    identity.scan_start(actor=Actor(user=None, via=Via.IMPORT, context={"import": job.pk}), kind="contact", mode="incremental")


def _fail(job_id: int, token: str, message: str, started: float, base_seconds: float) -> None:
    try:
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().get(pk=job_id)
            if job.run_token == token and job.state == ImportJob.State.RUNNING:
                job.state = ImportJob.State.FAILED
                job.error = message[:2000]
                job.run_seconds = base_seconds + (time.monotonic() - started)
                job.save()
    except Exception:  # noqa: BLE001 - the original error matters more
        logger.exception("could not mark import %s as failed", job_id)


def _run_contacts(job: ImportJob, token: str, actor: Actor, *, progress: Callable | None, started: float, base_seconds: float, processes: int | None) -> None:
    ctx = build_context(job)
    importer = ContactImport(job, token, actor)
    processes = settings.IMPORT_PROCESSES if processes is None else processes
    pool = start_pool(ctx, processes)  # before tuning: forking closes the connection
    tuned = importer.writer.sqlite and not connection.in_atomic_block
    if tuned:
        with connection.cursor() as cursor:
            # A large page cache keeps the indexes in memory (see demo_load); 160 MB keeps the
            # whole import, with its cleaning process, under 500 MB.
            cursor.execute("PRAGMA cache_size = -163840")
            # NORMAL in WAL mode may lose the last commits on a power cut, never consistency;
            # a batch's rows and its rows_done commit together, so a resume redoes exactly
            # what was lost. Fewer checkpoints: the WAL is folded back every ~40 MB.
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA wal_autocheckpoint = 10000")
    try:
        _contact_batches(job, token, importer, ctx, progress=progress, started=started, base_seconds=base_seconds, pool=pool, processes=processes)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
        if tuned:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous = FULL")
                cursor.execute("PRAGMA wal_autocheckpoint = 1000")
                cursor.execute("PRAGMA cache_size = -2000")


def _contact_batches(job: ImportJob, token: str, importer: ContactImport, ctx: Context, *, progress: Callable | None, started: float, base_seconds: float, pool: Any, processes: int) -> None:
    # The cyclic garbage collector runs every few hundred allocations and walks every live
    # container: with a batch of rows in memory, that was most of the time spent unpickling
    # cleaned rows. Rows make no cycles; what the ORM leaves is collected between batches.
    gc.disable()
    try:
        _batches(job, token, importer, ctx, progress=progress, started=started, base_seconds=base_seconds, pool=pool, processes=processes)
    finally:
        gc.enable()


_ANALYZE_AFTER = {1, 4, 16, 64, 256, 1024}  # batches


def _analyze() -> None:
    """Fresh planner statistics for the tables an import grows. PostgreSQL plans the
    batch lookups from statistics taken when the tables were small, and would go on
    scanning them whole; refreshing as they grow fourfold keeps the index plans."""
    tables = [connection.ops.quote_name(m._meta.db_table) for m in (Contact, ContactEmail, ContactExternalId, AccountDomain, Account, SearchVariant)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE " + ", ".join(tables))
        else:  # SQLite: one table at a time, sampling (exact counts would read every index)
            cursor.execute("PRAGMA analysis_limit = 2000")
            for table in tables:
                cursor.execute(f"ANALYZE {table}")


def _batches(job: ImportJob, token: str, importer: ContactImport, ctx: Context, *, progress: Callable | None, started: float, base_seconds: float, pool: Any, processes: int) -> None:
    batches = 0
    with storage.open_table(job) as table:
        for raw_batch, cleaned in cleaned_batches(table.rows, ctx, after=job.rows_done, size=settings.IMPORT_BATCH_ROWS, pool=pool, processes=processes):
            raw = dict(raw_batch)
            pending = cleaned
            while pending:
                counts = Counts()
                n = importer.write(pending, raw, counts)
                if n == 0:
                    raise Stop("cancelled")
                pending = pending[n:]
            gc.collect(1)
            batches += 1
            if importer.writer.pg and batches in _ANALYZE_AFTER:
                _analyze()
            elapsed = base_seconds + (time.monotonic() - started)
            ImportJob.objects.filter(pk=job.pk, run_token=token).update(run_seconds=elapsed)
            if progress:
                job.refresh_from_db()
                progress(job)


def process_count() -> int:
    return max(1, min(os.cpu_count() or 1, 4))

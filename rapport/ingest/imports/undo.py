"""What an import changed on existing contacts, and putting it back (undo).

Undo reverts exactly the import's own work: it deletes the records the import created and
restores the fields and removes the parts it added to existing ones. A record whose
version moved on since the import wrote it was changed by someone else: undo leaves it
as it is and says so, record by record. Undo runs in batches and can be resumed too.
"""

from __future__ import annotations

import collections
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from rapport.audit.models import AuditEntry, Via
from rapport.audit.services import Actor
from rapport.customers import search_index
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
    Tag,
)
from rapport.ingest.imports import kinds
from rapport.ingest.imports.existing import write_contact
from rapport.ingest.models import ImportJob, ImportRecord

BATCH = 2000


def _changed_by(kind: str, pk: int, job_id: int) -> str:
    entry = (
        AuditEntry.objects.filter(entity_kind=kind, entity_id=pk)
        .exclude(via=Via.IMPORT, context__import=job_id)
        .order_by("-id")
        .first()
    )
    if entry is None:
        return f"This {kind} was changed after the import; it is left as it is."
    return f"{entry.actor_name} changed this {kind} on {entry.at:%Y-%m-%d %H:%M} after the import; it is left as it is."


def _audit(actor: Actor, job_id: int, action: str, kind: str, pk: int, changes: dict) -> AuditEntry:
    return AuditEntry(
        actor=actor.user if getattr(actor.user, "pk", None) else None,
        actor_name=actor.name,
        via=Via.IMPORT,
        action=action,
        entity_kind=kind,
        entity_id=pk,
        object_kind=kind,
        object_id=pk,
        changes=changes,
        context={"import": job_id, "undo": True},
    )


def undo_batch(job: ImportJob, actor: Actor, records: list[ImportRecord]) -> tuple[int, int]:
    """Undo one batch of records (one kind) in one transaction: (undone, refused)."""
    kind = records[0].entity_kind
    model = Contact if kind == "contact" else Account
    qs = model.objects.filter(pk__in=[r.object_id for r in records])
    if connection.features.has_select_for_update:
        qs = qs.select_for_update()
    versions = dict(qs.values_list("pk", "version"))
    undone: list[ImportRecord] = []
    refused: list[ImportRecord] = []
    audits: list[AuditEntry] = []
    delete_ids: list[int] = []
    now = timezone.now()
    if kind == "account":
        others = dict(
            AccountMembership.objects.filter(account_id__in=list(versions))
            .values("account_id")
            .annotate(n=Count("id"))
            .values_list("account_id", "n")
        )
    for rec in records:
        version = versions.get(rec.object_id)
        if version is None:
            rec.undo_status, rec.undo_reason = "undone", "Already deleted."
            undone.append(rec)
        elif version != rec.version:
            rec.undo_status, rec.undo_reason = "refused", _changed_by(kind, rec.object_id, job.pk)[:300]
            refused.append(rec)
        elif kind == "account" and others.get(rec.object_id):
            rec.undo_status = "refused"
            rec.undo_reason = "Contacts outside this import work at this account now; it is left as it is."
            refused.append(rec)
        elif rec.action == ImportRecord.Action.CREATED:
            delete_ids.append(rec.object_id)
            audits.append(_audit(actor, job.pk, AuditEntry.Action.DELETE, kind, rec.object_id, {}))
            rec.undo_status = "undone"
            undone.append(rec)
        else:
            audits.append(_audit(actor, job.pk, AuditEntry.Action.UPDATE, kind, rec.object_id, _restore(rec, version, now)))
            rec.undo_status = "undone"
            undone.append(rec)
    if delete_ids:
        model.objects.filter(pk__in=delete_ids).delete()
    AuditEntry.objects.bulk_create(audits, batch_size=1000)
    ImportRecord.objects.bulk_update(undone + refused, ["undo_status", "undo_reason"], batch_size=1000)
    return len(undone), len(refused)


def _restore_account(rec: ImportRecord, version: int, now: Any) -> dict:
    before = rec.before or {}
    fields = dict(before.get("fields") or {})
    added = before.get("added") or {}
    account = Account.objects.get(pk=rec.object_id)
    changes: dict[str, list] = {}
    tags = fields.pop("tags", None)
    for name, value in fields.items():
        attr = "owner_id" if name == "owner" else name
        changes[name] = [getattr(account, attr), value]
        setattr(account, attr, value)
    if tags is not None:
        account.tags.set(Tag.objects.filter(name__in=tags))
        changes["tags"] = [None, tags]
    account.version = version + 1
    account.save()
    AccountDomain.objects.filter(account=account, domain__in=added.get("domains", [])).delete()
    for source, xid in added.get("external_ids", []):
        AccountExternalId.objects.filter(account=account, source=source, external_id=xid).delete()
    if any(k in fields for k in ("name", "legal_name")):
        search_index.index_account(account)
    return changes


def _restore(rec: ImportRecord, version: int, now: Any) -> dict:
    """Put back one updated record: old field values in, added parts removed."""
    if rec.entity_kind == "account":
        return _restore_account(rec, version, now)
    before = rec.before or {}
    fields = dict(before.get("fields") or {})
    custom = fields.pop("custom", None)
    added = before.get("added") or {}
    pk = rec.object_id
    current = Contact.objects.filter(pk=pk).values(*fields, "custom").first() or {}
    changes: dict[str, list] = {k.removesuffix("_id"): [current.get(k), v] for k, v in fields.items() if k not in ("full_name", "sort_name")}
    if custom is not None:
        changes["custom"] = [current.get("custom"), custom]
    write_contact(pk, fields, custom, version + 1, now)
    removals = (
        (ContactEmail, Q(email__in=added.get("emails", [])), "emails"),
        (ContactPhone, Q(e164__in=added.get("phones", [])), "phones"),
        (AccountMembership, Q(account_id__in=added.get("accounts", [])), "accounts"),
    )
    for model, cond, name in removals:
        if added.get(name):
            model.objects.filter(cond, contact_id=pk).delete()
            changes[f"{name}.removed"] = [added[name], None]
    for source, xid in added.get("external_ids", []):
        ContactExternalId.objects.filter(contact_id=pk, source=source, external_id=xid).delete()
    if added.get("address"):
        ContactAddress.objects.filter(contact_id=pk, pk__in=added["address"]).delete()
        changes["address.removed"] = [added["address"], None]
    if added.get("tags"):
        Contact.tags.through.objects.filter(contact_id=pk, tag__name__in=added["tags"]).delete()
        changes["tags.removed"] = [added["tags"], None]
    if any(k in fields for k in ("given_name", "middle_name", "family_name")):
        search_index.index_contact(Contact.objects.get(pk=pk))
    return changes


def _undo_registered(kind: kinds.Kind, actor: Actor, records: list[ImportRecord]) -> tuple[int, int]:
    """Each record through its kind's ``undo`` (which calls the domain's services), each in
    a savepoint: one that cannot be undone is left and says why."""
    assert kind.undo is not None
    done = refused = 0
    undo_actor = Actor(user=actor.user, via=Via.IMPORT, context={**(actor.context or {}), "undo": True})
    for rec in records:
        try:
            with transaction.atomic():
                reason = kind.undo(undo_actor, rec)
        except Exception as exc:  # noqa: BLE001 - a record left as it is, with the reason
            reason = str(exc) or type(exc).__name__
        rec.undo_status, rec.undo_reason = ("refused", reason[:300]) if reason else ("undone", "")
        if reason:
            refused += 1
        else:
            done += 1
    ImportRecord.objects.bulk_update(records, ["undo_status", "undo_reason"], batch_size=1000)
    return done, refused


def undo_run(job_id: int, actor: Actor) -> ImportJob:
    """Undo an import to the end, batch by batch: a registered kind's records first (deals,
    leads: through that kind's own ``undo``), then contacts, then its new accounts."""
    registered = {k.entity: k for k in kinds.all_kinds() if k.import_row is not None and k.undo is not None}
    for kind in (*registered, "contact", "account"):
        while True:
            with transaction.atomic():
                job = ImportJob.objects.select_for_update().get(pk=job_id)
                if job.state != ImportJob.State.UNDOING:
                    return job
                records = list(
                    ImportRecord.objects.filter(job=job, entity_kind=kind, undo_status="").order_by("-id")[:BATCH]
                )
                if not records:
                    break
                by_action: dict[str, list[ImportRecord]] = collections.defaultdict(list)
                for rec in records:
                    by_action[rec.action].append(rec)
                for group in by_action.values():
                    if kind in registered:
                        done, refused = _undo_registered(registered[kind], actor, group)
                    else:
                        done, refused = undo_batch(job, actor, group)
                    job.undone += done
                    job.undo_refused += refused
                job.heartbeat_at = timezone.now()
                job.save()
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.state == ImportJob.State.UNDOING:
            job.state = ImportJob.State.UNDONE
            job.finished_at = timezone.now()
            job.save()
    return job

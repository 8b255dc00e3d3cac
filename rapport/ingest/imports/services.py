"""Writes of the import workflow: upload, mapping, start, cancel, resume, undo, saved
mappings. Views, the API and the command line all come through here."""

from __future__ import annotations

import datetime as dt
import os
import re
from typing import IO, Any

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from rapport.audit.services import Actor
from rapport.core.errors import Conflict, PermissionDenied, ValidationFailed
from rapport.core.transactions import enqueue_after_commit
from rapport.customers.datadict import active_fields
from rapport.ingest.imports import kinds, storage
from rapport.ingest.imports.mapping import suggest_mapping, targets_for
from rapport.ingest.imports.readers import FileProblem
from rapport.ingest.models import ImportJob, ImportKind, OnDuplicate, OnMatch, SavedMapping
from rapport.users import permissions


class _Entities:
    """The record kind (for permissions) of each kind of import, the registered ones too."""

    def __getitem__(self, kind: str) -> str:
        found = kinds.get(str(kind))
        if found is None:
            raise KeyError(kind)
        return found.record_kind


ENTITY = _Entities()
# Targets that write no field of the record (matching keys), for the field-rights check.
_NOT_FIELDS = {"id", "external_id", "external_ids", "ignore", ""}
_FIELD_OF_TARGET = {
    "email": "emails", "email_2": "emails", "emails": "emails", "phone": "phones", "mobile": "phones",
    "phones": "phones", "street": "addresses", "city": "addresses", "region": "addresses",
    "postal_code": "addresses", "country": "addresses", "account.name": "memberships",
    "account.domain": "memberships", "account.external_id": "memberships", "account_id": "memberships",
    "full_name": "given_name", "domain": "domains", "domains": "domains",
}  # fmt: skip


def _entity(kind: str) -> str:
    return ENTITY[kind]


def default_source(filename: str) -> str:
    stem = os.path.splitext(os.path.basename(filename))[0]
    return (re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "file")[:100]


def _check_quota(actor: Actor, size: int) -> None:
    """Each person's stored import files (kept for resume, rejections and undo) stay within
    ``IMPORT_USER_QUOTA_BYTES``; the command line and integrations without a user are not
    counted. Checked before the file is stored."""
    user = actor.user
    quota = settings.IMPORT_USER_QUOTA_BYTES
    if not getattr(user, "pk", None) or quota <= 0:
        return
    stored = ImportJob.objects.filter(created_by=user).exclude(file_path="")
    used = stored.aggregate(total=Sum("file_size"))["total"] or 0
    if used + size > quota:
        problem = (
            f"Your import files would take {used + size:,} bytes; the quota is {quota:,} bytes per person "
            f"(RAPPORT_IMPORT_USER_QUOTA_BYTES) and {used:,} are used. Ask an administrator to remove old imports."
        )
        raise ValidationFailed(problem, errors={"file": [problem]})


def import_create(*, actor: Actor, stream: IO[bytes], filename: str, kind: str) -> ImportJob:
    """Store an uploaded file and read its headers; the job then waits for its mapping."""
    if kind not in kinds.names():
        raise ValidationFailed(errors={"kind": [f"Choose one of: {', '.join(kinds.names())}."]})
    permissions.require(actor.user, "add", _entity(kind))
    filename = os.path.basename(filename or "upload.csv")[:255]
    incoming = stream.seek(0, os.SEEK_END)
    stream.seek(0)
    if incoming > settings.IMPORT_MAX_UPLOAD_BYTES:
        limit = settings.IMPORT_MAX_UPLOAD_BYTES
        problem = f"The file is {incoming:,} bytes; the limit is {limit:,}."
        raise ValidationFailed(problem, errors={"file": [problem]})
    _check_quota(actor, incoming)
    path, checksum, size = storage.save_upload(stream, filename)
    job = ImportJob(kind=kind, created_by=actor.user if getattr(actor.user, "pk", None) else None, file_name=filename, file_path=path, file_size=size, checksum=checksum)
    try:
        with storage.open_table(job) as table:
            job.headers = table.headers
            job.file_format, job.encoding, job.delimiter = table.format, table.encoding, table.delimiter
    except FileProblem as exc:
        storage.delete(job)
        raise ValidationFailed(str(exc), errors={"file": [str(exc)]}) from None
    labels = {df.key: df.label for df in active_fields(_entity(kind))}
    job.mapping = {s.header: s.target or "" for s in suggest_mapping(job.headers, datafields=labels, kind=kind)}
    job.region = settings.DEFAULT_PHONE_REGION
    job.source = default_source(filename)
    job.save()
    return job


def valid_targets(kind: str) -> set[str]:
    entity = _entity(kind)
    return set(targets_for(kind)) | {f"custom.{df.key}" for df in active_fields(entity)} | {"id"}


def _check_mapping(actor: Actor, job: ImportJob, mapping: dict[str, str]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    allowed = valid_targets(job.kind)
    used: dict[str, str] = {}
    for header, target in mapping.items():
        if header not in job.headers:
            errors.setdefault("mapping", []).append(f"The file has no column '{header}'.")
        elif target and target != "ignore":
            if target not in allowed:
                errors.setdefault("mapping", []).append(f"Column '{header}': '{target}' is not a field you can import into.")
            elif target in used:
                errors.setdefault("mapping", []).append(f"Columns '{used[target]}' and '{header}' both go to {target}.")
            used[target] = header
    targets = set(used)
    if job.kind == ImportKind.CONTACTS and not targets & {"full_name", "given_name", "family_name", "id", "external_id", "external_ids", "email", "emails"}:
        errors.setdefault("mapping", []).append("Map a column to the contact's name (or to an id or e-mail address to update existing contacts).")
    if job.kind == ImportKind.ACCOUNTS and not targets & {"name", "id", "external_id", "domain"}:
        errors.setdefault("mapping", []).append("Map a column to the account's name.")
    kind = kinds.get(job.kind)
    required, message = kind.required if kind is not None else (frozenset(), "")
    if required and not targets & required:
        errors.setdefault("mapping", []).append(message)
    not_fields = kind.not_fields if kind is not None and kind.import_row is not None else frozenset()
    if not errors:
        fields = sorted({_FIELD_OF_TARGET.get(t, t) for t in targets if t not in _NOT_FIELDS | not_fields} - {"account_id"})
        permissions.require_fields_writable(actor.user, _entity(job.kind), fields)
    return errors


def import_configure(
    *,
    actor: Actor,
    job: ImportJob,
    mapping: dict[str, str] | None = None,
    mapping_name: str = "",
    region: str | None = None,
    source: str | None = None,
    on_match: str | None = None,
    on_duplicate: str | None = None,
    create_accounts: bool | None = None,
    save_as: str = "",
) -> ImportJob:
    """Set how the file is read. Only before the import starts."""
    _require_job(actor, job)
    if job.state != ImportJob.State.NEW:
        raise Conflict("This import has started; its mapping cannot change.")
    errors: dict[str, list[str]] = {}
    if mapping_name and mapping is None:
        saved = SavedMapping.objects.filter(kind=job.kind, name=mapping_name).first()
        if saved is None:
            raise ValidationFailed(errors={"mapping_name": [f"No saved mapping named '{mapping_name}'."]})
        mapping = {h: saved.columns.get(h, "") for h in job.headers}
    if mapping is not None:
        mapping = {str(h): str(t or "") for h, t in mapping.items()}
        errors |= _check_mapping(actor, job, mapping)
    if region is not None:
        region = region.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            errors["region"] = [f"'{region}' is not a two-letter region code such as GB or US."]
    if source is not None:
        source = " ".join(source.split())
        if not source or len(source) > 100:
            errors["source"] = ["Name the system the file comes from (at most 100 characters)."]
    if on_match is not None and on_match not in OnMatch.values:
        errors["on_match"] = [f"Choose one of: {', '.join(OnMatch.values)}."]
    if on_duplicate is not None and on_duplicate not in OnDuplicate.values:
        errors["on_duplicate"] = [f"Choose one of: {', '.join(OnDuplicate.values)}."]
    if save_as and len(save_as) > 100:
        errors["save_as"] = ["At most 100 characters."]
    if errors:
        raise ValidationFailed("The import settings have problems.", errors=errors)
    with transaction.atomic():
        if mapping is not None:
            job.mapping = {h: mapping.get(h, "") for h in job.headers}
            job.mapping_name = mapping_name or save_as or ""
        if region is not None:
            job.region = region
        if source is not None:
            job.source = source
        if on_match is not None:
            job.on_match = on_match
        if on_duplicate is not None:
            job.on_duplicate = on_duplicate
        if create_accounts is not None:
            job.create_accounts = create_accounts
        job.save()
        if save_as:
            mapping_save(actor=actor, kind=job.kind, name=save_as, columns=job.mapping)
    return job


def mapping_save(*, actor: Actor, kind: str, name: str, columns: dict[str, str]) -> SavedMapping:
    permissions.require(actor.user, "add", _entity(kind))
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed(errors={"name": ["Name the mapping."]})
    saved, _ = SavedMapping.objects.update_or_create(
        kind=kind, name=name, defaults={"columns": {h: t for h, t in columns.items() if t}, "created_by": actor.user if getattr(actor.user, "pk", None) else None}
    )
    return saved


def _require_job(actor: Actor, job: ImportJob) -> None:
    if not can_manage(actor.user, job):
        raise PermissionDenied("This import is someone else's.")


def can_manage(user: Any, job: ImportJob) -> bool:
    """The person who uploaded the file, and admins, managers and data stewards."""
    if permissions.is_system(user):
        return True
    return bool(user and (job.created_by_id == user.pk or permissions.role_of(user) in ("admin", "manager", "steward")))


def _enqueue(task: Any, job_id: int) -> None:
    enqueue_after_commit(task, job_id)


def import_start(*, actor: Actor, job: ImportJob) -> ImportJob:
    """Queue the import for a background worker."""
    from rapport.ingest.imports.tasks import import_run_task

    _require_job(actor, job)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.state != ImportJob.State.NEW:
            raise Conflict(f"This import is already {job.get_state_display().lower()}.")
        errors = _check_mapping(actor, job, job.mapping)
        if errors:
            raise ValidationFailed("The mapping has problems.", errors=errors)
        job.state = ImportJob.State.QUEUED
        job.save()
        _enqueue(import_run_task, job.pk)
    return job


def import_resume(*, actor: Actor, job: ImportJob) -> ImportJob:
    """Queue a failed or stalled import again; it continues after its last committed row."""
    from rapport.ingest.imports.tasks import import_run_task, import_undo_task

    _require_job(actor, job)
    stale = timezone.now() - dt.timedelta(seconds=settings.IMPORT_STALE_SECONDS)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        silent = job.heartbeat_at is None or job.heartbeat_at < stale
        if job.state == ImportJob.State.UNDOING and silent:
            _enqueue(import_undo_task, job.pk)
            return job
        if not (job.state == ImportJob.State.FAILED or (job.state in (ImportJob.State.RUNNING, ImportJob.State.QUEUED) and silent)):
            raise Conflict("Only a failed import, or one whose worker stopped, can be resumed.")
        job.state = ImportJob.State.QUEUED
        job.save()
        _enqueue(import_run_task, job.pk)
    return job


def import_cancel(*, actor: Actor, job: ImportJob) -> ImportJob:
    """Stop an import after the batch in progress; what it wrote stays (undo removes it)."""
    _require_job(actor, job)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.state in (ImportJob.State.NEW, ImportJob.State.QUEUED):
            job.state = ImportJob.State.CANCELLED
            job.finished_at = timezone.now()
        elif job.state == ImportJob.State.RUNNING:
            job.cancel_requested = True
        else:
            raise Conflict(f"This import is {job.get_state_display().lower()}; there is nothing to cancel.")
        job.save()
    return job


def import_undo(*, actor: Actor, job: ImportJob) -> ImportJob:
    """Revert the import's creations and changes in the background (see ``undo``)."""
    from rapport.ingest.imports.tasks import import_undo_task

    _require_job(actor, job)
    entity = _entity(job.kind)
    permissions.require(actor.user, "delete", entity)
    permissions.require(actor.user, "change", entity)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.state not in (ImportJob.State.DONE, ImportJob.State.CANCELLED, ImportJob.State.FAILED):
            raise Conflict(f"An import that is {job.get_state_display().lower()} cannot be undone.")
        job.state = ImportJob.State.UNDOING
        job.undone_by = actor.user if getattr(actor.user, "pk", None) else None
        job.heartbeat_at = timezone.now()
        job.save()
        _enqueue(import_undo_task, job.pk)
    return job


def imports_resume_stale() -> list[int]:
    """Queue again every import (or undo) whose worker stopped reporting for
    ``IMPORT_STALE_SECONDS``: a worker killed mid-run leaves its task marked as running
    forever. Every ``rapport worker`` calls this now and then; the run's claim makes sure a
    live run is never doubled."""
    stale = timezone.now() - dt.timedelta(seconds=settings.IMPORT_STALE_SECONDS)
    ids = list(
        ImportJob.objects.filter(
            state__in=(ImportJob.State.RUNNING, ImportJob.State.UNDOING), heartbeat_at__lt=stale
        ).values_list("pk", flat=True)
    )
    resumed = []
    system = Actor(user=None, via="system", context={"path": "worker"})
    for pk in ids:
        try:
            import_resume(actor=system, job=ImportJob(pk=pk))
        except Conflict:
            continue  # it reported in the meantime
        resumed.append(pk)
    return resumed

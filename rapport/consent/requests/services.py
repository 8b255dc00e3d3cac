"""Writing privacy requests: receive one, move it on, answer it (export, erasure).

Every step writes an audit entry on the request (``privacy_request``): received, each
change of status or outcome, each export, the erasure. None of them holds the person's
values, so the trail outlives an erasure whole.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped]  # no stubs pinned
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from rapport.audit.models import AuditEntry
from rapport.audit.services import audit_record
from rapport.consent.models import PrivacyRequest
from rapport.consent.privacy import erased_label
from rapport.core import privacy
from rapport.core.actor import Actor
from rapport.core.errors import Conflict, NotFound, ValidationFailed, VersionConflict
from rapport.customers.models import Contact
from rapport.customers.services import contact_handle
from rapport.users import permissions
from rapport.users.models import RecordKind

KIND = "privacy_request"
DETAILS_MAX = 5000
OUTCOME_MAX = 5000
# Statuses a person may set by hand; an erasure request is done only by erasing.
MANUAL_STATUSES = (
    PrivacyRequest.Status.RECEIVED,
    PrivacyRequest.Status.IN_PROGRESS,
    PrivacyRequest.Status.DONE,
    PrivacyRequest.Status.REFUSED,
)


def due_for(received_at: dt.datetime) -> dt.datetime:
    """One calendar month after receipt (31 January -> 28 or 29 February)."""
    return received_at + relativedelta(months=1)


def _received_at(value: Any) -> dt.datetime:
    if value in (None, ""):
        return timezone.now()
    when = value if isinstance(value, dt.datetime) else parse_datetime(str(value))
    if when is None and isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            day = None
        if day is not None:
            when = dt.datetime.combine(day, dt.time(9, 0))
    if when is None:
        raise ValidationFailed(
            "The date received is not a date.",
            errors={"received_at": ["Give a date (YYYY-MM-DD) or a date and time."]},
        )
    if timezone.is_naive(when):
        when = timezone.make_aware(when)
    if when > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationFailed(
            "A request cannot be received in the future.",
            errors={"received_at": ["It is in the future."]},
        )
    return when


def _text(data: dict[str, Any], name: str, limit: int) -> str:
    value = data.get(name) or ""
    if not isinstance(value, str):
        raise ValidationFailed(f"{name} must be text.", errors={name: ["Must be text."]})
    if len(value) > limit:
        raise ValidationFailed(
            f"{name} is too long.", errors={name: [f"At most {limit:,} characters."]}
        )
    return value.strip()


def privacy_request_create(*, actor: Actor, data: dict[str, Any]) -> PrivacyRequest:
    """Record a request received from a person: which kind, about which contact, when it
    came (its deadline is one month later), what they asked. The contact must be one the
    actor may see."""
    permissions.require(actor.user, "add", RecordKind.PRIVACY)
    errors: dict[str, list[str]] = {}
    kind = data.get("kind")
    if kind not in PrivacyRequest.Kind.values:
        errors["kind"] = [f"Choose one of: {', '.join(PrivacyRequest.Kind.values)}."]
    try:
        contact_id = int(data.get("contact") or 0)
    except (TypeError, ValueError):
        contact_id = 0
    contact = Contact.objects.filter(pk=contact_id).first() if contact_id > 0 else None
    if contact is None or not permissions.can_see_record(actor.user, "contact", contact):
        errors["contact"] = ["No such contact."]
    if errors:
        raise ValidationFailed("The request is not complete.", errors=errors)
    assert contact is not None
    received = _received_at(data.get("received_at"))
    details = _text(data, "details", DETAILS_MAX)
    with transaction.atomic():
        request = PrivacyRequest.objects.create(
            kind=str(kind),
            contact=contact,
            contact_ref=contact.pk,
            subject_label=(str(contact) if contact.full_name else contact_handle(contact))[:300],
            received_at=received,
            due_at=due_for(received),
            details=details,
            created_by=actor.user if getattr(actor.user, "pk", None) else None,
        )
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            entity_kind=KIND,
            entity_id=request.pk,
            obj=request,
            changes={
                "kind": [None, request.kind],
                "contact": [None, contact.pk],
                "received_at": [None, received.isoformat()],
                "due_at": [None, request.due_at.isoformat()],
            },
        )
    return request


def _lock(request: PrivacyRequest, expected_version: int | None) -> PrivacyRequest:
    locked = PrivacyRequest.objects.select_for_update().filter(pk=request.pk).first()
    if locked is None:
        raise NotFound("No such privacy request.")
    if expected_version is not None and locked.version != expected_version:
        raise VersionConflict(
            "Someone changed this request meanwhile.", current_version=locked.version
        )
    return locked


def privacy_request_update(
    *,
    actor: Actor,
    request: PrivacyRequest,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> PrivacyRequest:
    """Move a request on (status, outcome). An erasure request is done only by the
    erasure itself; a closed request (done, refused) is not reopened."""
    permissions.require(actor.user, "change", RecordKind.PRIVACY)
    with transaction.atomic():
        locked = _lock(request, expected_version)
        changes: dict[str, list[Any]] = {}
        status = data.get("status", locked.status) or locked.status
        if status not in MANUAL_STATUSES:
            raise ValidationFailed(
                "Unknown status.",
                errors={"status": [f"Choose one of: {', '.join(MANUAL_STATUSES)}."]},
            )
        if status != locked.status:
            if not locked.is_open:
                raise Conflict(f"This request is {locked.get_status_display().lower()} already.")
            if status == PrivacyRequest.Status.DONE and locked.kind == PrivacyRequest.Kind.ERASURE:
                raise ValidationFailed(
                    "An erasure request is done by erasing.",
                    errors={"status": ["Use the erase action: it records what was erased."]},
                )
            changes["status"] = [locked.status, status]
            locked.status = status
            if status in (PrivacyRequest.Status.DONE, PrivacyRequest.Status.REFUSED):
                locked.handled_by = actor.user if getattr(actor.user, "pk", None) else None
                locked.handled_at = timezone.now()
        if "outcome" in data:
            outcome = _text(data, "outcome", OUTCOME_MAX)
            if outcome != locked.outcome:
                # The text itself is not audited: it may describe the person.
                changes["outcome"] = ["(text)" if locked.outcome else "", "(text)"]
                locked.outcome = outcome
        if status == PrivacyRequest.Status.REFUSED and not locked.outcome:
            raise ValidationFailed(
                "Say why the request is refused.", errors={"outcome": ["Give the reason."]}
            )
        if changes:
            locked.version += 1
            locked.save()
            audit_record(
                actor=actor,
                action=AuditEntry.Action.UPDATE,
                entity_kind=KIND,
                entity_id=locked.pk,
                obj=locked,
                changes=changes,
            )
    return locked


def privacy_request_export(*, actor: Actor, request: PrivacyRequest) -> dict[str, Any]:
    """Everything Rapport holds about the request's person, from every registered app
    (``privacy.export_all``), for the steward to send them. Audited; a request still
    "received" moves to "in progress"."""
    permissions.require(actor.user, "export", RecordKind.PRIVACY)
    contact = Contact.objects.filter(pk=request.person_id).first()
    if contact is None:
        raise NotFound("This person's record is gone (erased or deleted): nothing to export.")
    permissions.require_record(actor.user, "view", "contact", contact)
    now = timezone.now()
    package = {
        "format": "rapport-subject-access/1",
        "generated_at": now.isoformat(),
        "request": request.pk,
        "contact_id": contact.pk,
        "data": privacy.export_all(contact_id=contact.pk),
    }
    with transaction.atomic():
        locked = _lock(request, None)
        changes: dict[str, list[Any]] = {"exported_at": [None, now.isoformat()]}
        if locked.status == PrivacyRequest.Status.RECEIVED:
            changes["status"] = [locked.status, PrivacyRequest.Status.IN_PROGRESS]
            locked.status = PrivacyRequest.Status.IN_PROGRESS
            locked.version += 1
            locked.save(update_fields=["status", "version", "updated_at"])
        audit_record(
            actor=actor,
            action=AuditEntry.Action.EXPORT,
            entity_kind=KIND,
            entity_id=locked.pk,
            obj=locked,
            changes=changes,
        )
        audit_record(
            actor=actor,
            action=AuditEntry.Action.EXPORT,
            entity_kind="contact",
            entity_id=contact.pk,
            object_kind=KIND,
            object_id=locked.pk,
            changes={"privacy_request": [None, locked.pk]},
        )
    return package


def privacy_request_erase(*, actor: Actor, request: PrivacyRequest) -> PrivacyRequest:
    """Erase the request's person everywhere (every handler of ``rapport.core.privacy``)
    in one transaction, and record what was done and what was kept, and why, on the
    request. Again on a done erasure is the same as once (nothing more is erased)."""
    permissions.require(actor.user, "change", RecordKind.PRIVACY)
    if request.kind != PrivacyRequest.Kind.ERASURE:
        raise ValidationFailed(
            "Only an erasure request erases.",
            errors={"kind": [f"This is a {request.get_kind_display().lower()} request."]},
        )
    contact = Contact.objects.filter(pk=request.person_id).first()
    if contact is not None:
        permissions.require_record(actor.user, "view", "contact", contact)
    started = timezone.now()
    with transaction.atomic():
        locked = _lock(request, None)
        if locked.status == PrivacyRequest.Status.DONE:
            return locked
        if locked.status == PrivacyRequest.Status.REFUSED:
            raise Conflict("This request was refused; record a new one to erase.")
        person = locked.person_id
        values = privacy.person_values(contact_id=person)
        # Every audit entry the handlers write names the request (the audit handler then
        # tombstones the history of what they deleted).
        working = Actor(actor.user, actor.via, {**actor.context, "privacy_request": locked.pk})
        report = privacy.erase_all(actor=working, contact_id=person, values=values)
        finished = timezone.now()
        old = locked.status
        locked.contact, locked.contact_ref = None, person
        locked.status = PrivacyRequest.Status.DONE
        locked.handled_by = actor.user if getattr(actor.user, "pk", None) else None
        locked.handled_at = finished
        locked.subject_label = erased_label(person)
        locked.details = ""
        kept = {k: v["kept"] for k, v in report.items() if isinstance(v, dict) and "kept" in v}
        locked.record = {
            "erased_at": finished.isoformat(),
            "seconds": round((finished - started).total_seconds(), 3),
            "contact_found": contact is not None,
            "values_looked_for": len(values),
            "handlers": {k: _without_kept(v) for k, v in report.items()},
            "kept": kept,
        }
        locked.outcome = _outcome(locked.record)
        locked.version += 1
        locked.save()
        audit_record(
            actor=actor,
            action=AuditEntry.Action.DELETE,
            entity_kind=KIND,
            entity_id=locked.pk,
            obj=locked,
            changes={"status": [old, locked.status], "erased": [None, person]},
        )
        # On the contact's own history, after its tombstones: that it was erased, and why.
        audit_record(
            actor=actor,
            action=AuditEntry.Action.DELETE,
            entity_kind="contact",
            entity_id=person,
            object_kind=KIND,
            object_id=locked.pk,
            changes={"erased": [None, f"privacy request {locked.pk}"]},
        )
    return locked


def _without_kept(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k != "kept"}
    return value


def _outcome(record: dict[str, Any]) -> str:
    lines = [f"Erased on {record['erased_at'][:19].replace('T', ' ')} UTC."]
    for kind, value in sorted(record["handlers"].items()):
        if isinstance(value, dict):
            done = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in value.items() if v)
        else:
            done = f"{value} rows" if value else ""
        lines.append(f"{kind}: {done or 'nothing held'}")
    for kind, kept in sorted(record["kept"].items()):
        lines.append(f"Kept by {kind}: {kept.get('why', '')}")
    return "\n".join(lines)

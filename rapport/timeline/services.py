"""Writes to the timeline made by people and integrations: notes, and entries posted by
a phone system or a web form through the API. Apps' own events go through ``events``."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db import transaction

from rapport.audit.models import AuditEntry
from rapport.audit.services import Actor, audit_record
from rapport.core.errors import ValidationFailed
from rapport.customers.normalize import check_text
from rapport.timeline import events, render, selectors
from rapport.timeline.models import Channel, Department, Direction, Entry
from rapport.users import permissions

MAX_BODY = 100_000
# A heading, quote or list marker at the start of a note's first line (its summary).
_MARKER = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*+]\s+|\d+[.)]\s+)")


def _control_errors(fields: dict[str, Any]) -> dict[str, list[str]]:
    """A field error for each text typed or posted with a control character in it."""
    errors: dict[str, list[str]] = {}
    for name, value in fields.items():
        try:
            check_text(str(value or ""))
        except ValueError as exc:
            errors[name] = [str(exc)]
    return errors


def _target(actor: Actor, kind: str, pk: int) -> Any:
    """The record, if the actor may see it and change it (NotFound / PermissionDenied)."""
    if kind not in ("contact", "account"):
        raise ValidationFailed(
            "Unknown kind of record.", errors={"kind": ["Choose contact or account."]}
        )
    record = selectors.visible_record(actor.user, kind, pk)
    permissions.require_record(actor.user, "change", kind, record)
    return record


def note_add(
    *, actor: Actor, kind: str, pk: int, body: str, occurred_at: dt.datetime | None = None
) -> Entry:
    """A note anyone who works the customer may leave (a learning from a call, a beta-test
    session, a conversation elsewhere). Simple formatting (Markdown) is kept as typed and
    rendered through an allow-list: no markup the writer types ever runs."""
    body = (body or "").strip()
    errors = _control_errors({"body": body})
    if not body:
        errors["body"] = ["Write the note."]
    elif len(body) > MAX_BODY:
        errors.setdefault("body", []).append(f"At most {MAX_BODY:,} characters.")
    if errors:
        raise ValidationFailed("The note has problems.", errors=errors)
    with transaction.atomic():
        record = _target(actor, kind, pk)
        first_line = render.plain_text(_MARKER.sub("", body.splitlines()[0]))
        entry = events.record(
            kind="note",
            summary=first_line[:300] or "Note",
            contacts=[record.pk] if kind == "contact" else [],
            accounts=[record.pk] if kind == "account" else [],
            occurred_at=occurred_at,
            direction=Direction.INTERNAL,
            department=_department(actor),
            staff=actor.user,
            body=body,
            body_format="markdown",
        )
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            entity_kind=kind,
            entity_id=record.pk,
            obj=entry,
            object_kind="note",
            changes={"note": [None, entry.summary]},
        )
    return entry


def _department(actor: Actor) -> str:
    role = permissions.role_of(actor.user)
    return {
        "sales": Department.SALES,
        "service": Department.SERVICE,
        "marketing": Department.MARKETING,
    }.get(role, Department.OTHER)


def entry_scope(actor: Actor) -> str:
    """Whose external ids an integration's entries carry: the poster's. A repeat of an id
    is the same entry only for the one who posted it; another caller posting the same id
    gets an entry of its own, exactly as for an id never seen, and learns nothing of the
    first (which it may not be allowed to see)."""
    pk = getattr(actor.user, "pk", None)
    return f"user:{pk}" if pk else ""


def entry_add(*, actor: Actor, data: dict[str, Any]) -> Entry:
    """An entry from an integration (a call from the phone system, a web form's message):
    kind, summary, the records it concerns, and optionally when, channel, direction, body,
    duration, outcome, and ``source`` + ``external_id`` to make a repeated post harmless."""
    errors = _control_errors(
        {k: data.get(k) for k in ("summary", "body", "outcome", "source", "external_id")}
    )
    kind = str(data.get("kind") or "")
    if kind not in events.KINDS:
        errors["kind"] = [f"Choose one of: {', '.join(sorted(events.KINDS))}."]
    summary = str(data.get("summary") or "").strip()
    if not summary and "summary" not in errors:
        errors["summary"] = ["Say in a line what happened."]
    for name, choices in (
        ("channel", Channel.values),
        ("direction", Direction.values),
        ("department", Department.values),
    ):
        if data.get(name) not in (None, "") and data[name] not in choices:
            errors[name] = [f"Choose one of: {', '.join(choices)}."]
    contacts = [int(c) for c in data.get("contacts") or []]
    accounts = [int(a) for a in data.get("accounts") or []]
    if not contacts and not accounts:
        errors["contacts"] = ["Name at least one contact or account."]
    if errors:
        raise ValidationFailed("The entry has problems.", errors=errors)
    with transaction.atomic():
        for pk in contacts:
            _target(actor, "contact", pk)
        for pk in accounts:
            _target(actor, "account", pk)
        return events.record(
            kind=kind,
            summary=summary,
            contacts=contacts,
            accounts=accounts,
            occurred_at=data.get("occurred_at"),
            channel=data.get("channel") or None,
            direction=data.get("direction") or Direction.INTERNAL,
            department=data.get("department") or None,
            staff=actor.user,
            body=str(data.get("body") or ""),
            source=str(data.get("source") or ""),
            external_id=str(data.get("external_id") or ""),
            scope=entry_scope(actor),
            duration_seconds=data.get("duration_seconds"),
            outcome=str(data.get("outcome") or ""),
        )

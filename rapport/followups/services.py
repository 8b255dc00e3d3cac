"""Writes of tasks: create, change, complete, cancel, reassign, and the quick log of a call
or meeting from "my day". Web, API, the sales and service apps all come through here.

Every service checks the actor's rights on ``RecordKind.TASK`` (visibility by the
assignee's team, or the assignee alone, as contacts are by their owner's), runs in one
transaction, locks the row, refuses a stale ``expected_version`` (decision 0005), bumps the
version and writes the audit entry with old and new values. A task done with a note goes on
its contact's timeline.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from rapport.audit.models import AuditEntry
from rapport.audit.services import Actor, audit_record, diff, snapshot
from rapport.core.errors import Conflict, NotFound, ValidationFailed, VersionConflict
from rapport.core.touchpoints import touchpoint_reached
from rapport.customers.normalize import check_text
from rapport.followups import events
from rapport.followups.models import Task
from rapport.timeline import selectors as timeline_selectors
from rapport.timeline import services as timeline_services
from rapport.timeline.models import Entry
from rapport.users import permissions
from rapport.users.models import RecordKind, Team, User

Errors = dict[str, list[str]]

AUDIT_FIELDS = [
    "kind", "title", "notes", "due_at", "starts_at", "ends_at", "assignee", "team", "contact",
    "account", "subject_kind", "subject_id", "status", "done_at", "done_by", "outcome_note",
    "reminder_at",
]  # fmt: skip
EDITABLE = (
    "kind", "title", "notes", "due_at", "starts_at", "ends_at", "assignee", "team", "contact",
    "account", "subject_kind", "subject_id", "reminder_at",
)  # fmt: skip
TEXT_LIMITS = {"title": 200, "notes": 10_000, "subject_kind": 20, "outcome_note": 500}
DATETIMES = ("due_at", "starts_at", "ends_at", "reminder_at")
# What a quick log records on the timeline, by the kind of task it closes.
LOG_KINDS = ("call", "meeting", "note")
OUTCOMES = {
    "call": ("Reached", "Left a message", "No answer", "Wrong number"),
    "meeting": ("Held", "Moved", "No show"),
    "note": (),
}
# The source of entries the app (web or phone, online or replayed offline) logs; their
# external id is the idempotency key the device made, so a log sent twice is one entry.
LOG_SOURCE = "rapport-app"


def _datetime(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    parsed = value if isinstance(value, dt.datetime) else parse_datetime(str(value))
    if parsed is None:
        raise ValueError("Give a date and time (YYYY-MM-DDTHH:MM).")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def _id(value: Any) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, int | str) and str(value).isdigit():
        return int(value)
    pk = getattr(value, "pk", None)
    if isinstance(pk, int):
        return pk
    raise ValueError("Give the record's id.")


def _clean(actor: Actor, data: dict[str, Any], current: Task | None) -> dict[str, Any]:
    """The validated values of ``data`` (only the fields given), or ValidationFailed."""
    errors: Errors = {}
    values: dict[str, Any] = {}
    unknown = sorted(set(data) - set(EDITABLE))
    for name in unknown:
        errors[name] = ["Not a field of a task."]
    for name in ("title", "notes", "subject_kind"):
        if name in data:
            text = str(data[name] or "").strip()
            try:
                check_text(text)
            except ValueError as exc:
                errors[name] = [str(exc)]
            if len(text) > TEXT_LIMITS[name]:
                errors.setdefault(name, []).append(f"At most {TEXT_LIMITS[name]} characters.")
            values[name] = text
    if "kind" in data:
        if data["kind"] not in Task.Kind.values:
            errors["kind"] = [f"Choose one of: {', '.join(Task.Kind.values)}."]
        values["kind"] = data["kind"]
    for name in DATETIMES:
        if name in data:
            try:
                values[name] = _datetime(data[name])
            except ValueError as exc:
                errors[name] = [str(exc)]
    for name in ("assignee", "team", "contact", "account", "subject_id"):
        if name in data:
            try:
                values[name] = _id(data[name])
            except ValueError as exc:
                errors[name] = [str(exc)]
    if errors:
        raise ValidationFailed("The task has problems.", errors=errors)

    def now(name: str) -> Any:
        if name in values:
            return values[name]
        return getattr(current, f"{name}_id" if name in _FKS else name, None) if current else None

    if not now("title"):
        errors["title"] = ["Say what is to be done."]
    kind = now("kind") or Task.Kind.FOLLOW_UP
    if kind == Task.Kind.MEETING and not now("starts_at"):
        errors["starts_at"] = ["A meeting needs a start."]
    if now("starts_at") and now("ends_at") and now("ends_at") < now("starts_at"):
        errors["ends_at"] = ["A meeting ends after it starts."]
    if kind == Task.Kind.MEETING and now("starts_at"):
        # A meeting is due when it starts, always: my day finds a day's meetings by due_at.
        values["due_at"] = now("starts_at")
    if bool(now("subject_kind")) != bool(now("subject_id")):
        errors["subject_kind"] = ["Give both what the task follows up and its id, or neither."]
    if values.get("assignee") is not None:
        assignee = User.objects.filter(pk=values["assignee"], is_active=True).first()
        if assignee is None or not permissions.can(assignee, "view", RecordKind.TASK):
            errors["assignee"] = ["Choose an active colleague who works with tasks."]
    elif "assignee" in values or (current is None and actor.user is None):
        errors["assignee"] = ["Choose who does it."]
    if values.get("team") is not None and not Team.objects.filter(pk=values["team"]).exists():
        errors["team"] = ["No such team."]
    if errors:
        raise ValidationFailed("The task has problems.", errors=errors)
    # The customer it is about must be one the actor may see (NotFound otherwise).
    for name in ("contact", "account"):
        if values.get(name) is not None:
            timeline_selectors.visible_record(actor.user, name, values[name])
    return values


_FKS = ("assignee", "team", "contact", "account", "done_by")


def _assign(task: Task, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(task, f"{name}_id" if name in _FKS else name, value)


def task_create(*, actor: Actor, data: dict[str, Any]) -> Task:
    """A task for someone (the actor by default), on a contact or account the actor may see,
    optionally following up a record of another app (``subject_kind`` + ``subject_id``)."""
    permissions.require(actor.user, "add", RecordKind.TASK)
    data = dict(data)
    if not data.get("assignee") and actor.user is not None:
        data["assignee"] = actor.user.pk
    values = _clean(actor, data, None)
    task = Task(created_by=actor.user if getattr(actor.user, "pk", None) else None)
    _assign(task, values)
    if task.team_id is None:
        # The assignee's team, when they have one, for the team's reports.
        teams = list(Team.objects.filter(members=task.assignee_id).values_list("pk", flat=True)[:2])
        task.team_id = teams[0] if len(teams) == 1 else None
    with transaction.atomic():
        task.save()
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            entity_kind="task",
            entity_id=task.pk,
            obj=task,
            changes={
                k: [None, v] for k, v in snapshot(task, AUDIT_FIELDS).items() if v not in (None, "")
            },
        )
    return task


def _lock(task: Task, expected_version: int | None) -> Task:
    try:
        locked = Task.objects.select_for_update().get(pk=task.pk)
    except Task.DoesNotExist:
        raise NotFound("No such task.") from None
    if expected_version is not None and locked.version != expected_version:
        raise VersionConflict(
            f"This task was changed by someone else (now version {locked.version}, you had "
            f"{expected_version}). Reload it and apply your change again.",
            current_version=locked.version,
        )
    return locked


def _save(
    actor: Actor, locked: Task, before: dict[str, Any], action: str = AuditEntry.Action.UPDATE
) -> Task:
    changes = diff(before, snapshot(locked, AUDIT_FIELDS))
    locked.version = F("version") + 1  # type: ignore[assignment]
    locked.save()
    locked.refresh_from_db(fields=["version"])
    audit_record(
        actor=actor, action=action, entity_kind="task", entity_id=locked.pk, obj=locked,
        changes=changes,
    )  # fmt: skip
    return locked


def task_update(
    *, actor: Actor, task: Task, data: dict[str, Any], expected_version: int | None = None
) -> Task:
    """Change a task's fields. A stale ``expected_version`` changes nothing; a task done or
    cancelled is closed and cannot be edited."""
    permissions.require_record(actor.user, "change", RecordKind.TASK, task)
    with transaction.atomic():
        locked = _lock(task, expected_version)
        if not locked.is_open:
            raise Conflict("This task is closed; open a new one.")
        values = _clean(actor, data, locked)
        before = snapshot(locked, AUDIT_FIELDS)
        _assign(locked, values)
        return _save(actor, locked, before)


def task_reassign(
    *,
    actor: Actor,
    task: Task,
    assignee: User | int,
    team: Team | int | None = None,
    expected_version: int | None = None,
) -> Task:
    """Give a task to someone else (and their team). The actor must be able to change it;
    the new assignee must be an active colleague who works with tasks."""
    data: dict[str, Any] = {"assignee": _id(assignee)}
    if team is not None:
        data["team"] = _id(team)
    return task_update(actor=actor, task=task, data=data, expected_version=expected_version)


def task_complete(
    *,
    actor: Actor,
    task: Task,
    note: str = "",
    expected_version: int | None = None,
    record_event: bool = True,
) -> Task:
    """Mark a task done, with an optional note; the note goes on its contact's timeline.
    Completing a task done already changes nothing (a retried tap is harmless); a cancelled
    one cannot be done. ``record_event=False`` when the caller put a richer entry on the
    timeline (the quick log's call or meeting)."""
    permissions.require_record(actor.user, "change", RecordKind.TASK, task)
    note = _note(note, "note")
    with transaction.atomic():
        locked = _lock(task, expected_version)
        if locked.status == Task.Status.DONE:
            return locked
        if locked.status == Task.Status.CANCELLED:
            raise Conflict("This task was cancelled.")
        before = snapshot(locked, AUDIT_FIELDS)
        locked.status = Task.Status.DONE
        locked.done_at = timezone.now()
        locked.done_by = actor.user if getattr(actor.user, "pk", None) else None
        locked.outcome_note = note[:500]
        locked = _save(actor, locked, before)
        if record_event and (locked.contact_id or locked.account_id):
            events.task_done(actor=actor, task=locked, note=note)
        if locked.kind == Task.Kind.MEETING and locked.contact_id:
            touchpoint_reached(
                kind="meeting_held", contact_id=locked.contact_id, account_id=locked.account_id,
                department=str(events.department_of_role(getattr(locked.assignee, "role", ""))),
                object_kind="task",
                object_id=locked.pk, staff_id=locked.assignee_id, occurred_at=locked.done_at,
            )  # fmt: skip
    return locked


def task_cancel(
    *, actor: Actor, task: Task, reason: str, expected_version: int | None = None
) -> Task:
    """Cancel an open task, saying why (kept on the task and in the audit trail)."""
    permissions.require_record(actor.user, "change", RecordKind.TASK, task)
    reason = _note(reason, "reason")
    if not reason:
        raise ValidationFailed("Say why.", errors={"reason": ["Say why the task is cancelled."]})
    with transaction.atomic():
        locked = _lock(task, expected_version)
        if locked.status == Task.Status.CANCELLED:
            return locked
        if locked.status == Task.Status.DONE:
            raise Conflict("This task is done already.")
        before = snapshot(locked, AUDIT_FIELDS)
        locked.status = Task.Status.CANCELLED
        locked.outcome_note = reason[:500]
        return _save(actor, locked, before)


def _note(text: str, name: str) -> str:
    text = (text or "").strip()
    try:
        check_text(text)
    except ValueError as exc:
        raise ValidationFailed("The text has problems.", errors={name: [str(exc)]}) from None
    if len(text) > timeline_services.MAX_BODY:
        raise ValidationFailed(
            "Too long.", errors={name: [f"At most {timeline_services.MAX_BODY:,} characters."]}
        )
    return text


def activity_log(
    *,
    actor: Actor,
    kind: str,
    note: str,
    key: str,
    contact_id: int | None = None,
    task: Task | None = None,
    outcome: str = "",
    occurred_at: dt.datetime | None = None,
) -> Entry:
    """The quick log after a call or meeting: a call, meeting or note on the contact's
    timeline and, when it closes a task, the task done.

    ``key`` is the idempotency key the device made when the log was written (maybe offline):
    the entry is keyed by it (``source``/``external_id``, scoped to the actor), so a log
    sent again (a retry, a replay after the connection came back) returns the first entry
    and completes nothing twice.
    """
    errors: Errors = {}
    if kind not in LOG_KINDS:
        errors["kind"] = [f"Choose one of: {', '.join(LOG_KINDS)}."]
    elif outcome and outcome not in OUTCOMES[kind]:
        errors["outcome"] = [f"Choose one of: {', '.join(OUTCOMES[kind])}."]
    key = (key or "").strip()
    if not key or len(key) > 100 or not all(c.isalnum() or c in "-_" for c in key):
        errors["key"] = ["Give the log's key (letters, digits, - and _, at most 100)."]
    note = _note(note, "note")
    if kind == "note" and not note:
        errors["note"] = ["Write the note."]
    if task is not None:
        permissions.require_record(actor.user, "change", RecordKind.TASK, task)
        contact_id = task.contact_id
    if not contact_id:
        errors["contact"] = ["Log it on a contact."]
    if errors:
        raise ValidationFailed("The log has problems.", errors=errors)
    assert contact_id is not None
    summary = {
        "call": f"Call: {outcome}" if outcome else "Call",
        "meeting": f"Meeting: {outcome}" if outcome else "Meeting",
        "note": "",
    }[kind]
    first_line = note.splitlines()[0] if note else ""
    if task is not None:
        summary = f"{summary} ({task.title})" if summary else task.title
    if kind == "note":
        summary = first_line or summary
    scope = timeline_services.entry_scope(actor)
    with transaction.atomic():
        sent = Entry.objects.from_source(LOG_SOURCE, key, scope)
        if sent is not None:
            return sent  # sent before (a retry or a replay): nothing happens twice
        entry = timeline_services.entry_add(
            actor=actor,
            data={
                "kind": kind,
                "summary": summary[:300] or kind.title(),
                "contacts": [contact_id],
                "occurred_at": occurred_at,
                "body": note,
                "outcome": outcome,
                "source": LOG_SOURCE,
                "external_id": key,
                "direction": "out" if kind == "call" else "internal",
            },
        )
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            entity_kind="contact",
            entity_id=contact_id,
            obj=entry,
            object_kind=kind,
            changes={kind: [None, entry.summary]},
        )
        if task is not None and task.is_open:
            task_complete(actor=actor, task=task, note=note, record_event=False)
    return entry

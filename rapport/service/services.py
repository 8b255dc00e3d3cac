"""Writes of cases: open, change, move through statuses, note, call, reply, assign.

Every function takes an ``actor``, checks the actor's rights on the case (RecordKind.CASE,
404 for a case they may not see), runs in one transaction with the case row locked, bumps
its version (a stale ``expected_version`` changes nothing: VersionConflict), writes an
audit entry and puts the event on the contact's timeline (``service.events``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.audit.services import audit_record, diff, snapshot
from rapport.core.actor import Actor
from rapport.core.errors import NotFound, PermissionDenied, ValidationFailed, VersionConflict
from rapport.core.touchpoints import touchpoint_reached
from rapport.customers.models import Account, AccountMembership, Contact, ContactEmail
from rapport.customers.normalize import check_text
from rapport.followups.selectors import open_tasks_for
from rapport.service import events as service_events
from rapport.service import outbound, selectors
from rapport.service.escalation.rules import escalations_fire
from rapport.service.models import Case, CaseKind, CaseMessage, CaseStatusChange, EscalationRule
from rapport.service.sla import targets as sla
from rapport.users import permissions
from rapport.users.models import RecordKind, Team, User

KIND = RecordKind.CASE
ENTITY = "case"
AUDITED = [
    "contact", "account", "kind", "channel", "priority", "status", "subject", "description",
    "topic", "owner", "team", "important", "close_reason",
]  # fmt: skip
EDITABLE = (
    "subject",
    "description",
    "topic",
    "kind",
    "priority",
    "channel",
    "important",
    "account",
)
MAX_BODY = 100_000
Errors = dict[str, list[str]]


# --- validation ---------------------------------------------------------------------------


def _text(errors: Errors, name: str, value: Any, *, limit: int, required: bool = False) -> str:
    text = str(value or "").strip()
    try:
        check_text(text)
    except ValueError as exc:
        errors.setdefault(name, []).append(str(exc))
        return ""
    if required and not text:
        errors.setdefault(name, []).append("This field is required.")
    elif len(text) > limit:
        errors.setdefault(name, []).append(f"At most {limit:,} characters.")
    return text


def _kind(errors: Errors, value: Any) -> CaseKind | None:
    if isinstance(value, CaseKind):
        return value
    found = None
    if value not in (None, ""):
        key = str(value)
        found = CaseKind.objects.filter(key=key, active=True).first()
        if found is None and key.isdigit():
            found = CaseKind.objects.filter(pk=int(key), active=True).first()
    if found is None:
        keys = ", ".join(CaseKind.objects.filter(active=True).values_list("key", flat=True))
        errors["kind"] = [f"Choose one of: {keys}."]
    return found


def _priority(errors: Errors, value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number not in Case.Priority.values:
        labels = ", ".join(f"{v} ({label})" for v, label in Case.Priority.choices)
        errors["priority"] = [f"Choose one of: {labels}."]
    return number


def _choice(errors: Errors, name: str, value: Any, choices: list[str]) -> str:
    text = str(value or "")
    if text not in choices:
        errors[name] = [f"Choose one of: {', '.join(choices)}."]
    return text


def _contact(actor: Actor, errors: Errors, value: Any) -> Contact | None:
    """The contact the case is for, if the actor may see it (another team's contact is
    "no such contact", as if it did not exist)."""
    contact = None
    if isinstance(value, Contact):
        contact = value
    elif str(value or "").isdigit():
        contact = Contact.objects.filter(pk=int(value)).first()
    if contact is None or not permissions.can_see_record(actor.user, "contact", contact):
        errors["contact"] = ["No such contact."]
        return None
    return contact


def _account(actor: Actor, errors: Errors, value: Any) -> Account | None:
    if value in (None, ""):
        return None
    account = value if isinstance(value, Account) else None
    if account is None and str(value).isdigit():
        account = Account.objects.filter(pk=int(value)).first()
    if account is None or not permissions.can_see_record(actor.user, "account", account):
        errors["account"] = ["No such account."]
        return None
    return account


def _user(errors: Errors, name: str, value: Any) -> User | None:
    if value in (None, ""):
        return None
    if isinstance(value, User):
        return value
    found = (
        User.objects.filter(pk=int(value), is_active=True).first() if str(value).isdigit() else None
    )
    if found is None:
        errors[name] = ["No such user."]
    return found


def _team(errors: Errors, value: Any) -> Team | None:
    if value in (None, ""):
        return None
    if isinstance(value, Team):
        return value
    found = Team.objects.filter(pk=int(value)).first() if str(value).isdigit() else None
    if found is None:
        errors["team"] = ["No such team."]
    return found


def _clean(actor: Actor, data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    errors: Errors = {}
    out: dict[str, Any] = {}
    if creating or "contact" in data:
        out["contact"] = _contact(actor, errors, data.get("contact"))
    if creating or "subject" in data:
        out["subject"] = _text(errors, "subject", data.get("subject"), limit=300, required=True)
    if "description" in data:
        out["description"] = _text(errors, "description", data.get("description"), limit=MAX_BODY)
    if "topic" in data:
        out["topic"] = _text(errors, "topic", data.get("topic"), limit=100)
    if creating or "kind" in data:
        out["kind"] = _kind(errors, data.get("kind") or ("inquiry" if creating else None))
    if "priority" in data or creating:
        out["priority"] = _priority(errors, data.get("priority") or Case.Priority.NORMAL)
    if "channel" in data or creating:
        out["channel"] = _choice(
            errors, "channel", data.get("channel") or Case.Channel.PHONE, Case.Channel.values
        )
    if "important" in data:
        out["important"] = bool(data.get("important"))
    if "account" in data:
        out["account"] = _account(actor, errors, data.get("account"))
    if creating:
        if "owner" in data:
            out["owner"] = _user(errors, "owner", data.get("owner"))
        if "team" in data:
            out["team"] = _team(errors, data.get("team"))
    unknown = set(data) - set(EDITABLE) - {"contact", "owner", "team", "status"}
    for name in sorted(unknown):
        errors[name] = ["Unknown field."]
    if errors:
        raise ValidationFailed("The case has problems.", errors=errors)
    return out


def _lock(case: Case, expected_version: int | None) -> Case:
    locked = (
        # Only the case row is locked: PostgreSQL cannot lock the nullable side of the
        # outer joins to the owner and the team.
        Case.objects.select_for_update(of=("self",))
        .select_related("contact", "kind", "owner", "team")
        .filter(pk=case.pk)
        .first()
    )
    if locked is None:
        raise NotFound("No such case.")
    if expected_version is not None and locked.version != expected_version:
        raise VersionConflict(
            f"This case was changed by someone else (now version {locked.version}, you had "
            f"{expected_version}). Reload it and apply your change again.",
            current_version=locked.version,
        )
    return locked


def _bump(case: Case, fields: list[str]) -> None:
    case.version += 1
    case.save(update_fields=[*fields, "version", "updated_at"])


def _audit(actor: Actor, case: Case, action: str, changes: dict[str, list[Any]], **kw: Any) -> None:
    audit_record(
        actor=actor,
        action=action,
        entity_kind=ENTITY,
        entity_id=case.pk,
        obj=kw.pop("obj", case),
        changes=changes,
        **kw,
    )


def _primary_account_id(contact: Contact) -> int | None:
    return (
        AccountMembership.objects.filter(contact=contact)
        .order_by("-is_primary", "id")
        .values_list("account_id", flat=True)
        .first()
    )


def _tier(account_id: int | None) -> str:
    if not account_id:
        return ""
    custom = Account.objects.filter(pk=account_id).values_list("custom", flat=True).first() or {}
    return str(custom.get("tier") or "")[:40] if isinstance(custom, dict) else ""


def _first_team(user: Any) -> Team | None:
    if not getattr(user, "pk", None):
        return None
    return user.teams.order_by("name").first()


def _status_change(
    *, actor: Actor, case: Case, old: str, new: str, at: dt.datetime, reason: str = ""
) -> CaseStatusChange:
    entry = (
        service_events.case_status_changed(
            actor=actor, case=case, old=old, new=new, reason=reason, at=at
        )
        if old
        else None
    )
    return CaseStatusChange.objects.create(
        case=case,
        from_status=old,
        to_status=new,
        at=at,
        by=actor.user if getattr(actor.user, "pk", None) else None,
        reason=reason,
        entry=entry,
    )


# --- cases ----------------------------------------------------------------------------------


def case_create(
    *,
    actor: Actor,
    data: dict[str, Any],
    occurred_at: dt.datetime | None = None,
    inbound_message: dict[str, Any] | None = None,
) -> Case:
    """Open a case for a contact the actor may see. Its account is the contact's primary
    one unless given; its team is the actor's first team, its owner the actor, unless
    given. The first status (new) is kept with its moment; the contact's timeline says the
    case was opened. ``inbound_message`` (from the mail and web-form paths) is the
    customer's first message, stored on the case."""
    permissions.require(actor.user, "add", KIND)
    cleaned = _clean(actor, data, creating=True)
    now = occurred_at or timezone.now()
    with transaction.atomic():
        contact = cleaned.pop("contact")
        if "account" not in cleaned:
            cleaned["account_id"] = _primary_account_id(contact)
        if "team" not in cleaned:
            cleaned["team"] = _first_team(actor.user)
        if "owner" not in cleaned:
            cleaned["owner"] = actor.user if getattr(actor.user, "pk", None) else None
        case = Case(contact=contact, status=Case.Status.NEW, status_changed_at=now, **cleaned)
        # On a case already, the message is not stored again (one Message-ID, one message).
        first = inbound_message is not None and not _delivered_before(inbound_message)
        if first:
            # The first message is the case's last one, and counts as a change as it would
            # on an open case (message_add_inbound's update, folded into the insert).
            case.last_message_at = now
            case.version += 1
        case.tier = _tier(case.account_id)
        case.created_by = actor.user if getattr(actor.user, "pk", None) else None
        case.save()
        if occurred_at is not None:
            Case.objects.filter(pk=case.pk).update(created_at=occurred_at)
            case.created_at = occurred_at
        _status_change(actor=actor, case=case, old="", new=Case.Status.NEW, at=now)
        sla.targets_start(case=case, at=now)
        _important_complaint(case, now)
        entry = (inbound_message or {}).get("entry")
        if entry is None:
            entry = service_events.case_opened(actor=actor, case=case, occurred_at=now)
        if first:
            # Nothing of the targets' to do: the first response is the one awaited.
            _inbound_insert(case, {**(inbound_message or {}), "entry": entry, "at": now})
        _audit(actor, case, AuditEntry.Action.CREATE, diff({}, snapshot(case, AUDITED)))
    return case


def case_update(
    *, actor: Actor, case: Case, data: dict[str, Any], expected_version: int | None = None
) -> Case:
    """Change a case's subject, description, topic, kind, priority, channel, importance or
    account. Status, owner and team have their own services (their history matters)."""
    selectors.require_case(actor.user, "change", case)
    for name in ("status", "owner", "team", "contact"):
        if name in data:
            raise ValidationFailed(
                "The case has problems.",
                errors={name: ["Change it with its own action (status, assign)."]},
            )
    cleaned = _clean(actor, data, creating=False)
    with transaction.atomic():
        locked = _lock(case, expected_version)
        before = snapshot(locked, AUDITED)
        for name, value in cleaned.items():
            setattr(locked, name, value)
        changes = diff(before, snapshot(locked, AUDITED))
        if changes:
            _bump(locked, list(cleaned))
            _audit(actor, locked, AuditEntry.Action.UPDATE, changes)
            now = timezone.now()
            if {"kind", "priority", "channel"} & set(changes):
                sla.targets_reset(case=locked, at=now)  # another policy may match
            if {"kind", "important"} & set(changes):
                _important_complaint(locked, now)
    return locked


def _important_complaint(case: Case, at: dt.datetime) -> None:
    """A complaint marked important goes to the next level by the rules for it."""
    if case.important and case.kind.key == "complaint" and case.is_open:
        escalations_fire(
            case=case,
            trigger=EscalationRule.Trigger.IMPORTANT_COMPLAINT,
            reason="Complaint marked important",
            at=at,
        )


def case_delete(*, actor: Actor, case: Case, expected_version: int | None = None) -> None:
    """Delete a case (managers): its messages and history go with it; the timeline entries
    stay, as the record of what was said."""
    selectors.require_case(actor.user, "delete", case)
    with transaction.atomic():
        locked = _lock(case, expected_version)
        _audit(actor, locked, AuditEntry.Action.DELETE, diff(snapshot(locked, AUDITED), {}))
        locked.delete()


def open_followups(case: Case) -> list[Any]:
    """The case's follow-up tasks still open (the follow-ups app's Task)."""
    return list(open_tasks_for(subject_kind="case", subject_id=case.pk))


def may_override_followups(user: Any, case: Case) -> bool:
    """Who may close a case whose follow-ups are open, saying why: its owner (or a role
    that may delete cases, a manager, when the owner is away)."""
    if permissions.is_system(user):
        return True
    return case.owner_id == user.pk or permissions.can(user, "delete", KIND)


def case_status_change(
    *,
    actor: Actor,
    case: Case,
    status: str,
    reason: str = "",
    expected_version: int | None = None,
    at: dt.datetime | None = None,
) -> Case:
    """Move a case to another status, kept with its moment. Resolving sets ``resolved_at``,
    closing ``closed_at`` (reopening clears them; the history keeps every step). A case
    cannot be closed while its follow-ups are open unless its owner says why (``reason``)."""
    selectors.require_case(actor.user, "change", case)
    errors: Errors = {}
    status = _choice(errors, "status", status, Case.Status.values)
    reason = _text(errors, "reason", reason, limit=2000)
    if errors:
        raise ValidationFailed("The status change has problems.", errors=errors)
    now = at or timezone.now()
    with transaction.atomic():
        locked = _lock(case, expected_version)
        old = locked.status
        if old == status:
            return locked
        if status == Case.Status.CLOSED:
            pending = open_followups(locked)
            if pending:
                if not may_override_followups(actor.user, locked):
                    raise PermissionDenied(
                        f"{len(pending)} follow-up(s) of this case are open: only its owner "
                        "may close it now."
                    )
                if not reason:
                    raise ValidationFailed(
                        "The case has open follow-ups.",
                        errors={
                            "reason": [
                                f"{len(pending)} follow-up(s) are still open: finish them, or "
                                "say why the case closes anyway."
                            ]
                        },
                    )
        before = snapshot(locked, AUDITED)
        locked.status = status
        locked.is_open = status in Case.OPEN_STATUSES
        locked.status_changed_at = now
        fields = [
            "status",
            "is_open",
            "status_changed_at",
            "resolved_at",
            "closed_at",
            "close_reason",
        ]
        if status == Case.Status.RESOLVED:
            locked.resolved_at = now
            locked.closed_at = None
        elif status == Case.Status.CLOSED:
            locked.resolved_at = locked.resolved_at or now
            locked.closed_at = now
            locked.close_reason = reason
        else:
            locked.resolved_at = None
            locked.closed_at = None
        _bump(locked, fields)
        _status_change(actor=actor, case=locked, old=old, new=status, at=now, reason=reason)
        sla.targets_status_changed(case=locked, old=old, new=status, at=now)
        _audit(actor, locked, AuditEntry.Action.UPDATE, diff(before, snapshot(locked, AUDITED)))
        if status == Case.Status.RESOLVED:
            touchpoint_reached(
                kind="case_resolved", contact_id=locked.contact_id, account_id=locked.account_id,
                department="service", object_kind="case", object_id=locked.pk,
                staff_id=locked.owner_id, occurred_at=now,
            )  # fmt: skip
    return locked


def case_assign(
    *,
    actor: Actor,
    case: Case,
    owner: Any = None,
    team: Any = None,
    expected_version: int | None = None,
) -> Case:
    """Give a case to a person and/or a team (None leaves it unassigned). The new owner must
    be an active user; the contact's timeline says who has it now."""
    selectors.require_case(actor.user, "change", case)
    errors: Errors = {}
    new_owner = _user(errors, "owner", owner)
    new_team = _team(errors, team)
    if errors:
        raise ValidationFailed("The assignment has problems.", errors=errors)
    with transaction.atomic():
        locked = _lock(case, expected_version)
        before = snapshot(locked, AUDITED)
        old_team = locked.team_id
        locked.owner = new_owner
        locked.team = new_team
        changes = diff(before, snapshot(locked, AUDITED))
        if changes:
            _bump(locked, ["owner", "team"])
            if locked.team_id != old_team:
                sla.targets_reset(case=locked, at=timezone.now())  # the new team's calendar
            service_events.case_assigned(actor=actor, case=locked, owner=new_owner, team=new_team)
            _audit(actor, locked, AuditEntry.Action.UPDATE, changes)
    return locked


# --- messages -------------------------------------------------------------------------------


def _body(body: Any, name: str = "body") -> str:
    errors: Errors = {}
    text = _text(errors, name, body, limit=MAX_BODY, required=True)
    if errors:
        raise ValidationFailed("The message has problems.", errors=errors)
    return text


def _touch(case: Case, at: dt.datetime, *, response: bool = False) -> None:
    case.last_message_at = max(filter(None, [case.last_message_at, at]))
    fields = ["last_message_at"]
    if response and case.first_response_at is None:
        case.first_response_at = at
        fields.append("first_response_at")
    _bump(case, fields)
    if response:
        sla.targets_responded(case=case, at=at)
    else:
        sla.targets_customer_wrote(case=case, at=at)


def case_note_add(
    *, actor: Actor, case: Case, body: str, expected_version: int | None = None
) -> CaseMessage:
    """An internal note: on the case and on the contact's timeline as internal, never sent
    to the customer (no outbound message is made for it, whatever its text)."""
    selectors.require_case(actor.user, "change", case)
    text = _body(body)
    now = timezone.now()
    with transaction.atomic():
        locked = _lock(case, expected_version)
        entry = service_events.case_noted(actor=actor, case=locked, body=text, at=now)
        message = CaseMessage.objects.create(
            case=locked,
            direction=CaseMessage.Direction.INTERNAL,
            channel=CaseMessage.Channel.NOTE,
            author_user=actor.user if getattr(actor.user, "pk", None) else None,
            occurred_at=now,
            body=text,
            entry=entry,
        )
        _bump(locked, [])
        _audit(actor, locked, AuditEntry.Action.CREATE, {"note": [None, text[:200]]}, obj=message)
    return message


def case_call_log(
    *,
    actor: Actor,
    case: Case,
    inbound: bool,
    minutes: float | None = None,
    body: str = "",
    expected_version: int | None = None,
) -> CaseMessage:
    """A call about the case. An outbound call is a response to the customer (the first
    one sets ``first_response_at``)."""
    selectors.require_case(actor.user, "change", case)
    errors: Errors = {}
    text = _text(errors, "body", body, limit=MAX_BODY)
    if minutes is not None and not 0 <= minutes <= 24 * 60:
        errors["minutes"] = ["Give the duration in minutes."]
    if errors:
        raise ValidationFailed("The call has problems.", errors=errors)
    seconds = round(minutes * 60) if minutes else None
    now = timezone.now()
    with transaction.atomic():
        locked = _lock(case, expected_version)
        entry = service_events.case_call_logged(
            actor=actor, case=locked, inbound=inbound, body=text, duration_seconds=seconds, at=now
        )
        message = CaseMessage.objects.create(
            case=locked,
            direction=CaseMessage.Direction.INBOUND if inbound else CaseMessage.Direction.OUTBOUND,
            channel=CaseMessage.Channel.PHONE,
            author_user=actor.user if getattr(actor.user, "pk", None) else None,
            author_contact=locked.contact if inbound else None,
            occurred_at=now,
            body=text,
            duration_seconds=seconds,
            entry=entry,
        )
        _touch(locked, now, response=not inbound)
        _audit(actor, locked, AuditEntry.Action.CREATE, {"call": [None, text[:200]]}, obj=message)
    return message


def reply_subject(case: Case) -> str:
    """The subject of mail about a case: the case's, with its reference, which a reply
    keeps and the mail path threads by."""
    subject = case.subject
    if case.reference.lower() not in subject.lower():
        subject = f"{subject} [{case.reference}]"
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def _thread_ids(case: Case) -> tuple[str, list[str]]:
    """What a reply answers: the customer's latest message, and the case's e-mail ids."""
    ids = list(
        CaseMessage.objects.filter(case=case)
        .exclude(message_id="")
        .order_by("occurred_at", "id")
        .values_list("direction", "message_id")
    )
    last_inbound = next((m for d, m in reversed(ids) if d == CaseMessage.Direction.INBOUND), "")
    references = [m for _, m in ids][-20:]  # the thread's ids, oldest first (bounded)
    return last_inbound or (references[-1] if references else ""), references


def recipient_of(case: Case) -> str:
    """Where a reply goes: the address of the customer's last e-mail, else the contact's
    primary address."""
    last = (
        CaseMessage.objects.filter(case=case, direction=CaseMessage.Direction.INBOUND)
        .exclude(to_address="")
        .order_by("-occurred_at", "-id")
        .values_list("to_address", flat=True)
        .first()
    )
    if last:
        return last
    return (
        ContactEmail.objects.filter(contact_id=case.contact_id)
        .order_by("-is_primary", "id")
        .values_list("email", flat=True)
        .first()
        or ""
    )


def case_reply(
    *,
    actor: Actor,
    case: Case,
    body: str,
    status: str = "",
    expected_version: int | None = None,
) -> CaseMessage:
    """A reply to the customer, sent as e-mail through the consent gate (purpose "service":
    it checks the channel at the moment of sending), threaded: In-Reply-To the customer's
    last message, References the case's thread, the case reference in the subject. The
    first reply sets ``first_response_at``; ``status`` moves the case on in the same save
    (often "waiting on customer")."""
    selectors.require_case(actor.user, "change", case)
    text = _body(body)
    to = recipient_of(case)
    if not to:
        raise ValidationFailed(
            "The contact has no e-mail address.",
            errors={"body": ["The contact has no e-mail address to reply to."]},
        )
    now = timezone.now()
    with transaction.atomic():
        locked = _lock(case, expected_version)
        subject = reply_subject(locked)
        in_reply_to, references = _thread_ids(locked)
        sent = outbound.queue_reply(
            actor=actor,
            case=locked,
            to=to,
            subject=subject,
            text=text,
            in_reply_to=in_reply_to,
            references=references,
        )
        entry = service_events.case_replied(
            actor=actor, case=locked, subject=subject, body=text, to=to, at=now
        )
        message = CaseMessage.objects.create(
            case=locked,
            direction=CaseMessage.Direction.OUTBOUND,
            channel=CaseMessage.Channel.EMAIL,
            author_user=actor.user if getattr(actor.user, "pk", None) else None,
            occurred_at=now,
            subject=subject,
            body=text,
            message_id=sent.message_id,
            in_reply_to=in_reply_to,
            references=references,
            to_address=to,
            outbound_id=sent.outbound_id,
            entry=entry,
        )
        _touch(locked, now, response=True)
        _audit(actor, locked, AuditEntry.Action.CREATE, {"reply": [None, text[:200]]}, obj=message)
    if status and status != locked.status:
        locked = case_status_change(actor=actor, case=locked, status=status, at=now)
    return message


def message_add_inbound(
    *, case: Case, message: dict[str, Any], checked: bool = False
) -> CaseMessage | None:
    """A message from the customer onto a case (the mail and web-form paths; they checked
    the case is the sender's). One Message-ID is one message: a second delivery adds
    nothing (None; ``checked``: the caller looked already, in this transaction)."""
    if not checked and _delivered_before(message):
        return None
    row = _inbound_insert(case, message)
    Case.objects.filter(pk=case.pk).update(
        last_message_at=row.occurred_at, version=F("version") + 1, updated_at=timezone.now()
    )
    sla.targets_customer_wrote(case=case, at=row.occurred_at)
    return row


def _delivered_before(message: dict[str, Any]) -> bool:
    """Whether the message's Message-ID is on a case already (unless ``checked``: the
    caller looked, in this transaction)."""
    message_id = str(message.get("message_id") or "")[:250]
    if not message_id or message.get("checked"):
        return False
    return CaseMessage.objects.filter(message_id=message_id).exists()


def _inbound_insert(case: Case, message: dict[str, Any]) -> CaseMessage:
    message_id = str(message.get("message_id") or "")[:250]
    at = message.get("at") or timezone.now()
    return CaseMessage.objects.create(
        case=case,
        direction=CaseMessage.Direction.INBOUND,
        channel=message.get("channel") or CaseMessage.Channel.EMAIL,
        author_contact_id=message.get("contact_id") or case.contact_id,
        occurred_at=at,
        subject=str(message.get("subject") or "")[:300],
        body=str(message.get("body") or ""),
        message_id=message_id,
        in_reply_to=str(message.get("in_reply_to") or "")[:250],
        references=list(message.get("references") or [])[-20:],
        to_address=str(message.get("from_address") or "")[:254],
        entry=message.get("entry"),
    )


# --- kinds (service setup) --------------------------------------------------------------------


def casekind_create(*, actor: Actor, data: dict[str, Any]) -> CaseKind:
    permissions.require(actor.user, "add", RecordKind.SERVICE_SETUP)
    errors: Errors = {}
    name = _text(errors, "name", data.get("name"), limit=100, required=True)
    key = _text(errors, "key", data.get("key"), limit=40, required=True).lower()
    if key and not key.replace("_", "").replace("-", "").isalnum():
        errors["key"] = ["Letters, digits, - and _ only."]
    elif key and CaseKind.objects.filter(key=key).exists():
        errors["key"] = ["A kind with this key exists."]
    if errors:
        raise ValidationFailed("The kind has problems.", errors=errors)
    with transaction.atomic():
        kind = CaseKind.objects.create(key=key, name=name, order=int(data.get("order") or 50))
        audit_record(
            actor=actor, action=AuditEntry.Action.CREATE, entity_kind="casekind",
            entity_id=kind.pk, obj=kind, changes={"name": [None, name], "key": [None, key]},
        )  # fmt: skip
    return kind


def casekind_update(*, actor: Actor, kind: CaseKind, data: dict[str, Any]) -> CaseKind:
    """Rename, reorder or retire a kind (a retired kind is not offered for new cases)."""
    permissions.require(actor.user, "change", RecordKind.SERVICE_SETUP)
    errors: Errors = {}
    before = snapshot(kind, ["name", "active", "order"])
    if "name" in data:
        kind.name = _text(errors, "name", data.get("name"), limit=100, required=True)
    if "active" in data:
        kind.active = bool(data["active"])
    if "order" in data:
        try:
            kind.order = max(0, min(32767, int(data["order"])))
        except (TypeError, ValueError):
            errors["order"] = ["A whole number."]
    if errors:
        raise ValidationFailed("The kind has problems.", errors=errors)
    with transaction.atomic():
        kind.save(update_fields=["name", "active", "order", "updated_at"])
        changes = diff(before, snapshot(kind, ["name", "active", "order"]))
        if changes:
            audit_record(
                actor=actor, action=AuditEntry.Action.UPDATE, entity_kind="casekind",
                entity_id=kind.pk, obj=kind, changes=changes,
            )  # fmt: skip
    return kind


def casekind_delete(*, actor: Actor, kind: CaseKind) -> None:
    """Delete a kind no case uses; built-in kinds are retired instead."""
    permissions.require(actor.user, "delete", RecordKind.SERVICE_SETUP)
    if kind.builtin:
        raise ValidationFailed(
            "A built-in kind cannot be deleted.",
            errors={"kind": ["Retire it instead (active: false)."]},
        )
    if Case.objects.filter(kind=kind).exists():
        raise ValidationFailed(
            "Cases use this kind.", errors={"kind": ["Retire it instead (active: false)."]}
        )
    with transaction.atomic():
        audit_record(
            actor=actor, action=AuditEntry.Action.DELETE, entity_kind="casekind",
            entity_id=kind.pk, obj=kind, changes={"name": [kind.name, None]},
        )  # fmt: skip
        kind.delete()

"""What cases put on the timeline: one typed function per event, each an entry on the
case's contact's timeline (and its account's), so sales sees the complaint before the call.
An e-mail from the customer is already the mail app's "email" entry; the case's message
points at it rather than writing a second one."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from rapport.core.actor import Actor
from rapport.timeline import events
from rapport.timeline.models import Channel, Department, Direction, Entry

if TYPE_CHECKING:
    from rapport.service.models import Case

CASE_OPENED = events.KindInfo("case_opened", "Case opened", Department.SERVICE, Channel.OTHER)
CASE_STATUS = events.KindInfo("case_status", "Case status", Department.SERVICE, Channel.OTHER)
CASE_REPLY = events.KindInfo("case_reply", "Case reply", Department.SERVICE, Channel.EMAIL)
CASE_NOTE = events.KindInfo("case_note", "Case note", Department.SERVICE, Channel.OTHER)
CASE_CALL = events.KindInfo("case_call", "Case call", Department.SERVICE, Channel.PHONE)
CASE_ASSIGNED = events.KindInfo("case_assigned", "Case assigned", Department.SERVICE, Channel.OTHER)
CASE_SLA = events.KindInfo("case_sla", "Service goal", Department.SERVICE, Channel.OTHER)
CASE_ESCALATED = events.KindInfo(
    "case_escalated", "Case escalated", Department.SERVICE, Channel.OTHER
)
TIMELINE_KINDS = (
    CASE_OPENED, CASE_STATUS, CASE_REPLY, CASE_NOTE, CASE_CALL, CASE_ASSIGNED, CASE_SLA,
    CASE_ESCALATED,
)  # fmt: skip

# The channel of the case's first entry, from the channel the case came in by.
_CHANNELS = {
    "phone": Channel.PHONE,
    "email": Channel.EMAIL,
    "web_form": Channel.WEB,
    "social": Channel.SOCIAL,
    "chat": Channel.WEB,
    "in_person": Channel.IN_PERSON,
}


def register() -> None:
    for kind in TIMELINE_KINDS:
        events.register_kind(
            kind.name, kind.label, department=kind.department, channel=kind.channel
        )


def _staff(actor: Actor) -> Any:
    return actor.user if getattr(actor.user, "pk", None) else None


def _on(case: Case) -> dict[str, Any]:
    return {
        "contacts": [case.contact_id],
        "accounts": [case.account_id] if case.account_id else [],
    }


def _data(case: Case, **extra: Any) -> dict[str, Any]:
    return {"case": case.pk, "reference": case.reference, **extra}


def case_opened(*, actor: Actor, case: Case, occurred_at: dt.datetime | None = None) -> Entry:
    return events.record(
        kind=CASE_OPENED.name,
        summary=f"{case.reference} opened: {case.subject}",
        channel=_CHANNELS.get(case.channel, Channel.OTHER),
        direction=Direction.INBOUND,
        staff=_staff(actor),
        body=case.description,
        occurred_at=occurred_at,
        data=_data(case, kind=case.kind.key, priority=case.priority),
        **_on(case),
    )


def case_status_changed(
    *, actor: Actor, case: Case, old: str, new: str, reason: str = "", at: dt.datetime
) -> Entry:
    labels = dict(type(case).Status.choices)
    return events.record(
        kind=CASE_STATUS.name,
        summary=f"{case.reference}: {labels.get(old, old)} → {labels.get(new, new)}",
        staff=_staff(actor),
        body=reason,
        occurred_at=at,
        data=_data(case, old=old, new=new),
        **_on(case),
    )


def case_replied(
    *, actor: Actor, case: Case, subject: str, body: str, to: str, at: dt.datetime
) -> Entry:
    return events.record(
        kind=CASE_REPLY.name,
        summary=subject,
        direction=Direction.OUTBOUND,
        staff=_staff(actor),
        body=body,
        occurred_at=at,
        data=_data(case, to=to),
        **_on(case),
    )


def case_noted(*, actor: Actor, case: Case, body: str, at: dt.datetime) -> Entry:
    first = next((ln.strip() for ln in body.splitlines() if ln.strip()), "Note")
    return events.record(
        kind=CASE_NOTE.name,
        summary=f"{case.reference} note: {first}"[:300],
        direction=Direction.INTERNAL,
        staff=_staff(actor),
        body=body,
        occurred_at=at,
        data=_data(case),
        **_on(case),
    )


def case_call_logged(
    *,
    actor: Actor,
    case: Case,
    inbound: bool,
    body: str,
    duration_seconds: int | None,
    at: dt.datetime,
) -> Entry:
    return events.record(
        kind=CASE_CALL.name,
        summary=f"{case.reference}: {'inbound' if inbound else 'outbound'} call",
        direction=Direction.INBOUND if inbound else Direction.OUTBOUND,
        staff=_staff(actor),
        body=body,
        duration_seconds=duration_seconds,
        occurred_at=at,
        data=_data(case),
        **_on(case),
    )


def case_assigned(*, actor: Actor, case: Case, owner: Any, team: Any) -> Entry:
    who = str(owner) if owner else "nobody"
    where = f" ({team})" if team else ""
    return events.record(
        kind=CASE_ASSIGNED.name,
        summary=f"{case.reference} assigned to {who}{where}",
        staff=_staff(actor),
        data=_data(case, owner=getattr(owner, "pk", None), team=getattr(team, "pk", None)),
        **_on(case),
    )


def case_sla_notice(
    *, case: Case, target_kind: str, label: str, what: str, at: dt.datetime
) -> Entry:
    """A service goal at risk ("warning") or missed ("breach"), at the moment it happened."""
    summary = f"{case.reference}: {label} {'at risk' if what == 'warning' else 'missed'}"
    return events.record(
        kind=CASE_SLA.name,
        summary=summary,
        occurred_at=at,
        data=_data(case, target=target_kind, notice=what),
        **_on(case),
    )


def case_escalated(
    *, actor: Actor | None, case: Case, level: int, reason: str, to: Any, at: dt.datetime
) -> Entry:
    name = (to.get_full_name() or to.username) if to is not None else "nobody"
    return events.record(
        kind=CASE_ESCALATED.name,
        summary=f"{case.reference} escalated to {name} (level {level}): {reason}"[:300],
        staff=_staff(actor) if actor is not None else None,
        occurred_at=at,
        data=_data(case, level=level, to=getattr(to, "pk", None)),
        **_on(case),
    )

"""Timeline events of consent: a change of consent, and the send log of each message.

Registered by the consent app (``ConsentConfig.ready`` calls ``register``); the timeline's
system check (``timeline.E001``) fails the build if a kind declared here is not registered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from rapport.core.actor import Actor
from rapport.timeline import events
from rapport.timeline.models import Channel, Department, Direction, Entry

if TYPE_CHECKING:
    from rapport.consent.models import ConsentEvent, OutboundMessage

CONSENT = events.KindInfo("consent", "Consent", channel=Channel.OTHER)
OUTBOUND = events.KindInfo("outbound_email", "E-mail sent", channel=Channel.EMAIL)
TIMELINE_KINDS = (CONSENT, OUTBOUND)

SOURCE = "consent.outbound"


def register() -> None:
    for kind in TIMELINE_KINDS:
        events.register_kind(
            kind.name, kind.label, department=kind.department, channel=kind.channel
        )


def consent_changed(*, actor: Actor, event: ConsentEvent, purpose_label: str) -> Entry:
    """A grant, a withdrawal or a pending double opt-in, on the contact's timeline."""
    where = f" ({event.address})" if event.address else ""
    return events.record(
        kind=CONSENT.name,
        summary=f"{purpose_label} by {event.get_channel_display()}{where}: "
        f"{event.get_status_display().lower()}",
        contacts=[event.contact_id],
        staff=actor.user,
        occurred_at=event.effective_at,
        data={
            "consent_event": event.pk,
            "channel": event.channel,
            "purpose": event.purpose_id,
            "status": event.status,
            "source": event.source,
        },
    )


def _message_draft(
    message: OutboundMessage, department: str, occurred_at: dt.datetime | None = None
) -> events.Draft:
    verb = {
        "sent": "E-mail sent",
        "blocked": "E-mail not sent (consent)",
        "failed": "E-mail failed",
        "bounced": "E-mail bounced",
    }.get(message.status, "E-mail")
    return events.Draft(
        kind=OUTBOUND.name,
        summary=f"{verb}: {message.subject}",
        contacts=[message.contact_id] if message.contact_id else [],
        channel=Channel.EMAIL,
        occurred_at=occurred_at,
        direction=Direction.OUTBOUND,
        department=department if department in Department.values else Department.OTHER,
        body=message.reason,
        source=SOURCE,
        external_id=f"{message.pk}:{message.status}",
        data={
            "outbound": message.pk,
            "status": message.status,
            "to": message.to_address,
            "message_id": message.message_id,
            "related_kind": message.related_kind,
            "related_id": message.related_id,
        },
    )


def message_logged(
    *, message: OutboundMessage, department: str, occurred_at: dt.datetime | None = None
) -> Entry | None:
    """The send log of one message: sent, blocked, failed or bounced; once per outcome."""
    if message.contact_id is None:
        return None
    d = _message_draft(message, department, occurred_at)
    return events.record(
        kind=d.kind, summary=d.summary, contacts=d.contacts, channel=d.channel,
        occurred_at=d.occurred_at, direction=d.direction, department=d.department, body=d.body,
        source=d.source, external_id=d.external_id, data=d.data,
    )  # fmt: skip


def messages_logged(
    *, messages: list[OutboundMessage], department: Callable[[OutboundMessage], str]
) -> list[Entry]:
    """The send log of many messages at once (a chunk of a batch): one insert."""
    drafts = [_message_draft(m, department(m)) for m in messages if m.contact_id is not None]
    return events.record_many(drafts) if drafts else []

"""Timeline events of mail: the kind it puts on the timeline and one typed function for it.

Registered by the ingest app (``IngestConfig.ready`` calls ``register``); the timeline's
system check (``timeline.E001``) fails the build if a kind declared here is not registered.
Messages are written one at a time (``email_received``) or a batch at once
(``emails_received``), through ``rapport.timeline.events``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rapport.timeline import events
from rapport.timeline.models import Channel, Direction, Entry

EMAIL = events.KindInfo("email", "E-mail", channel=Channel.EMAIL)
TIMELINE_KINDS = (EMAIL,)


def register() -> None:
    for kind in TIMELINE_KINDS:
        events.register_kind(
            kind.name, kind.label, department=kind.department, channel=kind.channel
        )


def email_entry(
    *,
    summary: str,
    contacts: list[int],
    roles: dict[int, str],
    occurred_at: dt.datetime | None,
    outbound: bool,
    staff: Any,
    body: str,
    source: str,
    message_id: str,
    data: dict[str, Any],
) -> events.Draft:
    """The timeline entry of one e-mail: once per Message-ID (``source`` and the id), on the
    timelines of its contacts with their role (from, to, cc), inbound unless a staff member
    sent it."""
    return events.Draft(
        kind=EMAIL.name,
        summary=summary,
        contacts=contacts,
        occurred_at=occurred_at,
        channel=EMAIL.channel,
        direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
        staff=staff,
        body=body,
        source=source,
        external_id=message_id,
        data=data,
        roles=roles,
    )


def email_received(entry: events.Draft) -> Entry:
    """Record one e-mail (an entry from ``email_entry``); a repeat returns the first."""
    return events.record(**vars(entry))


def emails_received(entries: list[events.Draft]) -> list[Entry]:
    """Record a batch of e-mails at once (a file of mail)."""
    return events.record_many(entries)

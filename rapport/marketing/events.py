"""What marketing puts on the timeline. The send itself is the gate's send log entry
(``outbound_email``, department marketing); a campaign adds what the person did with the
message that only the campaign knows (a click on one of its links, a reply to it), and the
events where people were met. Opens are not written: a tracking pixel is loaded by mail
clients and proxies as often as by people (docs/marketing.md)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from rapport.core.actor import Actor
from rapport.timeline import events
from rapport.timeline.models import Channel, Department, Direction, Entry

if TYPE_CHECKING:
    from rapport.marketing.models import CampaignRecipient, EventContact

CAMPAIGN_CLICK = events.KindInfo(
    "campaign_click", "Campaign link clicked", Department.MARKETING, Channel.EMAIL
)
CAMPAIGN_REPLY = events.KindInfo(
    "campaign_reply", "Reply to a campaign", Department.MARKETING, Channel.EMAIL
)
EVENT_MET = events.KindInfo("event_met", "Met at an event", Department.MARKETING, Channel.IN_PERSON)
TIMELINE_KINDS = (CAMPAIGN_CLICK, CAMPAIGN_REPLY, EVENT_MET)


def register() -> None:
    for kind in TIMELINE_KINDS:
        events.register_kind(
            kind.name, kind.label, department=kind.department, channel=kind.channel
        )


def campaign_clicked(*, recipient: CampaignRecipient, url: str, at: dt.datetime) -> Entry:
    return events.record(
        kind=CAMPAIGN_CLICK.name,
        summary=f"Clicked a link in “{recipient.campaign.name}”"[:300],
        contacts=[recipient.contact_id] if recipient.contact_id else [],
        occurred_at=at,
        direction=Direction.INBOUND,
        data={"campaign": recipient.campaign_id, "variant": recipient.variant_id, "url": url[:500]},
    )


def campaign_replied(*, recipient: CampaignRecipient, at: dt.datetime) -> Entry:
    return events.record(
        kind=CAMPAIGN_REPLY.name,
        summary=f"Replied to “{recipient.campaign.name}”"[:300],
        contacts=[recipient.contact_id] if recipient.contact_id else [],
        occurred_at=at,
        direction=Direction.INBOUND,
        data={"campaign": recipient.campaign_id, "variant": recipient.variant_id},
    )


def event_met(*, actor: Actor, person: EventContact) -> Entry:
    return events.record(
        kind=EVENT_MET.name,
        summary=f"Met at {person.event.name}"[:300],
        contacts=[person.contact_id],
        staff=actor.user if getattr(actor.user, "pk", None) else None,
        occurred_at=min(
            dt.datetime.combine(person.event.starts_on, dt.time(12), tzinfo=dt.UTC),
            person.created_at,
        ),
        data={"event": person.event_id},
    )

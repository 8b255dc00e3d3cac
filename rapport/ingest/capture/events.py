"""Timeline events of captures: a business card, from a vCard file or a photo.

Registered by the ingest app (``IngestConfig.ready`` calls ``register``); the timeline's
system check (``timeline.E001``) fails the build if a kind declared here is not registered.
"""

from __future__ import annotations

from rapport.core.actor import Actor
from rapport.timeline import events
from rapport.timeline.models import Channel, Entry

CARD = events.KindInfo("card", "Business card", channel=Channel.IN_PERSON)
TIMELINE_KINDS = (CARD,)


def register() -> None:
    for kind in TIMELINE_KINDS:
        events.register_kind(
            kind.name, kind.label, department=kind.department, channel=kind.channel
        )


def card_captured(
    *, actor: Actor, contact_id: int, event: str, source: str, position: int, note: str = ""
) -> Entry:
    """A card captured for a contact, where it was collected (``event``) if said."""
    return events.record(
        kind=CARD.name,
        summary=f"Card collected at {event}" if event else "Business card captured",
        contacts=[contact_id],
        staff=actor.user,
        body=note,
        data={"event": event, "source": source, "card": position},
    )

"""What marketing holds about a person, for subject access and erasure (rapport.core.privacy).

A recipient row says which campaign and variant reached them, at which address, and what
they did (opened, clicked, replied, unsubscribed): exported whole and erased whole (the
campaign's totals then no longer count them: a report after an erasure is computed
without the person). Static segment memberships and the events they were met at go too.
The consent they gave at an event is the consent app's (its own handler)."""

from __future__ import annotations

from typing import Any

from rapport.audit.services import plain
from rapport.marketing.models import CampaignRecipient, EventContact, SegmentMember

RECIPIENT_FIELDS = (
    "campaign_id", "campaign__name", "variant__label", "variant__subject", "address", "status",
    "reason", "sent_at", "opened_at", "open_count", "clicked_at", "click_count", "replied_at",
)  # fmt: skip


def marketing_export(*, contact_id: int) -> dict[str, Any]:
    recipients = CampaignRecipient.objects.filter(contact_id=contact_id).order_by("id")
    return {
        "campaign_messages": [
            {k: plain(v) for k, v in row.items()} for row in recipients.values(*RECIPIENT_FIELDS)
        ],
        "segments": list(
            SegmentMember.objects.filter(contact_id=contact_id)
            .order_by("id")
            .values_list("segment__name", flat=True)
        ),
        "events": [
            {"event": row["event__name"], "on": plain(row["event__starts_on"]), "note": row["note"]}
            for row in EventContact.objects.filter(contact_id=contact_id)
            .order_by("id")
            .values("event__name", "event__starts_on", "note")
        ],
    }


def marketing_erase(*, actor: Any, contact_id: int) -> int:
    changed = CampaignRecipient.objects.filter(contact_id=contact_id).delete()[0]
    changed += SegmentMember.objects.filter(contact_id=contact_id).delete()[0]
    changed += EventContact.objects.filter(contact_id=contact_id).delete()[0]
    return changed

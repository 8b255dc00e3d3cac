"""Marketing rows follow their customers through a merge (identity.registry): a campaign's
recipient row, a static segment's member and a person met at an event move to the
survivor, and an unmerge gives each back. Where both records had received the same
campaign (or sit in the same segment, or were met at the same event), the survivor's row
stays and the merged one's is folded into it."""

from __future__ import annotations

from rapport.identity.registry import Relation, register
from rapport.marketing.models import CampaignRecipient, EventContact, SegmentMember


def register_all() -> None:
    register(
        Relation(
            CampaignRecipient,
            "contact",
            "contact",
            unique_with=("campaign",),
            label="campaign recipients",
        )
    )
    register(
        Relation(CampaignRecipient, "account", "account", label="campaign recipients' accounts")
    )
    register(
        Relation(
            SegmentMember, "contact", "contact", unique_with=("segment",), label="segment members"
        )
    )
    register(
        Relation(
            EventContact, "contact", "contact", unique_with=("event",), label="people met at events"
        )
    )

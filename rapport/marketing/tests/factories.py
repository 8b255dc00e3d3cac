"""Marketing test data, made through the services (a system actor), as real data is."""

from __future__ import annotations

import itertools
from typing import Any

from rapport.consent import services as consent_services
from rapport.consent.models import Channel, Source, Status
from rapport.core.actor import Actor
from rapport.customers.models import Contact
from rapport.marketing import services
from rapport.marketing.models import Campaign, Segment

SYSTEM = Actor(user=None, via="system")
_seq = itertools.count(1)


def make_segment(*, rules: Any = None, actor: Actor = SYSTEM, **data: Any) -> Segment:
    data.setdefault("name", f"Segment {next(_seq)}")
    return services.segment_create(actor=actor, data={"rules": rules or {}, **data})


def make_campaign(
    *,
    segment: Segment | None = None,
    variants: int = 2,
    actor: Actor = SYSTEM,
    body: str = "",
    **data: Any,
) -> Campaign:
    data.setdefault("name", f"Campaign {next(_seq)}")
    data.setdefault("purpose", "product_news")
    data.setdefault("seed", 7)
    if segment is not None:
        data["segment"] = segment.pk
    campaign = services.campaign_create(actor=actor, data=data)
    for i in range(variants):
        label = "ABCDEF"[i]
        services.variant_create(
            actor=actor, campaign=campaign,
            data={"label": label, "subject": f"Subject {label}", "body": body or f"Hello from {label}: https://example.com/offer?v={label}"},
        )  # fmt: skip
    return campaign


def grant(contact: Contact, purpose: str = "product_news") -> None:
    consent_services.consent_record(
        actor=SYSTEM, contact=contact, channel=Channel.EMAIL, purpose=purpose,
        status=Status.GRANTED, source=Source.FORM, evidence_text="Yes please", confirmed=True,
    )  # fmt: skip


def withdraw(contact: Contact, purpose: str = "product_news") -> None:
    consent_services.consent_record(
        actor=SYSTEM, contact=contact, channel=Channel.EMAIL, purpose=purpose,
        status=Status.WITHDRAWN, source=Source.FORM, evidence_text="No more",
    )  # fmt: skip

"""Demo data for marketing (``manage.py demo``, Part order 50, after consent): segments,
an event with the people met there, and four campaigns over the demo year with two or
three variants each, their recipients (split by the campaign's seed), opens, clicks,
replies and, for the one whose variants differ, a winner chosen by the test.

Fast: the campaigns and variants go through the services; the recipient rows are written
in bulk (the demo sends no mail, so they are the record of a send that happened, not a
send through the gate). Nothing is dated in the future.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import time

from django.db import transaction
from django.utils import timezone

from rapport.core.actor import Actor, Via
from rapport.core.errors import ValidationFailed
from rapport.customers.models import ContactEmail
from rapport.marketing import services
from rapport.marketing.models import Campaign, CampaignRecipient
from rapport.users.models import User

# (name, goal, purpose, days ago, [(label, subject, click rate, open rate)])
CAMPAIGNS = (
    ("Winter newsletter", "Keep customers informed", "newsletter", 300, [
        ("A", "News from us this winter", 0.05, 0.30), ("B", "Five things we made for you", 0.05, 0.31),
    ]),
    ("Spring chairs offer", "Sell the new chair range", "product_news", 200, [
        ("A", "Our new chairs are here", 0.04, 0.28), ("B", "Sit better: 15 % off until May", 0.09, 0.33),
    ]),
    ("Trade fair invitation", "Meet customers at the fair", "events", 120, [
        ("A", "See us at the trade fair", 0.06, 0.35), ("B", "Your free ticket to the fair", 0.07, 0.36),
        ("C", "Coffee with us at stand 12?", 0.065, 0.34),
    ]),
    ("Autumn service check", "Book a yearly check", "product_news", 30, [
        ("A", "Time for your yearly check", 0.05, 0.29), ("B", "Book your check in one click", 0.06, 0.30),
    ]),
)  # fmt: skip
AUDIENCE = 1500


def marketing_demo_load(*, seed: int = 1) -> str:
    """Segments, an event and campaigns on the demo contacts; nothing when campaigns exist."""
    if Campaign.objects.exists():
        return "marketing: campaigns there already, none added"
    started = time.perf_counter()
    owner = User.objects.filter(username="marketing").first()
    actor = Actor(user=owner, via=Via.SYSTEM, context={"path": "demo"})
    emails: dict[int, str] = {}
    for contact_id, email in ContactEmail.objects.order_by(
        "contact_id", "-is_primary", "id"
    ).values_list("contact_id", "email")[: AUDIENCE * 3]:
        emails.setdefault(contact_id, email)
    contact_ids = sorted(emails)[:AUDIENCE]
    if not contact_ids:
        return "marketing: no demo contacts with an address, none added"
    rng = random.Random(f"marketing-{seed}")
    now = timezone.now()
    recipients = 0
    with transaction.atomic():
        customers = services.segment_create(
            actor=actor,
            data={
                "name": "Customers",
                "description": "Every customer",
                "rules": {"field": "contact.lifecycle", "op": "eq", "value": "customer"},
            },
        )
        services.segment_create(
            actor=actor,
            data={
                "name": "Customers with a recent complaint and no open deal",
                "description": "For a make-good offer",
                "rules": {"op": "and", "rules": [
                    {"field": "contact.lifecycle", "op": "eq", "value": "customer"},
                    {"field": "case.kind", "op": "eq", "value": "complaint", "within_days": 90},
                    {"op": "not", "rules": [{"field": "deal.status", "op": "eq", "value": "open"}]},
                ]},
            },
        )  # fmt: skip
        everyone = services.segment_create(
            actor=actor,
            data={
                "name": "Everyone with an address",
                "rules": {"field": "contact.email_domain", "op": "not_empty"},
            },
        )
        fair_day = (now - dt.timedelta(days=110)).date()
        event = services.event_create(
            actor=actor,
            data={
                "name": "Trade fair",
                "starts_on": fair_day.isoformat(),
                "place": "Hall 3, stand 12",
                "purpose": "events",
                "consent_text": "Send me invitations to your events.",
            },
        )
        from rapport.customers.models import Contact

        for contact in Contact.objects.filter(pk__in=contact_ids[:12]):
            services.event_person_add(
                actor=actor, event=event, contact=contact, note="Met at the stand"
            )
        for name, goal, purpose, days_ago, variants in CAMPAIGNS:
            campaign = services.campaign_create(
                actor=actor,
                data={"name": name, "goal": goal, "purpose": purpose, "segment": (customers if purpose != "events" else everyone).pk,
                      "budget": "2000", "cost": str(rng.randint(300, 1800)), "seed": rng.randrange(2**31)},
            )  # fmt: skip
            made = [
                services.variant_create(
                    actor=actor,
                    campaign=campaign,
                    data={
                        "label": label,
                        "subject": subject,
                        "body": f"{subject}.\n\nRead more: https://www.rapport.example/{campaign.pk}/{label.lower()}",
                    },
                )  # fmt: skip
                for label, subject, _, _ in variants
            ]
            rates = {v.pk: (c, o) for v, (_, _, c, o) in zip(made, variants, strict=True)}
            sent_at = now - dt.timedelta(days=days_ago)
            rows = []
            for pk, variant, draw in services.assign_variants(
                seed=campaign.seed, campaign_id=campaign.pk, contact_ids=contact_ids, variants=made
            ):
                click, opened = rates[variant.pk]
                blocked = rng.random() < 0.04
                row = CampaignRecipient(
                    campaign=campaign, variant=variant, contact_id=pk, address=emails[pk], draw=draw,
                    status=CampaignRecipient.Status.BLOCKED if blocked else CampaignRecipient.Status.SENT,
                    reason="No consent at send time." if blocked else "",
                    sent_at=None if blocked else sent_at + dt.timedelta(seconds=rng.randint(0, 3600)),
                )  # fmt: skip
                if not blocked:
                    assert row.sent_at is not None
                    if rng.random() < click:
                        row.clicked_at = min(
                            now, row.sent_at + dt.timedelta(hours=rng.uniform(0.1, 48))
                        )
                        row.click_count = rng.randint(1, 3)
                        row.opened_at, row.open_count = row.clicked_at, 1
                    elif rng.random() < opened:
                        row.opened_at = min(
                            now, row.sent_at + dt.timedelta(hours=rng.uniform(0.1, 72))
                        )
                        row.open_count = rng.randint(1, 4)
                    if rng.random() < 0.01:
                        row.replied_at = min(
                            now, row.sent_at + dt.timedelta(hours=rng.uniform(1, 96))
                        )
                rows.append(row)
            CampaignRecipient.objects.bulk_create(rows, batch_size=2000)
            recipients += len(rows)
            sent = sum(r.status == CampaignRecipient.Status.SENT for r in rows)
            Campaign.objects.filter(pk=campaign.pk).update(
                status=Campaign.Status.SENT, scheduled_at=sent_at, started_at=sent_at,
                finished_at=min(now, sent_at + dt.timedelta(hours=1)),
                counts={"audience": len(rows), "sent": sent, "blocked": len(rows) - sent, "no_address": 0},
            )  # fmt: skip
            campaign.refresh_from_db()
            # No clear winner: the demo leaves it open, as a person would.
            with contextlib.suppress(ValidationFailed):
                services.campaign_choose_winner(actor=actor, campaign=campaign)
    winners = Campaign.objects.filter(winner__isnull=False).count()
    return (
        f"marketing: 3 segments, 1 event, {len(CAMPAIGNS)} campaigns, {recipients} recipients, "
        f"{winners} winner(s) in {time.perf_counter() - started:.1f}s"
    )

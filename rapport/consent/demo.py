"""Consent on the demo records (``manage.py demo``, order 40).

A year of it: newsletter sign-ups on the web form (confirmed by double opt-in) and from
imported trade-fair lists, product-news and event grants taken on calls, some people
who unsubscribed or objected to surveys later; and a send log of service replies,
newsletters and survey invitations, each checked by the gate's rule as it stood when it
went (``consent_allows``), so the log shows what was sent and what consent stopped. The
log is history: nothing is handed to a mail server. Grants go through the services, so
the history, the audit trail and the timeline are as real use makes them. The same seed
tells the same story; dates are relative to today.
"""

from __future__ import annotations

import datetime as dt
import random

from django.conf import settings
from django.core.mail import make_msgid
from django.db import transaction
from django.utils import timezone

from rapport.consent import events, services
from rapport.consent.check import consent_allows
from rapport.consent.delivery import department_of
from rapport.consent.models import Channel, ConsentEvent, OutboundMessage, Purpose, Source, Status
from rapport.core.actor import Actor
from rapport.customers.models import Contact, ContactEmail
from rapport.users import permissions
from rapport.users.models import RecordKind, User

PEOPLE = 600
SIGNUP_TEXT = (
    "Yes, send me the Lumen newsletter (about once a month). You can unsubscribe at any time."
)
IMPORT_TEXT = "Tick to receive news about Lumen products (trade fair sign-up sheet)"
CALL_TEXT = "May we call you about our customer events? (script v4)"
MESSAGES = (
    ("newsletter", "Lumen newsletter: what is new this month"),
    ("surveys", "How did we do? Two questions about your last call"),
    ("service", "Your support case: we have an answer"),
    ("product_news", "Lumen Forecast now works with your ERP"),
)


def consent_demo_load(*, seed: int) -> str:
    if ConsentEvent.objects.exists():
        return "Consent: already there, nothing added."
    rng = random.Random(seed * 7919 + 40)
    now = timezone.now()
    staff = list(
        User.objects.filter(username__in=("service", "north-rep-1", "south-rep-1", "marketing"))
    )
    ids = list(
        ContactEmail.objects.filter(is_primary=True)
        .order_by("contact_id")
        .values_list("contact_id", "email")[: PEOPLE * 3]
    )
    rng.shuffle(ids)
    chosen = sorted(ids[:PEOPLE])
    contacts = Contact.objects.in_bulk([c for c, _ in chosen])
    purposes = {p.key: p for p in Purpose.objects.all()}
    system = Actor(user=None, via="import", context={"demo": True})
    counts = {"granted": 0, "withdrawn": 0, "messages": 0}
    with transaction.atomic():
        for contact_id, _address in chosen:
            contact = contacts[contact_id]
            start = now - dt.timedelta(days=rng.randint(30, 360), minutes=rng.randint(0, 1440))
            roll = rng.random()
            if roll < 0.45:
                services.consent_record(
                    actor=system, contact=contact, channel=Channel.EMAIL, purpose=purposes["newsletter"],
                    status=Status.GRANTED, source=Source.FORM, evidence_text=SIGNUP_TEXT,
                    evidence_version="web-signup-2", effective_at=start, confirmed=True,
                    note="Confirmed by double opt-in",
                )  # fmt: skip
                counts["granted"] += 1
            elif roll < 0.7:
                services.consent_record(
                    actor=system, contact=contact, channel=Channel.EMAIL, purpose=purposes["product_news"],
                    status=Status.GRANTED, source=Source.IMPORT, evidence_text=IMPORT_TEXT,
                    evidence_version="fair-2025", effective_at=start,
                    expires_at=start + dt.timedelta(days=730),
                )  # fmt: skip
                counts["granted"] += 1
            elif roll < 0.85 and staff:
                # Taken on a call by a colleague who may see the contact (a rep sees only
                # the team's book), else by the contact center, which sees everyone.
                rep: User | None = rng.choice(staff)
                if not permissions.can_see_record(rep, RecordKind.CONTACT, contact):
                    rep = next(
                        (u for u in staff if permissions.can_see_record(u, RecordKind.CONTACT, contact)),
                        None,
                    )
                if rep is None:
                    continue
                services.consent_record(
                    actor=Actor(user=rep, via="web"), contact=contact, channel=Channel.PHONE,
                    purpose=purposes["events"], status=Status.GRANTED, source=Source.CALL,
                    evidence_text=CALL_TEXT, evidence_version="call-script-4", effective_at=start,
                )  # fmt: skip
                counts["granted"] += 1
            later = start + dt.timedelta(days=rng.randint(5, 25))
            if roll < 0.45 and rng.random() < 0.15 and later < now:
                services.consent_record(
                    actor=Actor(user=None, via="web", context={"demo": True}), contact=contact,
                    channel=Channel.EMAIL, purpose=purposes["newsletter"], status=Status.WITHDRAWN,
                    source=Source.UNSUBSCRIBE, evidence_text="One-click unsubscribe from the newsletter",
                    effective_at=later,
                )  # fmt: skip
                counts["withdrawn"] += 1
            elif rng.random() < 0.05 and later < now:
                services.consent_record(
                    actor=system, contact=contact, channel=Channel.EMAIL, purpose=purposes["surveys"],
                    status=Status.WITHDRAWN, source=Source.EMAIL,
                    evidence_text="Replied: please stop sending me surveys", effective_at=later,
                )  # fmt: skip
                counts["withdrawn"] += 1
        counts["messages"] = _send_log(rng, chosen[:120], purposes, now)
    return (
        f"Consent: {counts['granted']} grants and {counts['withdrawn']} withdrawals on {len(chosen)} "
        f"contacts, {counts['messages']} messages in the send log."
    )


def _send_log(
    rng: random.Random,
    people: list[tuple[int, str]],
    purposes: dict[str, Purpose],
    now: dt.datetime,
) -> int:
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
    written = 0
    for contact_id, address in people:
        key, subject = rng.choice(MESSAGES)
        decision = consent_allows(
            contact_id=contact_id, address=address, channel=Channel.EMAIL, purpose=key
        )
        when = now - dt.timedelta(days=rng.randint(0, 20), minutes=rng.randint(0, 600))
        message = OutboundMessage.objects.create(
            contact_id=contact_id, purpose=purposes[key], to_address=address,
            from_address=settings.DEFAULT_FROM_EMAIL, subject=subject,
            text="(demo message: not sent to anyone)", message_id=make_msgid(domain=domain),
            status=OutboundMessage.Status.SENT if decision.allowed else OutboundMessage.Status.BLOCKED,
            reason="" if decision.allowed else decision.reason, attempts=1 if decision.allowed else 0,
            sent_at=when if decision.allowed else None, via="system",
        )  # fmt: skip
        OutboundMessage.objects.filter(pk=message.pk).update(queued_at=when)
        events.message_logged(message=message, department=department_of(message), occurred_at=when)
        written += 1
    return written

"""Consent test data, through the services."""

from __future__ import annotations

from rapport.consent import services
from rapport.consent.models import Channel, ConsentEvent, Source, Status
from rapport.core.actor import Actor
from rapport.customers.models import Contact

SYSTEM = Actor(user=None, via="system")


def grant(contact: Contact, purpose: str = "newsletter", **kw) -> ConsentEvent:
    kw.setdefault("channel", Channel.EMAIL)
    kw.setdefault("source", Source.FORM)
    kw.setdefault("confirmed", True)
    kw.setdefault("evidence_text", "Yes, send me the newsletter")
    return services.consent_record(
        actor=SYSTEM, contact=contact, purpose=purpose, status=Status.GRANTED, **kw
    )


def withdraw(contact: Contact, purpose: str = "newsletter", **kw) -> ConsentEvent:
    kw.setdefault("channel", Channel.EMAIL)
    kw.setdefault("source", Source.CALL)
    return services.consent_record(
        actor=SYSTEM, contact=contact, purpose=purpose, status=Status.WITHDRAWN, **kw
    )

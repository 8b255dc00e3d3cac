"""The send gate: the one way any part of Rapport sends an e-mail.

Senders (case replies, campaigns, survey invitations, double opt-in confirmations) describe
a message as an ``OutboundEmail`` and call ``send_queue``; the message is stored and a
background task hands it to the mail server through ``rapport.consent.delivery.deliver``,
which checks consent for
that channel and purpose *at the moment of sending* (``consent_allows``), inside the same
transaction that claims the message. A withdrawal committed while a batch is going out
therefore stops every later message of that batch to that person.

The gate is structural, not a convention (docs/decisions, "the send gate"):

- ``EMAIL_BACKEND`` is ``rapport.consent.backend.GatedEmailBackend``, which refuses any
  message that does not carry the gate's stamp (``rapport.consent.delivery``) (an HMAC, under a key born with the
  process, over the Message-ID and the recipients), and hands the rest to the real backend
  (``CONSENT_EMAIL_BACKEND``: SMTP, or a provider through django-anymail);
- ``rapport/consent/tests/test_gate_structure.py`` scans the code for any other use of
  Django's sending functions, ``smtplib`` or the stamp.

Each message is sent at most once: it is claimed (``queued`` → ``sending``) under a row
lock before the mail server sees it, so a task run twice finds it claimed; a message left
``sending`` by a worker that died is marked failed, not sent again. Sending is paced by
``CONSENT_SEND_RATE`` (messages per second, 0 for no limit).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.mail import make_msgid
from django.db import transaction

from rapport.consent.check import CONFIRMATION_KIND, Decision, consent_allows
from rapport.consent.delivery import _interrupted
from rapport.consent.models import Channel, OutboundMessage, Purpose, SendBatch
from rapport.consent.tasks import send_batch_task, send_message_task
from rapport.core.actor import Actor
from rapport.core.errors import ValidationFailed
from rapport.core.transactions import enqueue_after_commit
from rapport.customers.normalize import normalize_email, strip_controls

__all__ = [
    "CONFIRMATION_KIND", "Decision", "OutboundEmail", "consent_allows", "outbound_resume",
    "send_queue", "send_queue_many",
]  # fmt: skip

# Headers the gate writes itself; a sender may not set them.
OWN_HEADERS = frozenset(
    h.lower()
    for h in (
        "From", "To", "Cc", "Bcc", "Sender", "Reply-To", "Subject", "Message-ID", "Date",
        "In-Reply-To", "References", "List-Unsubscribe", "List-Unsubscribe-Post",
        "DKIM-Signature", "Return-Path", "Content-Type", "MIME-Version",
        "Content-Transfer-Encoding",
    )
)  # fmt: skip


@dataclass(frozen=True)
class OutboundEmail:
    """What a sender wants sent; ``purpose`` is a Purpose key ("service", "newsletter"…)."""

    contact_id: int | None
    to_address: str
    purpose: str
    subject: str
    text: str
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    related_kind: str = ""
    related_id: int | None = None
    from_address: str | None = None
    reply_to: str | None = None


# --- Queueing -------------------------------------------------------------------------


def _domain() -> str:
    sender = getattr(settings, "DEFAULT_FROM_EMAIL", "") or "rapport@localhost"
    return sender.rpartition("@")[2].strip("> ") or "localhost"


def _clean(message: OutboundEmail, purpose: Purpose | None) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    if purpose is None or not purpose.active:
        errors["purpose"] = [f"No active purpose {message.purpose!r}."]
    try:
        to_address = normalize_email(message.to_address)[0]
    except ValueError as exc:
        errors["to_address"] = [str(exc)]
        to_address = ""
    subject = strip_controls(message.subject or "").replace("\n", " ").replace("\r", " ").strip()
    if not subject:
        errors["subject"] = ["A message needs a subject."]
    for name, value in (message.headers or {}).items():
        if name.lower() in OWN_HEADERS or not name.replace("-", "").isalnum():
            errors.setdefault("headers", []).append(f"The gate sets {name!r} itself.")
        elif "\n" in str(value) or "\r" in str(value):
            errors.setdefault("headers", []).append(f"{name}: one line only.")
    for name in ("from_address", "reply_to"):
        value = getattr(message, name) or ""
        if value and ("\n" in value or "\r" in value or "@" not in value):
            errors[name] = ["Enter one e-mail address."]
    if errors:
        raise ValidationFailed("The message cannot be queued.", errors=errors)
    return {"to_address": to_address, "subject": subject[:300]}


def _row(
    actor: Actor, message: OutboundEmail, purpose: Purpose, batch: SendBatch | None
) -> OutboundMessage:
    cleaned = _clean(message, purpose)
    return OutboundMessage(
        contact_id=message.contact_id,
        batch=batch,
        purpose=purpose,
        channel=Channel.EMAIL,
        to_address=cleaned["to_address"],
        from_address=message.from_address or settings.DEFAULT_FROM_EMAIL,
        reply_to=message.reply_to or "",
        subject=cleaned["subject"],
        text=message.text,
        html=message.html or "",
        headers=dict(message.headers or {}),
        message_id=make_msgid(domain=_domain()),
        in_reply_to=message.in_reply_to,
        references=list(message.references),
        related_kind=message.related_kind,
        related_id=message.related_id,
        queued_by=actor.user if getattr(actor.user, "pk", None) else None,
        via=actor.via,
    )


def send_queue(*, actor: Actor, message: OutboundEmail) -> OutboundMessage:
    """Store one message and queue its sending (after commit). Consent is not checked
    here but when it is sent: a withdrawal in between stops it. The caller has checked
    the actor's right to write to this person (a case's agent, a campaign's owner)."""
    purpose = Purpose.objects.filter(key=message.purpose).first()
    if purpose is None:
        _clean(message, None)
    assert purpose is not None
    row = _row(actor, message, purpose, None)
    with transaction.atomic():
        row.save()
        enqueue_after_commit(send_message_task, row.pk)
    return row


def send_queue_many(
    *, actor: Actor, name: str, purpose: str, messages: Iterable[OutboundEmail], start: bool = True
) -> SendBatch:
    """Store a batch of messages of one purpose and queue the job that sends them."""
    found = Purpose.objects.filter(key=purpose).first()
    if found is None or not found.active:
        raise ValidationFailed(
            "The batch cannot be queued.", errors={"purpose": [f"No active purpose {purpose!r}."]}
        )
    with transaction.atomic():
        batch = SendBatch.objects.create(
            name=name[:200], purpose=found,
            created_by=actor.user if getattr(actor.user, "pk", None) else None,
        )  # fmt: skip
        chunk: list[OutboundMessage] = []
        for message in messages:
            if message.purpose != purpose:
                raise ValidationFailed(
                    "One purpose per batch.", errors={"purpose": [message.purpose]}
                )
            chunk.append(_row(actor, message, found, batch))
            if len(chunk) >= 2000:
                OutboundMessage.objects.bulk_create(chunk)
                chunk = []
        OutboundMessage.objects.bulk_create(chunk)
        if start:
            enqueue_after_commit(send_batch_task, batch.pk)
    return batch


def outbound_resume() -> int:
    """Queue again what a lost task left behind (a worker restart): messages still queued
    outside a batch, and batches not done. Returns how many jobs it queued."""
    _interrupted(OutboundMessage.objects.all())
    jobs = 0
    for pk in OutboundMessage.objects.filter(
        status=OutboundMessage.Status.QUEUED, batch__isnull=True
    ).values_list("pk", flat=True):
        send_message_task.enqueue(pk)
        jobs += 1
    for pk in SendBatch.objects.exclude(status=SendBatch.Status.DONE).values_list("pk", flat=True):
        send_batch_task.enqueue(pk)
        jobs += 1
    return jobs

"""Sending what the gate queued (rapport.consent.sending): the claim, the consent check at
the moment of sending, the message as built and stamped, pacing, the send log, batches.
See rapport.consent.sending for the rules."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time
from email.utils import formatdate
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils import timezone

from rapport.consent import dkimsign, events
from rapport.consent.check import CONFIRMATION_KIND, consent_allows
from rapport.consent.models import OutboundMessage, SendBatch
from rapport.timeline.models import Department

UNSUBSCRIBE_SALT = "rapport.consent.unsubscribe"
MAX_ATTEMPTS = 3
# Born with the process and never stored: only this module can stamp a message.
_STAMP_KEY = secrets.token_bytes(32)


# --- Sending --------------------------------------------------------------------------


class GatedEmail(EmailMultiAlternatives):
    """A message built by the gate: stamped, and DKIM-signed when a key is configured."""

    stamp: str = ""

    def message(self, *args: Any, **kwargs: Any) -> Any:
        return dkimsign.sign_mime(super().message(*args, **kwargs))


def _stamp_of(email: EmailMultiAlternatives) -> str:
    value = "\n".join([str(email.extra_headers.get("Message-ID", "")), *sorted(email.recipients())])
    return hmac.new(_STAMP_KEY, value.encode(), hashlib.sha256).hexdigest()


def is_stamped(email: Any) -> bool:
    """Whether the gate built this message for exactly these recipients (the backend asks)."""
    stamp = getattr(email, "stamp", "")
    return (
        isinstance(email, GatedEmail)
        and bool(stamp)
        and hmac.compare_digest(stamp, _stamp_of(email))
    )


def unsubscribe_token(message: OutboundMessage) -> str:
    return signing.dumps({"m": message.pk}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_url(message: OutboundMessage, token: str = "") -> str:
    base = getattr(settings, "RAPPORT_PUBLIC_URL", "").rstrip("/") or "http://localhost:8000"
    return base + reverse("consent:unsubscribe", args=[token or unsubscribe_token(message)])


def _build(message: OutboundMessage) -> GatedEmail:
    headers: dict[str, str] = dict(message.headers or {})
    headers["Message-ID"] = message.message_id
    headers["Date"] = formatdate(localtime=False)
    if message.in_reply_to:
        headers["In-Reply-To"] = message.in_reply_to
    if message.references:
        headers["References"] = " ".join(message.references)
    if message.purpose.is_marketing:
        # RFC 8058: a POST of "List-Unsubscribe=One-Click" to the https URL unsubscribes.
        token = unsubscribe_token(message)
        links = [f"<{unsubscribe_url(message, token)}>"]
        mailto = getattr(settings, "CONSENT_UNSUBSCRIBE_MAILTO", "")
        if mailto:
            links.append(f"<mailto:{mailto}?subject=unsubscribe%20{token}>")
        headers["List-Unsubscribe"] = ", ".join(links)
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email = GatedEmail(
        subject=message.subject,
        body=message.text,
        from_email=message.from_address,
        to=[message.to_address],
        reply_to=[message.reply_to] if message.reply_to else None,
        headers=headers,
    )
    if message.html:
        email.attach_alternative(message.html, "text/html")
    email.stamp = _stamp_of(email)
    return email


class Pace:
    """At most ``per_second`` messages a second from this process (0: no limit)."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.next = time.monotonic()

    def wait(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        if now < self.next:
            time.sleep(self.next - now)
            now = self.next
        self.next = max(self.next, now) + self.interval


_PACE: Pace | None = None


def _pace() -> Pace:
    global _PACE
    rate = float(getattr(settings, "CONSENT_SEND_RATE", 0) or 0)
    if _PACE is None or _PACE.interval != (1.0 / rate if rate > 0 else 0.0):
        _PACE = Pace(rate)
    return _PACE


def department_of(message: OutboundMessage) -> str:
    return Department.MARKETING if message.purpose.is_marketing else Department.SERVICE


def _finish(message: OutboundMessage, status: str, reason: str, **fields: Any) -> None:
    message.status = status
    message.reason = reason[:300]
    for name, value in fields.items():
        setattr(message, name, value)
    message.save(update_fields=["status", "reason", "updated_at", *fields])
    events.message_logged(message=message, department=department_of(message))


# Failures that happen before the server took the message: safe to try again.
_RETRY = (ConnectionError, OSError)


def deliver(message_id: int, *, connection: Any = None) -> str:
    """Send one queued message if consent allows it now; its status after. Safe to run
    twice or at once in two workers: only the one that claims the message sends it."""
    with transaction.atomic():
        message = (
            OutboundMessage.objects.select_for_update()
            .select_related("purpose")
            .filter(pk=message_id)
            .first()
        )
        if message is None or message.status != OutboundMessage.Status.QUEUED:
            return message.status if message else "missing"
        decision = consent_allows(
            contact_id=message.contact_id,
            address=message.to_address,
            channel=message.channel,
            purpose=message.purpose,
            confirmation=message.related_kind == CONFIRMATION_KIND,
        )
        if not decision.allowed:
            _finish(message, OutboundMessage.Status.BLOCKED, decision.reason)
            return message.status
        message.status = OutboundMessage.Status.SENDING
        message.attempts += 1
        message.claimed_at = timezone.now()
        message.save(update_fields=["status", "attempts", "claimed_at", "updated_at"])
    email = _build(message)
    try:
        if connection is None:
            _pace().wait()  # a batch paces itself
            connection = get_connection()
        connection.send_messages([email])
    except Exception as exc:
        retry = isinstance(exc, _RETRY) and message.attempts < MAX_ATTEMPTS
        with transaction.atomic():
            if retry:
                message.status = OutboundMessage.Status.QUEUED
                message.reason = f"Attempt {message.attempts} failed: {exc}"[:300]
                message.save(update_fields=["status", "reason", "updated_at"])
            else:
                _finish(message, OutboundMessage.Status.FAILED, f"{type(exc).__name__}: {exc}")
        return message.status
    provider_id = getattr(getattr(email, "anymail_status", None), "message_id", None)
    with transaction.atomic():
        _finish(
            message,
            OutboundMessage.Status.SENT,
            "",
            sent_at=timezone.now(),
            provider_message_id=str(provider_id or message.message_id)[:250],
        )
    return message.status


def _interrupted(messages: QuerySet[OutboundMessage]) -> int:
    """Messages a dead worker left claimed: failed, never sent again (at most once)."""
    stale = timezone.now() - dt.timedelta(
        seconds=int(getattr(settings, "CONSENT_SENDING_STALE_SECONDS", 300))
    )
    count = 0
    for pk in messages.filter(
        status=OutboundMessage.Status.SENDING, claimed_at__lt=stale
    ).values_list("pk", flat=True):
        with transaction.atomic():
            message = (
                OutboundMessage.objects.select_for_update().select_related("purpose").get(pk=pk)
            )
            if message.status == OutboundMessage.Status.SENDING:
                _finish(
                    message,
                    OutboundMessage.Status.FAILED,
                    "Interrupted while sending; not sent again, so it goes at most once.",
                )
                count += 1
    return count


def _claim(batch_id: int, after: int, size: int) -> list[OutboundMessage]:
    """Claim the next queued messages of a batch (``queued`` → ``sending``) in one
    transaction; rows another worker holds are skipped, not waited for."""
    with transaction.atomic():
        ids = list(
            OutboundMessage.objects.select_for_update(skip_locked=True)
            .filter(batch_id=batch_id, status=OutboundMessage.Status.QUEUED, pk__gt=after)
            .order_by("pk")
            .values_list("pk", flat=True)[:size]
        )
        if ids:
            OutboundMessage.objects.filter(pk__in=ids).update(
                status=OutboundMessage.Status.SENDING, claimed_at=timezone.now(),
                attempts=F("attempts") + 1, updated_at=timezone.now(),
            )  # fmt: skip
    return list(OutboundMessage.objects.filter(pk__in=ids).select_related("purpose").order_by("pk"))


def _record(outcomes: list[tuple[OutboundMessage, str, str]]) -> None:
    """Write what became of claimed messages, and their send log, in one transaction."""
    now = timezone.now()
    with transaction.atomic():
        for message, status, reason in outcomes:
            message.status, message.reason = status, reason[:300]
            if status == OutboundMessage.Status.SENT:
                message.sent_at = now
        OutboundMessage.objects.bulk_update(
            [m for m, _, _ in outcomes], ["status", "reason", "sent_at", "provider_message_id"]
        )
        events.messages_logged(
            messages=[m for m, status, _ in outcomes if status != OutboundMessage.Status.QUEUED],
            department=department_of,
        )


def batch_run(batch_id: int) -> dict[str, int]:
    """Send every queued message of a batch, in order, paced, over one connection.

    Messages are claimed a chunk at a time (``CONSENT_BATCH_CHUNK``), but each one's
    consent is checked just before it is handed to the server, so a withdrawal committed
    meanwhile stops it; outcomes are written a chunk at a time. A worker that dies leaves
    its chunk ``sending``: marked failed on the next run, never sent twice. Resumable: a
    second run picks up what is still queued."""
    batch = SendBatch.objects.get(pk=batch_id)
    SendBatch.objects.filter(pk=batch_id, started_at__isnull=True).update(started_at=timezone.now())
    SendBatch.objects.filter(pk=batch_id).update(status=SendBatch.Status.SENDING)
    _interrupted(batch.messages.all())
    size = int(getattr(settings, "CONSENT_BATCH_CHUNK", 50))
    counts: dict[str, int] = {}
    pace = _pace()
    connection = get_connection()
    connection.open()
    try:
        last = 0
        while messages := _claim(batch_id, last, size):
            outcomes: list[tuple[OutboundMessage, str, str]] = []
            try:
                for message in messages:
                    pace.wait()
                    outcomes.append((message, *_send_one(message, connection)))
            finally:
                # Even when something unexpected stops the loop: what went is recorded.
                if outcomes:
                    _record(outcomes)
            for _, status, _ in outcomes:
                counts[status] = counts.get(status, 0) + 1
            last = messages[-1].pk
    finally:
        connection.close()
    if not batch.messages.filter(status=OutboundMessage.Status.QUEUED).exists():
        SendBatch.objects.filter(pk=batch_id).update(
            status=SendBatch.Status.DONE, finished_at=timezone.now()
        )
    return counts


def _send_one(message: OutboundMessage, connection: Any) -> tuple[str, str]:
    """Check one claimed message's consent now and send it if allowed: (status, reason)."""
    decision = consent_allows(
        contact_id=message.contact_id,
        address=message.to_address,
        channel=message.channel,
        purpose=message.purpose,
        confirmation=message.related_kind == CONFIRMATION_KIND,
    )
    if not decision.allowed:
        return OutboundMessage.Status.BLOCKED, decision.reason
    email = _build(message)
    try:
        connection.send_messages([email])
    except _RETRY as exc:
        if message.attempts < MAX_ATTEMPTS:
            return OutboundMessage.Status.QUEUED, f"Attempt {message.attempts} failed: {exc}"
        return OutboundMessage.Status.FAILED, f"{type(exc).__name__}: {exc}"
    except Exception as exc:
        return OutboundMessage.Status.FAILED, f"{type(exc).__name__}: {exc}"
    # A provider through django-anymail reports its own id (its webhooks use it).
    provider_id = getattr(getattr(email, "anymail_status", None), "message_id", None)
    message.provider_message_id = str(provider_id or message.message_id)[:250]
    return OutboundMessage.Status.SENT, ""

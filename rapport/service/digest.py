"""The e-mail digest for the people cases wait on: once a period (a day unless
``RAPPORT_SERVICE_DIGEST_HOURS`` says otherwise), each active user with an e-mail address
who has unread service notifications, or escalated questions waiting for their answer,
gets one e-mail listing those cases with links. Nothing waiting, no e-mail.

The worker's watchdog calls ``digests_queue_due`` every minute. A digest is internal mail
to staff, but Rapport has one way to send e-mail, the send gate
(``rapport.consent.sending``; ``EMAIL_BACKEND`` refuses anything else), so it goes
through it under the "service" purpose, whose lawful basis (contract) needs no opt-in
and no contact: only a suppressed address stops it. The gate's outbound log is also the
digest's own: the last digest of a user is their latest outbound message with
``related_kind == "service_digest"`` and ``related_id`` their id.

At most one a period, also with two watchdogs at once: each user is claimed under their
row's lock (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite the settings' IMMEDIATE
transactions take the write lock at BEGIN), the period checked again under it, and the
digest stored in the same transaction; the second watchdog waits, then finds it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from rapport.core.actor import Actor, Via
from rapport.service import selectors
from rapport.service.models import Case, CaseEscalation, Notification, reference_of
from rapport.users.models import User

RELATED_KIND = "service_digest"
PURPOSE = "service"
SYSTEM = Actor(user=None, via=Via.SYSTEM, context={"path": "service.digest"})
# What one e-mail lists at most (the rest is "and N more" with the link to the queue).
MAX_CASES = 50


def period() -> dt.timedelta:
    hours = int(getattr(settings, "RAPPORT_SERVICE_DIGEST_HOURS", 24) or 24)
    return dt.timedelta(hours=max(1, hours))


def _last_digest(since: dt.datetime) -> Any:
    from rapport.consent.models import OutboundMessage

    return OutboundMessage.objects.filter(
        related_kind=RELATED_KIND, related_id=OuterRef("pk"), queued_at__gt=since
    )


def _waiting(user_ref: Any) -> tuple[Any, Any]:
    unread = Notification.objects.filter(recipient=user_ref, read_at__isnull=True)
    asked = CaseEscalation.objects.filter(to_user=user_ref, status=CaseEscalation.Status.OPEN)
    return unread, asked


def due_users(*, now: dt.datetime | None = None) -> list[int]:
    """The ids of the users a digest is due for: something waits on them and no digest
    went to them in the period. One query, whatever the number of users."""
    now = now or timezone.now()
    unread, asked = _waiting(OuterRef("pk"))
    return list(
        User.objects.filter(is_active=True)
        .exclude(email="")
        .filter(Q(Exists(unread)) | Q(Exists(asked)))
        .exclude(Exists(_last_digest(now - period())))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@dataclass
class Item:
    """One case of a digest: why it waits on the person."""

    case_id: int | None
    subject: str = ""
    reasons: list[str] = field(default_factory=list)
    latest: dt.datetime | None = None


def _url(path: str) -> str:
    return settings.RAPPORT_PUBLIC_URL.rstrip("/") + path


def digest_items(user: User) -> list[Item]:
    """What waits on ``user``, by case, the latest first: unread notifications and the
    escalated questions they have not answered. A case they may not see (any more) is
    named by its reference only."""
    unread, asked = _waiting(user)
    items: dict[int | None, Item] = {}
    for n in unread.order_by("-created_at", "-id").values("case_id", "text", "created_at")[:500]:
        item = items.setdefault(n["case_id"], Item(n["case_id"]))
        text = str(n["text"])
        if n["case_id"] is not None:
            # The notices start with the case's reference, which the digest shows above.
            reference = reference_of(n["case_id"])
            if text.startswith(reference):
                text = text[len(reference) :].lstrip(": ") or text
        item.reasons.append(text)
        item.latest = max(filter(None, [item.latest, n["created_at"]]))
    for e in asked.order_by("-created_at", "-id").values("case_id", "question", "created_at")[:500]:
        item = items.setdefault(e["case_id"], Item(e["case_id"]))
        question = " ".join(str(e["question"]).split())
        item.reasons.append(f"Question for you: {question[:300]}")
        item.latest = max(filter(None, [item.latest, e["created_at"]]))
    cases = Case.objects.in_bulk([pk for pk in items if pk is not None])
    for pk, item in items.items():
        case = cases.get(pk) if pk is not None else None
        if case is not None and selectors.can_see(user, case):
            item.subject = case.subject
    far = timezone.make_aware(dt.datetime.min + dt.timedelta(days=1), dt.UTC)
    return sorted(items.values(), key=lambda i: (i.case_id is None, -(i.latest or far).timestamp()))


def digest_text(user: User, items: list[Item]) -> tuple[str, str]:
    """The subject and plain-text body of a digest."""
    cases = [i for i in items if i.case_id is not None]
    count = len(cases)
    subject = (
        f"{count} case{'s' if count != 1 else ''} waiting on you"
        if count
        else "Service notifications waiting for you"
    )
    lines = [f"Hello {user.get_full_name() or user.username},", ""]
    lines.append(
        "These cases wait on you in Rapport:" if count else "You have unread notifications:"
    )
    lines.append("")
    for item in items[:MAX_CASES]:
        if item.case_id is not None:
            head = reference_of(item.case_id) + (f" {item.subject}" if item.subject else "")
            lines.append(head)
            lines.append("  " + _url(reverse("service:case-detail", args=[item.case_id])))
        else:
            lines.append("Other")
        lines.extend(f"  - {reason}" for reason in item.reasons[:10])
        if len(item.reasons) > 10:
            lines.append(f"  - and {len(item.reasons) - 10} more")
        lines.append("")
    if len(items) > MAX_CASES:
        lines.append(f"And {len(items) - MAX_CASES} more.")
    lines.append("Your queue: " + _url(reverse("service:home")))
    lines.append("")
    hours = int(period().total_seconds() // 3600)
    lines.append(f"You get this at most once every {hours} hours while something waits on you.")
    return subject, "\n".join(lines)


def digest_queue(*, user_id: int, now: dt.datetime | None = None) -> int | None:
    """Queue one user's digest if it is due (something waits, none sent in the period);
    the outbound message's id, or None. Safe to call twice or from two workers at once."""
    from rapport.consent.models import OutboundMessage
    from rapport.consent.sending import OutboundEmail, send_queue

    now = now or timezone.now()
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=user_id, is_active=True).first()
        if user is None or not user.email:
            return None
        recent = OutboundMessage.objects.filter(
            related_kind=RELATED_KIND, related_id=user.pk, queued_at__gt=now - period()
        )
        if recent.exists():
            return None
        items = digest_items(user)
        if not items:
            return None
        subject, text = digest_text(user, items)
        row = send_queue(
            actor=SYSTEM,
            message=OutboundEmail(
                contact_id=None, to_address=user.email, purpose=PURPOSE, subject=subject,
                text=text, related_kind=RELATED_KIND, related_id=user.pk,
            ),
        )  # fmt: skip
        return row.pk


def digests_queue_due(*, now: dt.datetime | None = None) -> list[int]:
    """Queue the digests that are due (the worker's watchdog calls this every minute);
    the ids of the users who get one."""
    sent = []
    for pk in due_users(now=now):
        if digest_queue(user_id=pk, now=now) is not None:
            sent.append(pk)
    return sent

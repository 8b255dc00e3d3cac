"""Reads of mail that the worker needs without the mailbox services: which mailboxes are due.

Apart from ``mail.mailboxes`` so that the poll task can read it while the services queue
that task (services -> tasks -> selectors, no loop back).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from rapport.ingest.mail import imap
from rapport.ingest.models import Mailbox


def mailboxes_due(*, now: dt.datetime | None = None) -> list[int]:
    """Enabled mailboxes whose last poll is older than their interval (or never happened)
    and that no live poll holds."""
    now = now or timezone.now()
    free = Q(polling_since__isnull=True) | Q(polling_since__lt=now - imap.CLAIM_EXPIRES)
    rows = Mailbox.objects.filter(free, enabled=True).values_list(
        "pk", "last_polled_at", "poll_minutes"
    )
    return [
        pk
        for pk, last, minutes in rows.order_by("last_polled_at", "pk")
        if last is None or last <= now - dt.timedelta(minutes=max(1, minutes))
    ]

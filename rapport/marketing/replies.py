"""Replies to campaign messages, learned from the mail that comes in (``ingest.mail.learners``):
a message whose In-Reply-To or References name the Message-ID the gate gave a campaign
message, from the person it went to, is a reply to that variant."""

from __future__ import annotations

from typing import Any

from rapport.marketing import services


def from_mail(*, message: Any, result: Any, actor: Any) -> None:
    """The learner's ``now`` hook: one message as mail stores it."""
    ids = [message.in_reply_to, *(message.references or [])]
    services.record_replies(
        message_ids=ids, contact_ids=list(getattr(result, "contacts", []) or []),
        from_address=message.from_[1], at=message.sent_at,
    )  # fmt: skip


def from_entries(*, entry_ids: list[int], actor: Any) -> None:
    """The learner's ``later`` hook: a file's stored e-mail entries (their data keeps the
    In-Reply-To and the thread's first id)."""
    from rapport.timeline.models import Entry, EntryLink

    for entry in Entry.objects.filter(pk__in=entry_ids, kind="email"):
        data = entry.data or {}
        ids = [data.get("in_reply_to", ""), data.get("thread_id", "")]
        if not any(ids):
            continue
        contacts = EntryLink.objects.filter(entry=entry, contact__isnull=False).values_list(
            "contact_id", flat=True
        )
        services.record_replies(
            message_ids=ids, contact_ids=list(contacts), from_address=str(data.get("from", "")),
            at=entry.occurred_at,
        )  # fmt: skip

"""Proposals: what the channels suggest about customers, applied by a rule or decided by a
data steward. (Being built: see issue 5.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rapport.audit.services import Actor

if TYPE_CHECKING:
    from rapport.ingest.mail import Message, StoreResult


def from_mail(*, message: Message, result: StoreResult, actor: Actor) -> None:
    """Learn from a received message (signature facts, unknown senders)."""
    return None

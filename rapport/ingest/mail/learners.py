"""Who learns from the mail that comes in.

Mail stores messages; it does not know what is learned from them. The proposals package
(signature facts, unknown senders) registers itself here when the app is ready
(``IngestConfig.ready``), so mail never imports proposals and proposals may import mail.

    learners.register(now=proposals.from_mail, later=queue_learning)

``now`` runs for each message as it is stored (IMAP polls, the webhook, a file read with
``learn="inline"``); ``later`` gets the entries of a file's batch to learn from in the
background. A learner that can take the messages of one delivery together (an IMAP poll's
fetch, ``mail.receive_many``) also registers ``many``, which gets them all at once, in
order, so that it can look up what they share once; without it, ``now`` is called for each.
With nothing registered, mail is stored and nothing is learned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rapport.core.actor import Actor

if TYPE_CHECKING:
    from rapport.ingest.mail.services import Message, StoreResult


@dataclass(frozen=True)
class Learner:
    now: Callable[..., None]  # (*, message: Message, result: StoreResult, actor: Actor)
    later: Callable[..., None]  # (*, entry_ids: list[int], actor: Actor)
    # (*, pairs: list[tuple[Message, StoreResult]], actor: Actor); None: ``now`` for each
    many: Callable[..., None] | None = None


_LEARNERS: list[Learner] = []


def register(
    *,
    now: Callable[..., None],
    later: Callable[..., None],
    many: Callable[..., None] | None = None,
) -> None:
    learner = Learner(now=now, later=later, many=many)
    if learner not in _LEARNERS:  # ready() may run more than once in tests
        _LEARNERS.append(learner)


def learn_now(*, message: Message, result: StoreResult, actor: Actor) -> None:
    for learner in _LEARNERS:
        learner.now(message=message, result=result, actor=actor)


def learn_now_many(*, pairs: list[tuple[Message, StoreResult]], actor: Actor) -> None:
    """``learn_now`` for the messages of one delivery, in their order: each learner in turn
    takes all of them (its ``many``, or its ``now`` message by message)."""
    if not pairs:
        return
    for learner in _LEARNERS:
        if learner.many is not None:
            learner.many(pairs=pairs, actor=actor)
        else:
            for message, result in pairs:
                learner.now(message=message, result=result, actor=actor)


def learn_later(*, entry_ids: list[int], actor: Actor) -> None:
    for learner in _LEARNERS:
        learner.later(entry_ids=entry_ids, actor=actor)

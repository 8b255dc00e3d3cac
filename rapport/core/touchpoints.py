"""Touchpoints: the moments after which a customer may be asked how it went.

The app where the moment happens (a case resolved, a deal won or lost, a meeting held, a
campaign message sent) calls ``touchpoint_reached(...)`` inside the service's transaction;
the listeners another app registered in its ``ready()`` (the surveys app: "send a CSAT
survey when a case is resolved") are called once the change commits, and never for a change
that rolls back. A listener should only queue work (a django-tasks task taking ids), so the
user's request is not held up and a failing listener cannot undo the change that reached the
touchpoint.

``rapport.core`` knows no app: the kinds are plain strings, listed in ``KINDS`` so a listener
can be checked against them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from rapport.core.transactions import after_commit

log = logging.getLogger(__name__)

KINDS = {
    "case_resolved": "A case was resolved",
    "deal_won": "A deal was won",
    "deal_lost": "A deal was lost",
    "meeting_held": "A meeting was held",
    "campaign_sent": "A campaign message was sent",
}


@dataclass(frozen=True)
class Touchpoint:
    kind: str  # a key of KINDS
    contact_id: int | None
    account_id: int | None
    department: str  # "service", "sales", "marketing": who is responsible for the moment
    object_kind: str  # "case", "deal", "task", "campaign"
    object_id: int
    staff_id: int | None = None
    occurred_at: dt.datetime | None = None


Listener = Callable[[Touchpoint], None]
_listeners: list[Listener] = []


def register_listener(listener: Listener) -> None:
    """Call ``listener(touchpoint)`` after every committed touchpoint (from ``ready()``)."""
    if listener not in _listeners:
        _listeners.append(listener)


def _notify(point: Touchpoint) -> None:
    for listener in list(_listeners):
        try:
            listener(point)
        except Exception:  # a listener's fault must not surface in the request that committed
            log.exception("touchpoint listener %r failed on %s", listener, point)


def touchpoint_reached(
    *,
    kind: str,
    contact_id: int | None,
    account_id: int | None,
    department: str,
    object_kind: str,
    object_id: int,
    staff_id: int | None = None,
    occurred_at: dt.datetime | None = None,
) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown touchpoint kind {kind!r}")
    point = Touchpoint(
        kind=kind, contact_id=contact_id, account_id=account_id, department=department,
        object_kind=object_kind, object_id=object_id, staff_id=staff_id,
        occurred_at=occurred_at or timezone.now(),
    )  # fmt: skip
    after_commit(_notify, point)

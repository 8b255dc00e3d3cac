"""In-app notifications: one row per person and event, listed on the queue."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from rapport.service.models import Case, Notification, ServiceTeam


def notify(
    *, recipients: list[Any], case: Case | None, kind: str, text: str, at: dt.datetime | None = None
) -> int:
    people = {getattr(r, "pk", r) for r in recipients if r is not None}
    people.discard(None)
    Notification.objects.bulk_create(
        Notification(
            recipient_id=pk, case=case, kind=kind, text=text[:500], created_at=at or timezone.now()
        )
        for pk in sorted(people)
    )
    return len(people)


def waiting_on(case: Case) -> list[int]:
    """Who hears of the case's goals: its owner, else its team's lead."""
    if case.owner_id:
        return [case.owner_id]
    if case.team_id is None:
        return []
    lead = (
        ServiceTeam.objects.filter(team_id=case.team_id).values_list("lead_id", flat=True).first()
    )
    return [lead] if lead else []


def mark_read(*, user: Any, ids: list[int] | None = None) -> int:
    """Mark the user's notifications read (only theirs: another's id changes nothing)."""
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())


def unread_for(user: Any, limit: int = 10) -> list[Notification]:
    return list(
        Notification.objects.filter(recipient=user, read_at__isnull=True).order_by(
            "-created_at", "-id"
        )[:limit]
    )

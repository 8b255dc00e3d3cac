"""Reading privacy requests: the register with its deadlines, one request."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from rapport.consent.models import PrivacyRequest
from rapport.core.errors import NotFound, ValidationFailed
from rapport.users import permissions
from rapport.users.models import RecordKind

# A deadline this close shows as due soon.
DUE_SOON = dt.timedelta(days=7)
OPEN = (PrivacyRequest.Status.RECEIVED, PrivacyRequest.Status.IN_PROGRESS)


@dataclass(frozen=True)
class RequestFilters:
    status: str = ""  # "", "open", or a status
    kind: str = ""


def privacy_request_list(
    *, actor: Any, filters: RequestFilters | None = None
) -> QuerySet[PrivacyRequest]:
    """The register, earliest deadline first (open requests before closed ones)."""
    permissions.require(actor.user, "view", RecordKind.PRIVACY)
    filters = filters or RequestFilters()
    qs = PrivacyRequest.objects.select_related("handled_by").order_by("due_at", "id")
    if filters.status == "open":
        qs = qs.filter(status__in=OPEN)
    elif filters.status:
        if filters.status not in PrivacyRequest.Status.values:
            raise ValidationFailed("Unknown status.", errors={"status": ["Not a status."]})
        qs = qs.filter(status=filters.status)
    if filters.kind:
        if filters.kind not in PrivacyRequest.Kind.values:
            raise ValidationFailed("Unknown kind.", errors={"kind": ["Not a kind of request."]})
        qs = qs.filter(kind=filters.kind)
    return qs


def privacy_request_get(*, actor: Any, pk: int) -> PrivacyRequest:
    permissions.require(actor.user, "view", RecordKind.PRIVACY)
    found = PrivacyRequest.objects.select_related("handled_by").filter(pk=pk).first()
    if found is None:
        raise NotFound("No such privacy request.")
    return found


def deadline(request: PrivacyRequest, now: dt.datetime | None = None) -> str:
    """ "overdue", "due_soon", "on_time" for an open request; "closed" for the others."""
    if request.status not in OPEN:
        return "closed"
    now = now or timezone.now()
    if request.due_at < now:
        return "overdue"
    if request.due_at - now <= DUE_SOON:
        return "due_soon"
    return "on_time"


def privacy_request_counts(*, actor: Any) -> dict[str, int]:
    """Open requests by deadline state, for the register's head."""
    now = timezone.now()
    counts = {"open": 0, "overdue": 0, "due_soon": 0}
    open_ones = privacy_request_list(actor=actor, filters=RequestFilters(status="open"))
    for request in open_ones.select_related(None).only("status", "due_at"):
        counts["open"] += 1
        state = deadline(request, now)
        if state in counts:
            counts[state] += 1
    return counts

"""The "My day" section of service: the cases waiting on you (rapport.followups.myday)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Prefetch
from django.urls import reverse
from django.utils.timesince import timesince

from rapport.customers.models import ContactPhone
from rapport.followups.myday import Item, Section, register_section
from rapport.service import selectors
from rapport.service.models import Case
from rapport.users import permissions
from rapport.users.models import RecordKind

LIMIT = 20
# Waiting on the agent, not on the customer or a third party.
WAITING_ON_YOU = (Case.Status.NEW, Case.Status.OPEN)


def cases_waiting_on_you(actor: Any, day: dt.date) -> list[Item]:
    """The open cases the actor owns that wait on them, most urgent and oldest first (two
    queries: the cases with their contacts, and those contacts' phones)."""
    if not getattr(actor, "pk", None) or not permissions.can(actor, "view", RecordKind.CASE):
        return []
    phones = Prefetch(
        "contact__phones", queryset=ContactPhone.objects.order_by("-is_primary", "id")
    )
    cases = (
        selectors.visible_cases(actor)
        .filter(owner_id=actor.pk, status__in=WAITING_ON_YOU)
        .select_related("contact")
        .prefetch_related(phones)
        .order_by("priority", "created_at", "id")[:LIMIT]
    )
    items = []
    for case in cases:
        phone = next(iter(case.contact.phones.all()), None)
        badge = "Important" if case.important else ""
        if case.priority <= Case.Priority.HIGH:
            badge = badge or case.get_priority_display()
        items.append(
            Item(
                title=f"{case.reference} {case.subject}",
                url=reverse("service:case-detail", args=[case.pk]),
                detail=f"{case.get_status_display()} · opened {timesince(case.created_at)} ago",
                contact_id=case.contact_id,
                contact_name=case.contact.full_name,
                phone=getattr(phone, "e164", "") or "",
                badge=badge,
            )
        )
    return items


def register() -> None:
    register_section(Section("cases", "Cases waiting on you", order=30, items=cases_waiting_on_you))

"""Proposed details still waiting for review, shown in the screen pop as things to confirm
with the caller ("Mobile number: +44 7700 900123?"), through the timeline's open-items
registry (``timeline.events.register_open_items``)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from rapport.ingest.models import Proposal
from rapport.ingest.proposals.selectors import proposed_value
from rapport.timeline.events import OpenItem
from rapport.users import permissions
from rapport.users.models import RecordKind

PER_CONTACT = 5


def pending_facts(actor: Any, contact_ids: list[int]) -> dict[int, list[OpenItem]]:
    """The pending proposed facts about these contacts (which the caller of the selector
    may already see), newest first. The link to the proposal is given only to those who
    may read the review queue."""
    # Only the contact and the state in SQL, sorted here: with a kind or an order in the
    # query, SQLite (without statistics) read every pending proposal through another index.
    rows = sorted(
        Proposal.objects.filter(contact_id__in=contact_ids, state=Proposal.State.PENDING).order_by(),
        key=lambda p: (p.created_at, p.pk),
        reverse=True,
    )
    linked = permissions.can(actor, "view", RecordKind.PROPOSAL)
    found: dict[int, list[OpenItem]] = {}
    for proposal in rows:
        if proposal.kind != Proposal.Kind.FACT:
            continue
        items = found.setdefault(int(proposal.contact_id or 0), [])
        if len(items) >= PER_CONTACT:
            continue
        items.append(
            OpenItem(
                kind="to_confirm",
                label="To confirm",
                title=f"{proposal.get_field_display()}: {proposed_value(proposal)}",
                url=reverse("ingest:proposal-detail", args=[proposal.pk]) if linked else "",
            )
        )
    return found

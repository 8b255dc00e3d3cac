"""Reading consent: a contact's grid and history, recent changes, the send log.

A contact's consent is visible to whoever may see the contact and read consent records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from rapport.consent.check import strictest
from rapport.consent.models import Channel, ConsentEvent, ConsentState, OutboundMessage, Purpose
from rapport.core.errors import NotFound
from rapport.customers.models import Contact
from rapport.users import permissions
from rapport.users.models import RecordKind


def contact_for_consent(*, actor: Any, pk: int, action: str = "view") -> Contact:
    """The contact, if the actor may see it (404 otherwise) and read consent (403)."""
    contact = Contact.objects.filter(pk=pk).first()
    if contact is None:
        raise NotFound("No such contact.")
    permissions.require_record(actor.user, "view", RecordKind.CONTACT, contact)
    permissions.require(actor.user, action, RecordKind.CONSENT)
    return contact


@dataclass(frozen=True)
class Cell:
    channel: str
    channel_label: str
    status: str  # granted, withdrawn, pending, expired, never_asked
    state: ConsentState | None
    addresses: tuple[ConsentState, ...]  # address-level states under it


@dataclass(frozen=True)
class Row:
    purpose: Purpose
    cells: tuple[Cell, ...]


def consent_grid(*, contact: Contact, purposes: list[Purpose] | None = None) -> list[Row]:
    """Channel × purpose for one contact: the contact-wide state of each cell and the
    per-address states below it (two queries)."""
    purposes = purposes if purposes is not None else list(Purpose.objects.filter(active=True))
    states = list(ConsentState.objects.filter(contact=contact))
    now = timezone.now()
    rows = []
    for purpose in purposes:
        cells = []
        for channel, label in Channel.choices:
            mine = [s for s in states if s.purpose_id == purpose.pk and s.channel == channel]
            wide = [s for s in mine if not s.address]
            status, state = strictest(wide, now)
            cells.append(
                Cell(channel, str(label), status, state, tuple(s for s in mine if s.address))
            )
        rows.append(Row(purpose, tuple(cells)))
    return rows


def consent_history(*, contact: Contact, limit: int = 200) -> QuerySet[ConsentEvent]:
    return (
        ConsentEvent.objects.filter(contact=contact)
        .select_related("purpose", "recorded_by")
        .order_by("-effective_at", "-id")[:limit]
    )


def consent_recent(*, actor: Any, limit: int = 50) -> list[ConsentEvent]:
    """The latest changes on contacts the actor may see."""
    permissions.require(actor.user, "view", RecordKind.CONSENT)
    qs = ConsentEvent.objects.select_related("purpose", "contact", "recorded_by").order_by(
        "-recorded_at", "-id"
    )
    q = permissions.visibility_q(actor.user, RecordKind.CONTACT, owner_field="contact__owner")
    if q is not None:
        qs = qs.filter(q)
    return list(qs[:limit])


def outbound_list(
    *, actor: Any, contact: Contact | None = None, limit: int = 100
) -> list[OutboundMessage]:
    """The send log: one contact's messages, or the latest on contacts the actor may see."""
    permissions.require(actor.user, "view", RecordKind.CONSENT)
    qs = OutboundMessage.objects.select_related("purpose").order_by("-id")
    if contact is not None:
        qs = qs.filter(contact=contact)
    else:
        q = permissions.visibility_q(actor.user, RecordKind.CONTACT, owner_field="contact__owner")
        if q is not None:
            qs = qs.filter(q)
    return list(qs[:limit])


def outbound_get(*, actor: Any, pk: int) -> OutboundMessage:
    message = OutboundMessage.objects.select_related("purpose").filter(pk=pk).first()
    if message is None:
        raise NotFound("No such message.")
    if message.contact_id is not None:
        contact_for_consent(actor=actor, pk=message.contact_id)
    else:
        permissions.require(actor.user, "view", RecordKind.CONSENT)
    return message

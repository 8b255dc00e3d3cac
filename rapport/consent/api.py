"""Consent endpoints of the REST API (mounted by rapport/api_urls.py): a contact's consent
(current state by channel and purpose, and its history), recording a grant or a
withdrawal, the purposes, and the send log. The same services and selectors as the pages.

The person's own endpoints are not here: one-click unsubscribe (RFC 8058, ``POST
/c/unsubscribe/<token>/`` with ``List-Unsubscribe=One-Click``) and the bounce webhook
are web endpoints reached without a user; see docs/consent.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from rapport.api.auth import actor_of
from rapport.api.common import problems
from rapport.consent import selectors, services
from rapport.consent.models import (
    Channel,
    ConsentEvent,
    LawfulBasis,
    OutboundMessage,
    Purpose,
    Source,
)

router = Router(tags=["Consent"])


class PurposeOut(Schema):
    key: str
    label: str
    description: str
    lawful_basis: str = Field(description=", ".join(LawfulBasis.values))
    double_opt_in: bool
    is_marketing: bool
    active: bool


class StateOut(Schema):
    channel: str
    purpose: str
    address: str = Field(description="'' for the whole contact")
    status: str = Field(description="granted, withdrawn, pending, expired, never_asked")
    lawful_basis: str | None
    effective_at: dt.datetime | None
    expires_at: dt.datetime | None


class EventOut(Schema):
    id: int
    channel: str
    purpose: str
    address: str
    status: str
    lawful_basis: str
    source: str
    evidence_text: str
    evidence_version: str
    note: str
    effective_at: dt.datetime
    expires_at: dt.datetime | None
    recorded_at: dt.datetime
    recorded_by: str | None
    via: str


class ConsentOut(Schema):
    contact_id: int
    state: list[StateOut]
    history: list[EventOut]


class ConsentIn(Schema):
    model_config = ConfigDict(extra="forbid")
    channel: str = Field(description=", ".join(Channel.values))
    purpose: str = Field(max_length=50, description="A purpose key")
    status: str = Field(description="granted or withdrawn")
    source: str = Field(Source.API, description=", ".join(Source.values))
    address: str = Field(
        "", max_length=254, description="One of the contact's addresses, or '' for all"
    )
    lawful_basis: str | None = Field(None, description="The purpose's unless given")
    evidence_text: str = Field("", max_length=5000)
    evidence_version: str = Field("", max_length=50)
    effective_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    note: str = Field("", max_length=300)
    confirmed: bool = Field(
        False, description="The person confirmed already (double opt-in done elsewhere)"
    )


class OutboundMessageOut(Schema):
    id: int
    contact_id: int | None
    batch_id: int | None
    purpose: str
    to_address: str
    subject: str
    status: str = Field(description=", ".join(OutboundMessage.Status.values))
    reason: str
    attempts: int
    message_id: str
    provider_message_id: str
    related_kind: str
    related_id: int | None
    queued_at: dt.datetime
    sent_at: dt.datetime | None


class MessagesQuery(Schema):
    contact_id: int | None = None
    size: int = Field(50, ge=1, le=100)


def _event_out(e: ConsentEvent) -> dict[str, Any]:
    return {
        "id": e.pk, "channel": e.channel, "purpose": e.purpose.key, "address": e.address,
        "status": e.status, "lawful_basis": e.lawful_basis, "source": e.source,
        "evidence_text": e.evidence_text, "evidence_version": e.evidence_version, "note": e.note,
        "effective_at": e.effective_at, "expires_at": e.expires_at, "recorded_at": e.recorded_at,
        "recorded_by": e.recorded_by.username if e.recorded_by else None, "via": e.via,
    }  # fmt: skip


def _state_out(channel: str, purpose: str, status: str, s: Any) -> dict[str, Any]:
    return {
        "channel": channel, "purpose": purpose, "address": s.address if s else "",
        "status": status, "lawful_basis": s.lawful_basis if s else None,
        "effective_at": s.effective_at if s else None, "expires_at": s.expires_at if s else None,
    }  # fmt: skip


def _consent_out(contact: Any) -> dict[str, Any]:
    state = []
    for row in selectors.consent_grid(contact=contact):
        for cell in row.cells:
            state.append(_state_out(cell.channel, row.purpose.key, cell.status, cell.state))
            state += [
                _state_out(cell.channel, row.purpose.key, s.status, s) for s in cell.addresses
            ]
    history = [_event_out(e) for e in selectors.consent_history(contact=contact)]
    return {"contact_id": contact.pk, "state": state, "history": history}


def _message_out(m: OutboundMessage) -> dict[str, Any]:
    return {
        "id": m.pk, "contact_id": m.contact_id, "batch_id": m.batch_id, "purpose": m.purpose.key,
        "to_address": m.to_address, "subject": m.subject, "status": m.status, "reason": m.reason,
        "attempts": m.attempts, "message_id": m.message_id,
        "provider_message_id": m.provider_message_id, "related_kind": m.related_kind,
        "related_id": m.related_id, "queued_at": m.queued_at, "sent_at": m.sent_at,
    }  # fmt: skip


@router.get(
    "/consent/purposes",
    response={200: list[PurposeOut], **problems(403)},
    url_name="consent-purposes",
)
def purposes(request: HttpRequest):
    """The purposes a message may have, with their lawful basis."""
    from rapport.users import permissions
    from rapport.users.models import RecordKind

    permissions.require(request.auth, "view", RecordKind.CONSENT)  # type: ignore[attr-defined]
    return list(Purpose.objects.all())


@router.get(
    "/contacts/{contact_id}/consent",
    response={200: ConsentOut, **problems(403, 404)},
    url_name="contact-consent",
)
def contact_consent(request: HttpRequest, contact_id: int):
    """Every channel × purpose: the current state (``never_asked`` where nothing was
    recorded) with the per-address states, and the history, newest first."""
    contact = selectors.contact_for_consent(actor=actor_of(request), pk=contact_id)
    return _consent_out(contact)


@router.post(
    "/contacts/{contact_id}/consent",
    response={201: EventOut, **problems(403, 404)},
    url_name="contact-consent-record",
)
def contact_consent_record(request: HttpRequest, contact_id: int, payload: ConsentIn):
    """Record a grant or a withdrawal. An e-mail grant for a purpose with double opt-in
    comes back ``pending`` and the person gets a confirmation link, unless ``confirmed``."""
    actor = actor_of(request)
    contact = selectors.contact_for_consent(actor=actor, pk=contact_id, action="add")
    event = services.consent_record(actor=actor, contact=contact, **payload.model_dump())
    event = ConsentEvent.objects.select_related("purpose", "recorded_by").get(pk=event.pk)
    return Status(201, _event_out(event))


@router.get(
    "/consent/messages",
    response={200: list[OutboundMessageOut], **problems(403, 404)},
    url_name="consent-messages",
)
def messages(request: HttpRequest, query: Query[MessagesQuery]):
    """The send log, newest first: one contact's (``contact_id``) or the latest on the
    contacts you may see."""
    actor = actor_of(request)
    contact = (
        selectors.contact_for_consent(actor=actor, pk=query.contact_id)
        if query.contact_id
        else None
    )
    return [
        _message_out(m)
        for m in selectors.outbound_list(actor=actor, contact=contact, limit=query.size)
    ]


@router.get(
    "/consent/messages/{message_id}",
    response={200: OutboundMessageOut, **problems(403, 404)},
    url_name="consent-message",
)
def message(request: HttpRequest, message_id: int):
    """One message: what became of it (queued, sending, sent, blocked and why, failed, bounced)."""
    return _message_out(selectors.outbound_get(actor=actor_of(request), pk=message_id))

"""Consent endpoints of the REST API (mounted by rapport/api_urls.py): a contact's consent
(current state by channel and purpose, and its history), recording a grant or a
withdrawal, the purposes, and the send log. The same services and selectors as the pages.

The person's own endpoints are not here: one-click unsubscribe (RFC 8058, ``POST
/c/unsubscribe/<token>/`` with ``List-Unsubscribe=One-Click``) and the bounce webhook
are web endpoints reached without a user; see docs/consent.md.
"""

from __future__ import annotations

import datetime as dt
import json
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
    PrivacyRequest,
    Purpose,
    Source,
)
from rapport.consent.requests import render as request_render
from rapport.consent.requests import selectors as request_selectors
from rapport.consent.requests import services as request_services

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


# --- Privacy requests (register, export, erasure) --------------------------------------


class PrivacyRequestOut(Schema):
    id: int
    kind: str = Field(description=", ".join(PrivacyRequest.Kind.values))
    contact_id: int | None = Field(description="None once the person is erased")
    contact_ref: int = Field(description="The contact the request was for, kept after erasure")
    subject_label: str
    received_at: dt.datetime
    due_at: dt.datetime
    deadline: str = Field(description="overdue, due_soon, on_time, closed")
    status: str = Field(description=", ".join(PrivacyRequest.Status.values))
    details: str
    outcome: str
    handled_by: str | None
    handled_at: dt.datetime | None
    record: dict[str, Any] = Field(description="What an erasure did and kept, by handler")
    version: int


class PrivacyRequestIn(Schema):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(description=", ".join(PrivacyRequest.Kind.values))
    contact: int = Field(ge=1, le=2**63 - 1)
    received_at: dt.datetime | None = Field(None, description="Now unless given; not in the future")
    details: str = Field("", max_length=5000)


class PrivacyRequestPatch(Schema):
    model_config = ConfigDict(extra="forbid")
    status: str | None = Field(None, description="received, in_progress, done, refused")
    outcome: str | None = Field(None, max_length=5000)


class PrivacyRequestQuery(Schema):
    status: str = Field("open", description="open, '' for all, or a status")
    kind: str = ""


class PrivacyExportOut(Schema):
    format: str
    generated_at: str
    request: int
    contact_id: int
    data: dict[str, Any] = Field(description="What each app holds about the person, by kind")


def _request_out(r: PrivacyRequest) -> dict[str, Any]:
    return {
        "id": r.pk, "kind": r.kind, "contact_id": r.contact_id, "contact_ref": r.contact_ref,
        "subject_label": r.subject_label, "received_at": r.received_at, "due_at": r.due_at,
        "deadline": request_selectors.deadline(r), "status": r.status, "details": r.details,
        "outcome": r.outcome, "handled_by": r.handled_by.username if r.handled_by else None,
        "handled_at": r.handled_at, "record": r.record, "version": r.version,
    }  # fmt: skip


@router.get(
    "/privacy/requests",
    response={200: list[PrivacyRequestOut], **problems(403)},
    url_name="privacy-requests",
)
def privacy_requests(request: HttpRequest, query: Query[PrivacyRequestQuery]):
    """The register of privacy requests, earliest deadline first (open ones by default)."""
    filters = request_selectors.RequestFilters(status=query.status, kind=query.kind)
    found = request_selectors.privacy_request_list(actor=actor_of(request), filters=filters)
    return [_request_out(r) for r in found[:500]]


@router.post(
    "/privacy/requests",
    response={201: PrivacyRequestOut, **problems(403)},
    url_name="privacy-request-create",
)
def privacy_request_create(request: HttpRequest, payload: PrivacyRequestIn):
    """Record a request received from a person; it is due one month after ``received_at``."""
    created = request_services.privacy_request_create(
        actor=actor_of(request), data=payload.model_dump()
    )
    return Status(201, _request_out(created))


@router.get(
    "/privacy/requests/{request_id}",
    response={200: PrivacyRequestOut, **problems(403, 404)},
    url_name="privacy-request",
)
def privacy_request(request: HttpRequest, request_id: int):
    return _request_out(
        request_selectors.privacy_request_get(actor=actor_of(request), pk=request_id)
    )


@router.patch(
    "/privacy/requests/{request_id}",
    response={200: PrivacyRequestOut, **problems(403, 404, 409)},
    url_name="privacy-request-update",
)
def privacy_request_update(request: HttpRequest, request_id: int, payload: PrivacyRequestPatch):
    """Move a request on: its status and outcome. An erasure request is done by erasing."""
    actor = actor_of(request)
    found = request_selectors.privacy_request_get(actor=actor, pk=request_id)
    data = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    return _request_out(
        request_services.privacy_request_update(actor=actor, request=found, data=data)
    )


@router.post(
    "/privacy/requests/{request_id}/erase",
    response={200: PrivacyRequestOut, **problems(403, 404, 409)},
    url_name="privacy-request-erase",
)
def privacy_request_erase(request: HttpRequest, request_id: int):
    """Erase the request's person everywhere, in one transaction; the request then says
    what was erased and what was kept, and why. Again is the same as once."""
    actor = actor_of(request)
    found = request_selectors.privacy_request_get(actor=actor, pk=request_id)
    return _request_out(request_services.privacy_request_erase(actor=actor, request=found))


@router.get(
    "/privacy/requests/{request_id}/export",
    response={200: PrivacyExportOut, **problems(403, 404)},
    url_name="privacy-request-export",
)
def privacy_request_export(request: HttpRequest, request_id: int):
    """Everything Rapport holds about the request's person, from every app, as JSON."""
    actor = actor_of(request)
    found = request_selectors.privacy_request_get(actor=actor, pk=request_id)
    package = request_services.privacy_request_export(actor=actor, request=found)
    return json.loads(request_render.to_json(package))

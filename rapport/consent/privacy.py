"""What consent holds about a person, for export and erasure (``rapport.core.privacy``).

An erasure removes the person's consent history, current state and send log. Before it
does, every e-mail address of a person who had withdrawn any e-mail consent (or whose
address was suppressed already) goes on the suppression list as a peppered hash: an
erased person who asked never to be mailed is never mailed again, and nothing readable of
them is kept.

What is kept, and why (decision 0027): the suppression hashes (to honour the objection
for ever, which a deleted address could not), and the fact of each withdrawal (channel,
purpose, when and how it was made, no address) in the erasure's record on the privacy
request, under the contact's number only: proof that an objection was honoured is a
legal obligation of the one who sent, and it names nobody. The privacy requests
themselves stay (the register of requests is an obligation too), their name and details
replaced by the contact's number.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from rapport.consent.models import (
    Channel,
    ConsentEvent,
    ConsentState,
    OutboundMessage,
    PrivacyRequest,
    Status,
    Suppression,
)
from rapport.consent.suppression import suppression_add
from rapport.core import privacy


def consent_export(*, contact_id: int) -> dict[str, Any]:
    events = (
        ConsentEvent.objects.filter(contact_id=contact_id)
        .select_related("purpose")
        .order_by("effective_at", "id")
    )
    states = (
        ConsentState.objects.filter(contact_id=contact_id).select_related("purpose").order_by("id")
    )
    messages = (
        OutboundMessage.objects.filter(contact_id=contact_id)
        .select_related("purpose")
        .order_by("id")
    )
    return {
        "history": [
            {
                "channel": e.channel, "purpose": e.purpose.key, "address": e.address,
                "status": e.status, "lawful_basis": e.lawful_basis, "source": e.source,
                "evidence_text": e.evidence_text, "evidence_version": e.evidence_version,
                "effective_at": e.effective_at.isoformat(),
                "expires_at": e.expires_at.isoformat() if e.expires_at else None,
                "recorded_at": e.recorded_at.isoformat(), "via": e.via,
            }
            for e in events
        ],
        "current": [
            {"channel": s.channel, "purpose": s.purpose.key, "address": s.address, "status": s.status}
            for s in states
        ],
        "messages": [
            {
                "to": m.to_address, "subject": m.subject, "purpose": m.purpose.key,
                "status": m.status, "queued_at": m.queued_at.isoformat(),
                "sent_at": m.sent_at.isoformat() if m.sent_at else None,
            }
            for m in messages
        ],
        "privacy_requests": [
            {
                "kind": r.kind, "received_at": r.received_at.isoformat(),
                "due_at": r.due_at.isoformat(), "status": r.status, "details": r.details,
                "outcome": r.outcome,
            }
            for r in PrivacyRequest.objects.filter(
                Q(contact_id=contact_id) | Q(contact_ref=contact_id)
            ).order_by("id")
        ],
    }  # fmt: skip


def erased_label(contact_id: int) -> str:
    return f"Erased contact #{contact_id}"


def consent_erase(*, actor: Any, contact_id: int) -> dict[str, Any]:
    from rapport.customers.models import ContactEmail

    withdrew = ConsentEvent.objects.filter(
        contact_id=contact_id, channel=Channel.EMAIL, status=Status.WITHDRAWN
    ).exists()
    if withdrew:
        addresses = set(
            ContactEmail.objects.filter(contact_id=contact_id).values_list("email", flat=True)
        )
        addresses |= set(
            ConsentEvent.objects.filter(contact_id=contact_id, channel=Channel.EMAIL)
            .exclude(address="")
            .values_list("address", flat=True)
        )
        addresses |= set(
            OutboundMessage.objects.filter(contact_id=contact_id).values_list(
                "to_address", flat=True
            )
        )
        for address in sorted(addresses):
            suppression_add(
                channel=Channel.EMAIL, address=address, reason=Suppression.Reason.ERASURE
            )
        suppressed = len(addresses)
    else:
        suppressed = 0
    withdrawals = [
        {"channel": e.channel, "purpose": e.purpose.key, "effective_at": e.effective_at.isoformat(),
         "source": e.source, "lawful_basis": e.lawful_basis}
        for e in ConsentEvent.objects.filter(contact_id=contact_id, status=Status.WITHDRAWN)
        .select_related("purpose")
        .order_by("effective_at", "id")
    ]  # fmt: skip
    changed = 0
    for model in (OutboundMessage, ConsentState, ConsentEvent):
        changed += model.objects.filter(contact_id=contact_id).delete()[0]
    requests = PrivacyRequest.objects.filter(
        Q(contact_id=contact_id) | Q(contact_ref=contact_id)
    ).update(contact_ref=contact_id, subject_label=erased_label(contact_id), details="")
    return {
        "rows_deleted": changed,
        "privacy_requests_anonymised": requests,
        "kept": {
            "suppressed_addresses": suppressed,
            "withdrawals": withdrawals,
            "why": "An objection to mail must be honoured after the erasure (suppression "
            "hashes) and shown to have been (the withdrawals, without an address).",
        },
    }


def register_all() -> None:
    privacy.register(
        "consent",
        export=consent_export,
        erase=consent_erase,
        models=(
            "consent.ConsentEvent",
            "consent.ConsentState",
            "consent.OutboundMessage",
            "consent.PrivacyRequest",
        ),
    )

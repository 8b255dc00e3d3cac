"""A case's reply to the customer, handed to the one send gate (``rapport.consent.sending``).

The gate stores the message and sends it after commit from a background task, checking
consent for the e-mail channel and the "service" purpose at the moment of sending, and
gives the message its Message-ID, which the case keeps so that the customer's answer
(In-Reply-To) threads back onto it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rapport.core.actor import Actor

if TYPE_CHECKING:
    from rapport.service.models import Case

PURPOSE = "service"


@dataclass(frozen=True)
class Queued:
    message_id: str  # without angle brackets
    outbound_id: int | None


def _bracketed(message_id: str) -> str:
    return f"<{message_id.strip('<>')}>" if message_id else ""


def queue_reply(
    *,
    actor: Actor,
    case: Case,
    to: str,
    subject: str,
    text: str,
    in_reply_to: str,
    references: list[str],
) -> Queued:
    from rapport.consent.sending import OutboundEmail, send_queue

    row = send_queue(
        actor=actor,
        message=OutboundEmail(
            contact_id=case.contact_id,
            to_address=to,
            purpose=PURPOSE,
            subject=subject,
            text=text,
            in_reply_to=_bracketed(in_reply_to),
            references=tuple(_bracketed(r) for r in references),
            related_kind="case",
            related_id=case.pk,
        ),
    )
    return Queued(message_id=str(row.message_id).strip("<>")[:250], outbound_id=row.pk)

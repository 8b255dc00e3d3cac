"""Consent on merge and unmerge, through the identity registry.

The history (``ConsentEvent``) and the send log (``OutboundMessage``) move to the survivor
and back. The current state (``ConsentState``) is unique per contact, channel, purpose
and address: where both records hold one, the most restrictive wins (withdrawn over
pending over granted; the later moment and the earlier expiry for equal states), and an
unmerge puts both back as they were.
"""

from __future__ import annotations

from rapport.consent.models import (
    ConsentEvent,
    ConsentState,
    OutboundMessage,
    PrivacyRequest,
    Status,
)
from rapport.identity.registry import Relation, Values, register

_RANK = {Status.WITHDRAWN: 3, Status.PENDING: 2, Status.GRANTED: 1}
_CARRIED = ("status", "lawful_basis", "event_id", "effective_at", "expires_at")


def most_restrictive(survivor: Values, merged: Values) -> Values:
    """What the survivor's state becomes: the stricter of the two rows."""
    s_rank, m_rank = _RANK.get(survivor["status"], 0), _RANK.get(merged["status"], 0)
    if m_rank > s_rank:
        return {k: merged[k] for k in _CARRIED}
    if m_rank == s_rank == _RANK[Status.GRANTED]:
        # Both granted: the grant that ends first bounds the merged record.
        ends = [v for v in (survivor["expires_at"], merged["expires_at"]) if v]
        if ends and min(ends) != survivor["expires_at"]:
            return {"expires_at": min(ends)}
    return {}


def register_all() -> None:
    register(Relation(ConsentEvent, "contact", kind="contact"))
    register(
        Relation(
            ConsentState,
            "contact",
            kind="contact",
            unique_with=("channel", "purpose", "address"),
            combine=most_restrictive,
        )
    )
    register(Relation(OutboundMessage, "contact", kind="contact"))
    # A request follows its person to the survivor (``contact_ref`` keeps the id it came for).
    register(Relation(PrivacyRequest, "contact", kind="contact"))

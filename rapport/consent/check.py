"""The one consent check of every send (``consent_allows``), read by the gate at the
moment a message goes (rapport.consent.delivery) and by anyone who wants to know first."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from rapport.consent.models import ConsentState, LawfulBasis, Purpose, Status
from rapport.consent.suppression import is_suppressed, normalised

# A double opt-in confirmation: allowed while the grant it confirms is pending.
CONFIRMATION_KIND = "consent_confirmation"


@dataclass(frozen=True)
class Decision:
    """Whether a message may go, and why (the reason is stored on a blocked message)."""

    allowed: bool
    reason: str
    status: str = ""  # granted, withdrawn, pending, never_asked, expired, suppressed
    lawful_basis: str = ""

    def __bool__(self) -> bool:
        return self.allowed


_RANK = {Status.WITHDRAWN: 3, Status.PENDING: 2, Status.GRANTED: 1}


def strictest(states: Iterable[ConsentState], now: Any) -> tuple[str, ConsentState | None]:
    """The most restrictive of several current states (the contact's and the address's):
    withdrawn over pending over granted; a grant past its expiry counts as never asked."""
    best: tuple[int, str, ConsentState | None] = (0, "never_asked", None)
    for state in states:
        status = state.status
        if status == Status.GRANTED and state.expires_at is not None and state.expires_at <= now:
            status = "expired"
        rank = _RANK.get(status, 0)  # type: ignore[call-overload]
        if rank > best[0] or (rank == best[0] == 0 and status == "expired"):
            best = (rank, status, state)
    return best[1], best[2]


def consent_allows(
    *,
    contact_id: int | None,
    address: str,
    channel: str,
    purpose: str | Purpose,
    confirmation: bool = False,
) -> Decision:
    """The one consent check of every send. The rules, in order: an unknown or inactive
    purpose never goes; a suppressed address never gets anything; contract and legal
    obligation need no opt-in; a withdrawal (an objection) stops legitimate interest and
    consent; consent needs a grant that is confirmed and not expired. A double opt-in
    confirmation goes only while the grant it confirms is pending."""
    # The gate passes the message's purpose as loaded (one query fewer a message).
    found = purpose if isinstance(purpose, Purpose) else Purpose.objects.filter(key=purpose).first()
    if found is None or not found.active:
        return Decision(False, f"No active purpose {purpose!r}.", "never_asked")
    basis = found.lawful_basis
    suppressed = is_suppressed(channel=channel, address=address)
    if suppressed:
        return Decision(
            False, f"The address is on the suppression list ({suppressed}).", "suppressed", basis
        )
    if basis in (LawfulBasis.CONTRACT, LawfulBasis.LEGAL_OBLIGATION):
        return Decision(
            True, f"Lawful basis: {found.get_lawful_basis_display().lower()}.", "", basis
        )
    if contact_id is None:
        return Decision(False, "No contact to hold a consent.", "never_asked", basis)
    now = timezone.now()
    rows = ConsentState.objects.filter(
        contact_id=contact_id,
        channel=channel,
        purpose=found,
        address__in=["", normalised(channel, address)],
    )
    states = list(rows)
    status, state = strictest(states, now)
    if confirmation:
        # The address's own pending grant, even under a contact-wide withdrawal: the
        # person is asking again, and only the confirmation makes it a consent.
        if any(s.status == Status.PENDING for s in states):
            return Decision(True, "Confirming a pending grant.", status, basis)
        return Decision(False, "No grant is waiting for confirmation.", status, basis)
    if status == Status.WITHDRAWN:
        when = state.effective_at.date().isoformat() if state else ""
        return Decision(False, f"{found.label}: withdrawn on {when}.", status, basis)
    if basis == LawfulBasis.LEGITIMATE_INTEREST:
        return Decision(True, "Lawful basis: legitimate interest, no objection.", status, basis)
    if status == Status.GRANTED:
        return Decision(True, f"{found.label}: granted.", status, basis)
    if status == Status.PENDING:
        return Decision(False, f"{found.label}: waiting for the person to confirm.", status, basis)
    if status == "expired":
        return Decision(False, f"{found.label}: the consent has expired.", status, basis)
    return Decision(False, f"{found.label}: never asked.", status, basis)

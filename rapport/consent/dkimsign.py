"""DKIM signing of what the gate sends (dkimpy), where a key is configured.

``CONSENT_DKIM_DOMAIN``, ``CONSENT_DKIM_SELECTOR`` and ``CONSENT_DKIM_PRIVATE_KEY`` (PEM,
or ``CONSENT_DKIM_PRIVATE_KEY_FILE``) come from the environment. The signed header set
always holds ``List-Unsubscribe`` and ``List-Unsubscribe-Post`` when present: RFC 8058
requires both to be covered, or a receiver ignores the one-click header (a relay could
otherwise add one that unsubscribes someone else). Relaxed canonicalisation, so a relay
that refolds a header does not break the signature.
"""

from __future__ import annotations

from typing import Any

import dkim
from django.conf import settings

SIGNED = (
    "From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID", "In-Reply-To",
    "References", "MIME-Version", "Content-Type", "List-Unsubscribe", "List-Unsubscribe-Post",
)  # fmt: skip


def configured() -> tuple[str, str, str] | None:
    domain = getattr(settings, "CONSENT_DKIM_DOMAIN", "")
    selector = getattr(settings, "CONSENT_DKIM_SELECTOR", "")
    key = getattr(settings, "CONSENT_DKIM_PRIVATE_KEY", "")
    return (domain, selector, key) if domain and selector and key else None


def sign_mime(message: Any) -> Any:
    """Add a DKIM-Signature header to a MIME message (returned), if a key is configured."""
    config = configured()
    if config is None:
        return message
    domain, selector, key = config
    raw = message.as_bytes(linesep="\r\n")
    present = [h for h in SIGNED if message.get(h) is not None]
    signature = dkim.sign(
        raw,
        selector.encode(),
        domain.encode(),
        key.encode(),
        include_headers=[h.encode() for h in present],
        canonicalize=(b"relaxed", b"relaxed"),
    )
    name, _, value = signature.decode("ascii").partition(":")
    # The generator folds it again; relaxed canonicalisation ignores the folding.
    unfolded = " ".join(part.strip() for part in value.splitlines() if part.strip())
    message._headers.insert(0, (name, unfolded))
    return message

"""The suppression list: addresses never to be contacted again, kept only as hashes.

An erased person who asked never to be mailed must never be mailed again, yet an erasure
removes their address. So the address is kept as HMAC-SHA-256 of its normalised form,
keyed by a server-side pepper (``CONSENT_SUPPRESSION_PEPPER``, from the environment): the
gate can tell that an address it is about to mail is on the list, but the list alone
gives no address back (a plain hash of an e-mail address is reversed by hashing a list of
known addresses; the pepper, kept apart from the database, prevents that).
See docs/decisions (suppression hashes).
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings

from rapport.consent.models import Channel, Suppression
from rapport.customers.normalize import normalize_email, normalize_phone


def _pepper() -> bytes:
    configured = getattr(settings, "CONSENT_SUPPRESSION_PEPPER", "")
    if configured:
        return configured.encode()
    # Development: derived from the secret key (a production deployment sets its own, so
    # rotating SECRET_KEY does not empty the list).
    return hmac.new(settings.SECRET_KEY.encode(), b"rapport.consent.suppression", "sha256").digest()


def normalised(channel: str, address: str) -> str:
    """The form that is hashed: the stored form of an e-mail address or an E.164 number."""
    address = (address or "").strip()
    try:
        if channel == Channel.EMAIL:
            return normalize_email(address)[0]
        if channel in (Channel.PHONE, Channel.SMS, Channel.MESSAGING):
            return normalize_phone(address)[0]
    except ValueError:
        pass
    return address.lower()


def address_hash(channel: str, address: str) -> str:
    # Phone, SMS and messaging reach the same number: one hash for all three.
    family = "email" if channel == Channel.EMAIL else "phone"
    value = f"{family}:{normalised(channel, address)}".encode()
    return hmac.new(_pepper(), value, hashlib.sha256).hexdigest()


def suppression_add(*, channel: str, address: str, reason: str) -> Suppression:
    """Put an address on the list (once; the first reason stands)."""
    row, _ = Suppression.objects.get_or_create(
        channel=Channel.EMAIL if channel == Channel.EMAIL else Channel.PHONE,
        address_hash=address_hash(channel, address),
        defaults={"reason": reason},
    )
    return row


def is_suppressed(*, channel: str, address: str) -> str:
    """The reason an address is on the list, or ""."""
    if not address:
        return ""
    reason = (
        Suppression.objects.filter(
            channel=Channel.EMAIL if channel == Channel.EMAIL else Channel.PHONE,
            address_hash=address_hash(channel, address),
        )
        .values_list("reason", flat=True)
        .first()
    )
    return reason or ""

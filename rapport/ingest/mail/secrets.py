"""Credentials stored encrypted (a mailbox's password): Fernet (AES-128-CBC + HMAC-SHA256)
from the ``cryptography`` package.

Keys come from the environment: ``RAPPORT_CREDENTIALS_KEYS`` (or ``..._FILE``), read into
the setting of that name by ``rapport.settings``: a comma-separated list of Fernet keys,
the first encrypting and all decrypting, so a key can be rotated by putting the new one
first. Without it the key is derived from ``SECRET_KEY``
(HKDF), which is enough for one installation but ties the stored passwords to that key.
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class SecretUnreadable(Exception):
    """A stored secret that none of the configured keys opens (the keys changed)."""


@functools.cache
def _fernet() -> MultiFernet:
    keys = str(getattr(settings, "RAPPORT_CREDENTIALS_KEYS", "") or "")
    configured = [k.strip() for k in keys.split(",") if k.strip()]
    if configured:
        return MultiFernet([Fernet(k.encode()) for k in configured])
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"rapport-credentials").derive(
        settings.SECRET_KEY.encode()
    )
    return MultiFernet([Fernet(base64.urlsafe_b64encode(derived))])


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode() if plain else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "The stored password cannot be decrypted: the credentials key changed. Enter it again."
        ) from exc

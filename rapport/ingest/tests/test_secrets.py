"""Mailbox passwords are encrypted with the configured credentials keys."""

import pytest
from cryptography.fernet import Fernet

from rapport.ingest.mail import secrets


def test_the_first_configured_key_encrypts_and_every_key_decrypts(settings):
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    earlier = Fernet(old.encode()).encrypt(b"from before the rotation").decode()
    settings.RAPPORT_CREDENTIALS_KEYS = f"{new}, {old}"
    secrets._fernet.cache_clear()
    try:
        token = secrets.encrypt("hunter2")
        assert Fernet(new.encode()).decrypt(token.encode()) == b"hunter2"
        assert secrets.decrypt(earlier) == "from before the rotation"
    finally:
        secrets._fernet.cache_clear()


def test_without_keys_the_key_is_derived_from_the_secret_key(settings):
    settings.RAPPORT_CREDENTIALS_KEYS = ""
    secrets._fernet.cache_clear()
    try:
        token = secrets.encrypt("hunter2")
        assert secrets.decrypt(token) == "hunter2"
        settings.SECRET_KEY = "another-secret-key-entirely-for-this-test"
        secrets._fernet.cache_clear()
        with pytest.raises(secrets.SecretUnreadable):
            secrets.decrypt(token)
    finally:
        secrets._fernet.cache_clear()

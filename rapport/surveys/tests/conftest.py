from __future__ import annotations

from collections.abc import Iterator

import pytest

from rapport.consent.tests.smtp import Inbox, Server


@pytest.fixture(autouse=True)
def gated_backend(settings):
    """Mail goes through the gate's backend as deployed (Django's test set-up swaps it)."""
    settings.EMAIL_BACKEND = "rapport.consent.backend.GatedEmailBackend"


@pytest.fixture
def smtp(settings) -> Iterator[Inbox]:
    """A real SMTP server on this machine (aiosmtpd), behind the gate."""
    with Server() as server:
        settings.CONSENT_EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        yield server.inbox

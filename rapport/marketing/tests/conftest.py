from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def gated_backend(settings):
    """Django's test set-up swaps EMAIL_BACKEND for the in-memory one; put the gate's back
    (it hands stamped messages to CONSENT_EMAIL_BACKEND, in-memory in tests), so a campaign
    message that went around the gate would be refused here as in production."""
    settings.EMAIL_BACKEND = "rapport.consent.backend.GatedEmailBackend"
    settings.RAPPORT_PUBLIC_URL = "https://crm.example.com"

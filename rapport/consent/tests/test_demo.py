"""The demo's consent part: history on the demo contacts and a send log that obeys it."""

from __future__ import annotations

import pytest

from rapport.consent.check import consent_allows
from rapport.consent.demo import consent_demo_load
from rapport.consent.models import ConsentEvent, OutboundMessage
from rapport.customers.tests.factories import make_contact


@pytest.mark.django_db
def test_the_demo_adds_history_and_a_send_log_that_consent_explains():
    for _ in range(60):
        make_contact()
    line = consent_demo_load(seed=3)
    assert line.startswith("Consent:")
    sources = set(ConsentEvent.objects.values_list("source", flat=True))
    assert {"form", "import"} <= sources
    assert ConsentEvent.objects.filter(status="withdrawn").exists() or len(sources) >= 2
    assert OutboundMessage.objects.filter(status="sent").exists()
    for message in OutboundMessage.objects.select_related("purpose"):
        allowed = consent_allows(
            contact_id=message.contact_id, address=message.to_address, channel="email",
            purpose=message.purpose.key,
        ).allowed  # fmt: skip
        assert allowed == (message.status == "sent")
    assert consent_demo_load(seed=3) == "Consent: already there, nothing added."
    first = list(ConsentEvent.objects.values_list("contact_id", "purpose__key", "status", "source"))
    ConsentEvent.objects.all().delete()
    OutboundMessage.objects.all().delete()
    from rapport.consent.models import ConsentState

    ConsentState.objects.all().delete()
    consent_demo_load(seed=3)
    assert (
        list(ConsentEvent.objects.values_list("contact_id", "purpose__key", "status", "source"))
        == first
    )

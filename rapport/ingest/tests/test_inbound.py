"""The inbound-mail webhook: raw MIME posted by a mail provider."""

from __future__ import annotations

from pathlib import Path

from rapport.customers.tests.factories import make_contact
from rapport.timeline.models import Entry

SAMPLES = Path(__file__).parent / "mail"


def _raw(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def _sample_with_a_known_sender() -> tuple[bytes, str]:
    from rapport.ingest.mail import services as mail

    raw = _raw("plain.eml")
    return raw, mail.parse(raw).from_[1]


def test_a_posted_message_lands_once_on_the_senders_timeline(api_client, personas):
    raw, sender = _sample_with_a_known_sender()
    contact = make_contact(emails=[sender])
    client = api_client("alice")
    first = client.post("/api/v1/inbound/mail", data=raw, content_type="message/rfc822")
    assert first.status_code == 201, first.content
    assert first.json()["status"] == "stored" and first.json()["contacts"] == [contact.pk]
    again = client.post("/api/v1/inbound/mail", data=raw, content_type="message/rfc822")
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert Entry.objects.filter(kind="email").count() == 1


def test_an_unknown_sender_is_reported_and_nothing_stored(api_client, personas):
    raw, sender = _sample_with_a_known_sender()
    response = api_client("alice").post(
        "/api/v1/inbound/mail", data=raw, content_type="message/rfc822"
    )
    assert response.status_code == 200 and response.json()["status"] == "unmatched"
    assert response.json()["sender"] == sender and not Entry.objects.exists()


def test_unreadable_mime_is_a_clear_422_and_an_oversized_one_413(api_client, personas, settings):
    client = api_client("alice")
    broken = client.post(
        "/api/v1/inbound/mail", data=b"not a message at all", content_type="message/rfc822"
    )
    assert broken.status_code == 422 and "cannot be read" in broken.json()["detail"]
    settings.MAIL_MAX_MESSAGE_BYTES = 100
    big = client.post("/api/v1/inbound/mail", data=_raw("plain.eml"), content_type="message/rfc822")
    assert big.status_code == 413


def test_the_webhook_needs_a_token_with_rights_on_contacts(api_client, personas, client):
    raw, _ = _sample_with_a_known_sender()
    assert (
        client.post("/api/v1/inbound/mail", data=raw, content_type="message/rfc822").status_code
        == 401
    )
    assert (
        api_client("rita")
        .post("/api/v1/inbound/mail", data=raw, content_type="message/rfc822")
        .status_code
        == 403
    )

"""The inbound-mail webhook: raw MIME posted by a mail provider."""

from __future__ import annotations

import io
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


# --- size (issue 11) ---------------------------------------------------------------------


def _big(raw: bytes, size: int) -> bytes:
    """The sample grown to ``size`` bytes with a text attachment (still a valid message)."""
    head, _, _ = raw.partition(b"\n\n")
    pad = size - len(head) - 200
    line = b"x" * 76 + b"\n"
    body = line * (pad // len(line))
    return (
        head.replace(b"Content-Type:", b"X-Old-Content-Type:")
        + b"\nContent-Type: text/plain\n\n"
        + body
    )


def test_a_message_up_to_the_documented_limit_is_accepted(api_client, personas, settings):
    raw, sender = _sample_with_a_known_sender()
    make_contact(emails=[sender])
    big = _big(raw, 5 * 1024 * 1024)  # over Django's 2.5 MB DATA_UPLOAD_MAX_MEMORY_SIZE
    assert len(big) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = api_client("alice").post(
        "/api/v1/inbound/mail", data=big, content_type="message/rfc822"
    )
    assert response.status_code == 201, response.content[:300]


def test_a_message_over_the_limit_is_413_problem_json_from_its_content_length(
    api_client, personas, settings
):
    settings.MAIL_MAX_MESSAGE_BYTES = 1000
    raw, _ = _sample_with_a_known_sender()
    response = api_client("alice").post(
        "/api/v1/inbound/mail", data=_big(raw, 5000), content_type="message/rfc822"
    )
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert "at most 1,000 bytes" in response.json()["detail"]


class _Chunked(io.BytesIO):
    """The input of a chunked request as a server hands it over: read to its end."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.served = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.served += len(data)
        return data


def _post_chunked(client, data: bytes, stream: _Chunked):
    return client.generic(
        "POST", "/api/v1/inbound/mail", data, content_type="message/rfc822",
        CONTENT_LENGTH="", HTTP_TRANSFER_ENCODING="chunked", **{"wsgi.input": stream, "wsgi.input_terminated": True},
    )  # fmt: skip


def test_a_chunked_message_is_read_and_one_over_the_limit_refused_without_reading_it_all(
    api_client, personas, settings
):
    raw, sender = _sample_with_a_known_sender()
    contact = make_contact(emails=[sender])
    client = api_client("alice")
    response = _post_chunked(client, raw, _Chunked(raw))
    assert response.status_code == 201, response.content[:300]
    assert response.json()["contacts"] == [contact.pk]
    settings.MAIL_MAX_MESSAGE_BYTES = 100_000
    huge = _big(raw, 3_000_000)
    stream = _Chunked(huge)
    response = _post_chunked(client, huge, stream)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert stream.served < 100_000 + 2 * 64 * 1024

"""One-click unsubscribe (RFC 8058) and DKIM, read from what a real SMTP server received."""

from __future__ import annotations

import base64
import re

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client
from django.urls import reverse

from rapport.consent import delivery
from rapport.consent.check import consent_allows
from rapport.consent.models import ConsentState, OutboundMessage
from rapport.consent.sending import OutboundEmail, send_queue
from rapport.consent.tests.factories import SYSTEM, grant
from rapport.customers.tests.factories import make_contact


def _newsletter(contact) -> OutboundMessage:
    row = send_queue(
        actor=SYSTEM,
        message=OutboundEmail(
            contact_id=contact.pk, to_address=contact.emails.first().email, purpose="newsletter",
            subject="March news", text="What happened in March.",
        ),
    )  # fmt: skip
    assert delivery.deliver(row.pk) == "sent"
    return row


def _path(arrived) -> str:
    header = arrived.message["List-Unsubscribe"]
    found = re.search(r"<(https://[^>]+)>", header)
    assert found is not None
    url = found.group(1)
    return url.removeprefix("https://crm.example.com")


def _allowed(contact) -> bool:
    return consent_allows(
        contact_id=contact.pk,
        address=contact.emails.first().email,
        channel="email",
        purpose="newsletter",
    ).allowed


@pytest.fixture
def public_url(settings):
    settings.RAPPORT_PUBLIC_URL = "https://crm.example.com"


@pytest.mark.django_db
def test_a_marketing_message_carries_both_one_click_headers(smtp, public_url, settings):
    settings.CONSENT_UNSUBSCRIBE_MAILTO = "unsubscribe@example.com"
    ann = make_contact(emails=["ann@example.com"])
    grant(ann)
    _newsletter(ann)
    msg = smtp.arrived[0].message
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(
        r"<https://crm\.example\.com/c/unsubscribe/[^>]+/>, <mailto:unsubscribe@example\.com\?subject=unsubscribe%20[^>]+>",
        msg["List-Unsubscribe"].strip(),
    )


@pytest.mark.django_db
def test_a_one_click_post_without_session_or_csrf_token_unsubscribes_at_once(smtp, public_url):
    ann = make_contact(emails=["ann@example.com"])
    grant(ann)
    _newsletter(ann)
    client = Client(enforce_csrf_checks=True)  # no session, no CSRF cookie or token
    response = client.post(
        _path(smtp.arrived[0]), data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )  # fmt: skip
    assert response.status_code == 200
    state = ConsentState.objects.get(
        contact=ann, channel="email", purpose__key="newsletter", address=""
    )
    assert state.status == "withdrawn" and state.event.source == "unsubscribe"
    assert not _allowed(ann)
    # The next newsletter does not go.
    row = send_queue(
        actor=SYSTEM,
        message=OutboundEmail(
            contact_id=ann.pk,
            to_address="ann@example.com",
            purpose="newsletter",
            subject="April",
            text="x",
        ),
    )
    assert delivery.deliver(row.pk) == "blocked"
    assert len(smtp.arrived) == 1
    # A second click records nothing more.
    client.post(
        _path(smtp.arrived[0]),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert (
        ann.pk
        and ConsentState.objects.get(contact=ann, purpose__key="newsletter").event_id
        == state.event_id
    )


@pytest.mark.django_db
def test_a_get_never_unsubscribes(smtp, public_url):
    ann = make_contact(emails=["ann@example.com"])
    grant(ann)
    _newsletter(ann)
    client = Client()
    for _ in range(3):  # a link scanner, a preview, the person
        response = client.get(_path(smtp.arrived[0]))
        assert response.status_code == 200
    assert _allowed(ann)
    page = response.content.decode()
    assert 'method="post"' in page and 'name="List-Unsubscribe" value="One-Click"' in page
    assert client.head(_path(smtp.arrived[0])).status_code in (200, 405)
    assert _allowed(ann)


@pytest.mark.django_db
def test_a_forged_or_altered_token_changes_nothing(smtp, public_url):
    ann = make_contact(emails=["ann@example.com"])
    grant(ann)
    _newsletter(ann)
    path = _path(smtp.arrived[0])
    forged = path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:]
    response = Client().post(
        forged, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 404
    assert _allowed(ann)


def _key_pair() -> tuple[str, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


@pytest.mark.django_db
def test_what_arrives_is_dkim_signed_over_both_unsubscribe_headers(smtp, public_url, settings):
    private, record = _key_pair()
    settings.CONSENT_DKIM_DOMAIN = "example.com"
    settings.CONSENT_DKIM_SELECTOR = "rapport"
    settings.CONSENT_DKIM_PRIVATE_KEY = private
    ann = make_contact(emails=["ann@example.com"])
    grant(ann)
    _newsletter(ann)
    data = smtp.arrived[0].data

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"rapport._domainkey.example.com."
        return record

    assert dkim.verify(data, dnsfunc=dns)
    signature = smtp.arrived[0].message["DKIM-Signature"]
    signed = re.search(r"h=([^;]+)", signature).group(1).replace(" ", "").lower().split(":")
    assert {"list-unsubscribe", "list-unsubscribe-post", "from", "subject"} <= set(signed)
    # A relay that swaps the unsubscribe target breaks the signature.
    tampered = data.replace(
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: nothing"
    )
    assert tampered != data
    assert not dkim.verify(tampered, dnsfunc=dns)


@pytest.mark.django_db
def test_without_a_key_nothing_is_signed(smtp):
    ann = make_contact(emails=["ann@example.com"])
    grant(ann)
    _newsletter(ann)
    assert smtp.arrived[0].message["DKIM-Signature"] is None


@pytest.mark.django_db
def test_the_unsubscribe_page_is_reachable_by_name():
    assert reverse("consent:unsubscribe", args=["x"]).startswith("/c/unsubscribe/")

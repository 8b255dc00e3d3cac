"""Consent rules: lawful bases, double opt-in, expiry, history, merge, erasure, bounces."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.consent import delivery, services
from rapport.consent.check import consent_allows
from rapport.consent.models import ConsentEvent, ConsentState, OutboundMessage, Suppression
from rapport.consent.sending import OutboundEmail, send_queue
from rapport.consent.tests.factories import SYSTEM, grant, withdraw
from rapport.core import privacy
from rapport.core.actor import Actor
from rapport.core.errors import PermissionDenied, ValidationFailed
from rapport.customers.tests.factories import make_contact
from rapport.identity import services as identity
from rapport.timeline.models import Entry


def allows(contact, purpose="newsletter", address=None, channel="email") -> bool:
    return consent_allows(
        contact_id=contact.pk, address=address or contact.emails.first().email,
        channel=channel, purpose=purpose,
    ).allowed  # fmt: skip


@pytest.mark.django_db
def test_service_messages_need_no_opt_in_and_marketing_does():
    ann = make_contact(emails=["ann@example.com"])
    assert allows(ann, "service")
    decision = consent_allows(
        contact_id=ann.pk, address="ann@example.com", channel="email", purpose="newsletter"
    )
    assert not decision and decision.status == "never_asked"
    # Contract: a withdrawal of service messages does not stop a reply to the person's case.
    withdraw(ann, "service")
    assert allows(ann, "service")


@pytest.mark.django_db
def test_legitimate_interest_goes_until_the_person_objects():
    ann = make_contact(emails=["ann@example.com"])
    assert allows(ann, "surveys")
    withdraw(ann, "surveys")
    assert not allows(ann, "surveys")


@pytest.mark.django_db
def test_a_withdrawal_for_the_contact_covers_every_address_and_one_address_covers_itself():
    ann = make_contact(emails=["ann@example.com", "ann@home.example"])
    grant(ann, "product_news")
    withdraw(ann, "product_news", address="ann@home.example")
    assert allows(ann, "product_news", "ann@example.com")
    assert not allows(ann, "product_news", "ann@home.example")
    withdraw(ann, "product_news")
    assert not allows(ann, "product_news", "ann@example.com")
    with pytest.raises(ValidationFailed):
        grant(ann, "product_news", address="someone@else.example")


@pytest.mark.django_db
def test_a_grant_expires():
    ann = make_contact(emails=["ann@example.com"])
    past = timezone.now() - dt.timedelta(days=400)
    grant(ann, "events", effective_at=past, expires_at=past + dt.timedelta(days=365))
    decision = consent_allows(
        contact_id=ann.pk, address="ann@example.com", channel="email", purpose="events"
    )
    assert not decision and decision.status == "expired"
    with pytest.raises(ValidationFailed):
        grant(ann, "events", effective_at=timezone.now() + dt.timedelta(days=2))


@pytest.mark.django_db
def test_history_is_kept_and_a_backdated_event_does_not_override_a_later_one():
    ann = make_contact(emails=["ann@example.com"])
    withdraw(ann, "events")
    grant(ann, "events", effective_at=timezone.now() - dt.timedelta(days=30), source="import")
    assert not allows(ann, "events")
    assert ConsentEvent.objects.filter(contact=ann).count() == 2
    audit = AuditEntry.objects.filter(
        entity_kind="contact", entity_id=ann.pk, object_kind="consent"
    )
    assert audit.count() == 2
    assert audit.order_by("id").first().changes == {
        "consent.email.events": ["never_asked", "withdrawn"]
    }
    assert Entry.objects.filter(kind="consent").count() == 2


@pytest.mark.django_db
def test_double_opt_in_sends_a_confirmation_and_only_the_confirmation_grants(
    django_capture_on_commit_callbacks,
):
    ann = make_contact(emails=["ann@example.com"])
    with django_capture_on_commit_callbacks(execute=True):
        event = grant(ann, "newsletter", confirmed=False, source="form")
    assert event.status == "pending"
    assert not allows(ann)
    (confirmation,) = mail.outbox
    assert confirmation.to == ["ann@example.com"]
    link = next(line for line in confirmation.body.splitlines() if "/c/confirm/" in line)
    path = link.split("localhost:8000", 1)[1]
    client = Client()
    assert client.get(path).status_code == 200  # a scanner's GET confirms nothing
    assert not allows(ann)
    assert client.post(path).status_code == 200
    assert allows(ann)
    state = ConsentState.objects.get(contact=ann, purpose__key="newsletter")
    assert state.event.source == "confirmation"
    assert state.event.evidence_text == event.evidence_text
    # A confirmation e-mail is not a newsletter: it went while the grant was pending only.
    row = OutboundMessage.objects.get(related_kind="consent_confirmation")
    OutboundMessage.objects.filter(pk=row.pk).update(status="queued")
    assert delivery.deliver(row.pk) == "blocked"


@pytest.mark.django_db
def test_recording_needs_the_right_and_a_visible_contact(personas):
    ann = make_contact(owner=personas["bob"], emails=["ann@example.com"])
    with pytest.raises(PermissionDenied):
        services.consent_record(
            actor=Actor(user=personas["rita"]), contact=ann, channel="email", purpose="events",
            status="granted", source="call",
        )  # fmt: skip
    event = services.consent_record(
        actor=Actor(user=personas["bob"]), contact=ann, channel="phone", purpose="events",
        status="granted", source="call", evidence_text="Happy to be called about events",
    )  # fmt: skip
    assert event.recorded_by == personas["bob"]


@pytest.mark.django_db
def test_a_merge_keeps_the_most_restrictive_consent_and_an_unmerge_brings_both_back():
    keep = make_contact(full_name="Ann Smith", emails=["ann@example.com"])
    gone = make_contact(full_name="Ann Smith", emails=["asmith@example.com"])
    grant(keep, "newsletter")
    withdraw(gone, "newsletter")
    grant(keep, "events")
    grant(gone, "product_news")
    merge = identity.records_merge(
        actor=SYSTEM, kind="contact", survivor_id=keep.pk, merged_ids=[gone.pk]
    )
    states = {s.purpose.key: s.status for s in ConsentState.objects.filter(contact=keep)}
    assert states == {"newsletter": "withdrawn", "events": "granted", "product_news": "granted"}
    assert not allows(keep, "newsletter", "ann@example.com")
    assert ConsentEvent.objects.filter(contact=keep).count() == 4  # both histories
    identity.merge_undo(actor=SYSTEM, merge=merge)
    keep_states = {s.purpose.key: s.status for s in ConsentState.objects.filter(contact=keep)}
    gone_states = {s.purpose.key: s.status for s in ConsentState.objects.filter(contact=gone)}
    assert keep_states == {"newsletter": "granted", "events": "granted"}
    assert gone_states == {"newsletter": "withdrawn", "product_news": "granted"}
    assert allows(keep, "newsletter", "ann@example.com")
    assert ConsentEvent.objects.filter(contact=keep).count() == 2


@pytest.mark.django_db
def test_an_erased_person_who_asked_never_to_be_mailed_is_never_mailed_again():
    ann = make_contact(emails=["Ann.Erased@Example.com"])
    grant(ann, "newsletter")
    withdraw(ann, "newsletter", source="email")
    privacy.REGISTRY["consent"].erase(actor=SYSTEM, contact_id=ann.pk)
    ann.delete()
    assert ConsentEvent.objects.count() == 0 and ConsentState.objects.count() == 0
    (row,) = Suppression.objects.all()
    assert "erased" not in row.address_hash.lower() and len(row.address_hash) == 64
    # The address comes back (a new sign-up, an import) and is granted again.
    again = make_contact(emails=["ann.erased@example.com"])
    grant(again, "newsletter")
    decision = consent_allows(
        contact_id=again.pk, address="ANN.ERASED@example.com", channel="email", purpose="newsletter"
    )
    assert not decision and decision.status == "suppressed"
    queued = send_queue(
        actor=SYSTEM,
        message=OutboundEmail(
            contact_id=again.pk,
            to_address="ann.erased@example.com",
            purpose="service",
            subject="Hi",
            text="x",
        ),
    )
    assert delivery.deliver(queued.pk) == "blocked"


@pytest.mark.django_db
def test_an_erasure_without_a_withdrawal_keeps_no_hash():
    ann = make_contact(emails=["ann@example.com"])
    grant(ann, "newsletter")
    exported = privacy.REGISTRY["consent"].export(contact_id=ann.pk)
    assert exported["history"][0]["purpose"] == "newsletter"
    privacy.REGISTRY["consent"].erase(actor=SYSTEM, contact_id=ann.pk)
    assert Suppression.objects.count() == 0


@pytest.mark.django_db
def test_the_suppression_hash_depends_on_the_pepper(settings):
    from rapport.consent.suppression import address_hash

    settings.CONSENT_SUPPRESSION_PEPPER = "one"
    first = address_hash("email", "Ann@Example.com")
    assert first == address_hash("email", " ann@example.com")
    settings.CONSENT_SUPPRESSION_PEPPER = "two"
    assert address_hash("email", "ann@example.com") != first


@pytest.mark.django_db
def test_a_bounce_reported_by_the_provider_stops_sending_to_the_address(settings):
    settings.CONSENT_WEBHOOK_SECRET = "s3cret"
    ann = make_contact(emails=["ann@example.com"])
    first = send_queue(
        actor=SYSTEM,
        message=OutboundEmail(
            contact_id=ann.pk,
            to_address="ann@example.com",
            purpose="service",
            subject="Hi",
            text="x",
        ),
    )
    assert delivery.deliver(first.pk) == "sent"
    first.refresh_from_db()
    body = json.dumps(
        {
            "events": [
                {"type": "bounce", "address": "ann@example.com", "message_id": first.message_id}
            ]
        }
    )
    client = Client(enforce_csrf_checks=True)
    url = "/c/webhooks/bounces/"
    assert client.post(url, body, content_type="application/json").status_code == 403
    assert (
        client.post(
            url,
            body,
            content_type="application/json",
            headers={"X-Rapport-Webhook-Secret": "wrong"},
        ).status_code
        == 403
    )
    response = client.post(
        url, body, content_type="application/json", headers={"X-Rapport-Webhook-Secret": "s3cret"}
    )
    assert response.status_code == 200 and response.json() == {"processed": 1}
    first.refresh_from_db()
    assert first.status == "bounced"
    second = send_queue(
        actor=SYSTEM,
        message=OutboundEmail(
            contact_id=ann.pk,
            to_address="ann@example.com",
            purpose="service",
            subject="Hi",
            text="x",
        ),
    )
    assert delivery.deliver(second.pk) == "blocked"


@pytest.mark.django_db
def test_a_complaint_withdraws_the_purpose_too():
    ann = make_contact(emails=["ann@example.com"])
    grant(ann, "product_news")
    row = send_queue(
        actor=SYSTEM,
        message=OutboundEmail(
            contact_id=ann.pk,
            to_address="ann@example.com",
            purpose="product_news",
            subject="New",
            text="x",
        ),
    )
    assert delivery.deliver(row.pk) == "sent"
    row.refresh_from_db()
    services.address_bounced(address="ann@example.com", kind="complaint", message_id=row.message_id)
    state = ConsentState.objects.get(contact=ann, purpose__key="product_news")
    assert state.status == "withdrawn" and state.event.source == "bounce"

"""The send gate: through a real SMTP server, consent checked when the message is sent."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connections

from rapport.consent import delivery
from rapport.consent.backend import GateRefused
from rapport.consent.models import OutboundMessage
from rapport.consent.sending import OutboundEmail, send_queue, send_queue_many
from rapport.consent.tests.factories import SYSTEM, grant, withdraw
from rapport.core.errors import ValidationFailed
from rapport.customers.tests.factories import make_contact
from rapport.timeline.models import Entry, EntryLink


def _email(contact, purpose="service", **kw) -> OutboundEmail:
    kw.setdefault("subject", f"About your order, {contact.full_name}")
    kw.setdefault("text", "Your order has shipped.")
    return OutboundEmail(
        contact_id=contact.pk, to_address=contact.emails.first().email, purpose=purpose, **kw
    )


@pytest.mark.django_db
def test_a_service_message_goes_through_smtp_and_is_logged_on_the_timeline(
    smtp, django_capture_on_commit_callbacks
):
    ann = make_contact(full_name="Ann Reply", emails=["ann@example.com"])
    with django_capture_on_commit_callbacks(execute=True):
        row = send_queue(
            actor=SYSTEM,
            message=_email(
                ann, in_reply_to="<case-1@example.com>", related_kind="case", related_id=7
            ),
        )
    row.refresh_from_db()
    assert row.status == OutboundMessage.Status.SENT and row.attempts == 1
    (arrived,) = smtp.arrived
    assert arrived.recipients == ["ann@example.com"]
    msg = arrived.message
    assert msg["Subject"] == "About your order, Ann Reply"
    assert msg["Message-ID"] == row.message_id
    assert msg["In-Reply-To"] == "<case-1@example.com>"
    assert "Your order has shipped." in msg.get_content()
    # A service message is no marketing: no unsubscribe headers.
    assert msg["List-Unsubscribe"] is None
    entry = Entry.objects.get(kind="outbound_email")
    assert entry.summary == "E-mail sent: About your order, Ann Reply"
    assert EntryLink.objects.filter(entry=entry, contact=ann).exists()
    assert entry.department == "service"


@pytest.mark.django_db
def test_a_newsletter_goes_only_with_a_grant_checked_when_it_is_sent(
    smtp, django_capture_on_commit_callbacks
):
    ann = make_contact(emails=["ann@example.com"])
    with django_capture_on_commit_callbacks(execute=True):
        first = send_queue(actor=SYSTEM, message=_email(ann, "newsletter"))
    first.refresh_from_db()
    assert first.status == "blocked" and "never asked" in first.reason
    assert smtp.arrived == []
    grant(ann)
    with django_capture_on_commit_callbacks(execute=True):
        second = send_queue(actor=SYSTEM, message=_email(ann, "newsletter"))
    second.refresh_from_db()
    assert second.status == "sent"
    assert len(smtp.arrived) == 1
    assert (
        Entry.objects.filter(kind="outbound_email", summary__startswith="E-mail not sent").count()
        == 1
    )


@pytest.mark.django_db
def test_a_withdrawal_between_queueing_and_sending_stops_the_message(smtp):
    ann = make_contact(emails=["ann@example.com"])
    grant(ann)
    row = send_queue(actor=SYSTEM, message=_email(ann, "newsletter"))  # task not run yet
    withdraw(ann)
    assert delivery.deliver(row.pk) == "blocked"
    assert smtp.arrived == []


@pytest.mark.django_db
def test_a_message_is_sent_at_most_once(smtp):
    ann = make_contact(emails=["ann@example.com"])
    row = send_queue(actor=SYSTEM, message=_email(ann))
    assert delivery.deliver(row.pk) == "sent"
    assert delivery.deliver(row.pk) == "sent"  # the task run again
    assert len(smtp.arrived) == 1
    # A message another worker has claimed is not sent by this one.
    other = send_queue(actor=SYSTEM, message=_email(ann))
    OutboundMessage.objects.filter(pk=other.pk).update(status="sending")
    assert delivery.deliver(other.pk) == "sending"
    assert len(smtp.arrived) == 1


@pytest.mark.django_db
def test_a_message_left_claimed_by_a_dead_worker_fails_and_is_not_resent(smtp, settings):
    settings.CONSENT_SENDING_STALE_SECONDS = 0
    ann = make_contact(emails=["ann@example.com"])
    batch = send_queue_many(
        actor=SYSTEM, name="Service notice", purpose="service",
        messages=[_email(ann), _email(ann)], start=False,
    )  # fmt: skip
    first = batch.messages.order_by("pk").first()
    first.status, first.claimed_at = "sending", first.queued_at
    first.save()
    counts = delivery.batch_run(batch.pk)
    first.refresh_from_db()
    assert first.status == "failed" and "at most once" in first.reason
    assert counts == {"sent": 1}
    assert len(smtp.arrived) == 1


@pytest.mark.django_db(transaction=True)
def test_a_withdrawal_committed_while_a_batch_goes_out_stops_every_later_message(smtp):
    people = [
        make_contact(full_name=f"Reader {i}", emails=[f"r{i}@example.com"]) for i in range(10)
    ]
    for person in people:
        grant(person)
    quitter = people[2]
    # Three messages each, interleaved: reader 2's go out 3rd, 13th and 23rd.
    messages = [_email(p, "newsletter", subject=f"Issue {n}") for n in range(3) for p in people]
    batch = send_queue_many(
        actor=SYSTEM, name="Newsletter", purpose="newsletter", messages=messages, start=False
    )

    def withdraw_at_fifth(arrived, count):
        # In the server's thread, on its own connection: committed while the batch is out.
        if count == 5:
            withdraw(quitter, source="email")
            connections.close_all()

    smtp.on_message = withdraw_at_fifth
    counts = delivery.batch_run(batch.pk)
    assert counts == {"sent": 28, "blocked": 2}
    to_quitter = [a for a in smtp.arrived if a.recipients == ["r2@example.com"]]
    assert [a.message["Subject"] for a in to_quitter] == ["Issue 0"]
    blocked = OutboundMessage.objects.filter(batch=batch, status="blocked")
    assert set(blocked.values_list("to_address", flat=True)) == {"r2@example.com"}
    assert batch.messages.filter(status="queued").count() == 0
    sent = batch.messages.filter(status="sent")
    assert all(m.provider_message_id == m.message_id and m.sent_at for m in sent)
    assert Entry.objects.filter(kind="outbound_email").count() == 30  # a send log for each
    batch.refresh_from_db()
    assert batch.status == "done"


@pytest.mark.django_db
def test_the_backend_refuses_mail_that_did_not_come_through_the_gate(settings):
    with pytest.raises(GateRefused):
        mail.send_mail("Hello", "Body", "a@example.com", ["b@example.com"])
    with pytest.raises(GateRefused):
        mail.EmailMessage("Hello", "Body", "a@example.com", ["b@example.com"]).send()
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_stamped_message_sent_to_someone_else_is_refused():
    ann = make_contact(emails=["ann@example.com"])
    row = send_queue(actor=SYSTEM, message=_email(ann))
    built = delivery._build(OutboundMessage.objects.select_related("purpose").get(pk=row.pk))
    built.to = ["someone-else@example.com"]
    with pytest.raises(GateRefused):
        mail.get_connection().send_messages([built])
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_sender_may_not_set_the_headers_the_gate_owns():
    ann = make_contact(emails=["ann@example.com"])
    for name in ("List-Unsubscribe", "To", "bcc", "Message-ID"):
        with pytest.raises(ValidationFailed):
            send_queue(actor=SYSTEM, message=_email(ann, headers={name: "x"}))
    with pytest.raises(ValidationFailed):
        send_queue(actor=SYSTEM, message=_email(ann, headers={"X-Tag": "a\r\nBcc: x@example.com"}))
    with pytest.raises(ValidationFailed):
        send_queue(actor=SYSTEM, message=_email(ann, purpose="no-such-purpose"))
    assert OutboundMessage.objects.count() == 0


def test_the_pace_spaces_messages_by_the_rate(monkeypatch):
    clock = {"now": 100.0}
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        clock["now"] += seconds

    monkeypatch.setattr(delivery.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(delivery.time, "sleep", sleep)
    pace = delivery.Pace(4)
    for _ in range(5):
        pace.wait()
    assert slept == [0.25, 0.25, 0.25, 0.25]
    assert delivery.Pace(0).interval == 0

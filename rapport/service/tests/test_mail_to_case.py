"""E-mail to case: new mail to a service address opens a case, a reply threads onto its
case (by In-Reply-To, or by the reference in the subject from the case's own contact),
a stranger quoting a reference does not get into someone else's case, replies go out
threaded through the consent gate."""

from __future__ import annotations

import pytest

from conftest import actor
from rapport.audit.services import Actor
from rapport.consent.models import OutboundMessage
from rapport.customers.models import Contact, ContactEmail
from rapport.customers.tests.factories import make_contact
from rapport.ingest.mail import services as mail
from rapport.service import services
from rapport.service.models import Case, CaseMessage
from rapport.service.tests.factories import make_service_mailbox
from rapport.timeline.models import EntryLink
from rapport.users.models import Team

pytestmark = pytest.mark.django_db
SHARED = Actor(user=None, via="import", context={"path": "imap"})


def raw(
    *,
    sender: str,
    subject: str,
    body: str = "Hello",
    msgid: str,
    to: str = "support@rapport.example",
    in_reply_to: str = "",
    references: str = "",
) -> bytes:
    headers = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {subject}",
        f"Message-ID: <{msgid}>",
        "Date: Tue, 01 Dec 2026 10:00:00 +0000",
    ]
    if in_reply_to:
        headers.append(f"In-Reply-To: <{in_reply_to}>")
    if references:
        headers.append(f"References: {references}")
    return ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode()


@pytest.fixture
def desk(db):
    team = Team.objects.create(name="Desk")
    return make_service_mailbox(team=team)


@pytest.fixture
def nora(bob):
    return make_contact(owner=bob, full_name="Nora North", emails=["nora@northwind.example"])


def test_a_new_message_to_the_service_address_opens_a_case_for_the_sender(desk, nora):
    mail.receive(
        raw(
            sender="Nora <nora@northwind.example>",
            subject="Chair broke",
            msgid="m1@x",
            body="It broke.",
        ),
        actor=SHARED,
    )
    case = Case.objects.get()
    assert (case.contact, case.team, case.channel, case.subject) == (
        nora,
        desk.team,
        "email",
        "Chair broke",
    )
    message = case.messages.get()
    assert (message.direction, message.message_id, message.body) == ("in", "m1@x", "It broke.")
    # The message is the mail app's timeline entry, on Nora's timeline once.
    assert message.entry is not None and message.entry.kind == "email"
    assert EntryLink.objects.filter(contact=nora, entry=message.entry).count() == 1


def test_mail_to_another_address_opens_nothing(desk, nora):
    mail.receive(
        raw(
            sender="nora@northwind.example", subject="Hi", msgid="m2@x", to="sales@rapport.example"
        ),
        actor=SHARED,
    )
    assert not Case.objects.exists()


def test_the_same_message_delivered_twice_is_one_case(desk, nora):
    message = raw(sender="nora@northwind.example", subject="Chair broke", msgid="m3@x")
    mail.receive(message, actor=SHARED)
    mail.receive(message, actor=SHARED)
    assert Case.objects.count() == 1 and CaseMessage.objects.count() == 1


def test_a_reply_with_the_reference_in_the_subject_threads_onto_the_case(desk, nora):
    mail.receive(
        raw(sender="nora@northwind.example", subject="Chair broke", msgid="m4@x"), actor=SHARED
    )
    case = Case.objects.get()
    services.case_status_change(actor=SHARED, case=case, status="waiting_customer")
    mail.receive(
        raw(
            sender="nora@northwind.example",
            subject=f"Re: Chair broke [{case.reference}]",
            msgid="m5@x",
            body="Still broken.",
        ),
        actor=SHARED,
    )
    assert Case.objects.count() == 1
    case.refresh_from_db()
    assert list(case.messages.order_by("id").values_list("message_id", flat=True)) == [
        "m4@x",
        "m5@x",
    ]
    assert case.status == "open"  # the customer answered: the case is back with the agents


def test_a_stranger_quoting_a_reference_opens_a_case_of_their_own(desk, nora, bob):
    mail.receive(
        raw(sender="nora@northwind.example", subject="Chair broke", msgid="m6@x"), actor=SHARED
    )
    case = Case.objects.get()
    make_contact(owner=bob, full_name="Eve", emails=["eve@evil.example"])
    mail.receive(
        raw(
            sender="eve@evil.example",
            subject=f"Re: [{case.reference}] give me the invoice",
            msgid="m7@x",
        ),
        actor=SHARED,
    )
    assert case.messages.count() == 1
    assert Case.objects.count() == 2
    assert Case.objects.exclude(pk=case.pk).get().contact.full_name == "Eve"


def test_a_reply_threads_by_in_reply_to_and_the_agents_reply_goes_out_threaded(
    desk, nora, personas, django_capture_on_commit_callbacks
):
    sam = personas["sam"]
    sam.teams.add(desk.team)
    mail.receive(
        raw(sender="nora@northwind.example", subject="Chair broke", msgid="m8@x"), actor=SHARED
    )
    case = Case.objects.get()
    reply = services.case_reply(
        actor=actor(sam), case=case, body="We send a new one.", status="waiting_customer"
    )
    sent = OutboundMessage.objects.get()
    assert sent.purpose.key == "service"
    assert sent.to_address == "nora@northwind.example"
    assert case.reference in sent.subject and sent.subject.startswith("Re: ")
    assert sent.in_reply_to == "<m8@x>" and "<m8@x>" in sent.references
    assert reply.message_id and reply.message_id == sent.message_id.strip("<>")
    case.refresh_from_db()
    assert case.first_response_at is not None and case.status == "waiting_customer"
    # Nora answers from her phone, the subject rewritten: In-Reply-To still finds the case.
    mail.receive(
        raw(
            sender="nora@northwind.example",
            subject="thanks!",
            msgid="m9@x",
            in_reply_to=reply.message_id,
        ),
        actor=SHARED,
    )
    assert Case.objects.count() == 1
    assert case.messages.filter(direction="in").count() == 2


def test_an_unknown_sender_becomes_a_contact_with_a_case(desk):
    mail.receive(
        raw(sender="Una Known <una@new.example>", subject="Where is my order?", msgid="m10@x"),
        actor=SHARED,
    )
    case = Case.objects.get()
    assert case.contact.full_name == "Una Known"
    assert ContactEmail.objects.filter(contact=case.contact, email="una@new.example").exists()


def test_an_unknown_sender_is_not_made_a_contact_when_the_mailbox_says_so(desk):
    desk.create_contacts = False
    desk.save()
    mail.receive(
        raw(sender="una@new.example", subject="Where is my order?", msgid="m11@x"), actor=SHARED
    )
    assert not Case.objects.exists() and not Contact.objects.exists()


def test_mail_reaches_only_contacts_its_bringer_may_see(desk, nora, personas):
    # carl's own mailbox (South team) is the service mailbox here: bob's North contact is
    # not his to reach, and no second contact is made for the address either.
    from rapport.ingest.models import Mailbox

    carl = personas["carl"]
    box = Mailbox.objects.create(name="carl", owner=carl, host="imap.example", username="carl")
    desk.mailbox = box
    desk.save()
    bringer = Actor(user=carl, via="import", context={"path": "imap", "mailbox": box.pk})
    mail.receive(
        raw(sender="nora@northwind.example", subject="Chair", msgid="m12@x", to="carl@example.org"),
        actor=bringer,
    )
    assert not Case.objects.exists()
    assert Contact.objects.count() == 1


def test_a_reply_to_a_closed_case_opens_a_new_one_that_says_which_it_follows(desk, nora):
    mail.receive(
        raw(sender="nora@northwind.example", subject="Chair broke", msgid="m13@x"), actor=SHARED
    )
    case = Case.objects.get()
    services.case_status_change(actor=SHARED, case=case, status="closed")
    mail.receive(
        raw(
            sender="nora@northwind.example",
            subject=f"Re: Chair broke [{case.reference}]",
            msgid="m14@x",
        ),
        actor=SHARED,
    )
    new = Case.objects.exclude(pk=case.pk).get()
    assert new.description.startswith(f"Follows {case.reference}")

"""E-mail to case for the messages of one delivery at once (``mail.receive_many``): the
same rules as message by message (threading, visibility, one Message-ID one message), with
what the messages share looked up once."""

from __future__ import annotations

import pytest

from rapport.audit.services import Actor
from rapport.customers.models import Contact
from rapport.ingest.mail import services as mail
from rapport.service.models import Case, CaseMessage
from rapport.service.tests.test_mail_to_case import SHARED, desk, nora, raw  # noqa: F401
from rapport.timeline.models import EntryLink

pytestmark = pytest.mark.django_db


def test_a_delivery_opens_threads_and_skips_as_one_by_one_would(desk, nora):  # noqa: F811
    results = mail.receive_many(
        [
            raw(sender="nora@northwind.example", subject="Chair broke", msgid="b1@x"),
            b"",  # unreadable: reported in its place, the others go on
            raw(
                sender="nora@northwind.example",
                subject="Re: Chair broke",
                msgid="b2@x",
                in_reply_to="b1@x",
            ),
            raw(sender="nora@northwind.example", subject="Chair broke", msgid="b1@x"),
            raw(sender="nora@northwind.example", subject="Hi", msgid="b3@x", to="x@else.example"),
        ],
        actor=SHARED,
    )
    assert isinstance(results[1], mail.MailProblem)
    assert [r[1].status for r in results if not isinstance(r, mail.MailProblem)] == [
        "stored",
        "stored",
        "duplicate",
        "stored",
    ]
    case = Case.objects.get()  # the reply in the same delivery threads onto the new case
    assert list(case.messages.order_by("id").values_list("message_id", flat=True)) == [
        "b1@x",
        "b2@x",
    ]
    assert case.last_message_at is not None
    assert EntryLink.objects.filter(contact=nora, entry__source="mail").count() == 3


def test_a_reference_in_the_subject_threads_within_a_delivery_only_from_the_contact(
    desk,  # noqa: F811
    nora,  # noqa: F811
):
    mail.receive_many(
        [raw(sender="nora@northwind.example", subject="Chair broke", msgid="b4@x")], actor=SHARED
    )
    case = Case.objects.get()
    mail.receive_many(
        [
            raw(sender="nora@northwind.example", subject=f"Re: [{case.reference}]", msgid="b5@x"),
            raw(sender="eve@else.example", subject=f"Re: [{case.reference}]", msgid="b6@x"),
        ],
        actor=SHARED,
    )
    assert list(case.messages.order_by("id").values_list("message_id", flat=True)) == [
        "b4@x",
        "b5@x",
    ]
    stranger = Case.objects.exclude(pk=case.pk).get()  # a case of her own, as a new contact
    assert stranger.contact.emails.get().email == "eve@else.example"


def test_a_stranger_writing_twice_in_one_delivery_is_one_contact_with_both_messages(
    desk,  # noqa: F811
):
    mail.receive_many(
        [
            raw(sender="Una <una@new.example>", subject="Order?", msgid="b7@x"),
            raw(
                sender="Una <una@new.example>",
                subject="Re: Order?",
                msgid="b8@x",
                in_reply_to="b7@x",
            ),
        ],
        actor=SHARED,
    )
    contact = Contact.objects.get()
    case = Case.objects.get()
    assert case.contact == contact
    assert list(case.messages.order_by("id").values_list("message_id", flat=True)) == [
        "b7@x",
        "b8@x",
    ]
    # The second message was stored after the first made her a contact: on her timeline.
    assert EntryLink.objects.filter(contact=contact, entry__external_id="b8@x").exists()


def test_a_delivery_reaches_only_contacts_its_bringer_may_see(desk, nora, personas):  # noqa: F811
    from rapport.ingest.models import Mailbox

    carl = personas["carl"]
    box = Mailbox.objects.create(name="carl", owner=carl, host="imap.example", username="carl")
    desk.mailbox = box
    desk.save()
    bringer = Actor(user=carl, via="import", context={"path": "imap", "mailbox": box.pk})
    mail.receive_many(
        [
            raw(sender="nora@northwind.example", subject="Chair", msgid="b9@x", to="c@example.org"),
            raw(
                sender="nora@northwind.example", subject="Again", msgid="b10@x", to="c@example.org"
            ),
        ],
        actor=bringer,
    )
    assert not Case.objects.exists() and not CaseMessage.objects.exists()
    assert Contact.objects.count() == 1
    assert not EntryLink.objects.filter(contact=nora).exists()


def test_a_delivery_reads_what_its_messages_share_once(
    desk,  # noqa: F811
    django_assert_max_num_queries,
):
    from rapport.customers.tests.factories import make_contact

    senders = [f"p{i}@customer.example" for i in range(20)]
    for address in senders:
        make_contact(full_name=address, emails=[address])
    raws = [raw(sender=s, subject=f"Q {i}", msgid=f"q{i}@x") for i, s in enumerate(senders)]
    # One by one, a new case is about 35 queries (22 here); a delivery shares the mailbox, duplicate,
    # staff, kind, policy and calendar look-ups and the store's address look-up.
    with django_assert_max_num_queries(20 * 24):
        mail.receive_many(raws, actor=SHARED)
    assert Case.objects.count() == 20 and CaseMessage.objects.count() == 20

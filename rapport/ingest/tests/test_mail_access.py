"""Who mail reaches (decision 0012): a message lands only on the contacts the one who
brings it in may see, every channel alike (upload on the web and the API, the inbound
webhook, IMAP, a message brought again), and what it teaches is bounded by the bringer's
rights and recorded in their name. bob and brenda are North, carl South."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from rapport.audit.models import AuditEntry
from rapport.audit.services import Actor
from rapport.core.errors import NotFound
from rapport.customers.models import Contact
from rapport.customers.tests.factories import make_account, make_contact
from rapport.ingest.mail import services as mail
from rapport.ingest.models import Proposal
from rapport.ingest.proposals import services as proposals
from rapport.ingest.tests.test_imap import account, connect_mailbox, dovecot, poll  # noqa: F401
from rapport.timeline.models import Entry, EntryLink
from rapport.timeline.selectors import entry_get, timeline
from rapport.users.models import Role, User

SIGNATURES = Path(__file__).parent / "signatures"
_numbers = itertools.count(1)


def raw_mail(
    *, sender: str = "xavier@globex.com", to: str = "someone@elsewhere.net", body: str = ""
) -> bytes:
    n = next(_numbers)
    return (
        f"From: Xavier Stone <{sender}>\r\n"
        f"To: {to}\r\n"
        f"Subject: Offer {n}\r\n"
        "Date: Mon, 3 Mar 2025 10:00:00 +0100\r\n"
        f"Message-ID: <access-{n}@globex.com>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"{body or 'The confidential price is 41,000.'}\r\n"
    ).encode()


@pytest.fixture
def theirs(personas) -> Contact:
    """carl's (South) customer."""
    return make_contact(
        full_name="Xavier Stone", emails=["xavier@globex.com"], owner=personas["carl"]
    )


@pytest.fixture
def planted(personas, theirs) -> Contact:
    """bob's (North) own contact, to which he added carl's customer's address."""
    return make_contact(
        full_name="Bob's Plant", emails=["xavier@globex.com"], owner=personas["bob"]
    )


def on(contact: Contact) -> set[int]:
    return set(EntryLink.objects.filter(contact=contact).values_list("entry_id", flat=True))


def as_(user: User, via: str = "web") -> Actor:
    return Actor(user=user, via=via)


# --- 1. every channel: only the bringer's visible contacts ----------------------------------


def test_a_web_upload_lands_only_on_the_contacts_the_uploader_may_see(
    client, personas, theirs, planted
):
    client.force_login(personas["carl"])
    page = client.post(
        "/capture/mail/", {"file": SimpleUploadedFile("offer.eml", raw_mail(to="carl@example.org"))}
    )
    assert page.status_code == 200
    [outcome] = page.context["summary"].messages
    assert outcome.status == "stored"
    assert on(theirs) == {outcome.entry_id}
    assert on(planted) == set()  # bob's contact with carl's customer's address gets nothing
    assert timeline(actor=personas["bob"], kind="contact", pk=planted.pk).items == []


def test_an_api_upload_lands_only_on_the_contacts_the_uploader_may_see(
    api_client, personas, theirs, planted
):
    response = api_client("carl").post(
        "/api/v1/capture/mail", {"file": SimpleUploadedFile("offer.eml", raw_mail())}
    )
    assert response.status_code == 200, response.content
    [outcome] = response.json()["messages"]
    assert outcome["status"] == "stored"
    assert on(theirs) == {outcome["entry_id"]} and on(planted) == set()


def test_the_webhook_lands_only_on_the_token_users_contacts(api_client, personas, theirs, planted):
    response = api_client("bob").post(
        "/api/v1/inbound/mail", data=raw_mail(), content_type="message/rfc822"
    )
    assert response.status_code == 201, response.content
    assert response.json()["contacts"] == [planted.pk]  # never carl's contact's id
    assert on(theirs) == set() and on(planted) == {response.json()["entry_id"]}


def test_an_imap_poll_lands_only_on_the_mailbox_owners_contacts(account, personas, theirs, planted):  # noqa: F811
    account.append("INBOX", raw_mail(to="carl@example.org"))
    summary = poll(connect_mailbox(account, owner=personas["carl"]))
    assert summary.ok and summary.stored == 1, summary.error_text()
    [entry] = Entry.objects.filter(source=mail.SOURCE)
    assert on(theirs) == {entry.pk} and on(planted) == set()


# --- 1. a message brought again ---------------------------------------------------------


def test_a_message_brought_again_goes_only_on_the_second_bringers_contacts(
    api_client, personas, theirs, planted
):
    raw = raw_mail()
    _, first = mail.receive(raw, actor=as_(personas["carl"]))
    assert first.status == "stored" and first.contacts == [theirs.pk]

    again = api_client("bob").post("/api/v1/inbound/mail", data=raw, content_type="message/rfc822")
    assert again.status_code == 201 and again.json()["contacts"] == [planted.pk]
    assert on(planted) == on(theirs) == {first.entry.pk}  # one entry, each team's contact
    _, third = mail.receive(raw, actor=as_(personas["brenda"]))  # bob's teammate: nothing new
    assert third.status == "duplicate" and third.contacts == [planted.pk]


def test_a_message_brought_again_by_someone_who_sees_none_of_its_contacts_reveals_nothing(
    api_client, personas, theirs
):
    raw = raw_mail()
    mail.receive(raw, actor=as_(personas["carl"]))
    again = api_client("bob").post("/api/v1/inbound/mail", data=raw, content_type="message/rfc822")
    assert again.status_code == 200
    assert again.json()["status"] == "unmatched"  # as for a message nobody stored
    assert again.json()["entry_id"] is None and again.json()["contacts"] == []
    assert EntryLink.objects.filter(contact__isnull=False).count() == 1


def test_a_file_brought_again_by_another_team_says_nothing_of_the_first(
    api_client, personas, theirs
):
    raw = raw_mail()
    api_client("carl").post("/api/v1/capture/mail", {"file": SimpleUploadedFile("a.eml", raw)})
    response = api_client("bob").post(
        "/api/v1/capture/mail", {"file": SimpleUploadedFile("a.eml", raw)}
    )
    body = response.json()
    assert (body["stored"], body["duplicates"], body["unmatched"]) == (0, 0, 1)
    assert body["messages"][0]["entry_id"] is None


# --- reading: an employer's timeline --------------------------------------------------------


def test_an_accounts_timeline_shows_a_persons_mail_only_to_those_who_see_the_person(personas):
    employer = make_account(name="Globex", owner=personas["bob"])
    make_contact(
        full_name="Xavier Stone",
        emails=["xavier@globex.com"],
        owner=personas["carl"],
        account=employer,
    )
    _, result = mail.receive(raw_mail(), actor=as_(personas["alice"]))
    assert EntryLink.objects.filter(account=employer, role=EntryLink.Role.VIA).exists()
    assert timeline(actor=personas["bob"], kind="account", pk=employer.pk).items == []
    with pytest.raises(NotFound):
        entry_get(actor=personas["bob"], pk=result.entry.pk)
    # Those who may see the person still read it on the employer's timeline.
    assert [
        link.entry_id
        for link in timeline(actor=personas["alice"], kind="account", pk=employer.pk).items
    ] == [result.entry.pk]


# --- 2. forged or uploaded mail and invisible records --------------------------------------


def test_a_forged_sender_of_another_team_writes_nothing_into_their_contact(api_client, personas):
    jane = make_contact(
        given_name="Jane",
        family_name="Doe",
        emails=["jane.doe@acme.com"],
        phones=["+44 20 7946 0018"],
        job_title="Buyer",
        owner=personas["carl"],
    )
    raw = (SIGNATURES / "mobile.eml").read_bytes()
    response = api_client("bob").post(
        "/api/v1/inbound/mail", data=raw, content_type="message/rfc822"
    )
    assert response.status_code == 200 and response.json()["status"] == "unmatched"
    assert response.json()["contacts"] == [] and response.json()["entry_id"] is None
    assert not EntryLink.objects.exists()
    assert set(jane.phones.values_list("e164", flat=True)) == {"+442079460018"}
    assert not Proposal.objects.exists()  # no title, no phone, no "new contact" for her


def test_facts_applied_automatically_are_written_in_the_bringers_name(api_client, personas):
    jane = make_contact(
        given_name="Jane",
        family_name="Doe",
        emails=["jane.doe@acme.com"],
        phones=["+44 20 7946 0018"],
        owner=personas["bob"],
    )
    raw = (SIGNATURES / "mobile.eml").read_bytes()
    response = api_client("bob").post(
        "/api/v1/inbound/mail", data=raw, content_type="message/rfc822"
    )
    assert response.status_code == 201
    phone = jane.phones.get(e164="+447400123456")
    audit = AuditEntry.objects.get(object_kind="phone", object_id=phone.pk)
    assert audit.via == "automation" and audit.actor_name == "bob"
    assert audit.context["brought_by"] == "bob" and audit.context["brought_via"] == "api"


def test_a_bringer_who_may_not_change_the_contact_sends_its_facts_to_review(personas):
    rita = personas["rita"]  # read-only: sees every contact, changes none (her own mailbox)
    assert rita.role == Role.READONLY
    jane = make_contact(
        given_name="Jane", family_name="Doe", emails=["jane.doe@acme.com"],
        phones=["+44 20 7946 0018"],
    )  # fmt: skip
    mail.receive((SIGNATURES / "mobile.eml").read_bytes(), actor=as_(rita, "import"))
    assert set(jane.phones.values_list("e164", flat=True)) == {"+442079460018"}
    mobile = Proposal.objects.get(field="mobile")
    assert mobile.state == Proposal.State.PENDING and "rita may not change" in mobile.rule


# --- 17: unknown senders to a known contact, and the staff member -------------------------


def test_an_unknown_sender_writing_to_a_known_contact_is_proposed_and_accepting_brings_the_mail(
    personas,
):
    jane = make_contact(full_name="Jane Doe", emails=["jane.doe@acme.com"], owner=personas["bob"])
    raw = raw_mail(sender="new.person@initech.com", to="Jane Doe <jane.doe@acme.com>")
    _, result = mail.receive(raw, actor=as_(personas["bob"]))
    assert result.status == "stored" and result.contacts == [jane.pk]
    proposal = Proposal.objects.get(kind=Proposal.Kind.NEW_CONTACT)
    assert proposal.key == "new.person@initech.com"
    done = proposals.proposal_accept(actor=as_(personas["stella"]), proposal=proposal)
    newcomer = Contact.objects.get(pk=done.result["contact"])
    assert on(newcomer) == on(jane) == {result.entry.pk}  # the message joins the new contact


def test_an_inbound_messages_staff_member_is_a_staff_recipient_never_the_uploader(personas):
    make_contact(full_name="Xavier Stone", emails=["xavier@globex.com"], owner=personas["bob"])
    _, alone = mail.receive(raw_mail(), actor=as_(personas["bob"]))
    assert alone.entry.staff is None
    _, to_brenda = mail.receive(raw_mail(to="brenda@example.org"), actor=as_(personas["bob"]))
    assert to_brenda.entry.staff == personas["brenda"]

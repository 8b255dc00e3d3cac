"""E-mail to lead: mail to a sales mailbox (a shared sales@ flagged to open leads) opens a
lead with source "email", through the duplicate check (a known person's lead is on their
contact), assigned by the rules, never doubled for a person with an open lead. Real .eml
files, through the one way mail comes in (``ingest.mail.services.receive``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import actor
from rapport.audit.services import Actor
from rapport.core.errors import ValidationFailed
from rapport.customers.models import Contact
from rapport.customers.tests.factories import make_account, make_contact
from rapport.ingest.mail import mailboxes
from rapport.ingest.mail import services as mail
from rapport.ingest.models import Mailbox
from rapport.sales.models import AssignmentRule, Lead
from rapport.sales.tests.factories import make_lead
from rapport.timeline.models import EntryLink
from rapport.users.models import Team

pytestmark = pytest.mark.django_db
FILES = Path(__file__).parent / "mail"


def eml(name: str) -> bytes:
    return (FILES / name).read_bytes()


@pytest.fixture
def sales_box(db):
    return Mailbox.objects.create(
        name="Sales", host="imap.rapport.example", username="sales@rapport.example",
        address="sales@rapport.example", opens_leads=True, folders=["INBOX"],
    )  # fmt: skip


@pytest.fixture
def round_robin(personas):
    north = Team.objects.get(name="North")
    return AssignmentRule.objects.create(
        name="North desk", kind=AssignmentRule.Kind.ROUND_ROBIN, team=north
    )


def polled(box: Mailbox) -> Actor:
    """The actor of an IMAP poll of ``box`` (what ``imap.poll`` passes)."""
    return Actor(user=None, via="system", context={"path": "imap", "mailbox": box.pk})


def test_mail_from_an_unknown_person_to_the_sales_mailbox_opens_a_lead(
    sales_box, round_robin, personas
):
    mail.receive(eml("new-prospect.eml"), actor=polled(sales_box))
    lead = Lead.objects.get()
    assert (lead.source, lead.name, lead.email, lead.status) == (
        "email",
        "Priya Patel",
        "priya.patel@brightlabs.example",
        "new",
    )
    assert lead.need == "200 standing desks for our new office"
    assert "200\nstanding desks" in lead.notes or "200 standing" in lead.notes.replace("\n", " ")
    assert lead.contact is None  # nobody knew her: no contact is made from a lead
    assert lead.owner in (personas["bob"], personas["brenda"])  # the round robin of the North team
    assert lead.team.name == "North"


def test_a_second_message_from_a_person_with_an_open_lead_does_not_double_it(
    sales_box, round_robin
):
    mail.receive(eml("new-prospect.eml"), actor=polled(sales_box))
    mail.receive(eml("prospect-follow-up.eml"), actor=polled(sales_box))
    mail.receive(eml("new-prospect.eml"), actor=polled(sales_box))  # the same message again
    assert Lead.objects.count() == 1


def test_a_known_person_becomes_a_lead_on_their_existing_contact(sales_box, personas):
    bob = personas["bob"]
    account = make_account(owner=bob, name="Northwind", domains=["northwind.example"])
    nora = make_contact(
        owner=bob, full_name="Nora North", emails=["nora@northwind.example"], account=account
    )
    AssignmentRule.objects.create(name="Account owner", kind=AssignmentRule.Kind.ACCOUNT_OWNER)
    contacts = Contact.objects.count()
    # Through the webhook (no mailbox): addressed to the sales mailbox's own address.
    mail.receive(
        eml("known-customer.eml"), actor=Actor(user=None, via="api", context={"path": "webhook"})
    )
    lead = Lead.objects.get()
    assert (lead.contact, lead.account, lead.owner, lead.source) == (nora, account, bob, "email")
    assert lead.need == "More chairs – second floor"
    assert Contact.objects.count() == contacts  # never a second record of a known person
    # Her message is on her timeline (mail stored it) as well.
    assert EntryLink.objects.filter(contact=nora, entry__kind="email").count() == 1


def test_a_person_with_an_open_lead_by_hand_gets_no_second_one_by_mail(sales_box, personas):
    bob = personas["bob"]
    nora = make_contact(owner=bob, full_name="Nora North", emails=["nora@northwind.example"])
    by_hand = make_lead(owner=bob, contact=nora.pk, name="Nora North")
    mail.receive(eml("known-customer.eml"), actor=polled(sales_box))
    assert list(Lead.objects.all()) == [by_hand]


def test_mail_to_another_address_or_from_staff_opens_no_lead(sales_box, personas):
    mail.receive(
        eml("to-support.eml"), actor=Actor(user=None, via="api", context={"path": "webhook"})
    )
    staff = eml("new-prospect.eml").replace(
        b"priya.patel@brightlabs.example", personas["bob"].email.encode()
    )
    mail.receive(staff, actor=polled(sales_box))
    assert Lead.objects.count() == 0


def test_a_mailbox_that_does_not_open_leads_opens_none(sales_box):
    Mailbox.objects.filter(pk=sales_box.pk).update(opens_leads=False)
    mail.receive(eml("new-prospect.eml"), actor=polled(sales_box))
    assert Lead.objects.count() == 0


def test_only_a_shared_mailbox_may_open_leads(personas):
    bob = personas["bob"]
    own = Mailbox.objects.create(
        name="Mine", owner=bob, host="imap.rapport.example", username="bob", folders=["INBOX"]
    )
    with pytest.raises(ValidationFailed) as exc:
        mailboxes.mailbox_update(actor=actor(bob), mailbox_id=own.pk, data={"opens_leads": True})
    assert exc.value.errors == {
        "opens_leads": ["Only a shared mailbox (no owner) opens sales leads."]
    }
    shared = Mailbox.objects.create(
        name="Sales", host="imap.rapport.example", username="sales", folders=["INBOX"]
    )
    changed = mailboxes.mailbox_update(
        actor=actor(personas["alice"]),
        mailbox_id=shared.pk,
        data={"opens_leads": True, "address": "Sales@Rapport.example"},
    )
    assert (changed.opens_leads, changed.address) == (True, "sales@rapport.example")

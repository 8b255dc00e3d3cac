"""An unknown sender is proposed with the account of their address only if the person whose
mail it is may see that account (the one rule, customers.selectors.account_for_email)."""

from conftest import actor
from rapport.customers.tests.factories import make_account, make_contact
from rapport.ingest.mail import services as mail
from rapport.ingest.models import Proposal

RAW = b"""From: Tom South <tom@south.example.com>
To: {to}
Subject: Hello
Message-ID: <{mid}@south.example.com>
Date: Mon, 2 Mar 2026 09:00:00 +0000

Could we meet next week?
"""


def _receive(user, to: str, mid: str) -> Proposal:
    mail.receive(
        RAW.replace(b"{to}", to.encode()).replace(b"{mid}", mid.encode()), actor=actor(user)
    )
    return Proposal.objects.get(kind=Proposal.Kind.NEW_CONTACT, key="tom@south.example.com")


def test_the_senders_account_is_proposed_when_the_reader_may_see_it(personas):
    south = make_account(name="South Ltd", domains=["south.example.com"], owner=personas["carl"])
    make_contact(full_name="Carl's client", owner=personas["carl"], emails=["client@c.example.com"])
    proposal = _receive(personas["carl"], "client@c.example.com", "one")
    assert proposal.value["account"] == south.pk


def test_an_account_the_reader_may_not_see_is_not_proposed(personas):
    make_account(name="South Ltd", domains=["south.example.com"], owner=personas["carl"])
    make_contact(full_name="Bob's client", owner=personas["bob"], emails=["client@b.example.com"])
    proposal = _receive(personas["bob"], "client@b.example.com", "two")
    assert proposal.value["account"] is None

"""Which account an e-mail address belongs to: one selector, with the asker's visibility."""

from rapport.customers.selectors import account_for_email
from rapport.customers.tests.factories import make_account


def test_the_account_owning_the_domain_or_its_registered_part(personas):
    acme = make_account(name="Acme", domains=["acme.co.uk"])
    alice = personas["alice"]
    assert account_for_email(actor=alice, email="jane@acme.co.uk") == acme
    assert account_for_email(actor=alice, email="jane@mail.uk.acme.co.uk") == acme
    assert account_for_email(actor=alice, email="jane@other.example") is None


def test_a_free_mail_address_belongs_to_no_account(personas):
    make_account(name="Google", domains=["gmail.com"])
    assert account_for_email(actor=personas["alice"], email="someone@gmail.com") is None


def test_an_account_the_actor_may_not_see_is_not_found(personas):
    theirs = make_account(name="South Ltd", domains=["south.example.com"], owner=personas["carl"])
    assert account_for_email(actor=personas["bob"], email="tom@south.example.com") is None
    assert account_for_email(actor=personas["carl"], email="tom@south.example.com") == theirs
    assert account_for_email(actor=None, email="tom@south.example.com") == theirs  # the system

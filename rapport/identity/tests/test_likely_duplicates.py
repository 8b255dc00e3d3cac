"""The one duplicate check before a create: the same answer whichever path brings the new
record, since each passes what it will give the create service."""

from conftest import actor
from rapport.customers.services import ContactParts
from rapport.customers.tests.factories import make_account, make_contact
from rapport.identity import selectors
from rapport.ingest.capture import vcard


def test_a_national_number_is_read_in_the_phones_own_region(personas):
    jane = make_contact(
        given_name="Jane", family_name="Doe", emails=[], phones=["+44 20 7946 0018"]
    )
    parts = ContactParts(phones=[{"number": "020 7946 0018", "region": "GB"}])
    matches = selectors.likely_duplicates(
        actor=personas["alice"],
        kind="contact",
        data={"given_name": "Jane", "family_name": "Doe"},
        parts=parts,
    )
    assert [m.record_id for m in matches] == [jane.pk]
    assert any("phone" in e.words for e in matches[0].evidence)


def test_a_create_with_nothing_to_go_on_matches_nothing(personas):
    make_contact(given_name="Jane", family_name="Doe")
    assert selectors.likely_duplicates(actor=personas["alice"], kind="contact", data={}) == []
    assert (
        selectors.likely_duplicates(actor=personas["alice"], kind="account", data={"name": " "})
        == []
    )


def test_a_vcard_meets_the_same_check_as_the_form(personas):
    jane = make_contact(full_name="Jane Doe", emails=["jane.doe@acme.example.com"])
    data = {"given_name": "Jane", "family_name": "Doe"}
    parts = ContactParts(emails=[{"email": "jane.doe@acme.example.com"}])
    from_form = selectors.likely_duplicates(
        actor=personas["alice"], kind="contact", data=data, parts=parts
    )
    card = vcard.Card(
        position=1,
        line=1,
        given="Jane",
        family="Doe",
        emails=[vcard.Typed("jane.doe@acme.example.com")],
    )
    captured = vcard.capture(card, actor=actor(personas["alice"]))
    assert [m.record_id for m in from_form] == [jane.pk]
    assert (captured.outcome, captured.duplicate_of) == ("skipped", jane.pk)


def test_an_account_is_checked_by_name_domain_and_the_phone_in_its_country(personas):
    acme = make_account(name="Acme Widgets Ltd", country="GB", phone="+44 20 7946 0018")
    matches = selectors.likely_duplicates(
        actor=personas["alice"],
        kind="account",
        data={"name": "ACME Widgets", "country": "United Kingdom", "phone": "020 7946 0018"},
        domains=[],
    )
    assert matches and matches[0].record_id == acme.pk


def test_many_namesakes_under_a_nickname_do_not_hide_the_name_as_written(personas):
    # The name lookup reads at most 50 records: the Ians (a form of John) came first and
    # filled it, so the one John Smith was never scored.
    from rapport.identity import check

    for i in range(55):
        make_contact(given_name="Ian", family_name="Smith", emails=[f"ian{i}@x.example.com"])
    john = make_contact(given_name="John", family_name="Smith", emails=[])
    probe = check.person_of({"given_name": "John", "family_name": "Smith"})
    assert john.pk in check.contact_ids_like(probe)

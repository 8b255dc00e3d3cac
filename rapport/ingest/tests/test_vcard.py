"""Business cards into contacts: the sample cards in tests/vcards/ are real vCard text."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from rapport.audit.services import Actor
from rapport.customers.models import AccountMembership, Contact
from rapport.customers.tests.factories import make_account, make_contact
from rapport.ingest.capture import vcard
from rapport.timeline.models import Entry

SAMPLES = Path(__file__).parent / "vcards"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def one_card(name: str) -> vcard.Card:
    cards, problems = vcard.parse(sample(name))
    assert problems == []
    assert len(cards) == 1
    return cards[0]


# --- Parsing -------------------------------------------------------------------------------


def test_vcard_3_with_folded_lines_and_photo_gives_every_field():
    card = one_card("jane-doe-3.0.vcf")
    assert (card.version, card.given, card.middle, card.family) == ("3.0", "Jane", "Marie", "Doe")
    assert card.organisation == "ACME, Inc."
    assert card.department == "Procurement"
    assert card.title == "Head of Purchasing"
    assert [e.value for e in card.emails] == ["jane.doe@acme.com"]
    assert [(p.value, p.types) for p in card.phones] == [
        ("+44 20 7946 0958", ("work", "voice")),
        ("+44 7911 123456", ("cell",)),
    ]
    assert card.addresses[0]["street"] == "Floor 4, 1 Poultry"
    assert card.addresses[0]["country"] == "GB"
    assert card.urls == ["https://www.acme.com/"]
    # The folded NOTE is one line again; the folded PHOTO left nothing behind.
    assert card.note.endswith(
        "supplier for forty seats and wants a quote before the end of the quarter."
    )


def test_vcard_4_with_non_ascii_name_and_tel_uris():
    card = one_card("zoe-mueller-4.0.vcf")
    assert (card.version, card.prefix, card.given, card.family) == ("4.0", "Dr.", "Zoë", "Müller")
    assert card.name == "Dr. Zoë Müller"
    assert [p.value for p in card.phones] == ["+49-170-1234567", "+49-30-901820"]
    assert card.phones[0].types == ("voice", "cell")
    assert card.addresses[0]["country"] == "DE"
    assert card.note == "Messe Hannover, Halle 3"


def test_a_file_with_several_cards_gives_each_in_order():
    cards, problems = vcard.parse(sample("several.vcf"))
    assert problems == []
    assert [(c.position, c.given, c.family) for c in cards] == [
        (1, "Chinedu", "Okafor"),
        (2, "Åsa", "Svensson"),
        (3, "Priya", "Raman"),
    ]
    assert [c.line for c in cards] == [1, 10, 18]


def test_iphone_item_groups_take_their_apple_labels():
    card = one_card("iphone.vcf")
    assert [(e.value, e.label) for e in card.emails] == [
        ("erik.lindqvist@acme.com", "Work"),
        ("erik.l@icloud.com", "Home"),
    ]
    assert card.phones[1].label == "Switchboard"
    assert card.organisation == "Acme"
    assert card.addresses[0]["city"] == "Stockholm"


def test_a_card_with_n_only_and_one_with_fn_only_both_have_names():
    n_only = one_card("n-only.vcf")
    assert (n_only.given, n_only.family, n_only.name) == ("Hiroshi", "Nakamura", "Hiroshi Nakamura")
    fn_only = one_card("fn-only.vcf")
    assert (fn_only.given, fn_only.family) == ("Maria", "García")
    assert fn_only.full_name == "Maria José García"


def test_a_broken_card_is_reported_with_its_position_and_the_others_kept():
    cards, problems = vcard.parse(sample("broken.vcf"))
    assert [c.family for c in cards] == ["Okafor", "Svensson"]
    assert len(problems) == 1
    assert (problems[0].position, problems[0].line) == (2, 7)
    assert "THIS LINE HAS NO COLON" in str(problems[0])


def test_a_card_without_end_or_name_is_a_problem():
    data = b"BEGIN:VCARD\r\nVERSION:3.0\r\nEMAIL:x@acme.com\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann Lee\r\n"
    cards, problems = vcard.parse(data)
    assert cards == []
    assert [str(p) for p in problems] == [
        "card 1 (line 1): The card has no name (N or FN).",
        "card 2 (line 5): The card does not end (no END:VCARD).",
    ]


def test_a_file_without_any_card_says_so():
    cards, problems = vcard.parse(b"hello")
    assert cards == []
    assert "No vCard" in problems[0].message


# --- Capturing ------------------------------------------------------------------------------


@pytest.fixture
def by_alice(alice) -> Actor:
    return Actor(user=alice, via="import")


def test_capture_creates_the_contact_and_attaches_it_to_the_account_by_name(by_alice):
    acme = make_account(name="Acme")
    result = vcard.capture(one_card("jane-doe-3.0.vcf"), actor=by_alice, event="Web Summit 2026")
    assert result.outcome == "created"
    contact = Contact.objects.get(pk=result.contact_id)
    assert (contact.given_name, contact.family_name) == ("Jane", "Doe")
    assert contact.job_title == "Head of Purchasing"
    assert list(contact.emails.values_list("email", flat=True)) == ["jane.doe@acme.com"]
    assert sorted(contact.phones.values_list("e164", "kind")) == [
        ("+442079460958", "work"),
        ("+447911123456", "mobile"),
    ]
    assert contact.addresses.get().country == "GB"
    assert (result.account_id, result.account_how) == (acme.pk, "name")
    assert AccountMembership.objects.filter(contact=contact, account=acme).exists()


def test_capture_attaches_by_email_domain_when_the_company_name_is_unknown(by_alice):
    hoffmann = make_account(name="Hoffmann Bauunternehmung", domains=["hoffmann-bau.de"])
    result = vcard.capture(one_card("zoe-mueller-4.0.vcf"), actor=by_alice)
    assert (result.account_id, result.account_how) == (hoffmann.pk, "domain")
    assert AccountMembership.objects.filter(contact_id=result.contact_id, account=hoffmann).exists()


def test_a_free_mail_address_never_attaches_by_domain(by_alice):
    make_account(name="Google", domains=["gmail.com"])
    priya = vcard.parse(sample("several.vcf"))[0][2]
    result = vcard.capture(priya, actor=by_alice)
    assert result.outcome == "created"
    assert result.account_id is None
    assert not AccountMembership.objects.filter(contact_id=result.contact_id).exists()


def test_an_unknown_company_is_proposed_not_created(by_alice):
    result = vcard.capture(one_card("zoe-mueller-4.0.vcf"), actor=by_alice)
    assert result.account_id is None
    assert result.proposed_account == "Hoffmann Bau GmbH"
    assert "new account proposed: Hoffmann Bau GmbH" in result.describe()


def test_a_card_matching_a_contact_is_skipped_by_default(by_alice):
    jane = make_contact(given_name="Jane", family_name="Doe", emails=["jane.doe@acme.com"])
    result = vcard.capture(one_card("jane-doe-3.0.vcf"), actor=by_alice, event="Web Summit")
    assert result.outcome == "skipped"
    assert result.duplicate_of == jane.pk
    assert result.duplicate_percent and result.duplicate_percent >= 50
    assert f"skipped as duplicate of contact {jane.pk}" in result.describe()
    assert Contact.objects.count() == 1
    assert not Entry.objects.filter(kind="card").exists()


def test_update_adds_the_new_phone_and_fills_an_empty_title(by_alice):
    jane = make_contact(
        given_name="Jane",
        family_name="Doe",
        emails=["jane.doe@acme.com"],
        phones=["+44 20 7946 0958"],
    )
    result = vcard.capture(one_card("jane-doe-3.0.vcf"), actor=by_alice, on_duplicate="update")
    assert (result.outcome, result.contact_id) == ("updated", jane.pk)
    jane.refresh_from_db()
    assert sorted(jane.phones.values_list("e164", flat=True)) == ["+442079460958", "+447911123456"]
    assert jane.emails.count() == 1
    assert jane.job_title == "Head of Purchasing"
    assert Contact.objects.count() == 1


def test_update_keeps_a_job_title_already_there(by_alice):
    jane = make_contact(
        given_name="Jane", family_name="Doe", emails=["jane.doe@acme.com"], job_title="Buyer"
    )
    vcard.capture(one_card("jane-doe-3.0.vcf"), actor=by_alice, on_duplicate="update")
    jane.refresh_from_db()
    assert jane.job_title == "Buyer"


def test_create_ignores_the_duplicate(by_alice):
    make_contact(given_name="Jane", family_name="Doe", emails=["jane.doe@acme.com"])
    result = vcard.capture(one_card("jane-doe-3.0.vcf"), actor=by_alice, on_duplicate="create")
    assert result.outcome == "created"
    assert Contact.objects.count() == 2


def test_the_capture_is_on_the_timeline_with_the_event(by_alice, alice):
    result = vcard.capture(
        one_card("jane-doe-3.0.vcf"), actor=by_alice, event="Web Summit 2026", source="jane.vcf"
    )
    entry = Entry.objects.get(kind="card")
    assert entry.pk == result.entry_id
    assert entry.summary == "Card collected at Web Summit 2026"
    assert entry.data["event"] == "Web Summit 2026"
    assert entry.data["source"] == "jane.vcf"
    assert entry.staff == alice
    assert list(entry.links.values_list("contact_id", flat=True)) == [result.contact_id]


def test_without_an_event_the_entry_says_business_card_captured(by_alice):
    vcard.capture(one_card("n-only.vcf"), actor=by_alice)
    assert Entry.objects.get(kind="card").summary == "Business card captured"


def test_a_broken_email_is_left_out_with_its_reason_and_the_card_kept(by_alice):
    asa = vcard.parse(sample("broken.vcf"))[0][1]
    result = vcard.capture(asa, actor=by_alice)
    assert result.outcome == "created"
    contact = Contact.objects.get(pk=result.contact_id)
    assert list(contact.emails.values_list("email", flat=True)) == ["asa@initech.se"]
    assert len(result.rejected) == 1
    assert result.rejected[0].startswith("e-mail 'asa.svensson@@initech':")


def test_an_unknown_on_duplicate_choice_is_refused(by_alice):
    with pytest.raises(ValueError):
        vcard.capture(one_card("n-only.vcf"), actor=by_alice, on_duplicate="merge")


# --- The command ----------------------------------------------------------------------------


def test_command_reports_each_card_and_the_totals(personas, tmp_path):
    make_account(name="Globex", domains=["globex.com"])
    okafor = make_contact(given_name="Chinedu", family_name="Okafor", emails=["chinedu@globex.com"])
    path = tmp_path / "fair.vcf"
    path.write_bytes(sample("broken.vcf"))
    out = io.StringIO()
    call_command(
        "ingest", "vcard", str(path), "--user", "alice", "--event", "Hannover Messe", stdout=out
    )
    text = out.getvalue()
    assert f"card 1 (Chinedu Okafor): skipped as duplicate of contact {okafor.pk}" in text
    asa = Contact.objects.get(family_name="Svensson")
    assert f"card 3 (Åsa Svensson): created contact {asa.pk}" in text
    assert "  left out: e-mail 'asa.svensson@@initech'" in text
    assert "problem: card 2 (line 7): Cannot read the card" in text
    assert "3 cards read: 1 created, 0 updated, 1 skipped as duplicates, 1 problems." in text
    entry = Entry.objects.get(kind="card")
    assert entry.data == {"event": "Hannover Messe", "source": "fair.vcf", "card": 3}


def test_command_update_attaches_by_domain(personas, tmp_path):
    globex = make_account(name="Globex Holdings", domains=["globex.com"])
    okafor = make_contact(given_name="Chinedu", family_name="Okafor", emails=["chinedu@globex.com"])
    path = tmp_path / "one.vcf"
    path.write_bytes(sample("several.vcf"))
    out = io.StringIO()
    call_command("ingest", "vcard", str(path), "--on-duplicate", "update", stdout=out)
    text = out.getvalue()
    assert (
        f"card 1 (Chinedu Okafor): updated contact {okafor.pk}, account {globex.pk} (by domain)"
        in text
    )
    assert "3 cards read: 2 created, 1 updated, 0 skipped as duplicates, 0 problems." in text
    assert okafor.phones.get().e164 == "+14155550142"


def test_command_refuses_a_missing_file(personas, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Cannot read"):
        call_command("ingest", "vcard", str(tmp_path / "nope.vcf"))


def test_a_damaged_photo_does_not_cost_the_card():
    data = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann Lee\r\nPHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQ\r\n SkZJRgABA\r\nEND:VCARD\r\n"
    cards, problems = vcard.parse(data)
    assert problems == []
    assert [c.name for c in cards] == ["Ann Lee"]

"""Finding the signature block of a message: real messages in tests/signatures/."""

from __future__ import annotations

from pathlib import Path

from rapport.ingest.mail import services as mail
from rapport.ingest.mail import signature

SAMPLES = Path(__file__).parent / "signatures"


def own_text(name: str) -> str:
    return mail.parse((SAMPLES / name).read_bytes()).new_text


def block_of(name: str) -> list[str]:
    return signature.block(signature.split_forwarded(own_text(name)).own)[0]


def test_the_block_after_the_dash_dash_delimiter():
    lines, how, _ = signature.block(own_text("mobile.eml"))
    assert how == "delimiter"
    assert lines == [
        "Jane Doe",
        "Head of Purchasing",
        "ACME Ltd",
        "Mobile: +44 7400 123456",
        "Tel: +44 20 7946 0018",
        "www.acme.com",
    ]


def test_the_block_after_a_closing_includes_the_name():
    lines, how, name = signature.block(own_text("mobile-again.eml"))
    assert (how, name) == ("closing", "Jane Doe")
    assert lines[-1] == "Mobile: +44 7400 123456"
    assert "Signed copy attached tomorrow." not in lines


def test_an_html_only_message_signature_without_its_disclaimer():
    lines = block_of("html-only.eml")
    assert lines[:3] == ["Jane Doe", "Chief Procurement Officer", "ACME Ltd"]
    assert not any("confidential" in line for line in lines)


def test_quoted_history_with_someone_elses_signature_is_not_read():
    text = own_text("reply-quoted.eml")
    assert "Tom Lee" not in text  # folded away by mail.parse
    assert signature.block(text) == ([], "", "")
    assert signature.read(text, known_email="jane.doe@acme.com") is None


def test_a_forwarded_message_is_split_from_the_forwarders_own_text():
    parts = signature.split_forwarded(own_text("forwarded.eml"))
    assert parts.own == "Alice, see Jane's note below.\n\nTom"
    [forwarded] = parts.forwarded
    assert (forwarded.name, forwarded.email) == ("Jane Doe", "jane.doe@acme.com")
    assert forwarded.text.startswith("Tom, the budget is approved.")
    assert signature.block(parts.own)[0] == []  # "Tom" alone is no block of details
    assert signature.block(forwarded.text)[0][-1] == "Mobile: +44 7400 123456"


def test_german_signature_after_mit_freundlichen_gruessen_without_the_legal_footer():
    lines, how, name = signature.block(own_text("german.eml"))
    assert (how, name) == ("closing", "Hans Müller")
    assert lines == [
        "Hans Müller",
        "Einkaufsleiter",
        "Hoffmann Bau GmbH",
        "Musterstraße 12",
        "10115 Berlin",
        "Tel.: +49 30 1234567",
        "Mobil: +49 170 1234567",
        "www.hoffmann-bau.de",
    ]


def test_french_signature_after_cordialement_without_the_disclaimer():
    lines = block_of("french.eml")
    assert lines[0] == "Marie Dupont" and lines[-1] == "Portable : +33 6 12 34 56 78"
    assert not any("confidentiels" in line for line in lines)


def test_sent_from_my_iphone_is_no_signature():
    assert signature.block(own_text("iphone.eml")) == ([], "", "")


def test_trailing_short_lines_with_details_count_without_a_closing():
    text = "Please call me tomorrow.\n\nJane Doe\nACME Ltd\n+44 7400 123456"
    assert signature.block(text) == (["Jane Doe", "ACME Ltd", "+44 7400 123456"], "trailing", "")


def test_a_thanks_that_starts_a_sentence_is_not_a_closing():
    text = "Thanks for the quote, we will look at it next week.\n\nJane"
    assert signature.block(text) == ([], "", "")
    assert signature.block("Thanksgiving is coming.\nJane")[0] == []


def test_signature_fields_are_read_with_their_lines():
    sig = signature.read(
        own_text("mobile.eml"), known_name="Jane Doe", known_email="jane.doe@acme.com"
    )
    assert sig is not None and sig.fields is not None
    assert sig.fields.title == "Head of Purchasing"
    assert sig.fields.company == "ACME Ltd"
    mobile = next(p for p in sig.fields.phones if p.kind == "mobile")
    assert (mobile.e164, mobile.line) == ("+447400123456", "Mobile: +44 7400 123456")

"""Free text into contact fields: business cards and signatures from four countries."""

from __future__ import annotations

import pytest

from rapport.ingest.textfields import Fields, extract


def _read(text: str, **kwargs: str) -> Fields:
    return extract(text.strip("\n").splitlines(), **kwargs)


def _phones(fields: Fields) -> list[tuple[str, str]]:
    return [(p.kind, p.e164) for p in fields.phones]


def test_a_london_card_gives_every_field_with_its_line():
    fields = _read("""
Jane Whitfield
Head of Sales
Acme Widgets Ltd
221B Baker Street
London NW1 6XE
United Kingdom
T: +44 20 7946 0958
M: +44 7911 123456
jane.whitfield@acmewidgets.co.uk
www.acmewidgets.co.uk
""")
    assert (fields.name, fields.given_name, fields.family_name) == (
        "Jane Whitfield",
        "Jane",
        "Whitfield",
    )
    assert fields.title == "Head of Sales"
    assert fields.company == "Acme Widgets Ltd"
    assert fields.emails == ["jane.whitfield@acmewidgets.co.uk"]
    assert _phones(fields) == [("work", "+442079460958"), ("mobile", "+447911123456")]
    assert fields.websites == ["www.acmewidgets.co.uk"]
    assert fields.address == {
        "street": "221B Baker Street",
        "city": "London",
        "postcode": "NW1 6XE",
        "region": "",
        "country": "GB",
    }
    assert fields.sources["phones"] == "T: +44 20 7946 0958"
    assert fields.sources["company"] == "Acme Widgets Ltd"
    assert "London NW1 6XE" in fields.sources["address"]


def test_a_new_york_card_with_values_side_by_side_and_a_fax():
    fields = _read("""
ROBERT J. KLINE
Vice President, Engineering
Northwind Traders Inc.
350 Fifth Avenue, Suite 4100
New York, NY 10118
Tel (212) 736-5000 | Fax (212) 736-5001
rkline@northwind.com | northwind.com
""")
    assert (fields.name, fields.given_name, fields.family_name) == (
        "Robert J. Kline",
        "Robert",
        "Kline",
    )
    assert fields.title == "Vice President, Engineering"
    assert fields.company == "Northwind Traders Inc."
    assert _phones(fields) == [("work", "+12127365000"), ("fax", "+12127365001")]
    assert fields.websites == ["northwind.com"]
    assert fields.address == {
        "street": "350 Fifth Avenue, Suite 4100",
        "city": "New York",
        "postcode": "10118",
        "region": "NY",
        "country": "US",
    }


def test_a_berlin_card_reads_german_labels_and_the_postcode_before_the_city():
    fields = _read("""
Dr. Katrin Müller
Geschäftsführerin
Brandt & Söhne GmbH
Friedrichstraße 123
10117 Berlin
Deutschland
Tel.: +49 30 901820
Mobil: +49 151 23456789
k.mueller@brandt-soehne.de
""")
    assert (fields.given_name, fields.family_name) == ("Katrin", "Müller")
    assert fields.title == "Geschäftsführerin"
    assert fields.company == "Brandt & Söhne GmbH"
    assert _phones(fields) == [("work", "+4930901820"), ("mobile", "+4915123456789")]
    assert fields.address["street"] == "Friedrichstraße 123"
    assert (fields.address["postcode"], fields.address["city"], fields.address["country"]) == (
        "10117",
        "Berlin",
        "DE",
    )


def test_a_paris_card_reads_national_numbers_as_french_from_the_address():
    fields = _read("""
Sophie Laurent
Directrice Commerciale
Lumière Conseil SAS
12 rue de la Paix
75002 Paris
Tél : 01 42 68 53 00
Portable : 06 12 34 56 78
sophie.laurent@lumiere-conseil.fr
""")
    assert (fields.given_name, fields.family_name) == ("Sophie", "Laurent")
    assert fields.title == "Directrice Commerciale"
    assert fields.company == "Lumière Conseil SAS"
    assert _phones(fields) == [("work", "+33142685300"), ("mobile", "+33612345678")]
    assert fields.address["street"] == "12 rue de la Paix"
    assert (fields.address["postcode"], fields.address["city"], fields.address["country"]) == (
        "75002",
        "Paris",
        "FR",
    )


def test_ocr_noise_rules_letters_in_numbers_and_spaced_at_signs_are_undone():
    fields = _read("""
| Jane Whitfield .
Head of Sales —
ACME WIDGETS LTD
T: +44 2O 7946 O958 | M: 07911 123456
jane.whitfield @ acmewidgets.co.uk
""")
    assert fields.name == "Jane Whitfield"
    assert fields.title == "Head of Sales"
    assert fields.company == "ACME WIDGETS LTD"
    assert fields.emails == ["jane.whitfield@acmewidgets.co.uk"]
    assert _phones(fields) == [("work", "+442079460958"), ("mobile", "+447911123456")]


def test_a_card_without_a_legal_suffix_takes_the_company_from_the_email_domain():
    fields = _read("""
Mark Chen
Senior Software Engineer
Initech
mark.chen@initech.com
Mobile: +1 (415) 555-2671
""")
    assert fields.name == "Mark Chen"
    assert fields.title == "Senior Software Engineer"
    assert fields.company == "Initech"
    assert _phones(fields) == [("mobile", "+14155552671")]


def test_a_signature_splits_title_and_company_on_one_line_and_skips_the_closing():
    fields = _read("""
--
Thanks,
Olivia Brown
Marketing Director, Contoso Ltd
o: 020 7946 0958   e: olivia.brown@contoso.co.uk
www.contoso.co.uk
""")
    assert fields.name == "Olivia Brown"
    assert fields.title == "Marketing Director"
    assert fields.company == "Contoso Ltd"
    assert fields.emails == ["olivia.brown@contoso.co.uk"]
    assert _phones(fields) == [("work", "+442079460958")]
    assert fields.websites == ["www.contoso.co.uk"]
    assert fields.address == {}


def test_a_signature_with_pipes_and_a_number_without_country_code_uses_the_region():
    fields = _read(
        """
Best regards,
Tom Baker | Account Manager | Globex
212 736 5000 | tom@globex.com
""",
        region="US",
    )
    assert (fields.name, fields.title, fields.company) == ("Tom Baker", "Account Manager", "Globex")
    assert [p.e164 for p in fields.phones] == ["+12127365000"]


def test_known_name_and_email_complete_a_short_signature():
    fields = _read(
        """
Kind regards
Sam
Support Team
""",
        known_name="Sam Carter",
        known_email="sam.carter@globex.com",
    )
    assert (fields.name, fields.given_name, fields.family_name) == ("Sam Carter", "Sam", "Carter")
    assert fields.title == "Support Team"
    assert fields.emails == ["sam.carter@globex.com"]
    assert fields.company == ""


def test_known_name_wins_over_a_title_word_in_the_name():
    fields = _read(
        """
Chase Sales
Director
Globex Corp
""",
        known_name="Chase Sales",
    )
    assert fields.name == "Chase Sales"
    assert fields.title == "Director"
    assert fields.company == "Globex Corp"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Fax: +44 20 7946 0958", "fax"),
        ("Mob. +49 151 23456789", "mobile"),
        ("Direct +44 20 7946 0958", "work"),
        ("+33 6 12 34 56 78", "mobile"),  # no label: the number's type decides
        ("+44 20 7946 0958", "work"),
        ("+1 212 736 5000", "other"),  # US numbers can be either
    ],
)
def test_the_label_or_the_number_type_decides_the_phone_kind(text, expected):
    assert [p.kind for p in extract([text]).phones] == [expected]


def test_invalid_numbers_and_broken_addresses_are_left_out():
    fields = extract(["Call 12345 or +1 123 456 7890", "mail: bob@@acme", "Order no. 2024-11-03"])
    assert fields.phones == []
    assert fields.emails == []


def test_nothing_readable_gives_empty_fields():
    fields = extract(["", "  ", "|||", "~~ __ --"])
    assert fields == Fields()

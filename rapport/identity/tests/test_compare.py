import pytest

from rapport.identity import compare
from rapport.identity.compare import Level


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Jane.Doe+news@googlemail.com", "janedoe@gmail.com"),
        ("j.doe+crm@gmail.com", "jdoe@gmail.com"),
        ("ann+tag@acme.example.com", "ann@acme.example.com"),
    ],
)
def test_addresses_the_provider_delivers_to_one_mailbox_share_a_key(a, b):
    assert compare.email_key(a) == compare.email_key(b)


def test_dots_count_where_the_provider_does_not_ignore_them():
    assert compare.email_key("j.doe@acme.example.com") != compare.email_key("jdoe@acme.example.com")


def test_free_mail_and_team_mailboxes_are_recognised():
    assert compare.is_free_mail("Gmail.com") and not compare.is_free_mail("acme.example.com")
    assert compare.is_role_address("info@acme.example.com") and not compare.is_role_address(
        "ann@acme.example.com"
    )


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        ("Robert", "Robert", Level.EXACT),
        ("Robert", "Bob", Level.STRONG),
        ("Liz", "Elizabeth", Level.STRONG),
        ("Jonathan", "Jonathon", Level.STRONG),
        ("R.", "Robert", Level.WEAK),
        ("Zoë", "Zoe", Level.EXACT),
        ("Robert", "Michael", Level.DIFFERENT),
        ("", "Robert", Level.MISSING),
    ],
)
def test_given_names_allow_nicknames_initials_accents_and_typos(a, b, level):
    assert compare.given_names(a, b) == level


def test_swapped_given_and_family_names_are_the_same_person_but_not_exact():
    assert compare.person_names("Smith", "John", "John", "Smith") == Level.STRONG
    assert compare.person_names("John", "Smith", "John", "Smith") == Level.EXACT
    assert compare.person_names("John", "Smith", "Mary", "Jones") == Level.DIFFERENT


def test_family_names_allow_typos_and_one_of_two_parts():
    assert compare.family_names("Müller", "Muller") == Level.EXACT
    assert compare.family_names("Hamilton", "Hamliton") == Level.STRONG
    assert compare.family_names("Garcia-Lopez", "Lopez") == Level.WEAK


def test_email_evidence_is_weaker_for_a_shared_team_mailbox():
    assert (
        compare.emails({"ann@acme.example.com"}, {"ann@acme.example.com", "a@b.example.com"})
        == Level.EXACT
    )
    assert compare.emails({"ann.lee+x@gmail.com"}, {"annlee@googlemail.com"}) == Level.STRONG
    assert compare.emails({"info@acme.example.com"}, {"info@acme.example.com"}) == Level.WEAK
    assert compare.emails({"a@x.example.com"}, {"b@x.example.com"}) == Level.DIFFERENT
    assert compare.emails(set(), {"b@x.example.com"}) == Level.MISSING


def test_phones_and_organisations():
    assert compare.phones({"+442079460958"}, {"+442079460958"}) == Level.EXACT
    assert compare.phones({"+442079460958"}, {"+4402079460958"}) == Level.WEAK
    assert compare.organisations("ACME, Inc.", "Acme Incorporated") == Level.EXACT
    assert compare.organisations("Globex Corporation", "Globex Corp") == Level.EXACT
    assert compare.organisations("Initech Systems", "Initech Software") == Level.WEAK
    assert compare.organisations("Acme", "Umbrella") == Level.DIFFERENT


def test_the_same_personal_address_at_a_new_employer_is_a_hint():
    assert (
        compare.emails({"gloria.morris@old.example.com"}, {"gloria.morris@new.example.com"})
        == Level.WEAK
    )
    assert compare.emails({"info@old.example.com"}, {"info@new.example.com"}) == Level.DIFFERENT
    assert (
        compare.emails({"jo@old.example.com"}, {"jo@new.example.com"}) == Level.DIFFERENT
    )  # too short to tell


def test_a_contact_vector_takes_the_names_the_way_round_that_agrees():
    from rapport.identity.blocking import Person

    a = Person("John", "Smith", ("john.smith@acme.example.com",), ("+442079460958",), "Acme Ltd")
    b = Person("Smith", "John", (), ("+442079460958",), "ACME Limited")
    assert compare.contact_vector(a, b)[:5] == (
        Level.STRONG,
        Level.STRONG,
        Level.MISSING,
        Level.EXACT,
        Level.EXACT,
    )


def test_typos_in_longer_names_and_a_swap_of_neighbours_in_short_ones_are_strong():
    assert compare.given_names("Rachel", "Rarhel") == Level.STRONG  # one letter replaced
    assert compare.given_names("Sean", "Saen") == Level.STRONG  # two letters swapped
    assert compare.given_names("Mark", "Mary") == Level.DIFFERENT  # another real name
    assert compare.family_names("Hooper", "Hoper") == Level.STRONG


def test_nicknames_both_ways_and_an_initial():
    assert compare.given_names("Bob", "Robert") == Level.STRONG
    assert compare.given_names("Elizabeth", "Liz") == Level.STRONG
    assert compare.given_names("E.", "Elizabeth") == Level.WEAK
    assert compare.given_names("R", "Elizabeth") == Level.DIFFERENT


def test_umlauts_written_out_meet_the_umlaut():
    assert compare.family_names("Müller", "Mueller") == Level.EXACT
    assert compare.family_names("Schröder", "Schroeder") == Level.EXACT
    assert compare.family_names("Mueller", "Miller") != Level.EXACT
    assert compare.given_names("Manuel", "Manel") != Level.EXACT  # 'ue' after a vowel sound stays


def test_gmail_dots_and_tags_are_one_mailbox_but_another_provider_is_not():
    assert compare.emails({"j.doe+crm@gmail.com"}, {"jdoe@googlemail.com"}) == Level.STRONG
    assert compare.emails({"j.doe@acme.example.com"}, {"jdoe@acme.example.com"}) == Level.DIFFERENT


def test_a_shared_team_mailbox_is_weaker_than_a_shared_personal_one():
    team = compare.emails({"info@acme.example.com"}, {"info@acme.example.com"})
    personal = compare.emails({"ann@acme.example.com"}, {"ann@acme.example.com"})
    assert team == Level.WEAK and personal == Level.EXACT


def test_free_mail_domains_never_tie_to_an_organisation():
    assert compare.organisation_domain("ann@gmail.com") == ""
    assert compare.organisation_domain("ann@acme.example.com") == "acme.example.com"
    assert compare.domains(["gmail.com"], ["gmail.com"]) == Level.MISSING
    assert compare.domains(["www.acme.co.uk"], ["acme.co.uk"]) == Level.EXACT
    assert compare.domains(["uk.acme.com"], ["acme.com"]) == Level.STRONG
    assert compare.domains(["acme.com"], ["globex.com"]) == Level.DIFFERENT


def test_phone_numbers_in_other_formats():
    # Stored E.164 after normalisation; a trunk '0' left in or an extension still meets.
    assert compare.phones(["+442079460958"], ["+442079460958", "+15551234567"]) == Level.EXACT
    assert compare.phones(["+4402079460958"], ["+442079460958"]) == Level.WEAK
    assert compare.phones(["+442079460958"], ["+442079460959"]) == Level.DIFFERENT
    assert compare.phones([], ["+442079460958"]) == Level.MISSING


@pytest.mark.parametrize("other", ["Acme Incorporated", "acme", "ACME Ltd."])
def test_a_company_written_three_ways_is_one_organisation(other):
    assert compare.organisations("ACME, Inc.", other) == Level.EXACT


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        ("12 High Street, London SW1A 1AA", "12 HIGH ST.\nLONDON\nSW1A1AA", Level.EXACT),
        ("Hauptstraße 5, 10115 Berlin", "Hauptstr. 5, 10115 Berlin", Level.EXACT),
        (
            "12 High Street, London SW1A 1AA",
            "Flat 3, 12 High Street, Westminster, SW1A 1AA",
            Level.STRONG,
        ),
        ("12 High Street, London SW1A 1AA", "40 High Street, London SW1A 1AA", Level.WEAK),
        ("12 High Street, London SW1A 1AA", "5 rue de la Paix, 75002 Paris", Level.DIFFERENT),
        ("", "5 rue de la Paix, 75002 Paris", Level.MISSING),
    ],
)
def test_postal_addresses_compare_on_street_number_postcode_and_town(a, b, level):
    assert compare.addresses(a, b) == level


def test_identifying_values_compare_per_field_and_a_field_one_side_lacks_is_missing():
    a = ["id:vat=GB 123 456 789", "id:crm=9"]
    assert compare.identifying_level("id:vat", a, ["id:vat=gb123456789"]) == Level.EXACT
    assert compare.identifying_level("id:crm", a, ["id:vat=gb123456789"]) == Level.MISSING
    assert compare.identifying_level("id:passport", ["passport=X1"], ["passport=X2"]) == 0


def test_the_contact_vector_carries_address_identifiers_and_name_rarity():
    from rapport.identity.blocking import Person
    from rapport.identity.frequency import count_names

    a = Person(
        "Raven", "Stewart", address="12 High Street, London SW1A 1AA", identifiers=("vat=GB1",)
    )
    b = Person("Raven", "Stewart", address="12 High St, London SW1A1AA", identifiers=("vat=GB1",))
    crowd = [Person("John", "Smith") for _ in range(40)]
    frequencies = count_names([a, b, *crowd])
    fields = compare.contact_fields(frequencies.identifying)
    assert fields == (*compare.VECTOR_FIELDS, "id:vat")
    vector = dict(zip(fields, compare.contact_vector(a, b, frequencies), strict=True))
    assert vector["address"] == Level.EXACT and vector["id:vat"] == Level.EXACT
    smiths = dict(zip(fields, compare.contact_vector(crowd[0], crowd[1], frequencies), strict=True))
    assert vector["family_rarity"] > smiths["family_rarity"] >= 0
    assert smiths["id:vat"] == Level.MISSING
    # Without a frequency table, rarity is no evidence.
    assert compare.contact_vector(a, b)[6:8] == (Level.MISSING, Level.MISSING)


def test_the_account_vector_ignores_legal_forms_and_free_mail():
    from rapport.identity.blocking import Organisation

    a = Organisation(
        "ACME, Inc.",
        domains=("acme.example.com", "gmail.com"),
        phones=("+442079460958",),
        address="1 Main Road, Leeds LS1 4AP",
    )
    b = Organisation(
        "Acme Incorporated", domains=("www.acme.example.com",), address="1 Main Rd, Leeds LS1 4AP"
    )
    c = Organisation("Acme", domains=("gmail.com",), phones=("+33142685300",))
    assert compare.ACCOUNT_VECTOR_FIELDS == ("domain", "name", "address", "phone")
    assert compare.account_vector(a, b) == (Level.EXACT, Level.EXACT, Level.EXACT, Level.MISSING)
    assert compare.account_vector(a, c) == (
        Level.MISSING,
        Level.EXACT,
        Level.MISSING,
        Level.DIFFERENT,
    )


@pytest.mark.parametrize(
    ("field", "level", "phrase"),
    [
        ("email", Level.EXACT, "same e-mail address"),
        ("email", Level.STRONG, "e-mail at the same mailbox written differently"),
        ("given", Level.STRONG, "nickname or close spelling of the given name"),
        ("phone", Level.DIFFERENT, "different phone numbers"),
        ("phone", Level.MISSING, "no phone on one record"),
        ("domain", Level.EXACT, "same web domain"),
        ("family_rarity", 15, "family name shared by at most 2 records"),
    ],
)
def test_evidence_is_described_in_words(field, level, phrase):
    assert compare.describe(field, level) == phrase


def test_every_field_and_level_has_words():
    for field in (*compare.VECTOR_FIELDS, *compare.ACCOUNT_VECTOR_FIELDS):
        for level in Level:
            assert compare.describe(field, level)
    with pytest.raises(KeyError):
        compare.describe("shoe size", Level.EXACT)


def test_names_in_each_other_s_places_agree_even_with_an_initial_or_one_left_out():
    from rapport.identity.blocking import Person

    def names(a, b):
        return compare.contact_vector(Person(*a), Person(*b))[:2]

    assert min(names(("Walsh", "M"), ("Melissa", "Walsh"))) >= Level.WEAK
    assert sorted(names(("Munoz", ""), ("Gina", "Munoz"))) == [Level.MISSING, Level.STRONG]
    assert sorted(names(("Adam", "Stanley"), ("Stanley", ""))) == [Level.MISSING, Level.STRONG]
    assert names(("Ann", "Lee"), ("Tom", "Lee")) == (Level.DIFFERENT, Level.EXACT)


def test_a_slip_on_each_side_of_a_given_name_is_weak_agreement_not_a_difference():
    assert compare.given_names("Widliam", "Willim") == Level.WEAK
    assert compare.given_names("Jno", "Jon") == Level.WEAK
    assert compare.given_names("Mark", "Mary") == Level.DIFFERENT  # short names: other names
    assert compare.given_names("Sarah", "Susan") == Level.DIFFERENT


def test_names_found_the_other_way_round_are_weighed_as_the_names_they_are():
    from rapport.identity.blocking import Person
    from rapport.identity.frequency import count_names

    def names(a, b, frequencies=None):
        return compare.contact_vector(Person(*a), Person(*b), frequencies)[:2]

    # 'Lynch' is the family name both share: Bobby and Jerry are two people of one family.
    assert names(("Lynch", "Bobby"), ("Jerry", "Lynch")) == (Level.DIFFERENT, Level.STRONG)
    assert names(("Jerry", "Lynch"), ("Lynch", "Bobby")) == (Level.DIFFERENT, Level.STRONG)
    assert names(("Walsh", "M"), ("Melissa", "Walsh")) == (Level.WEAK, Level.STRONG)
    # A record with one name: the other record's places say what the shared name is.
    assert names(("Adam", "Stanley"), ("Stanley", "")) == (Level.MISSING, Level.STRONG)
    assert names(("Munoz", ""), ("Gina", "Munoz")) == (Level.MISSING, Level.STRONG)
    # With the records' name table, the name written more often as a family name is one.
    people = [Person("Taylor", "Ross"), Person("Ann", "Taylor"), Person("Ed", "Taylor")]
    table = count_names(people)
    assert names(("Taylor", "Beverly"), ("Edward", "Taylor"), table) == (
        Level.DIFFERENT,
        Level.STRONG,
    )


def test_a_slip_that_makes_no_name_or_mistypes_what_a_nickname_stands_for_is_weak():
    assert compare.given_names("Jill", "Jilc") == Level.WEAK  # 'Jilc' is nobody's name
    assert compare.given_names("Ay", "Amy") == Level.WEAK
    assert compare.given_names("Widliam", "Bill") == Level.WEAK  # William mistyped
    assert compare.given_names("Jen", "Jon") == Level.DIFFERENT  # two names
    assert compare.given_names("Mark", "Mary") == Level.DIFFERENT

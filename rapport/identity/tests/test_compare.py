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
    assert compare.is_role_address("info@acme.example.com") and not compare.is_role_address("ann@acme.example.com")


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
    assert compare.emails({"ann@acme.example.com"}, {"ann@acme.example.com", "a@b.example.com"}) == Level.EXACT
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
    assert compare.emails({"gloria.morris@old.example.com"}, {"gloria.morris@new.example.com"}) == Level.WEAK
    assert compare.emails({"info@old.example.com"}, {"info@new.example.com"}) == Level.DIFFERENT
    assert compare.emails({"jo@old.example.com"}, {"jo@new.example.com"}) == Level.DIFFERENT  # too short to tell


def test_a_contact_vector_takes_the_names_the_way_round_that_agrees():
    from rapport.identity.blocking import Person

    a = Person("John", "Smith", ("john.smith@acme.example.com",), ("+442079460958",), "Acme Ltd")
    b = Person("Smith", "John", (), ("+442079460958",), "ACME Limited")
    assert compare.contact_vector(a, b) == (Level.STRONG, Level.STRONG, Level.MISSING, Level.EXACT, Level.EXACT)

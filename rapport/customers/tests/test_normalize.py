import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from rapport.customers import normalize


@pytest.mark.parametrize(
    "typed",
    ["+44 20 7946 0958", "020 7946 0958", "442079460958", "0044 20 7946 0958", "+44 (0)20 7946-0958"],
)
def test_a_london_number_in_any_format_is_stored_as_the_same_e164(typed, settings):
    settings.DEFAULT_PHONE_REGION = "GB"
    assert normalize.normalize_phone(typed)[0] == "+442079460958"


def test_a_number_without_country_code_is_read_in_the_given_region():
    assert normalize.normalize_phone("(415) 555-2671", "US")[0] == "+14155552671"


@pytest.mark.parametrize("typed", ["12", "not a number", "+44 20 79", ""])
def test_an_impossible_phone_number_is_refused_with_the_value_in_the_message(typed):
    with pytest.raises(ValueError) as exc:
        normalize.normalize_phone(typed)
    assert (typed in str(exc.value)) or "Enter" in str(exc.value)


def test_email_is_stored_lower_case_with_its_domain():
    assert normalize.normalize_email("  Bob.Smith@Example.COM ") == ("bob.smith@example.com", "example.com")


@pytest.mark.parametrize("bad", ["bob", "bob@", "@example.com", "bob@@example.com", "bob@exa mple.com"])
def test_invalid_email_is_refused(bad):
    with pytest.raises(ValueError):
        normalize.normalize_email(bad)


@pytest.mark.parametrize(
    ("typed", "code"), [("GB", "GB"), ("gbr", "GB"), ("Germany", "DE"), ("UK", "GB"), ("fr", "FR")]
)
def test_countries_become_iso_codes(typed, code):
    assert normalize.normalize_country(typed) == code


def test_unknown_country_is_refused():
    with pytest.raises(ValueError, match="Atlantis"):
        normalize.normalize_country("Atlantis")


@pytest.mark.parametrize(
    ("typed", "domain"),
    [("https://www.Acme.com/about", "acme.com"), ("acme.co.uk", "acme.co.uk"), ("bücher.de", "xn--bcher-kva.de")],
)
def test_domains_are_reduced_to_the_host(typed, domain):
    assert normalize.normalize_domain(typed) == domain


@pytest.mark.parametrize(
    "name", ["ACME, Inc.", "Acme Incorporated", "acme ltd", "Acme GmbH", "ACME"]
)
def test_legal_suffixes_and_case_are_ignored_in_company_names(name):
    assert normalize.normalize_org_name(name) == "acme"


def test_a_full_name_is_split_into_parts():
    parts = normalize.parse_full_name("Dr. Robert J. Smith Jr.")
    assert parts == {
        "prefix": "Dr.",
        "given_name": "Robert",
        "middle_name": "J.",
        "family_name": "Smith",
        "suffix": "Jr.",
    }


def test_language_tags_and_time_zones_are_checked():
    assert normalize.normalize_language("fr_ca") == "fr-CA"
    with pytest.raises(ValueError):
        normalize.normalize_language("zz")
    assert normalize.normalize_time_zone("Europe/London") == "Europe/London"
    with pytest.raises(ValueError):
        normalize.normalize_time_zone("Mars/Olympus")


@given(st.text(max_size=40))
def test_folding_is_idempotent(text):
    once = normalize.fold(text)
    assert normalize.fold(once) == once


@given(st.emails())
def test_email_normalisation_is_idempotent(email):
    try:
        first, _ = normalize.normalize_email(email)
    except ValueError:
        return
    assert normalize.normalize_email(first)[0] == first


@given(st.sampled_from(["GB", "US", "DE", "FR", "JP"]), st.integers(min_value=0, max_value=10**6))
def test_phone_normalisation_is_idempotent(region, n):
    import phonenumbers

    example = phonenumbers.example_number(region)
    national = str(example.national_number)
    typed = national[: -len(str(n))] + str(n) if len(str(n)) < len(national) else national
    try:
        e164, _ = normalize.normalize_phone(typed, region)
    except ValueError:
        return
    assert normalize.normalize_phone(e164, region)[0] == e164


_ATOM = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_%+-.", min_size=1, max_size=70)
_LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=65)
_TLD = st.sampled_from(["com", "org", "Co", "uk", "test", "local", "io", "DE", "x", "museum"])


@given(local=_ATOM, labels=st.lists(_LABEL, min_size=1, max_size=3), tld=_TLD)
@hsettings(max_examples=400, deadline=None)
def test_the_fast_email_path_agrees_with_the_validator(local: str, labels: list[str], tld: str) -> None:
    from email_validator import EmailNotValidError, validate_email

    address = f"{local}@{'.'.join(labels)}.{tld}"
    fast = normalize._plain_email(address)
    try:
        expected = validate_email(address, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        expected = None
    if fast is not None:
        # The fast path never accepts what the validator refuses, and stores the same form.
        assert fast == expected
    if expected is not None:
        assert normalize.normalize_email(address)[0] == expected
    else:
        with pytest.raises(ValueError):
            normalize.normalize_email(address)

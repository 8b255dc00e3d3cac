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


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("Deutschland", "DE"), ("Allemagne", "DE"), ("Alemania", "DE"), ("Germania", "DE"),
        ("Duitsland", "DE"), ("Niemcy", "DE"), ("Tyskland", "DE"), ("Österreich", "AT"),
        ("Royaume-Uni", "GB"), ("Vereinigtes Königreich", "GB"), ("Pays-Bas", "NL"),
        ("España", "ES"), ("espana", "ES"), ("Suisse", "CH"), ("États-Unis", "US"),
        ("Polska", "PL"), ("Sverige", "SE"), ("Danmark", "DK"), ("Brasil", "BR"),
        ("U.K.", "GB"), ("USA", "US"), ("U.S.A.", "US"), ("Holland", "NL"),
        ("The Netherlands", "NL"), ("Great Britain", "GB"), ("Turkey", "TR"),
    ],
)  # fmt: skip
def test_country_names_in_common_languages_and_usual_short_forms_are_understood(typed, code):
    assert normalize.normalize_country(typed) == code


def test_country_codes_still_win_over_names():
    assert [normalize.normalize_country(c) for c in ("DE", "deu", "276", "in")] == ["DE", "DE", "DE", "IN"]


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("+44 20 7946 000", "for the UK (+44)"),
        ("+44 20 7946 09581234", "for the UK (+44): it has too many digits"),
        ("+49 30 1", "for Germany (+49)"),
        ("0044 20 79", "for the UK (+44)"),
    ],
)
def test_an_invalid_international_number_names_its_country_and_the_problem(typed, words, settings):
    settings.DEFAULT_PHONE_REGION = "US"  # a +code says the country; the default is beside the point
    with pytest.raises(ValueError) as exc:
        normalize.normalize_phone(typed)
    message = str(exc.value)
    assert f"'{typed}' is not a valid phone number {words}" in message
    assert "read as" not in message and "US" not in message


def test_an_invalid_national_number_names_the_region_it_was_read_in(settings):
    settings.DEFAULT_PHONE_REGION = "GB"
    with pytest.raises(ValueError) as exc:
        normalize.normalize_phone("12")
    assert "'12' is not a valid phone number for the UK: it has too few digits" in str(exc.value)


@pytest.mark.parametrize("bad", ["a\x00b", "\x01", "x\x08", "a\x0bb", "a\x1fb"])
def test_text_with_a_control_character_is_refused(bad):
    with pytest.raises(ValueError, match="control character"):
        normalize.check_text(bad)
    assert normalize.strip_controls(bad) == bad.translate({c: None for c in range(32) if c not in (9, 10, 13)})


def test_tabs_and_line_breaks_are_not_control_characters_to_refuse():
    assert normalize.check_text("one\ttwo\r\nthree") == "one\ttwo\r\nthree"


@pytest.mark.parametrize(
    "call",
    [
        lambda: normalize.normalize_phone("+44 20 7946 0958\x00"),
        lambda: normalize.normalize_tag("vip\x00"),
        lambda: normalize.normalize_country("DE\x00"),
        lambda: normalize.normalize_email("bob\x00@example.com"),
    ],
)
def test_normalised_values_refuse_a_nul(call):
    with pytest.raises(ValueError):
        call()

"""Normalisation of customer values, the same on every path (web, API, import).

Each function returns the stored form or raises ``ValueError`` with a sentence a person
can act on.
"""

from __future__ import annotations

import datetime as dt
import gettext
import re
import unicodedata
import zoneinfo
from functools import lru_cache

import phonenumbers
import pycountry
from django.conf import settings
from email_validator import EmailNotValidError, validate_email
from nameparser import HumanName

LEGAL_SUFFIXES = {
    "inc", "incorporated", "ltd", "limited", "llc", "llp", "lp", "plc", "gmbh", "ag", "kg",
    "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "oy", "ab", "as", "aps", "co", "corp",
    "corporation", "company", "pty", "pte", "kk", "se", "sl", "ug", "mbh", "oyj",
}  # fmt: skip


def fold(text: str) -> str:
    """Lower case without accents: 'Zoë Ångström' -> 'zoe angstrom'."""
    if text.isascii():
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.casefold().replace("ß", "ss").replace("ø", "o").replace("ł", "l")


_WORD = re.compile(r"[^\W_]+", re.UNICODE)

# Every C0 control character but tab, line feed and carriage return. Nobody types them: they
# come from binary junk or a broken export. PostgreSQL cannot store NUL, and XML (so an XLSX
# cell) can hold none of them, so text fields refuse them and exports leave them out.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def check_text(value: str) -> str:
    """``value`` unchanged, or ValueError if it holds a control character."""
    found = CONTROL_CHARACTERS.search(value)
    if found is not None:
        code = ord(found.group())
        name = "NUL, " if code == 0 else ""
        raise ValueError(
            f"Remove the invisible control character ({name}U+{code:04X}) from the text."
        )
    return value


def strip_controls(value: str) -> str:
    """``value`` without control characters: for text that must be kept even so (a received
    e-mail) and for writing legacy values out."""
    return CONTROL_CHARACTERS.sub("", value)


def words(text: str) -> list[str]:
    """The searchable words of a name, folded."""
    return [w[:60] for w in _WORD.findall(fold(text))]


# Plain ASCII addresses, the vast majority, are checked by this pattern instead of the full
# validator (35 µs each; imports read millions). The pattern accepts only addresses the
# validator accepts, and gives the same stored form; a property test holds it to that.
_PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_SPECIAL_USE_TLDS = {
    "arpa",
    "invalid",
    "local",
    "localhost",
    "onion",
    "test",
    "internal",
    "alt",
    "home",
}


def _plain_email(value: str) -> str | None:
    if len(value) > 254 or not _PLAIN_EMAIL.fullmatch(value) or "--" in value.rpartition("@")[2]:
        return None
    local, _, domain = value.rpartition("@")
    if len(local) > 64 or domain.rsplit(".", 1)[1].lower() in _SPECIAL_USE_TLDS:
        return None
    return value.lower()


def normalize_email(value: str) -> tuple[str, str]:
    """The stored form of an address and its domain, or ValueError."""
    value = (value or "").strip()
    if not value:
        raise ValueError("Enter an e-mail address.")
    plain = _plain_email(value)
    if plain is not None:
        return plain, plain.rpartition("@")[2]
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"'{value}' is not a valid e-mail address: {exc}") from None
    normalized = result.normalized.lower()
    return normalized, normalized.rsplit("@", 1)[1]


def _parse_phone(raw: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def normalize_phone(value: str, region: str | None = None) -> tuple[str, str]:
    """E.164 form and extension of a number as typed, read in ``region`` if it has no +code.

    Numbers typed with their country code but no '+' ("442079460958") are understood too.
    """
    raw = check_text((value or "").strip())
    if not raw:
        raise ValueError("Enter a phone number.")
    region = (region or settings.DEFAULT_PHONE_REGION).upper()
    number = _parse_phone(raw, region)
    digits = re.sub(r"\D", "", raw)
    if number is None and not raw.startswith("+") and len(digits) >= 8:
        number = _parse_phone(
            "+" + digits.lstrip("0") if raw.startswith("00") else "+" + digits, region
        )
    if number is None:
        raise ValueError(_phone_problem(raw, region))
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164, number.extension or ""


_PHONE_REASONS = {
    phonenumbers.ValidationResult.TOO_SHORT: "it has too few digits",
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "it has too few digits (is the area code missing?)",
    phonenumbers.ValidationResult.TOO_LONG: "it has too many digits",
    phonenumbers.ValidationResult.INVALID_LENGTH: "it has the wrong number of digits",
}
# A number of a possible length that no range of the numbering plan holds.
_PHONE_NOT_IN_USE = "its digits are not a number in use there (a digit missing, extra or wrong?)"
# Where pycountry's name of a region reads badly after "for".
_PHONE_PLACES = {"GB": "the UK", "US": "the US", "NL": "the Netherlands", "CZ": "Czechia"}


def _phone_place(region: str) -> str:
    if region in _PHONE_PLACES:
        return _PHONE_PLACES[region]
    country = pycountry.countries.get(alpha_2=region)
    if country is None:
        return region
    return getattr(country, "common_name", None) or country.name


def _phone_problem(raw: str, region: str) -> str:
    """Why ``raw`` is not a valid number, naming the country whose numbering it breaks: the
    one of its +code, else the region it was read in."""
    international = raw.startswith(("+", "00"))
    # "00" is the international prefix almost everywhere, but not where numbers are read
    # (011 in North America): written so, the number was meant with its country code.
    text = "+" + raw[2:] if raw.startswith("00") else raw
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        if (
            exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE
            and international
        ):
            return f"'{raw}' is not a valid phone number: it starts with no country's code."
        if exc.error_type == phonenumbers.NumberParseException.NOT_A_NUMBER:
            return f"'{raw}' is not a valid phone number: it is not a number."
        return f"'{raw}' is not a valid phone number: it has too few digits."
    reason = _PHONE_REASONS.get(
        phonenumbers.is_possible_number_with_reason(parsed), _PHONE_NOT_IN_USE
    )
    if international:
        place = _phone_place(phonenumbers.region_code_for_country_code(parsed.country_code or 0))
        return (
            f"'{raw}' is not a valid phone number for {place} (+{parsed.country_code}): {reason}."
        )
    return (
        f"'{raw}' is not a valid phone number for {_phone_place(region)}: {reason}"
        " (a number from elsewhere starts with + and its country code)."
    )


def phone_candidates(value: str, region: str | None = None) -> list[str]:
    """Every E.164 form a searched number could mean (for search, never for storage)."""
    raw = (value or "").strip()
    digits = re.sub(r"\D", "", raw)
    if len(digits) < 6:
        return []
    region = (region or settings.DEFAULT_PHONE_REGION).upper()
    found: list[str] = []
    for text, reg in ((raw, region), ("+" + digits, region), ("+" + digits.lstrip("0"), region)):
        number = _parse_phone(text, reg)
        if number is not None:
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            if e164 not in found:
                found.append(e164)
    return found


def format_phone(e164: str) -> str:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


# The languages whose names of countries are understood (pycountry's gettext catalogues of
# ISO 3166), besides English: a file from a German office says "Deutschland".
COUNTRY_NAME_LANGUAGES = ("de", "fr", "es", "it", "nl", "pt", "pl", "sv", "da", "nb_NO", "fi")
# Names people write that are in no catalogue (ISO has "United Kingdom", "Türkiye"...).
COUNTRY_ALIASES = {
    "uk": "GB", "great britain": "GB", "britain": "GB", "england": "GB", "scotland": "GB",
    "wales": "GB", "northern ireland": "GB", "usa": "US", "us": "US", "america": "US",
    "holland": "NL", "turkey": "TR", "russia": "RU", "macedonia": "MK", "ivory coast": "CI",
    "cape verde": "CV", "swaziland": "SZ", "burma": "MM", "vatican": "VA", "holy see": "VA",
    "palestine": "PS", "uae": "AE", "emirates": "AE", "brunei": "BN", "micronesia": "FM",
}  # fmt: skip


def _country_key(text: str) -> str:
    """A country name as compared: folded, without dots, apostrophes, brackets or a leading
    'the'; commas and hyphens as spaces ('U.K.' -> 'uk', 'Pays-Bas' -> 'pays bas')."""
    text = re.sub(r"[.'’()]", "", fold(text))
    return " ".join(re.sub(r"[,/-]", " ", text).split()).removeprefix("the ")


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    """Every name of every country in English and COUNTRY_NAME_LANGUAGES, by its key. A
    translated name never overrides an English one, and one that means two countries is left
    out rather than guessed."""
    english: dict[str, str] = {}
    spelled: list[tuple[str, str]] = []
    for country in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            name = getattr(country, attr, None)
            if name:
                english[_country_key(name)] = country.alpha_2
                spelled.append((name, country.alpha_2))
    translated: dict[str, set[str]] = {}
    for language in COUNTRY_NAME_LANGUAGES:
        catalogue = gettext.translation(
            "iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True
        )
        for name, code in spelled:
            translated.setdefault(_country_key(catalogue.gettext(name)), set()).add(code)
    names = {key: codes.pop() for key, codes in translated.items() if len(codes) == 1}
    return names | english | COUNTRY_ALIASES


@lru_cache(maxsize=1024)
def normalize_country(value: str) -> str:
    """ISO 3166-1 alpha-2 code from a code (GB, GBR) or a name in English or a common
    language ('Germany', 'Deutschland', 'Allemagne'), or a usual short form ('UK', 'Holland')."""
    text = check_text((value or "").strip())
    if not text:
        raise ValueError("Enter a country.")
    code = _country_names().get(_country_key(text))
    if code is not None:
        return code
    country = None
    if len(text) == 2:
        country = pycountry.countries.get(alpha_2=text.upper())
    elif len(text) == 3:
        country = pycountry.countries.get(alpha_3=text.upper())
    if country is None:
        try:
            country = pycountry.countries.lookup(text)  # a numeric code ("276")
        except LookupError:
            country = None
    if country is None:
        raise ValueError(f"'{text}' is not a country name or ISO 3166 code.")
    return country.alpha_2


_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def normalize_domain(value: str) -> str:
    """'https://www.Acme.com/about' -> 'acme.com'."""
    text = (value or "").strip().lower()
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text).split("/", 1)[0].split(":", 1)[0]
    text = text.removeprefix("www.").rstrip(".")
    if text.isascii() and _DOMAIN.match(text):
        return text  # IDNA encoding leaves a valid ASCII name as it is; skip its cost
    try:
        text = text.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"'{value}' is not a valid web domain.") from None
    if not _DOMAIN.match(text):
        raise ValueError(f"'{value}' is not a valid web domain.")
    return text


@lru_cache(maxsize=65536)
def normalize_org_name(name: str) -> str:
    """Company name for comparison: 'ACME, Inc.' and 'Acme Incorporated' both give 'acme'."""
    parts = words(name.replace("&", " and "))
    while len(parts) > 1 and parts[-1] in LEGAL_SUFFIXES:
        parts.pop()
    return " ".join(parts)


def parse_full_name(full_name: str) -> dict[str, str]:
    """Split a name as typed into prefix, given, middle, family and suffix."""
    name = HumanName((full_name or "").strip())
    return {
        "prefix": name.title,
        "given_name": name.first,
        "middle_name": name.middle,
        "family_name": name.last,
        "suffix": name.suffix,
    }


def display_name(parts: dict[str, str]) -> str:
    keys = ("prefix", "given_name", "middle_name", "family_name", "suffix")
    return " ".join(parts.get(k, "").strip() for k in keys if parts.get(k, "").strip())


def sort_key(parts: dict[str, str]) -> str:
    return fold(
        " ".join(p for p in (parts.get("family_name", ""), parts.get("given_name", "")) if p)
    )[:300]


_LANG = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")


def normalize_language(value: str) -> str:
    text = (value or "").strip().replace("_", "-")
    if not _LANG.match(text):
        raise ValueError(f"'{value}' is not a language tag such as 'en' or 'fr-CA'.")
    primary = text.split("-")[0].lower()
    lookup = {"alpha_2": primary} if len(primary) == 2 else {"alpha_3": primary}
    if pycountry.languages.get(**lookup) is None:
        raise ValueError(f"'{primary}' is not an ISO 639 language code.")
    rest = text.split("-")[1:]
    return "-".join([primary, *[r.upper() if len(r) == 2 else r for r in rest]])


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def normalize_time_zone(value: str) -> str:
    text = (value or "").strip()
    if text not in _zones():
        raise ValueError(f"'{value}' is not a time zone name such as 'Europe/London'.")
    return text


def normalize_tag(value: str) -> str:
    text = " ".join(check_text(value or "").split())[:50]
    if not text:
        raise ValueError("A tag cannot be empty.")
    return text


# --- dates ---------------------------------------------------------------------------------

# Where a numeric date is written month first (03/12/1985 is 12 March). Everywhere else,
# day first. An import reads its ambiguous dates by its region.
MONTH_FIRST_REGIONS = frozenset({"US", "PH", "FM", "MH", "PW", "AS", "GU", "MP", "PR", "VI", "UM"})
# The largest Excel serial day number (9999-12-31) and its day zero (with the 1900 leap bug).
_EXCEL_MAX = 2958465
_EXCEL_EPOCH = (1899, 12, 30)
_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_NUMERIC = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{2}|\d{4})(?:[ T].*)?")
_ZERO = re.compile(r"0{1,4}[-/.]?0{1,2}[-/.]?0{1,4}(?:[ T]0{1,2}:0{2}(?::0{2})?)?")


def date_order_for(region: str) -> str:
    """"mdy" where numeric dates are written month first, else "dmy"."""
    return "mdy" if (region or "").upper() in MONTH_FIRST_REGIONS else "dmy"


def full_year(two_digits: int, *, today: dt.date | None = None) -> int:
    """A two-digit year as the year in the hundred years that end with this one: in 2026,
    00-26 are 2000-2026 and 27-99 are 1927-1999 (dates a CRM holds, such as a birth date or
    "customer since", are mostly past)."""
    this = (today or dt.date.today()).year
    year = this - this % 100 + two_digits
    return year - 100 if year > this else year


def _date(year: int, month: int, day: int, text: str) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"'{text}' is not a date: there is no day {day} in month {month} of {year}.") from None


def parse_date(value: str, *, order: str = "", excel: bool = False) -> dt.date | None:
    """A date written in one of the common ways, or None for a legacy "no date" (all zeros).

    ISO (1985-03-12, 1985/03/12, with a time after it), compact (19850312), day first with
    dots (12.03.1985), numeric with slashes or dashes (12/03/1985: read by ``order``, "dmy"
    or "mdy", unless one part is over 12; refused as ambiguous without it), month names
    ("12 March 1985", "March 12, 1985", "12-Mar-85"), two-digit years (``full_year``), and,
    with ``excel``, a spreadsheet's serial day number (31118)."""
    text = " ".join(str(value).split())
    if not text or _ZERO.fullmatch(text):
        return None
    if m := _ISO.fullmatch(text):
        return _date(int(m[1]), int(m[2]), int(m[3]), text)
    if m := _COMPACT.fullmatch(text):
        return _date(int(m[1]), int(m[2]), int(m[3]), text)
    if m := _NUMERIC.fullmatch(text):
        a, sep, b, y = int(m[1]), m[2], int(m[3]), m[4]
        year = int(y) if len(y) == 4 else full_year(int(y))
        if sep == "." or a > 12:
            return _date(year, b, a, text)
        if b > 12:
            return _date(year, a, b, text)
        if a == b:
            return _date(year, a, b, text)
        if order not in ("dmy", "mdy"):
            raise ValueError(f"'{text}' could be {a} {_MONTHS[b - 1]} or {b} {_MONTHS[a - 1]}: write it as YYYY-MM-DD.")
        return _date(year, b, a, text) if order == "dmy" else _date(year, a, b, text)
    if excel and text.isdigit() and 0 < int(text) <= _EXCEL_MAX:
        return dt.date(*_EXCEL_EPOCH) + dt.timedelta(days=int(text))
    if re.search(r"[^\W\d_]", text):  # a month's name
        return _named_date(text)
    raise ValueError(f"'{text}' is not a date (write it as YYYY-MM-DD).")


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")  # fmt: skip


def _named_date(text: str) -> dt.date:
    from dateutil import parser  # type: ignore[import-untyped]  # no stubs pinned

    class Info(parser.parserinfo):
        def convertyear(self, year: int, century_specified: bool = False) -> int:
            return full_year(year) if year < 100 and not century_specified else year

    # Two defaults: a part the text does not give shows as a difference, and is refused
    # rather than filled in ("March 1985" is not a day).
    try:
        one = parser.parse(text, parserinfo=Info(dayfirst=True), default=dt.datetime(2000, 1, 1))
        two = parser.parse(text, parserinfo=Info(dayfirst=True), default=dt.datetime(2001, 2, 2))
    except (ValueError, OverflowError):
        raise ValueError(f"'{text}' is not a date (write it as YYYY-MM-DD).") from None
    if one.date() != two.date():
        raise ValueError(f"'{text}' is not a whole date: give the day, the month and the year.")
    return one.date()

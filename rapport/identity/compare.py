"""How two customer records compare, field by field: the evidence duplicate detection
weighs (groundwork for the identity issue; no storage yet).

Each comparison returns a *level*, from the strongest agreement down to a disagreement;
a level is what a Fellegi–Sunter model gives a weight to. Values are compared in the forms
people write them differently: e-mail addresses with the dots and ``+tags`` a provider
ignores, names with nicknames, initials, swapped order, accents and typos.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import IntEnum
from functools import lru_cache
from typing import Any

from nicknames import NickNamer
from rapidfuzz.distance import OSA, JaroWinkler

from rapport.customers.normalize import fold, normalize_org_name

# Domains where anyone gets an address: such a domain says nothing about an employer.
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.co.uk", "hotmail.fr",
    "live.com", "live.co.uk", "msn.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de",
    "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com", "gmx.de", "gmx.net", "gmx.com",
    "web.de", "t-online.de", "orange.fr", "wanadoo.fr", "free.fr", "laposte.net", "sfr.fr",
    "libero.it", "virgilio.it", "proton.me", "protonmail.com", "pm.me", "zoho.com",
    "mail.com", "yandex.ru", "yandex.com", "mail.ru", "qq.com", "163.com", "126.com",
    "btinternet.com", "sky.com", "virginmedia.com", "ziggo.nl", "kpnmail.nl", "telenet.be",
    "fastmail.com", "hey.com", "tutanota.com", "seznam.cz", "wp.pl", "o2.pl", "naver.com",
})  # fmt: skip
# Providers that ignore dots in the local part (Gmail) or read "+tag" as a label.
_DOTLESS = frozenset({"gmail.com", "googlemail.com"})
_GMAIL = "gmail.com"
# Shared mailboxes: an address like these is a team's, not a person's.
ROLE_LOCAL_PARTS = frozenset({
    "info", "contact", "sales", "support", "admin", "office", "hello", "team", "enquiries",
    "inquiries", "accounts", "billing", "marketing", "hr", "jobs", "careers", "press", "help",
    "service", "mail", "noreply", "no-reply", "reception", "bonjour", "kontakt",
})  # fmt: skip


def email_key(address: str) -> str:
    """The mailbox an address delivers to: 'Jane.Doe+news@googlemail.com' and
    'janedoe@gmail.com' give the same key."""
    local, _, domain = address.strip().lower().rpartition("@")
    if not local:
        return address.strip().lower()
    local = local.split("+", 1)[0] or local
    if domain in _DOTLESS:
        local, domain = local.replace(".", ""), _GMAIL
    return f"{local}@{domain}"


def is_free_mail(domain: str) -> bool:
    return domain.lower() in FREE_MAIL_DOMAINS


def is_role_address(address: str) -> bool:
    return address.lower().rpartition("@")[0].split("+", 1)[0] in ROLE_LOCAL_PARTS


def organisation_domain(address_or_domain: str) -> str:
    """The organisation an e-mail address or web domain points to, as a lower-case domain;
    '' for a free-mail provider (anyone can have an address there) or no domain at all."""
    domain = address_or_domain.strip().lower().rpartition("@")[2].removeprefix("www.").rstrip(".")
    if "." not in domain or domain in FREE_MAIL_DOMAINS:
        return ""
    return domain


# Second-level labels under which a country code registers names (acme.co.uk, acme.com.au).
_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "ac", "gov", "ltd", "plc", "gv", "or", "ne"})


def registered_domain(domain: str) -> str:
    """'mail.uk.acme.co.uk' -> 'acme.co.uk': the part an organisation registers."""
    labels = domain.split(".")
    take = 3 if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2 else 2
    return ".".join(labels[-take:])


class Level(IntEnum):
    """How strongly two values agree; higher is stronger. MISSING: one side has none."""

    MISSING = -1
    DIFFERENT = 0
    WEAK = 1  # shares something (an initial, a close spelling of one part)
    STRONG = 2  # the same after allowing for nicknames, order or a typo
    EXACT = 3


@lru_cache(maxsize=1)
def _namer() -> NickNamer:
    return NickNamer()


@lru_cache(maxsize=1 << 16)
def fold_name(name: str) -> str:
    """A given name as compared and counted: lower case, no accents, no surrounding dots."""
    return fold(name).strip(" .")


# 'ue', 'oe', 'ae' after a consonant is how a German umlaut is written without it
# (Mueller, Schroeder, Baecker); fold() turns 'ü' into 'u', so the spelling must meet it.
_UMLAUT_SPELLING = re.compile(r"(?<=[bcdfghklmnprstvwxz])(ue|oe|ae)")


@lru_cache(maxsize=1 << 16)
def fold_family(name: str) -> str:
    """A family name as compared and counted: as ``fold_name``, with umlauts written out
    met ('Müller' and 'Mueller' both give 'muller')."""
    folded = fold(name).strip(" .")
    if "e" in folded:
        folded = _UMLAUT_SPELLING.sub(lambda m: m.group(0)[0], folded)
    return folded


@lru_cache(maxsize=1 << 16)
def name_forms(given: str) -> frozenset[str]:
    """A given name and every name it can stand for or be short for ('bob' -> robert…)."""
    name = fold(given).strip()
    if not name:
        return frozenset()
    namer = _namer()
    return frozenset({name} | namer.canonicals_of(name) | namer.nicknames_of(name))


def _close(a: str, b: str, cutoff: float = 0.9) -> bool:
    return bool(a and b) and JaroWinkler.similarity(a, b) >= cutoff


def _one_slip(a: str, b: str) -> bool:
    """One letter dropped, added, replaced or two swapped, in names long enough that a
    single slip does not usually make another real name ('Rachel'/'Rarhel', not 'Mark'/'Mary');
    two neighbours swapped in a shorter name ('Sean'/'Saen') too."""
    if min(len(a), len(b)) < 4 or OSA.distance(a, b, score_cutoff=1) > 1:
        return False
    return min(len(a), len(b)) >= 5 or sorted(a) == sorted(b)


@lru_cache(maxsize=1 << 16)
def _given_level(x: str, y: str) -> Level:
    if not x or not y:
        return Level.MISSING
    if x == y:
        return Level.EXACT
    if y in name_forms(x) or x in name_forms(y) or _close(x, y, 0.93) or _one_slip(x, y):
        return Level.STRONG
    if (len(x) == 1 or len(y) == 1) and x[0] == y[0]:
        return Level.WEAK
    if _two_slips(x, y):
        return Level.WEAK  # a slip on each side ('Widliam', 'Willim'), or 'Jno' for 'Jon'
    # A slip is one edit: only names within a letter of each other's length can be one
    # apart (most pairs a scan compares are not: checked first, as they cost nothing).
    if abs(len(x) - len(y)) <= 1 and (_slip_of_no_name(x, y) or _slip_of_no_name(y, x)):
        return Level.WEAK
    if _slip_of_a_form(x, y) or _slip_of_a_form(y, x):
        return Level.WEAK  # a slip in the name a nickname stands for ('Widliam', 'Bill')
    return Level.DIFFERENT


@lru_cache(maxsize=1 << 14)
def _other_forms(name: str) -> tuple[str, ...]:
    """The names ``name`` stands for or is short for, itself left out, of four letters or
    more (a shorter one is never one slip from anything, see ``_one_slip``)."""
    return tuple(sorted(f for f in name_forms(name) - {name} if len(f) >= 4))


def _slip_of_a_form(x: str, y: str) -> bool:
    """Whether ``x`` is one slip from a name ``y`` stands for (``_one_slip``)."""
    n = len(x)
    if n < 4:
        return False
    return any(abs(len(f) - n) <= 1 and _one_slip(x, f) for f in _other_forms(y))


def _known_given_name(name: str) -> bool:
    return len(name_forms(name)) > 1


def _slip_of_no_name(x: str, y: str) -> bool:
    """One letter dropped, added, replaced or two swapped in a short name, where ``x`` is
    no name the nickname table knows and ``y`` is one ('Jilc' for 'Jill', 'Tlex' for
    'Alex', 'Ay' for 'Amy'): a typing slip, not another name. Two names it knows ('Mark'
    and 'Mary', 'Jen' and 'Jon') stay different."""
    return (
        min(len(x), len(y)) >= 2
        and max(len(x), len(y)) >= 3
        and not _known_given_name(x)
        and _known_given_name(y)
        and OSA.distance(x, y, score_cutoff=1) <= 1
    )


def _two_slips(a: str, b: str) -> bool:
    """Two slips apart in names of five letters or more, or two neighbours swapped in a
    three-letter one: each of two records mistyped the name once."""
    shortest = min(len(a), len(b))
    if shortest == 3:
        return len(a) == len(b) and a[0] == b[0] and sorted(a) == sorted(b)
    return shortest >= 5 and OSA.distance(a, b, score_cutoff=2) <= 2


def given_names(a: str, b: str) -> Level:
    """'Robert' ~ 'Bob' (nickname), 'R.' ~ 'Robert' (initial), 'Jonh' ~ 'John' (typo)."""
    return _given_level(fold_name(a), fold_name(b))


@lru_cache(maxsize=1 << 16)
def _family_level(x: str, y: str) -> Level:
    if not x or not y:
        return Level.MISSING
    if x == y:
        return Level.EXACT
    if _close(x, y) or _one_slip(x, y):
        return Level.STRONG
    if set(x.replace("-", " ").split()) & set(y.replace("-", " ").split()):
        return Level.WEAK
    return Level.DIFFERENT


def family_names(a: str, b: str) -> Level:
    """Accents, case and typos allowed; one of two double-barrelled parts is weak evidence."""
    return _family_level(fold_family(a), fold_family(b))


def person_names(given_a: str, family_a: str, given_b: str, family_b: str) -> Level:
    """Both parts together, allowing the given and family names to be swapped."""
    straight = min(given_names(given_a, given_b), family_names(family_a, family_b))
    swapped = min(given_names(given_a, family_b), family_names(family_a, given_b))
    if swapped > straight and swapped >= Level.STRONG:
        return Level.STRONG  # swapped order is the same person, but not an exact match
    return straight


@lru_cache(maxsize=1 << 14)
def _mailboxes(
    addresses: tuple[str, ...],
) -> tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]:
    """(addresses as written, lower case; their mailboxes; the personal ones among those;
    the personal local parts long enough to be telling)."""
    raw = frozenset(a.strip().lower() for a in addresses if a.strip())
    keys = frozenset(email_key(a) for a in raw)
    personal = frozenset(k for k in keys if not is_role_address(k))
    local_parts = frozenset(k.rpartition("@")[0] for k in personal)
    return raw, keys, personal, frozenset(p for p in local_parts if len(p) >= 6)


def _email_level(a: tuple[str, ...], b: tuple[str, ...]) -> Level:
    if not a or not b:
        return Level.MISSING
    raw_a, keys_a, personal_a, locals_a = _mailboxes(a)
    raw_b, keys_b, personal_b, locals_b = _mailboxes(b)
    if not raw_a or not raw_b:
        return Level.MISSING
    shared = raw_a & raw_b
    if shared:
        return Level.EXACT if not all(is_role_address(e) for e in shared) else Level.WEAK
    if personal_a & personal_b:
        return Level.STRONG
    if keys_a & keys_b:
        return Level.WEAK  # only a team mailbox in common
    # The same personal part at another domain ("ann.lee@" at a new employer) is a hint.
    if locals_a & locals_b:
        return Level.WEAK
    return Level.DIFFERENT


def emails(a: Iterable[str], b: Iterable[str]) -> Level:
    """Any shared mailbox (after the provider's own folding) is strong evidence; a shared
    team mailbox (info@) only weak, as many people write from it."""
    return _email_level(tuple(sorted(a)), tuple(sorted(b)))


@lru_cache(maxsize=1 << 14)
def _phone_tails(numbers: tuple[str, ...]) -> frozenset[str]:
    return frozenset(p[-8:] for p in numbers if len(p) >= 9)


def _phone_level(a: tuple[str, ...], b: tuple[str, ...]) -> Level:
    if not a or not b:
        return Level.MISSING
    if set(a) & set(b):
        return Level.EXACT
    if _phone_tails(a) & _phone_tails(b):
        return Level.WEAK
    return Level.DIFFERENT


def phones(a: Iterable[str], b: Iterable[str]) -> Level:
    """E.164 numbers: one in common is exact; the same last eight digits (an extension
    or a trunk prefix written differently) is weak."""
    return _phone_level(tuple(a), tuple(b))


@lru_cache(maxsize=1 << 15)
def _organisation_level(a: str, b: str) -> Level:
    x, y = normalize_org_name(a), normalize_org_name(b)
    if not x or not y:
        return Level.MISSING
    if x == y:
        return Level.EXACT
    if _close(x, y, 0.92):
        return Level.STRONG
    if x.split()[0] == y.split()[0] and len(x.split()[0]) >= 4:
        return Level.WEAK
    return Level.DIFFERENT


def organisations(a: str, b: str) -> Level:
    """'ACME, Inc.', 'Acme Incorporated' and 'acme' are one organisation."""
    return _organisation_level(a, b)


# Street words written in full or abbreviated, in the five languages the CRM meets most.
_STREET_WORDS = {
    "street": "st", "str": "st", "strasse": "st", "road": "rd", "avenue": "av", "ave": "av",
    "boulevard": "bd", "blvd": "bd", "bld": "bd", "lane": "ln", "drive": "dr", "court": "ct",
    "place": "pl", "square": "sq", "crescent": "cres", "terrace": "ter", "close": "cl",
    "gardens": "gdns", "mount": "mt", "north": "n", "south": "s", "east": "e", "west": "w",
    "weg": "wg", "platz": "pl", "allee": "al", "straat": "st", "laan": "ln", "plein": "pl",
    "suite": "ste", "apartment": "apt", "flat": "apt", "floor": "fl",
}  # fmt: skip
_POSTCODES = (
    re.compile(r"\b([a-z]{1,2}\d[a-z\d]?) ?(\d[a-z]{2})\b"),  # United Kingdom: SW1A 1AA
    re.compile(r"\b(\d{4}) ?([a-z]{2})\b"),  # the Netherlands: 1317 YB
    re.compile(r"\b(\d{5})(?:-\d{4})?\b"),  # United States, Germany, France…: 80119, 06690
    re.compile(r"\b(\d{4})\b(?!\s*$)"),  # four digits before the town: Belgium, Denmark…
)
_HOUSE_NUMBER = re.compile(r"^\d{1,5}[a-z]?$")
_UNIT_WORDS = frozenset({"apt", "ste", "fl", "unit", "room", "no"})


def _street_suffix(token: str) -> str:
    # 'Hauptstrasse' and 'Hauptstr' are 'Haupt Strasse' written as one word.
    for suffix in ("strasse", "str"):
        if token.endswith(suffix) and len(token) > len(suffix) + 2:
            return token[: -len(suffix)] + " st"
    return token


@lru_cache(maxsize=1 << 14)
def address_parts(address: str) -> tuple[str, str, str, frozenset[str]]:
    """(normalised address, postcode, house number, street and town words) of a postal
    address written on one or several lines: '12 High Street, London SW1A 1AA' and
    '12 High St.\\nLONDON\\nSW1A1AA' give the same parts."""
    text = " ".join(re.sub(r"[^\w]+", " ", fold(address).replace("_", " ")).split())
    if not text:
        return "", "", "", frozenset()
    postcode = ""
    for pattern in _POSTCODES:
        found = pattern.search(text)
        if found:
            postcode = "".join(g for g in found.groups() if g)
            text = (text[: found.start()] + " " + text[found.end() :]).strip()
            break
    tokens = [_STREET_WORDS.get(t, t) for t in text.split()]
    # 'Hauptstrasse' is 'Haupt Strasse' written as one word.
    tokens = [_street_suffix(t) for t in tokens]
    tokens = " ".join(tokens).split()
    # The house number, not a flat's or a floor's ('Flat 3, 12 High Street' is number 12).
    number = next(
        (
            t
            for i, t in enumerate(tokens)
            if _HOUSE_NUMBER.match(t) and (i == 0 or tokens[i - 1] not in _UNIT_WORDS)
        ),
        "",
    )
    words = frozenset(t for t in tokens if t != number)
    normalised = " ".join(sorted(words)) + f"|{number}|{postcode}"
    return normalised, postcode, number, words


@lru_cache(maxsize=1 << 14)
def _address_level(a: str, b: str) -> Level:
    norm_a, post_a, num_a, words_a = address_parts(a)
    norm_b, post_b, num_b, words_b = address_parts(b)
    if not norm_a or not norm_b:
        return Level.MISSING
    if norm_a == norm_b:
        return Level.EXACT
    same_number = bool(num_a) and num_a == num_b
    same_post = bool(post_a) and post_a == post_b
    if same_number and same_post:
        return Level.STRONG  # a postcode and house number is one building
    overlap = len(words_a & words_b) / max(1, min(len(words_a), len(words_b)))
    if same_number and (not post_a or not post_b) and overlap >= 0.75:
        return Level.STRONG  # the same street and number, postcode left off one
    if same_post or (overlap >= 0.75 and len(words_a & words_b) >= 2):
        return Level.WEAK  # the same neighbourhood or street
    return Level.DIFFERENT


def addresses(a: str, b: str) -> Level:
    """Postal addresses, compared on their normalised street, house number, postcode and
    town: the same postcode and house number is STRONG (one building, written differently),
    the same postcode only WEAK."""
    return _address_level(a, b)


class DateLevel(IntEnum):
    """How two dates (a date of birth) agree. A slip is a typing error, not another date."""

    MISSING = -1
    DIFFERENT = 0
    ONE_OFF = 1  # one of day, month and year written with a slip (one character), the rest equal
    TRANSPOSED = 2  # day and month swapped (03/10 for 10/03)
    EXACT = 3
    YEAR_NEAR = 4  # the same day and month, the year one apart


_DATE_FORMS = (
    re.compile(r"^(\d{4})[-./ ](\d{1,2})[-./ ](\d{1,2})(?:[T ].*)?$"),  # 1980-03-10, 1980/3/10
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),  # 19800310
    re.compile(r"^(\d{1,2})[-./ ](\d{1,2})[-./ ](\d{4})$"),  # 10/03/1980, 10.03.1980
)


@lru_cache(maxsize=1 << 14)
def date_parts(value: str) -> tuple[int, int, int] | None:
    """(year, month, day) of a date written ISO (1980-03-10), compact (19800310) or day first
    (10/03/1980, 10.03.1980); None for anything else. A day and month that could be either
    way round are kept as written: a slip can make an impossible date, which is still the
    date someone meant, so only the ranges are checked (a month or a day up to 12, both up
    to 31)."""
    text = value.strip()
    for k, pattern in enumerate(_DATE_FORMS):
        found = pattern.match(text)
        if found:
            a, b, c = (int(g) for g in found.groups())
            year, month, day = (c, b, a) if k == 2 else (a, b, c)
            break
    else:
        return None
    if not (1 <= month <= 31 and 1 <= day <= 31 and min(month, day) <= 12):
        return None
    if not 1000 <= year <= 2999:
        return None
    return year, month, day


def _slip(a: int, b: int, width: int) -> bool:
    return OSA.distance(f"{a:0{width}d}", f"{b:0{width}d}", score_cutoff=1) <= 1


def _date_level(x: tuple[int, int, int], y: tuple[int, int, int]) -> DateLevel:
    if x == y:
        return DateLevel.EXACT
    (y1, m1, d1), (y2, m2, d2) = x, y
    if y1 == y2 and (m1, d1) == (d2, m2):
        return DateLevel.TRANSPOSED
    if (m1, d1) == (m2, d2) and abs(y1 - y2) == 1:
        return DateLevel.YEAR_NEAR
    same = (y1 == y2) + (m1 == m2) + (d1 == d2)
    if same == 2 and (
        (y1 != y2 and _slip(y1, y2, 4))
        or (m1 != m2 and _slip(m1, m2, 2))
        or (d1 != d2 and _slip(d1, d2, 2))
    ):
        return DateLevel.ONE_OFF
    return DateLevel.DIFFERENT


def dates(a: Iterable[str], b: Iterable[str]) -> DateLevel:
    """Two sets of dates (one identifying field's values): the best agreement of any two.
    A value that is not a date is compared as written (equal or different)."""
    best = DateLevel.MISSING
    rank = _DATE_RANK
    for x in a:
        for y in b:
            px, py = date_parts(x), date_parts(y)
            if px is None or py is None:
                level = (
                    DateLevel.EXACT
                    if "".join(x.split()).lower() == "".join(y.split()).lower()
                    else DateLevel.DIFFERENT
                )
            else:
                level = _date_level(px, py)
            if rank[level] > rank[best]:
                best = level
    return best


# Strongest first: which of two values' levels a pair of dates takes.
_DATE_ORDER = (
    DateLevel.EXACT,
    DateLevel.TRANSPOSED,
    DateLevel.YEAR_NEAR,
    DateLevel.ONE_OFF,
    DateLevel.DIFFERENT,
)
_DATE_RANK = {level: len(_DATE_ORDER) - i for i, level in enumerate(_DATE_ORDER)} | {
    DateLevel.MISSING: 0
}


@lru_cache(maxsize=1 << 14)
def _code(value: str) -> str:
    return "".join(c for c in fold(value) if c.isalnum())


def codes(a: Iterable[str], b: Iterable[str]) -> Level:
    """Two sets of identifying values (a customer number, a passport number), spaces,
    punctuation and case aside: one in common is EXACT; one character dropped, added, changed or two
    swapped in a value of four characters or more is STRONG (a slip); else DIFFERENT."""
    x = {_code(v) for v in a} - {""}
    y = {_code(v) for v in b} - {""}
    if not x or not y:
        return Level.MISSING
    if x & y:
        return Level.EXACT
    if any(
        min(len(p), len(q)) >= 4 and OSA.distance(p, q, score_cutoff=1) <= 1 for p in x for q in y
    ):
        return Level.STRONG
    return Level.DIFFERENT


# Identifying data-dictionary fields are comparison fields of their own, named by how they
# compare and their key: "date:birth_date" (``dates``), "id:customer_no" (``codes``).
DATE_PREFIX, CODE_PREFIX = "date:", "id:"


def identifying_field(key: str, type: str) -> str:  # noqa: A002 - the data field's attribute
    """The comparison field of an identifying data-dictionary field of this key and type."""
    return (DATE_PREFIX if type == "date" else CODE_PREFIX) + key


def is_identifying(field: str) -> bool:
    return field.startswith((DATE_PREFIX, CODE_PREFIX))


def _values_of(identifiers: Iterable[str], field: str) -> list[str]:
    """The values of one identifying field among a record's identifying values: entries
    "date:birth_date=1980-03-10" (as ``load`` writes them, the field named with its type)
    or plain "birth_date=1980-03-10"."""
    key = field.partition(":")[2]
    out = []
    for item in identifiers:
        name, sep, value = item.partition("=")
        if sep and value and name in (field, key):
            out.append(value)
    return out


@lru_cache(maxsize=1 << 15)
def _cached_values_of(identifiers: tuple[str, ...], field: str) -> tuple[str, ...]:
    # A scan compares each record with the dozen others of its blocks, one after the other.
    return tuple(_values_of(identifiers, field))


def identifying_level(field: str, a: Iterable[str], b: Iterable[str]) -> int:
    """The level of one identifying field (``identifying_field``) between two records'
    identifying values ("field=value" or "key=value" each)."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        x, y = _cached_values_of(a, field), _cached_values_of(b, field)
    else:
        x, y = tuple(_values_of(a, field)), tuple(_values_of(b, field))
    if not x or not y:
        return int(Level.MISSING)
    if field.startswith(DATE_PREFIX):
        return int(dates(x, y))
    return int(codes(x, y))


def identifying_fields_of(people: Iterable[Any]) -> tuple[str, ...]:
    """The identifying fields the records' values belong to, sorted: an entry that names
    its field ("date:birth_date=…") gives it; a plain "key=value" is a date field when
    nine in ten of the key's values read as dates, else an identifier."""
    named: set[str] = set()
    plain: dict[str, list[int]] = {}
    for person in people:
        for item in getattr(person, "identifiers", ()):
            name, sep, value = item.partition("=")
            if not sep or not value:
                continue
            if is_identifying(name):
                named.add(name)
            else:
                seen = plain.setdefault(name, [0, 0])
                seen[0] += 1
                seen[1] += date_parts(value) is not None
    for key, (values, as_dates) in plain.items():
        if not any(f.partition(":")[2] == key for f in named):
            named.add(identifying_field(key, "date" if as_dates >= 0.9 * values else "text"))
    return tuple(sorted(named))


def field_levels(field: str) -> list[int]:
    """The levels a comparison field can take apart from MISSING, strongest first (a
    name-rarity field: its bands)."""
    if field in RARITY_FIELDS:
        return list(range(TOP, -1, -1))
    if field.startswith(DATE_PREFIX):
        return [int(lv) for lv in _DATE_ORDER]
    if field.startswith(CODE_PREFIX):
        return [int(Level.EXACT), int(Level.STRONG), int(Level.DIFFERENT)]
    return [int(Level.EXACT), int(Level.STRONG), int(Level.WEAK), int(Level.DIFFERENT)]


# The fields every contact vector has; each identifying data-dictionary field adds one
# (``identifying_field``) after them, in the order ``contact_fields`` is given them.
VECTOR_FIELDS = (
    "given", "family", "email", "phone", "organisation", "address",
    "given_rarity", "family_rarity",
)  # fmt: skip
# The fields of vectors stored before identifying fields were compared one by one (issue 13).
LEGACY_VECTOR_FIELDS = (
    "given", "family", "email", "phone", "organisation", "address", "identifier",
    "given_rarity", "family_rarity",
)  # fmt: skip
# Fields whose level is not a ``Level`` but how rare the agreeing value is (see ``frequency``).
RARITY_FIELDS = frozenset({"given_rarity", "family_rarity"})

# Bands: a name carried by n records is in band TOP - bit_length(n - 1): 2 records -> 15,
# 3–4 -> 14, 5–8 -> 13, …; 65,537 or more -> 0. Counting the names is frequency's work.
TOP = 16


def rarity_level(count: int) -> int:
    """The rarity band of a name carried by ``count`` records (at least the two compared)."""
    return max(0, TOP - (max(count, 2) - 1).bit_length())


def rarity_bound(level: int) -> int:
    """The most records a name of this rarity band is carried by."""
    return 2 ** (TOP - level)


# Fields where agreement is evidence but a difference is not: people move, and a contact's
# postal address is most often the employer's office, which changes with the job together
# with the organisation, e-mail and phone (counting it again would count one move twice).
AGREEMENT_ONLY_FIELDS = frozenset({"address"})


def _local_parts_are_names(a: Any, b: Any, given: str, family: str) -> bool:
    """Whether the only thing two sets of addresses share is a personal part built from the
    person's own names (no mailbox and no team mailbox in common)."""
    _, keys_a, _, locals_a = _mailboxes(a.emails)
    _, keys_b, _, locals_b = _mailboxes(b.emails)
    if keys_a & keys_b:
        return False
    names = {n for n in (given, family) if len(n) >= 3}
    return all(any(n in part for n in names) for part in locals_a & locals_b)


def _names_rank(given: int, family: int) -> tuple[float, float]:
    """How well two name levels agree together, the weaker first: a name one side lacks
    counts between a difference and a weak agreement."""
    x = 0.5 if given == Level.MISSING else given
    y = 0.5 if family == Level.MISSING else family
    return (x, y) if x <= y else (y, x)


def _family_likeness(name: str, frequencies: Any) -> float:
    """How much more often a folded name is written as a family name than as a given one:
    by the records' name table when it tells, else by the nickname table (a given name it
    knows, or an initial, is a given name)."""
    if frequencies is not None:
        told = frequencies.family.get(name, 0) - frequencies.given.get(name, 0)
        if told:
            return float(told)
    namer = _namer()
    given = len(name) == 1 or namer.canonicals_of(name) or namer.nicknames_of(name)
    return -0.5 if given else 0.5


def _cross_is_family(a: Any, b: Any, frequencies: Any) -> bool:
    """Whether, of two records whose names agree the other way round, a's given name and
    b's family name are the family names (a is the one written the other way round)
    rather than the given names (b is). A record with one name left out cannot say
    which way round it is: the other one's places decide. When both have both names,
    the name written more often as a family name is the family name."""
    if not a.given or not a.family:
        return True  # b's places: b's family name is a family name
    if not b.given or not b.family:
        return False  # a's places: a's given name is a given name
    first, second = fold_family(a.given), fold_family(a.family)
    return _family_likeness(first, frequencies) > _family_likeness(second, frequencies)


def contact_fields(identifying: Iterable[str] = ()) -> tuple[str, ...]:
    """The fields of a contact vector with these identifying fields (``identifying_field``)."""
    return (*VECTOR_FIELDS, *identifying)


def contact_vector(
    a: Any, b: Any, frequencies: Any = None, identifying: Iterable[str] | None = None
) -> tuple[int, ...]:
    """The comparison vector of two people (objects with given, family, emails, phones,
    organisation and optionally address and identifiers), taking the given and family names
    the way round that agrees best. With ``frequencies`` (a ``frequency.NameFrequencies``),
    a name that agrees exactly also says how rare it is: two records of 'Raven Stewart' are
    far stronger evidence than two of 'John Smith'; without, those fields are MISSING.
    Each of the ``identifying`` fields (``identifying_field``; by default the ones the
    frequency table was counted with) adds its level, compared by its type."""
    if identifying is None:
        identifying = getattr(frequencies, "identifying", ())
    x_given, x_family = fold_name(a.given), fold_family(a.family)
    y_given, y_family = fold_name(b.given), fold_family(b.family)
    given, family = _given_level(x_given, y_given), _family_level(x_family, y_family)
    if given < Level.EXACT or family < Level.EXACT:
        # Each name compared with the other record's name in the other place, as what it
        # is: a given name written as the family name is still a given name ('Walsh, M.'
        # and 'Melissa Walsh'); a name left out on one side leaves the other to agree.
        cross = _given_level(x_given, fold_name(b.family))  # a's given, b's family name
        other = _given_level(fold_name(a.family), fold_name(b.given))
        if _names_rank(cross, other) > _names_rank(given, family):
            # The same person with the names the other way round, but never exact; each
            # level goes to the field its names are: 'Lynch Bobby' and 'Jerry Lynch'
            # share a family name, not a given one.
            if _cross_is_family(a, b, frequencies):
                cross, other = other, cross
            given, family = min(cross, Level.STRONG), min(other, Level.STRONG)
    given_rarity = family_rarity = Level.MISSING
    if frequencies is not None:
        if given == Level.EXACT:
            given_rarity = frequencies.rarity("given", x_given)
        if family == Level.EXACT:
            family_rarity = frequencies.rarity("family", x_family)
    email = _email_level(a.emails, b.emails)
    if email == Level.WEAK and _local_parts_are_names(a, b, x_given, x_family):
        # 'ann.lee@' at two domains says the names agree, which the names already say: at a
        # hundred thousand contacts most such pairs are namesakes at other companies.
        email = Level.DIFFERENT
    return (
        int(given),
        int(family),
        int(email),
        int(_phone_level(a.phones, b.phones)),
        int(_organisation_level(a.organisation, b.organisation)),
        int(_address_level(getattr(a, "address", ""), getattr(b, "address", ""))),
        int(given_rarity),
        int(family_rarity),
        *(
            identifying_level(f, getattr(a, "identifiers", ()), getattr(b, "identifiers", ()))
            for f in identifying
        ),
    )


def _domain_level(a: Iterable[str], b: Iterable[str]) -> Level:
    x = {d for d in map(organisation_domain, a) if d}
    y = {d for d in map(organisation_domain, b) if d}
    if not x or not y:
        return Level.MISSING  # a free-mail domain says nothing about an organisation
    if x & y:
        return Level.EXACT
    if {registered_domain(d) for d in x} & {registered_domain(d) for d in y}:
        return Level.STRONG  # uk.acme.com and acme.com
    return Level.DIFFERENT


def domains(a: Iterable[str], b: Iterable[str]) -> Level:
    """Web or e-mail domains of two organisations; free-mail domains never count."""
    return _domain_level(a, b)


ACCOUNT_VECTOR_FIELDS = ("domain", "name", "address", "phone")


def account_vector(a: Any, b: Any) -> tuple[int, ...]:
    """The comparison vector of two organisations (objects with name, domains, phones,
    address): legal suffixes and punctuation in the name are ignored."""
    return (
        int(_domain_level(a.domains, b.domains)),
        int(_organisation_level(a.name, b.name)),
        int(_address_level(a.address, b.address)),
        int(_phone_level(tuple(a.phones), tuple(b.phones))),
    )


_PHRASES: dict[str, dict[int, str]] = {
    "given": {
        Level.EXACT: "same given name",
        Level.STRONG: "nickname or close spelling of the given name",
        Level.WEAK: "given name written as an initial",
        Level.DIFFERENT: "different given names",
        Level.MISSING: "no given name on one record",
    },
    "family": {
        Level.EXACT: "same family name",
        Level.STRONG: "close spelling of the family name",
        Level.WEAK: "one part of a double family name in common",
        Level.DIFFERENT: "different family names",
        Level.MISSING: "no family name on one record",
    },
    "email": {
        Level.EXACT: "same e-mail address",
        Level.STRONG: "e-mail at the same mailbox written differently",
        Level.WEAK: "same name before the @ at another domain, or only a team mailbox in common",
        Level.DIFFERENT: "different e-mail addresses",
        Level.MISSING: "no e-mail on one record",
    },
    "phone": {
        Level.EXACT: "same phone number",
        Level.STRONG: "same phone number written differently",
        Level.WEAK: "phone numbers ending in the same eight digits",
        Level.DIFFERENT: "different phone numbers",
        Level.MISSING: "no phone on one record",
    },
    "organisation": {
        Level.EXACT: "same organisation (legal form and punctuation aside)",
        Level.STRONG: "organisation names spelt almost the same",
        Level.WEAK: "organisation names starting with the same word",
        Level.DIFFERENT: "different organisations",
        Level.MISSING: "no organisation on one record",
    },
    "address": {
        Level.EXACT: "same postal address",
        Level.STRONG: "same building (postcode and house number), written differently",
        Level.WEAK: "same postcode or street, another building",
        Level.DIFFERENT: "different postal addresses",
        Level.MISSING: "no postal address on one record",
    },
    "identifier": {
        Level.EXACT: "same identifying number",
        Level.DIFFERENT: "different values of an identifying number",
        Level.MISSING: "no identifying number in common",
    },
    "domain": {
        Level.EXACT: "same web domain",
        Level.STRONG: "web domains of the same registered name",
        Level.DIFFERENT: "different web domains",
        Level.MISSING: "no company web domain on one record",
    },
}
_PHRASES["name"] = {
    Level.EXACT: "same name (legal form and punctuation aside)",
    Level.STRONG: "names spelt almost the same",
    Level.WEAK: "names starting with the same word",
    Level.DIFFERENT: "different names",
    Level.MISSING: "no name on one record",
}


def _identifying_words(field: str, level: int, label: str) -> str:
    what = label or field.partition(":")[2].replace("_", " ")
    words: dict[int, str]
    if field.startswith(DATE_PREFIX):
        words = {
            DateLevel.EXACT: f"same {what}",
            DateLevel.TRANSPOSED: f"{what} with day and month swapped (a typing slip)",
            DateLevel.YEAR_NEAR: f"{what} with the same day and month, the year one apart",
            DateLevel.ONE_OFF: f"{what} one slip apart (day, month or year mistyped)",
            DateLevel.DIFFERENT: f"different {what}",
            DateLevel.MISSING: f"no {what} on one record",
        }
        return words.get(level, f"{what}: level {level}")
    words = {
        Level.EXACT: f"same {what}",
        Level.STRONG: f"{what} one character apart (a typing slip)",
        Level.DIFFERENT: f"different {what}",
        Level.MISSING: f"no {what} on one record",
    }
    return words.get(level, f"{what}: level {level}")


def describe(field: str, level: int, label: str = "") -> str:
    """A short English phrase for the steward saying what a field's level means:
    describe("email", Level.STRONG) -> 'e-mail at the same mailbox written differently';
    an identifying field is named by ``label`` (the data field's), else by its key:
    describe("date:birth_date", DateLevel.TRANSPOSED, "date of birth") -> 'date of birth
    with day and month swapped (a typing slip)'."""
    if field in RARITY_FIELDS:
        part = "given name" if field == "given_rarity" else "family name"
        if level == Level.MISSING:
            return f"{part} not compared for rarity"
        bound = rarity_bound(level)
        return (
            f"{part} shared by at most {bound:,} records"
            if bound <= 16
            else f"common {part} (up to {bound:,} records)"
        )
    if is_identifying(field):
        return _identifying_words(field, int(level), label)
    phrases = _PHRASES.get(field)
    if phrases is None:
        raise KeyError(f"no comparison field called {field!r}")
    return phrases.get(int(level)) or f"{field}: level {int(level)}"

"""How two customer records compare, field by field: the evidence duplicate detection
weighs (groundwork for the identity issue; no storage yet).

Each comparison returns a *level*, from the strongest agreement down to a disagreement;
a level is what a Fellegi–Sunter model gives a weight to. Values are compared in the forms
people write them differently: e-mail addresses with the dots and ``+tags`` a provider
ignores, names with nicknames, initials, swapped order, accents and typos.
"""

from __future__ import annotations

from enum import IntEnum
from functools import lru_cache
from typing import Any

from nicknames import NickNamer
from rapidfuzz.distance import JaroWinkler

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


@lru_cache(maxsize=65536)
def name_forms(given: str) -> frozenset[str]:
    """A given name and every name it can stand for or be short for ('bob' -> robert…)."""
    name = fold(given).strip()
    if not name:
        return frozenset()
    namer = _namer()
    return frozenset({name} | namer.canonicals_of(name) | namer.nicknames_of(name))


def _close(a: str, b: str, cutoff: float = 0.9) -> bool:
    return bool(a and b) and JaroWinkler.similarity(a, b) >= cutoff


def given_names(a: str, b: str) -> Level:
    """'Robert' ~ 'Bob' (nickname), 'R.' ~ 'Robert' (initial), 'Jonh' ~ 'John' (typo)."""
    x, y = fold(a).strip(" ."), fold(b).strip(" .")
    if not x or not y:
        return Level.MISSING
    if x == y:
        return Level.EXACT
    if y in name_forms(x) or x in name_forms(y) or _close(x, y, 0.93):
        return Level.STRONG
    if (len(x) == 1 or len(y) == 1) and x[0] == y[0]:
        return Level.WEAK
    return Level.DIFFERENT


def family_names(a: str, b: str) -> Level:
    """Accents, case and typos allowed; one of two double-barrelled parts is weak evidence."""
    x, y = fold(a).strip(), fold(b).strip()
    if not x or not y:
        return Level.MISSING
    if x == y:
        return Level.EXACT
    if _close(x, y):
        return Level.STRONG
    if set(x.replace("-", " ").split()) & set(y.replace("-", " ").split()):
        return Level.WEAK
    return Level.DIFFERENT


def person_names(given_a: str, family_a: str, given_b: str, family_b: str) -> Level:
    """Both parts together, allowing the given and family names to be swapped."""
    straight = min(given_names(given_a, given_b), family_names(family_a, family_b))
    swapped = min(given_names(given_a, family_b), family_names(family_a, given_b))
    if swapped > straight and swapped >= Level.STRONG:
        return Level.STRONG  # swapped order is the same person, but not an exact match
    return straight


def emails(a: set[str], b: set[str]) -> Level:
    """Any shared mailbox (after the provider's own folding) is strong evidence; a shared
    team mailbox (info@) only weak, as many people write from it."""
    if not a or not b:
        return Level.MISSING
    if a & b:
        shared = a & b
        return Level.EXACT if not all(is_role_address(e) for e in shared) else Level.WEAK
    ka, kb = {email_key(e) for e in a}, {email_key(e) for e in b}
    shared_keys = ka & kb
    if shared_keys:
        return Level.STRONG if not all(is_role_address(e) for e in shared_keys) else Level.WEAK
    # The same personal part at another domain ("ann.lee@" at a new employer) is a hint.
    la = {k.rpartition("@")[0] for k in ka if not is_role_address(k)}
    lb = {k.rpartition("@")[0] for k in kb if not is_role_address(k)}
    if any(len(part) >= 6 for part in la & lb):
        return Level.WEAK
    return Level.DIFFERENT


def phones(a: set[str], b: set[str]) -> Level:
    """E.164 numbers: one in common is exact; the same last eight digits (an extension
    or a trunk prefix written differently) is weak."""
    if not a or not b:
        return Level.MISSING
    if a & b:
        return Level.EXACT
    if {p[-8:] for p in a if len(p) >= 9} & {p[-8:] for p in b if len(p) >= 9}:
        return Level.WEAK
    return Level.DIFFERENT


def organisations(a: str, b: str) -> Level:
    """'ACME, Inc.', 'Acme Incorporated' and 'acme' are one organisation."""
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


VECTOR_FIELDS = ("given", "family", "email", "phone", "organisation")


def contact_vector(a: Any, b: Any) -> tuple[int, ...]:
    """The comparison vector of two people (objects with given, family, emails, phones,
    organisation), taking the given and family names the way round that agrees best."""
    straight = (given_names(a.given, b.given), family_names(a.family, b.family))
    swapped = (given_names(a.given, b.family), family_names(a.family, b.given))
    names = swapped if min(swapped) > min(straight) else straight
    if names is swapped:
        names = (min(names[0], Level.STRONG), min(names[1], Level.STRONG))  # never exact
    return (
        int(names[0]),
        int(names[1]),
        int(emails(set(a.emails), set(b.emails))),
        int(phones(set(a.phones), set(b.phones))),
        int(organisations(a.organisation, b.organisation)),
    )

"""Blocking: which pairs of records are worth comparing at all.

Comparing every pair of a million contacts is 5 × 10^11 comparisons; instead, each record
gets a few *blocking keys*, and only records sharing a key are compared. Each rule is
explicit, so its recall can be measured against a labelled benchmark, and each is chosen
to survive one kind of variation the others miss:

- ``email``: the mailbox (after the provider's own folding): catches everything but a
  changed address;
- ``phone``: the last eight digits of a number: survives prefixes and formats;
- ``name``: a phonetic code of the family name and the given name's first letter, so a
  typo in either, a nickname with the same initial or accents do not split a pair;
- ``swapped``: the same with the two names exchanged;
- ``org-name``: the organisation's normalised name with the family name's phonetic code:
  a person who changed address and phone but not employer.

Team mailboxes (info@…) and keys shared by too many records are skipped by the scan:
they would make huge blocks and say little.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rapport.customers.normalize import fold, normalize_org_name
from rapport.identity.compare import email_key, is_role_address


@dataclass(frozen=True)
class Person:
    """What blocking needs of a contact."""

    given: str
    family: str
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()  # E.164
    organisation: str = ""


_CODES = {**dict.fromkeys("bfpv", "1"), **dict.fromkeys("cgjkqsxz", "2"), **dict.fromkeys("dt", "3"), "l": "4", **dict.fromkeys("mn", "5"), "r": "6"}


@lru_cache(maxsize=65536)
def soundex(name: str) -> str:
    """American Soundex of a folded name ('Robert' and 'Rupert' -> R163); '' if no letters."""
    letters = [c for c in fold(name) if "a" <= c <= "z"]
    if not letters:
        return ""
    first, out, last = letters[0], [], _CODES.get(letters[0], "")
    for c in letters[1:]:
        code = _CODES.get(c, "")
        if code and code != last:
            out.append(code)
        if c not in "hw":  # h and w do not separate two letters of the same code
            last = code
    return (first.upper() + "".join(out) + "000")[:4]


def _initial(name: str) -> str:
    letters = [c for c in fold(name) if c.isalpha()]
    return letters[0] if letters else ""


def keys(person: Person) -> set[str]:
    """The blocking keys of one person; two records are compared if they share one."""
    out: set[str] = set()
    for address in person.emails:
        if not is_role_address(address):
            out.add("email:" + email_key(address))
    for number in person.phones:
        digits = number.lstrip("+")
        if len(digits) >= 8:
            out.add("phone:" + digits[-8:])
    family, given = soundex(person.family), _initial(person.given)
    if family and given:
        out.add(f"name:{family}:{given}")
    swapped_family, swapped_given = soundex(person.given), _initial(person.family)
    if swapped_family and swapped_given:
        out.add(f"name:{swapped_family}:{swapped_given}")  # the same key space: swaps meet
    org = normalize_org_name(person.organisation)
    if org and family:
        out.add(f"org:{org}:{family}")
    return out


def candidate_pairs(people: Iterable[tuple[int, Person]], *, max_block: int = 200) -> set[tuple[int, int]]:
    """Pairs (lower id first) of records sharing a blocking key; blocks larger than
    ``max_block`` are skipped (a common name alone is not worth 20,000 comparisons)."""
    blocks: dict[str, list[int]] = {}
    for pk, person in people:
        for key in keys(person):
            blocks.setdefault(key, []).append(pk)
    pairs: set[tuple[int, int]] = set()
    for members in blocks.values():
        if len(members) < 2 or len(members) > max_block:
            continue
        members.sort()
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                pairs.add((a, b))
    return pairs

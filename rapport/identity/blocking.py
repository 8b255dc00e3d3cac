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

Memory: a scan of a million records holds one kind of key at a time (all e-mail keys, then
all phone keys, …), and never the set of pairs: a pair sharing several keys is produced
only by the first of them (``iter_candidate_pairs``), so pairs stream to the comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rapport.customers.normalize import fold, normalize_org_name
from rapport.identity.compare import (
    address_parts,
    email_key,
    fold_family,
    fold_name,
    is_role_address,
    organisation_domain,
    registered_domain,
)


@dataclass(frozen=True, slots=True)
class Person:
    """What blocking and comparison need of a contact."""

    given: str
    family: str
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()  # E.164
    organisation: str = ""
    address: str = ""  # one postal address, on one line or several
    identifiers: tuple[str, ...] = ()  # admin-marked identifying values, as "key=value"


@dataclass(frozen=True, slots=True)
class Organisation:
    """What blocking and comparison need of an account."""

    name: str
    domains: tuple[str, ...] = ()  # web or e-mail domains; free-mail ones are ignored
    phones: tuple[str, ...] = ()  # E.164
    address: str = ""


_CODES = {
    **dict.fromkeys("bfpv", "1"),
    **dict.fromkeys("cgjkqsxz", "2"),
    **dict.fromkeys("dt", "3"),
    "l": "4",
    **dict.fromkeys("mn", "5"),
    "r": "6",
}


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


@lru_cache(maxsize=65536)
def _initial(name: str) -> str:
    letters = [c for c in fold(name) if c.isalpha()]
    return letters[0] if letters else ""


def _email_keys(person: Person) -> list[str]:
    return ["email:" + email_key(a) for a in person.emails if not is_role_address(a)]


def _phone_keys(numbers: Iterable[str]) -> list[str]:
    return ["phone:" + n.lstrip("+")[-8:] for n in numbers if len(n.lstrip("+")) >= 8]


def _name_keys(person: Person) -> list[str]:
    out = []
    family, given = soundex(person.family), _initial(person.given)
    if family and given:
        out.append(f"name:{family}:{given}")
    swapped_family, swapped_given = soundex(person.given), _initial(person.family)
    if swapped_family and swapped_given:
        out.append(f"name:{swapped_family}:{swapped_given}")  # the same key space: swaps meet
    return out


def _org_keys(person: Person) -> list[str]:
    org, family = normalize_org_name(person.organisation), soundex(person.family)
    return [f"org:{org}:{family}"] if org and family else []


# In the order a pair sharing several keys is produced by: the first kind it shares. The
# name kind is last and windowed (see ``iter_candidate_pairs``).
CONTACT_KEY_KINDS: tuple[Callable[[Person], list[str]], ...] = (
    _email_keys,
    lambda p: _phone_keys(p.phones),
    _org_keys,
    _name_keys,
)
# Inside a name block larger than SMALL_BLOCK, each record is compared with its WINDOW
# nearest neighbours in two orders (family then given name, and given then family), not
# with everyone: the sorted-neighbourhood method. A name block grows with the database
# ("Smith, J…" is thousands of people in a million); the pairs it yields then grow only
# linearly, and a typo in one of the two names leaves the other to sort the pair together.
WINDOW = 3
SMALL_BLOCK = 2 * WINDOW


def _name_orders(person: Person, key: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """The person's (family, given) and (given, family), taken the way round that made
    ``key``: a swapped record sorts next to the straight one."""
    family, given = person.family, person.given
    if key != f"name:{soundex(family)}:{_initial(given)}":
        family, given = given, family
    f, g = fold_family(family), fold_name(given)
    return (f, g), (g, f)


def _windowed(members: list[int], records: Sequence[Any], key: str) -> set[tuple[int, int]]:
    if len(members) <= SMALL_BLOCK:
        return {(a, b) for x, a in enumerate(members) for b in members[x + 1 :]}
    orders = {m: _name_orders(records[m], key) for m in members}
    pairs: set[tuple[int, int]] = set()
    for which in (0, 1):
        ranked = sorted(members, key=lambda m: (orders[m][which], m))
        for x, a in enumerate(ranked):
            for b in ranked[x + 1 : x + 1 + WINDOW]:
                pairs.add((a, b) if a < b else (b, a))
    return pairs


def keys(person: Person) -> set[str]:
    """The blocking keys of one person; two records are compared if they share one."""
    return {key for kind in CONTACT_KEY_KINDS for key in kind(person)}


def _account_domain_keys(org: Organisation) -> list[str]:
    found = {organisation_domain(d) for d in org.domains}
    return ["domain:" + registered_domain(d) for d in sorted(found) if d]


def _account_name_keys(org: Organisation) -> list[str]:
    name = normalize_org_name(org.name)
    return ["name:" + name] if name else []


def _account_address_keys(org: Organisation) -> list[str]:
    _, postcode, number, _ = address_parts(org.address) if org.address else ("", "", "", None)
    return [f"address:{postcode}:{number}"] if postcode and number else []


ACCOUNT_KEY_KINDS: tuple[Callable[[Organisation], list[str]], ...] = (
    _account_domain_keys,
    _account_name_keys,
    lambda o: _phone_keys(o.phones),
    _account_address_keys,
)


def account_keys(org: Organisation) -> set[str]:
    """The blocking keys of one organisation: its registered web domains (never a free-mail
    one), its normalised name, its phone numbers' last eight digits, its postcode and
    house number."""
    return {key for kind in ACCOUNT_KEY_KINDS for key in kind(org)}


def iter_candidate_pairs(
    records: Sequence[Any],
    *,
    max_block: int = 200,
    kinds: Sequence[Callable[[Any], list[str]]] = CONTACT_KEY_KINDS,
    windowed: Callable[[Any], list[str]] | None = _name_keys,
) -> Iterator[tuple[int, int]]:
    """Pairs (i, j), i < j, of positions in ``records`` sharing a blocking key, each once;
    a block larger than ``max_block`` is skipped (a common name alone is not worth 20,000
    comparisons). Streams: only one kind's blocks are held at a time, and a pair sharing
    several keys is produced by the first of them, found again from the two records' keys,
    instead of remembered in a set of millions of pairs."""
    oversized: set[str] = set()
    produced: set[int] = set()
    for rank, kind in enumerate(kinds):
        blocks: dict[str, int | list[int]] = {}
        for i, record in enumerate(records):
            for key in kind(record):
                held = blocks.get(key)
                if held is None:
                    blocks[key] = i  # most keys are one record's: no list for them
                elif isinstance(held, int):
                    if held != i:
                        blocks[key] = [held, i]
                elif held[-1] != i:
                    held.append(i)
        if kind is windowed:
            # Last kind: a pair the exact kinds produced (few: shared e-mails, phones,
            # employers) is not produced again; remembered as one number each.
            for key, members in blocks.items():
                if isinstance(members, int):
                    continue
                for a, b in sorted(_windowed(members, records, key)):
                    if (a << 32 | b) not in produced:
                        yield (a, b)
            del blocks
            continue
        # First every oversized key of this kind: the first shared key must be a usable one.
        oversized.update(
            k for k, m in blocks.items() if not isinstance(m, int) and len(m) > max_block
        )
        earlier = kinds[: rank + 1]

        def first_shared(
            a: int, b: int, earlier: Sequence[Callable[[Any], list[str]]] = earlier
        ) -> str:
            shared: set[str] = set()
            for k in earlier:
                shared = set(k(records[a])) & set(k(records[b])) - oversized
                if shared:
                    break
            return min(shared) if shared else ""

        for key, members in blocks.items():
            if isinstance(members, int) or key in oversized:
                continue
            for x, a in enumerate(members):
                for b in members[x + 1 :]:
                    if first_shared(a, b) == key:
                        if windowed is not None:
                            produced.add(a << 32 | b)
                        yield (a, b)
        del blocks


def _pairs_by_id(
    records: Iterable[tuple[int, Any]], max_block: int, kinds: Sequence[Callable[[Any], list[str]]]
) -> set[tuple[int, int]]:
    ids, items = [], []
    for pk, record in records:
        ids.append(pk)
        items.append(record)
    out: set[tuple[int, int]] = set()
    for a, b in iter_candidate_pairs(items, max_block=max_block, kinds=kinds):
        x, y = ids[a], ids[b]
        if x != y:
            out.add((x, y) if x < y else (y, x))
    return out


def candidate_pairs(
    people: Iterable[tuple[int, Person]], *, max_block: int = 200
) -> set[tuple[int, int]]:
    """Pairs (lower id first) of records sharing a blocking key; blocks larger than
    ``max_block`` are skipped (a common name alone is not worth 20,000 comparisons).
    For millions of records, ``iter_candidate_pairs`` streams them instead."""
    return _pairs_by_id(people, max_block, CONTACT_KEY_KINDS)


def account_candidate_pairs(
    orgs: Iterable[tuple[int, Organisation]], *, max_block: int = 200
) -> set[tuple[int, int]]:
    """Pairs (lower id first) of organisations sharing a blocking key (``account_keys``)."""
    return _pairs_by_id(orgs, max_block, ACCOUNT_KEY_KINDS)

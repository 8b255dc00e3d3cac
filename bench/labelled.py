"""Labelled person records for measuring duplicate detection (used by ``bench/linkage.py``).

Two kinds, both deterministic by seed and built in memory as
``rapport.identity.blocking.Person`` records (no database):

- ``crm``: like the public person-record linkage sets (FEBRL and its kin): given and
  family name, a postal address with postcode, a date of birth and a customer number as
  identifying data-dictionary values, and no e-mail, phone or employer. People have 1 to 20
  records. A duplicate carries one to three of: a given or family name left empty, a
  nickname with another initial (Bill/William, Dick/Richard, Peggy/Margaret, Bob/Robert),
  a typo, often one that changes the phonetic code (Dunfan/Duncan, a first-letter slip),
  given and family names swapped, a one-digit slip in the date of birth, day and month
  transposed, the year one off, the date or customer number left off, a one-digit slip in
  the customer number, a move to another address, the address written another way or
  left off. A few households (same family name and address, other given names and dates
  of birth) are real different people.
- ``namesake``: like historical records (censuses, parish registers): a few common given
  and family names shared by many people, households sharing a family name and an
  address (a son often named after his father), people with 5 to 20 records, sparse
  fields (dates of birth often missing or the year reported one off, addresses left off,
  names written as initials or nicknames), no identifier.

``Labelled.entity[i]`` is the person record ``i`` belongs to; ``true_pairs()`` the pairs of
records of one person. ``person()`` is the one place that builds a ``Person``: keyword
arguments only, and fields the ``Person`` of the day does not have are left out, so the
matching may grow optional fields without breaking the generator.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import itertools
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from rapport.identity.blocking import Person
from rapport.identity.compare import name_forms

KINDS = ("crm", "namesake")

# Nicknames whose initial differs from the name's (the blocking key's initial breaks),
# and a few that share it; each is in the ``nicknames`` table the comparison uses.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "William": ("Bill", "Billy", "Will"),
    "Richard": ("Dick", "Rick"),
    "Margaret": ("Peggy", "Meg", "Daisy"),
    "Robert": ("Bob", "Bobby"),
    "Edward": ("Ted", "Ned"),
    "John": ("Jack",),
    "Henry": ("Hank", "Harry", "Hal"),
    "Charles": ("Chuck",),
    "Mary": ("Polly", "Molly"),
    "Sarah": ("Sally",),
    "Elizabeth": ("Betty", "Liz", "Bess"),
    "James": ("Jim",),
    "Thomas": ("Tom",),
    "Patricia": ("Patty",),
    "Dorothy": ("Dolly",),
    "Katherine": ("Kit", "Kate"),
    "Susan": ("Sukey",),
    "Frances": ("Fanny",),
    "Benjamin": ("Ben",),
    "Frederick": ("Fred",),
}
_FEMALE = frozenset({"Margaret", "Mary", "Sarah", "Elizabeth", "Patricia", "Dorothy", "Katherine", "Susan", "Frances"})  # fmt: skip
# Soundex groups: a consonant replaced by one of another group changes the code.
_GROUPS = ("bfpv", "cgjkqsxz", "dt", "l", "mn", "r")
_ABBREVIATIONS = ((" Street", " St"), (" Road", " Rd"), (" Avenue", " Ave"), (" Lane", " Ln"))

# Historical records: the few names most people were given (weights roughly as in
# nineteenth-century English registers), and the family names of a small region.
OLD_GIVEN_M = {
    "John": 90, "William": 80, "Thomas": 60, "James": 50, "George": 40, "Joseph": 30,
    "Richard": 25, "Henry": 25, "Robert": 20, "Charles": 20, "Samuel": 15, "Edward": 15,
    "Benjamin": 8, "Frederick": 8, "Alfred": 6, "Walter": 5, "Arthur": 5, "David": 5,
    "Isaac": 3, "Daniel": 3, "Peter": 3, "Stephen": 2, "Matthew": 2, "Jonathan": 2,
}  # fmt: skip
OLD_GIVEN_F = {
    "Mary": 90, "Elizabeth": 70, "Sarah": 50, "Ann": 45, "Jane": 30, "Margaret": 25,
    "Hannah": 20, "Susan": 15, "Martha": 15, "Emma": 12, "Alice": 10, "Frances": 8,
    "Ellen": 8, "Catherine": 8, "Harriet": 6, "Eliza": 6, "Dorothy": 5, "Charlotte": 5,
    "Lucy": 4, "Emily": 4, "Rebecca": 3, "Esther": 3, "Patricia": 2, "Rose": 2,
}  # fmt: skip
OLD_FAMILY = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson",
    "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood",
    "Jackson", "Clarke", "Turner", "Hill", "Harris", "Cooper", "Ward", "Morris", "Moore",
    "Clark", "Lee", "King", "Baker", "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips",
    "Watson", "Davis", "Parker", "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Kelly",
    "Cook", "Carter", "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy", "Miller",
    "Cox", "Richards", "Khan", "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Singh",
    "Begum", "Wilkinson", "Foster", "Chapman", "Powell", "Webb", "Rogers", "Gray", "Mason",
    "Ali", "Hunt", "Hussain", "Campbell", "Matthews", "Owen", "Palmer", "Holmes", "Mills",
    "Barnes", "Knight", "Lloyd", "Butler", "Russell", "Barker", "Fisher", "Stevens", "Jenkins",
    "Murray", "Dixon", "Harvey", "Graham", "Pearson", "Ahmed", "Fletcher", "Walsh", "Kaur",
    "Gibson", "Howard", "Andrews", "Stewart", "Elliott", "Reynolds", "Saunders", "Payne",
    "Fox", "Ford", "Pearce", "Day", "Brooks", "West", "Lawrence", "Cole", "Atkinson", "Bradley",
    "Spencer", "Gill", "Dawson", "Ball", "Burton", "O'Brien", "Watts", "Rose", "Booth", "Perry",
    "Ryan", "Grant", "Wells", "Armstrong", "Francis", "Rees", "Hayes", "Hart", "Hudson",
    "Newman", "Barrett", "Webster", "Hunter", "Gregory", "Carr", "Lowe", "Page", "Marsh",
    "Riley", "Dunn", "Woods", "Parsons", "Berry", "Stone", "Reid", "Holland", "Hawkins",
    "Duncan", "Harding", "Lane",
)  # fmt: skip


@dataclass
class Labelled:
    """Records and the person each belongs to."""

    kind: str
    seed: int
    people: list[Person] = field(default_factory=list)
    entity: list[int] = field(default_factory=list)

    def true_pairs(self) -> set[tuple[int, int]]:
        """Pairs (i, j), i < j, of records of one person."""
        members: dict[int, list[int]] = {}
        for i, e in enumerate(self.entity):
            members.setdefault(e, []).append(i)
        return {
            (a, b)
            for group in members.values()
            if len(group) > 1
            for a, b in itertools.combinations(group, 2)
        }

    def sizes(self) -> Counter[int]:
        """How many people have 1, 2, … records."""
        return Counter(Counter(self.entity).values())


_PERSON_FIELDS: frozenset[str] | None = None


def person(
    *,
    given: str = "",
    family: str = "",
    address: str = "",
    date_of_birth: str = "",
    customer_no: str = "",
) -> Person:
    """A ``Person`` as the loader builds one from a contact: the date of birth and the
    customer number are identifying data-dictionary values (``key=value``)."""
    global _PERSON_FIELDS
    if _PERSON_FIELDS is None:
        _PERSON_FIELDS = frozenset(f.name for f in dataclasses.fields(Person))
    identifiers = tuple(
        f"{key}={value}"
        for key, value in (("date_of_birth", date_of_birth), ("customer_no", customer_no))
        if value
    )
    values: dict[str, Any] = {
        "given": given,
        "family": family,
        "address": address,
        "identifiers": identifiers,
    }
    return Person(**{k: v for k, v in values.items() if k in _PERSON_FIELDS})


class _Weighted:
    def __init__(self, weights: dict[str, float] | Sequence[str]) -> None:
        if isinstance(weights, dict):
            self.items, w = list(weights), list(weights.values())
        else:
            self.items, w = list(weights), [1.0] * len(weights)
        self.cum = list(itertools.accumulate(w))

    def draw(self, rng: random.Random) -> str:
        return self.items[bisect.bisect(self.cum, rng.random() * self.cum[-1])]


@cache
def _faker_pools(seed: int) -> dict[str, Any]:
    """Names (with US census weights) and British addresses, drawn once from Faker."""
    from faker import Faker

    us, gb = Faker("en_US"), Faker("en_GB")
    us.seed_instance(seed)
    gb.seed_instance(seed)
    names = next(p for p in us.providers if "person" in type(p).__module__)
    given_m = dict(names.first_names_male)  # type: ignore[attr-defined]
    given_f = dict(names.first_names_female)  # type: ignore[attr-defined]
    # The names with nicknames are common enough to meet often.
    for name in NICKNAMES:
        table = given_f if name in _FEMALE else given_m
        table[name] = max(table.get(name, 0.0), 0.01)
    streets = sorted({gb.street_name() for _ in range(3000)})
    towns = [(gb.city(), gb.postcode()) for _ in range(1500)]
    return {
        "given_m": _Weighted(given_m),
        "given_f": _Weighted(given_f),
        "family": _Weighted(dict(names.last_names)),  # type: ignore[attr-defined]
        "streets": streets,
        "towns": towns,
    }


def _address(rng: random.Random, pools: dict[str, Any]) -> tuple[str, str, str, str]:
    """(house number, street, town, postcode)."""
    town, postcode = rng.choice(pools["towns"])
    return str(rng.randint(1, 299)), rng.choice(pools["streets"]), town, postcode


def _write_address(
    rng: random.Random, parts: tuple[str, str, str, str], *, other_hand: bool = False
) -> str:
    number, street, town, postcode = parts
    text = f"{number} {street}, {town} {postcode}"
    if other_hand:
        for long, short in _ABBREVIATIONS:
            text = text.replace(long, short)
        roll = rng.random()
        if roll < 0.3:
            text = text.upper()
        elif roll < 0.5:
            text = text.replace(", ", "\n")
        elif roll < 0.7:
            text = f"{number} {street}, {town}"  # postcode left off
    return text


def _date(rng: random.Random, first_year: int, last_year: int) -> dt.date:
    start = dt.date(first_year, 1, 1).toordinal()
    return dt.date.fromordinal(rng.randint(start, dt.date(last_year, 12, 31).toordinal()))


def _slip_date(rng: random.Random, value: str) -> str:
    """A one-digit slip, day and month transposed, or the year one off (ISO dates)."""
    y, m, d = (int(p) for p in value.split("-"))
    roll = rng.random()
    if roll < 0.35 and d <= 12 and d != m:
        return f"{y:04d}-{d:02d}-{m:02d}"
    if roll < 0.6:
        return f"{y + rng.choice((-1, 1)):04d}-{m:02d}-{d:02d}"
    for _ in range(20):  # one digit replaced, the result still a date
        digits = list(value)
        spots = [i for i, c in enumerate(digits) if c.isdigit() and i > 1]
        i = rng.choice(spots)
        digits[i] = rng.choice([c for c in "0123456789" if c != digits[i]])
        text = "".join(digits)
        try:
            dt.date.fromisoformat(text)
        except ValueError:
            continue
        return text
    return value


def _slip_digits(rng: random.Random, value: str) -> str:
    digits = list(value)
    i = rng.randrange(len(digits))
    if rng.random() < 0.5 and i + 1 < len(digits) and digits[i] != digits[i + 1]:
        digits[i], digits[i + 1] = digits[i + 1], digits[i]
    else:
        digits[i] = rng.choice([c for c in "0123456789" if c != digits[i]])
    return "".join(digits)


def _typo(rng: random.Random, word: str, *, phonetic: bool = False) -> str:
    """One slip; with ``phonetic``, a consonant replaced by one of another Soundex group
    (Duncan -> Dunfan) or the first letter replaced, so the phonetic code changes."""
    if len(word) < 3:
        return word
    if phonetic:
        spots = [i for i, c in enumerate(word.lower()) if any(c in g for g in _GROUPS)]
        if spots and rng.random() < 0.8:
            i = rng.choice(spots)
            c = word[i].lower()
            others = "".join(g for g in _GROUPS if c not in g)
            new = rng.choice(others)
            return word[:i] + (new.upper() if word[i].isupper() else new) + word[i + 1 :]
        return rng.choice("BCDFGHJKLMNPRSTW") + word[1:]
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 2:
        return word[:i] + rng.choice("aeiounrstl") + word[i + 1 :]
    return word[:i] + word[i] + word[i:]  # a letter doubled


@dataclass
class _Truth:
    given: str
    family: str
    address: tuple[str, str, str, str] | None
    date_of_birth: str
    customer_no: str


# Variations of a CRM-like duplicate; at most one of them loses a value (LOSSES), and a
# record keeps at least two of date of birth, customer number and address, as in the
# public linkage sets: a duplicate is a person written again, not a name alone.
VARIATIONS = (
    "nickname", "family typo", "given typo", "swapped", "date slip", "number slip", "moved",
    "no given", "no family", "no date", "no number", "no address", "initial",
)  # fmt: skip
LOSSES = frozenset({"no given", "no family", "no date", "no number", "no address", "initial"})


def _variant(rng: random.Random, t: _Truth, pools: dict[str, Any], changes: int) -> Person:
    """Another record of the person ``t``, with ``changes`` variations."""
    given, family = t.given, t.family
    address = t.address
    dob, number = t.date_of_birth, t.customer_no
    other_hand = rng.random() < 0.4
    chosen: list[str] = []
    for kind in rng.sample(VARIATIONS, k=len(VARIATIONS)):
        if len(chosen) == changes:
            break
        if kind in LOSSES and any(c in LOSSES for c in chosen):
            continue
        chosen.append(kind)
    for kind in chosen:
        if kind == "nickname":
            nicks = NICKNAMES.get(given)
            given = rng.choice(nicks) if nicks else _typo(rng, given)
        elif kind == "family typo":
            family = _typo(rng, family, phonetic=rng.random() < 0.6)
        elif kind == "given typo":
            given = _typo(rng, given, phonetic=rng.random() < 0.3)
        elif kind == "swapped":
            given, family = family, given
        elif kind == "date slip" and dob:
            dob = _slip_date(rng, dob)
        elif kind == "number slip" and number:
            number = _slip_digits(rng, number)
        elif kind == "moved":
            address = _address(rng, pools)
        elif kind == "no given":
            given = ""
        elif kind == "no family":
            family = ""
        elif kind == "initial":
            given = given[:1]
        elif kind == "no date" and sum(map(bool, (number, address))) >= 2:
            dob = ""
        elif kind == "no number" and sum(map(bool, (dob, address))) >= 2:
            number = ""
        elif kind == "no address" and dob and number:
            address = None
    text = _write_address(rng, address, other_hand=other_hand) if address else ""
    return person(given=given, family=family, address=text, date_of_birth=dob, customer_no=number)


# People with 1, 2, … records in the CRM-like set (k: weight); most have one or two.
CRM_SIZES = {1: 50.0, 2: 25.0, 3: 10.0, 4: 5.0, 5: 3.0, **dict.fromkeys(range(6, 11), 0.5), **dict.fromkeys(range(11, 21), 0.06)}  # fmt: skip


def crm(records: int, seed: int) -> Labelled:
    """CRM-like person records (see the module docstring)."""
    rng = random.Random(f"crm-{seed}")
    pools = _faker_pools(seed)
    sizes = list(CRM_SIZES)
    weights = list(CRM_SIZES.values())
    out = Labelled(kind="crm", seed=seed)
    used_numbers: set[str] = set()
    entity = 0

    def number() -> str:
        while True:
            n = str(rng.randrange(1_000_000, 10_000_000))
            if n not in used_numbers:
                used_numbers.add(n)
                return n

    while len(out.people) < records:
        female = rng.random() < 0.5
        family = pools["family"].draw(rng)
        home = _address(rng, pools)
        household = 1 if rng.random() >= 0.04 else rng.randint(2, 4)
        givens: frozenset[str] = frozenset()
        for _ in range(household):  # members share the family name and the address
            given = pools["given_f" if female else "given_m"].draw(rng)
            forms = name_forms(given)
            if forms & givens:
                continue  # one household does not call two people Chris and Christopher
            givens |= forms
            t = _Truth(
                given=given,
                family=family,
                address=home if rng.random() < 0.97 else None,
                date_of_birth=_date(rng, 1940, 2005).isoformat() if rng.random() < 0.97 else "",
                customer_no=number() if rng.random() < 0.95 else "",
            )
            k = min(rng.choices(sizes, weights)[0], records - len(out.people))
            first = person(
                given=t.given,
                family=t.family,
                address=_write_address(rng, t.address) if t.address else "",
                date_of_birth=t.date_of_birth,
                customer_no=t.customer_no,
            )
            out.people.append(first)
            out.entity.append(entity)
            for _ in range(k - 1):
                out.people.append(_variant(rng, t, pools, rng.choice((1, 1, 2, 2, 3))))
                out.entity.append(entity)
            entity += 1
            female = rng.random() < 0.5
            if len(out.people) >= records:
                break
    return _shuffled(out, rng)


def _shuffled(out: Labelled, rng: random.Random) -> Labelled:
    """Records in no telling order (a person's records are not neighbours by position)."""
    order = list(range(len(out.people)))
    rng.shuffle(order)
    out.people = [out.people[i] for i in order]
    out.entity = [out.entity[i] for i in order]
    return out


def namesake(records: int, seed: int) -> Labelled:
    """Namesake-heavy historical records (see the module docstring)."""
    rng = random.Random(f"namesake-{seed}")
    pools = _faker_pools(seed)
    given_m, given_f = _Weighted(OLD_GIVEN_M), _Weighted(OLD_GIVEN_F)
    # A Zipf-like spread of family names: a few very common, many less so.
    family = _Weighted({name: 1 / (rank + 1) ** 0.8 for rank, name in enumerate(OLD_FAMILY)})
    # A small region: few streets and towns, so namesakes also share places.
    streets = pools["streets"][:120]
    towns = pools["towns"][:40]
    out = Labelled(kind="namesake", seed=seed)
    entity = 0

    def place() -> tuple[str, str, str, str]:
        town, postcode = rng.choice(towns)
        return str(rng.randint(1, 120)), rng.choice(streets), town, postcode

    def variant(t: _Truth) -> Person:
        given, surname, dob = t.given, t.family, t.date_of_birth
        address = t.address
        if rng.random() < 0.35:
            address = place()  # the household moved
        roll = rng.random()
        if roll < 0.12:
            nicks = NICKNAMES.get(given)
            given = rng.choice(nicks) if nicks else given
        elif roll < 0.2:
            given = given[:1]
        elif roll < 0.28:
            given = _typo(rng, given)
        elif roll < 0.33:
            given = ""
        roll = rng.random()
        if roll < 0.1:
            surname = _typo(rng, surname, phonetic=rng.random() < 0.5)
        elif roll < 0.13:
            surname = ""
        elif roll < 0.15:
            given, surname = surname, given
        if dob:
            roll = rng.random()
            if roll < 0.25:
                dob = ""  # not recorded
            elif roll < 0.4:
                dob = _slip_date(rng, dob)
        text = ""
        if address and rng.random() < 0.7:
            text = _write_address(rng, address, other_hand=rng.random() < 0.3)
        return person(given=given, family=surname, address=text, date_of_birth=dob)

    while len(out.people) < records:
        surname = family.draw(rng)
        home = place()
        father = given_m.draw(rng)
        born = rng.randint(1800, 1850)
        members = [(father, True, born), (given_f.draw(rng), False, born + rng.randint(-5, 3))]
        for _ in range(rng.choice((0, 1, 2, 3, 4))):
            son = rng.random() < 0.5
            name = (
                father
                if son and rng.random() < 0.2  # named after his father
                else (given_m if son else given_f).draw(rng)
            )
            if any(name == m[0] and m[0] != father for m in members):
                continue  # a family does not give two living children one name
            members.append((name, son, born + rng.randint(20, 40)))
        for given, _, year in members:
            t = _Truth(
                given=given,
                family=surname,
                address=home,
                date_of_birth=_date(rng, year, year).isoformat() if rng.random() < 0.8 else "",
                customer_no="",
            )
            roll = rng.random()
            k = 1 if roll < 0.45 else rng.randint(2, 4) if roll < 0.55 else rng.randint(5, 20)
            k = min(k, records - len(out.people))
            for _ in range(k):
                out.people.append(variant(t))
                out.entity.append(entity)
            entity += 1
            if len(out.people) >= records:
                break
    return _shuffled(out, rng)


def generate(kind: str, records: int, seed: int) -> Labelled:
    if kind == "crm":
        return crm(records, seed)
    if kind == "namesake":
        return namesake(records, seed)
    raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")

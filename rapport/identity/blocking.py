"""Blocking: which pairs of records are worth comparing at all.

Comparing every pair of a million contacts is 5 × 10^11 comparisons; instead, each record
gets *blocking keys* from several rules, and only records sharing a key are compared. The
rules are unioned, the way the record linkers that do best on public benchmarks block: each
rule is explicit, catches one kind of variation the others miss, and the benchmark
measures each one's recall on its own and what it adds (``bench/identity.py``):

- ``email``: the mailbox (after the provider's own folding);
- ``phone``: the last eight digits of a number: survives prefixes and formats;
- ``identifier``: each identifying data-dictionary value (a customer number, a date of
  birth: written ``YYYYMMDD``, ``YYYY-MM-DD``, ``DD/MM/YYYY``… and with day and month
  either way round, one key; a date only with a name's initial or code, or the postcode);
- ``identifier-edit``: each identifying value of five characters or more that is not a
  date, with any one character left out: values one slip apart meet;
- ``postcode``: the postcode with the house number: one building;
- ``street``: the house number with each word of the street and town: an address whose
  postcode is missing or mistyped;
- ``employer``: the organisation's normalised name with the family name's phonetic code;
- ``name``: the Soundex of the family name with the initial of the given name or of any
  name it is a nickname of or short for (Bill, Will and William meet on "w"; Dick and
  Richard on "r"), either way round (a swapped pair meets);
- ``family-prefix`` and ``family-suffix``: the first or last three letters of the family
  name with the given name's Soundex: a typo that changes the family name's code
  (Dunfan/Duncan share "dun", Xmith/Smith "ith");
- ``given-letters``: the family name with the given name's Soundex digits, without its
  first letter: a typo in the given name's first letter (Cate/Kate).

A record with an empty given or family name still gets keys from the others (its
identifying values, address, e-mail, phone), and inside such a block the name it has is
used (see below).

**Blocks are compared in full up to ``max_block`` records**, so an entity written 5–20
times under one name has all its pairs compared. A larger block is *sub-blocked*: split by
second keys (the other name's codes, the postcode, the identifying values; a date of
birth shared by 30 people is compared within each shared initial, family code or
postcode), each sub-block compared in full. A sub-block still larger is compared in a
sliding window: each record with its ``window`` nearest neighbours by name.

**Each pair once.** A pair of records sharing several keys is compared once: every block
that is compared gets a number, each record keeps the (sorted) numbers of its blocks, and a
pair is produced only by the first block the two records share. Memory: two compact
arrays (the members of the blocks compared and the blocks of each record, 4 bytes an
entry) and one rule's keys at a time, as hashes; never the set of pairs.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rapport.customers.normalize import fold, normalize_org_name
from rapport.identity.compare import (
    CODE_PREFIX,
    address_parts,
    date_parts,
    email_key,
    fold_family,
    fold_name,
    is_role_address,
    name_forms,
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


@lru_cache(maxsize=65536)
def _letters(name: str) -> str:
    return "".join(c for c in fold_family(name) if c.isalpha())


@lru_cache(maxsize=65536)
def given_initials(given: str) -> tuple[str, ...]:
    """The initials of a given name and of every name it can stand for or be short for:
    'Bill' -> b, w (William), r (Robert); so a nickname meets its full name."""
    own = _initial(given)
    if not own:
        return ()
    forms = {_initial(f) for f in name_forms(fold_name(given)) if f} - {""}
    return (own, *sorted(forms - {own}))


@lru_cache(maxsize=65536)
def given_codes(given: str) -> tuple[str, ...]:
    """The Soundex of a given name and of the names it stands for or is short for."""
    own = soundex(given)
    if not own:
        return ()
    forms = {soundex(f) for f in name_forms(fold_name(given)) if f} - {""}
    return (own, *sorted(forms - {own}))


@lru_cache(maxsize=65536)
def identifier_key(item: str) -> str:
    """'dob=1980-01-02' -> 'dob=1980-01-02', and the same for '19800102', '02/01/1980' or
    '01/02/1980' (day and month either way round); other values folded, without spaces or
    punctuation ('GB 123-456' -> 'gb123456'). '' if there is no value.

    A value is read as a date only where it can be one (``compare.date_parts``: eight
    digits, or parts with separators) and its field is not typed otherwise: a customer
    number "5688235" is a number (``id:`` field), not the 23rd of May 5688."""
    key, sep, value = item.partition("=")
    value = value.strip()
    if not sep or not value:
        return ""
    key = key.strip().lower()
    parts = None if key.startswith(CODE_PREFIX) else date_parts(value)
    if parts is not None:
        year, a, b = parts
        low, high = sorted((a, b))
        return f"{key}={year:04d}-{low:02d}-{high:02d}"
    folded = "".join(c for c in fold(value) if c.isalnum())
    return f"{key}={folded}" if folded else ""


# --- the contact rules ------------------------------------------------------------------


def _email_keys(person: Person) -> list[str]:
    return ["email:" + email_key(a) for a in person.emails if not is_role_address(a)]


def _phone_keys(numbers: Iterable[str]) -> list[str]:
    return ["phone:" + n.lstrip("+")[-8:] for n in numbers if len(n.lstrip("+")) >= 8]


_DATE_KEY = re.compile(r"=\d{4}-\d{2}-\d{2}$")


def _name_companions(person: Person) -> list[str]:
    """What must come with a date of birth to make a key: the initial of each name (and of
    the names a given name stands for) and each name's phonetic code, whichever field the
    name is in (a swapped pair, or a record with only one of its names, still meets), and
    the postcode."""
    out: set[str] = set()
    for name in (person.given, person.family):
        if name:
            out.update(f"n:{i}" for i in given_initials(name))
            code = soundex(name)
            if code:
                out.add(f"c:{code}")
    postcode = _postcode(person)
    if postcode:
        out.add(f"p:{postcode}")
    return sorted(out)


def _identifier_keys(person: Person) -> list[str]:
    """Each identifying value; a date (of birth) only with a name's initial or code or the
    postcode (``_name_companions``): strangers share one, and a scan comparing every pair
    of them would teach the model that a shared date is what duplicates have."""
    out = []
    companions: list[str] | None = None
    for k in map(identifier_key, person.identifiers):
        if not k:
            continue
        if _DATE_KEY.search(k):
            if companions is None:
                companions = _name_companions(person)
            out += [f"id:{k}|{c}" for c in companions]
        else:
            out.append(f"id:{k}")
    return out


# An identifier this long or longer is a key with any one character left out.
EDIT_MIN = 5


def _identifier_edit_keys(person: Person) -> list[str]:
    """Each identifying value that is not a date, with one character left out, for each
    position: two values one slip apart (a character changed, added, dropped, or two
    neighbours swapped: 8239504 and 8239054) share one of these keys (the deletion
    neighbourhood)."""
    out: set[str] = set()
    for k in map(identifier_key, person.identifiers):
        if not k or _DATE_KEY.search(k):
            continue
        field, _, value = k.partition("=")
        if len(value) >= EDIT_MIN - 1:
            out.add(f"id-edit:{field}={value}")  # meets the value with one character more
        if len(value) >= EDIT_MIN:
            out.update(f"id-edit:{field}={value[:i]}{value[i + 1 :]}" for i in range(len(value)))
    return sorted(out)


# Words of an address that say nothing of where it is.
_PLAIN_WORDS = frozenset(
    {"st", "rd", "av", "bd", "ln", "dr", "ct", "pl", "sq", "cres", "ter", "cl", "gdns", "mt",
     "n", "s", "e", "w", "wg", "al", "apt", "ste", "fl", "unit", "room", "no", "the", "de",
     "la", "le", "du", "des", "van", "der", "den", "am", "an", "im", "rue", "of"}
)  # fmt: skip


def _postcode_keys(person: Person) -> list[str]:
    if not person.address:
        return []
    _, postcode, number, _ = address_parts(person.address)
    return [f"postcode:{postcode}:{number}"] if postcode and number else []


def _street_keys(person: Person) -> list[str]:
    if not person.address:
        return []
    _, _, number, words = address_parts(person.address)
    if not number:
        return []
    return [f"street:{number}:{w}" for w in sorted(words) if len(w) >= 3 and w not in _PLAIN_WORDS]


def _org_keys(person: Person) -> list[str]:
    org, family = normalize_org_name(person.organisation), soundex(person.family)
    return [f"employer:{org}:{family}"] if org and family else []


def _name_keys(person: Person) -> list[str]:
    out = []
    code = soundex(person.family)
    if code:
        out += [f"name:{code}:{i}" for i in given_initials(person.given)]
    swapped, initial = soundex(person.given), _initial(person.family)
    if swapped and initial:
        out.append(f"name:{swapped}:{initial}")  # one key space: a swapped pair meets
    return out


def _prefix_keys(person: Person) -> list[str]:
    family = _letters(person.family)
    if len(family) < 3:
        return []
    code = soundex(person.given)
    return [f"family-prefix:{family[:3]}:{code}"] if code else []


def _suffix_keys(person: Person) -> list[str]:
    family = _letters(person.family)
    if len(family) < 4:
        return []
    code = soundex(person.given)
    return [f"family-suffix:{family[-3:]}:{code}"] if code else []


def _family_letter_keys(person: Person) -> list[str]:
    family, given = _letters(person.family), fold_name(person.given)
    return [f"family-letters:{given}:{family[1:]}"] if len(family) >= 3 and given else []


def _one_name(person: Person) -> list[str]:
    """The codes of a record's only name (the other is empty): it is compared with every
    record having that name, as given or as family name (see ``_both_names``)."""
    if person.given and not person.family:
        return [f"one-name:{c}" for c in given_codes(person.given)]
    if person.family and not person.given:
        code = soundex(person.family)
        return [f"one-name:{code}"] if code else []
    return []


def _both_names(person: Person) -> list[str]:
    if not (person.given and person.family):
        return []
    code = soundex(person.family)
    return [f"one-name:{c}" for c in (*given_codes(person.given), code) if c]


def _given_letter_keys(person: Person) -> list[str]:
    family, code = _letters(person.family), soundex(person.given)
    return [f"given-letters:{family}:{code[1:]}"] if family and code else []


# --- second keys, inside a block too large to compare in full ---------------------------


def _postcode(person: Any) -> str:
    return address_parts(person.address)[1] if person.address else ""


def _person_second_keys(person: Person, key: str) -> list[str]:
    """Inside a large block of e-mail, phone, identifier or address (a family mailbox, a
    switchboard, a date of birth, an office): the names' codes, the postcode, the other
    identifying values."""
    out = [f"g:{i}" for i in given_initials(person.given)]
    family = soundex(person.family)
    if family:
        out.append(f"f:{family}")
    if not key.startswith(("postcode:", "street:")):
        postcode = _postcode(person)
        if postcode:
            out.append(f"p:{postcode}")
    out += [f"i:{k}" for k in map(identifier_key, person.identifiers) if k and f"id:{k}" != key]
    return out


def _given_second_keys(person: Person, key: str) -> list[str]:
    """Inside a large employer block: the given name's codes."""
    return [f"g:{c}" for c in given_codes(person.given)]


def _name_second_keys(person: Person, key: str) -> list[str]:
    """Inside a large name block ('Smith, J…' is thousands of people in a million): the
    codes of the given name (taken the way round that made ``key``), the postcode, the
    identifying values."""
    given = person.given
    if key.startswith("name:") and not key.startswith(f"name:{soundex(person.family)}:"):
        given = person.family  # the swapped key
    out = [f"g:{c}" for c in given_codes(given)]
    postcode = _postcode(person)
    if postcode:
        out.append(f"p:{postcode}")
    out += [f"i:{k}" for k in map(identifier_key, person.identifiers) if k]
    return out


def _partial_second_keys(person: Person, key: str) -> list[str]:
    """Inside a large one-name block: the postcode and the identifying values."""
    postcode = _postcode(person)
    out = [f"p:{postcode}"] if postcode else []
    return out + [f"i:{k}" for k in map(identifier_key, person.identifiers) if k]


def _name_order(person: Any) -> tuple[str, str]:
    return fold_family(person.family), fold_name(person.given)


@dataclass(frozen=True)
class Rule:
    """One blocking rule: its keys for a record and, for a block too large to compare in
    full, the second keys that split it (None: such a block is not compared)."""

    name: str
    keys: Callable[[Any], Iterable[str]]
    second_keys: Callable[[Any, str], Iterable[str]] | None = None
    order: Callable[[Any], Any] | None = None  # sorts an oversized sub-block for the window
    # Asymmetric rules: a record with a ``partial`` key is compared with every record
    # having it (partial or not), but two records with the full key (``keys``) are not
    # compared for it: a record with one name meets everyone with that name.
    partial: Callable[[Any], Iterable[str]] | None = None
    # Blocks larger than this are split even under a larger ``max_block``: an office
    # address shared by a hundred colleagues is compared within their names' codes.
    max_block: int | None = None


# Compared in full up to this many records (the default ``max_block``): an entity written
# 5–20 times under one name among its namesakes.
MAX_BLOCK = 50
# A household, not an office; the rules for typos make larger blocks of others.
ADDRESS_BLOCK = 10
TYPO_BLOCK = 20
# Identifiers one slip apart: few in any real numbering, unless it is sequential (then
# ten records share a key, and are compared within their names' codes).
EDIT_BLOCK = 5
# In this order a pair sharing keys of several rules is produced by the first.
CONTACT_RULES: tuple[Rule, ...] = (
    Rule("email", _email_keys, _person_second_keys, _name_order),
    Rule("phone", lambda p: _phone_keys(p.phones), _person_second_keys, _name_order),
    Rule("identifier", _identifier_keys, _person_second_keys, _name_order),
    Rule(
        "identifier-edit",
        _identifier_edit_keys,
        _person_second_keys,
        _name_order,
        max_block=EDIT_BLOCK,
    ),
    Rule("postcode", _postcode_keys, _person_second_keys, _name_order, max_block=ADDRESS_BLOCK),
    Rule("street", _street_keys, _person_second_keys, _name_order, max_block=ADDRESS_BLOCK),
    Rule("employer", _org_keys, _given_second_keys, _name_order),
    Rule("name", _name_keys, _name_second_keys, _name_order),
    Rule("family-prefix", _prefix_keys, _name_second_keys, _name_order, max_block=TYPO_BLOCK),
    Rule("family-suffix", _suffix_keys, _name_second_keys, _name_order, max_block=TYPO_BLOCK),
    Rule("given-letters", _given_letter_keys, _name_second_keys, _name_order, max_block=TYPO_BLOCK),
    Rule(
        "family-letters", _family_letter_keys, _name_second_keys, _name_order, max_block=TYPO_BLOCK
    ),
    Rule("one-name", _both_names, _partial_second_keys, None, partial=_one_name),
)
# A record in more blocks than this keeps its set of blocks while the pairs stream.
_MANY = 24
# In a sub-block still larger, each record is compared with this many neighbours on
# either side in name order.
WINDOW = 3


def keys(person: Person) -> set[str]:
    """The blocking keys of one person; two records are compared if they share one."""
    return {key for rule in CONTACT_RULES for key in rule.keys(person)}


# --- accounts ---------------------------------------------------------------------------


def _account_domain_keys(org: Organisation) -> list[str]:
    found = {organisation_domain(d) for d in org.domains}
    return ["domain:" + registered_domain(d) for d in sorted(found) if d]


def _account_name_keys(org: Organisation) -> list[str]:
    name = normalize_org_name(org.name)
    return ["name:" + name] if name else []


def _account_address_keys(org: Organisation) -> list[str]:
    _, postcode, number, _ = address_parts(org.address) if org.address else ("", "", "", None)
    return [f"address:{postcode}:{number}"] if postcode and number else []


ACCOUNT_RULES: tuple[Rule, ...] = (
    Rule("domain", _account_domain_keys),
    Rule("name", _account_name_keys),
    Rule("phone", lambda o: _phone_keys(o.phones)),
    Rule("address", _account_address_keys),
)


def account_keys(org: Organisation) -> set[str]:
    """The blocking keys of one organisation: its registered web domains (never a free-mail
    one), its normalised name, its phone numbers' last eight digits, its postcode and
    house number."""
    return {key for rule in ACCOUNT_RULES for key in rule.keys(org)}


# --- the blocks and the pairs -----------------------------------------------------------


@dataclass
class Blocks:
    """The blocks compared, as compact arrays: block ``k`` holds the record positions
    ``members[starts[k]:starts[k + 1]]`` and came from rule ``rule_of[k]``. Its first
    ``open_count[k]`` members are compared with every other member; the rest (the records
    with the full key of an asymmetric rule) only with those. Record ``i`` is in the blocks
    ``blocks_of(i)``, in increasing order, each as ``k << 1 | 1`` if it is one of the rest."""

    rules: Sequence[Rule]
    starts: array = field(default_factory=lambda: array("Q", [0]))
    members: array = field(default_factory=lambda: array("I"))
    open_count: array = field(default_factory=lambda: array("I"))
    rule_of: array = field(default_factory=lambda: array("B"))
    record_starts: array = field(default_factory=lambda: array("Q"))
    record_blocks: array = field(default_factory=lambda: array("I"))
    oversized: list[int] = field(default_factory=list)  # per rule: blocks split or windowed
    skipped: list[int] = field(default_factory=list)  # per rule: blocks too large, not compared
    produced: list[int] = field(default_factory=list)  # per rule: pairs it produced first

    def __len__(self) -> int:
        return len(self.rule_of)

    def add(self, rule: int, positions: Iterable[int], rest: Iterable[int] = ()) -> None:
        self.members.extend(positions)
        self.open_count.append(len(self.members) - self.starts[-1])
        self.members.extend(rest)
        self.starts.append(len(self.members))
        self.rule_of.append(rule)

    def blocks_of(self, i: int) -> array:
        return self.record_blocks[self.record_starts[i] : self.record_starts[i + 1]]

    def _shared(self, a: int, b: int) -> set[int]:
        """The blocks in which ``a`` and ``b`` are compared."""
        open_a = {e >> 1 for e in self.blocks_of(a) if not e & 1}
        all_a = {e >> 1 for e in self.blocks_of(a)}
        shared = set()
        for e in self.blocks_of(b):
            k = e >> 1
            if k in open_a or (not e & 1 and k in all_a):
                shared.add(k)
        return shared

    def rules_shared(self, a: int, b: int) -> set[str]:
        """The rules that compare records ``a`` and ``b`` (empty: never compared)."""
        return {self.rules[self.rule_of[k]].name for k in self._shared(a, b)}

    def index_records(self, n: int) -> None:
        members, starts, opened = self.members, self.starts, self.open_count
        counts = array("Q", bytes(8 * (n + 1)))
        for m in members:
            counts[m + 1] += 1
        total = 0
        for i in range(n + 1):
            total += counts[i]
            counts[i] = total
        fill = array("Q", counts)
        entries = array("I", bytes(4 * len(members)))
        for k in range(len(self)):
            start, end = starts[k], starts[k + 1]
            first_rest, code = start + opened[k], k << 1
            for x in range(start, end):
                m = members[x]
                at = fill[m]
                entries[at] = code | (x >= first_rest)
                fill[m] = at + 1
        self.record_blocks = entries
        self.record_starts = counts

    def ranges(self, pairs: int) -> Iterator[tuple[int, int]]:
        """Consecutive ranges of blocks (first, last + 1) that compare about ``pairs``
        pairs each at most (before pairs an earlier block compared are left out): the
        pieces of work ``pairs(first, last)`` streams apart, in another process."""
        first, count, starts, opened = 0, 0, self.starts, self.open_count
        for k in range(len(self)):
            size, o = starts[k + 1] - starts[k], opened[k]
            count += o * (size - o) + o * (o - 1) // 2
            if count >= pairs:
                yield first, k + 1
                first, count = k + 1, 0
        if first < len(self):
            yield first, len(self)

    def pairs(self, first: int = 0, last: int | None = None) -> Iterator[tuple[int, int]]:
        """Pairs (i, j), i < j, each once: from the first block that compares them; with
        ``first`` and ``last``, the pairs the blocks ``first`` to ``last - 1`` produce
        (the other blocks are still consulted for which came first)."""
        starts, members, where, entries = (
            self.starts,
            self.members,
            self.record_starts,
            self.record_blocks,
        )
        self.produced = [0] * len(self.rules)
        # The block sets of records in more than _MANY blocks, made once.
        full: dict[int, tuple[frozenset[int], frozenset[int], bool]] = {}
        for k in range(first, len(self) if last is None else last):
            block = members[starts[k] : starts[k + 1]]
            opened = self.open_count[k]
            # Per member, its entries for earlier blocks (most have none), made sets once
            # a pair needs them.
            earlier: list[array | None] = []
            for m in block:
                own = entries[where[m] : where[m + 1]]
                at = bisect_left(own, k << 1)
                earlier.append(own[:at] if at else None)
            sets: dict[int, tuple[frozenset[int], frozenset[int], bool]] = {}

            def both(
                x: int,
                sets: dict[int, tuple[frozenset[int], frozenset[int], bool]] = sets,
                block: array = block,
                earlier: list[array | None] = earlier,
            ) -> tuple[frozenset[int], frozenset[int], bool]:
                """Its earlier blocks, at all and as an open member; for a record in many
                blocks, all its blocks, made once for every block it is in (``full``)."""
                found = sets.get(x)
                if found is None:
                    m = block[x]
                    found = full.get(m)
                    if found is None:
                        own = entries[where[m] : where[m + 1]]
                        if len(own) > _MANY:
                            found = full[m] = (
                                frozenset(e >> 1 for e in own),
                                frozenset(e >> 1 for e in own if not e & 1),
                                True,
                            )
                        else:
                            own = earlier[x]  # type: ignore[assignment]
                            found = (
                                frozenset(e >> 1 for e in own),
                                frozenset(e >> 1 for e in own if not e & 1),
                                False,
                            )
                    sets[x] = found
                return found

            produced = 0
            for x in range(opened):
                a = block[x]
                if earlier[x] is None:
                    for y in range(x + 1, len(block)):
                        b = block[y]
                        yield (a, b) if a < b else (b, a)
                    produced += len(block) - x - 1
                    continue
                all_a, open_a, full_a = both(x)
                for y in range(x + 1, len(block)):
                    before = earlier[y]
                    if before is not None:
                        if y < opened:
                            all_b, open_b, full_b = both(y)
                            if full_a and full_b:
                                if any(j < k for j in open_a & all_b) or any(
                                    j < k for j in all_a & open_b
                                ):
                                    continue  # an earlier block compared them
                            elif not (open_a.isdisjoint(all_b) and all_a.isdisjoint(open_b)):
                                continue
                        # One of the rest (in many blocks, met by few here): its entries
                        # looked up in the open member's sets, not made a set.
                        elif any((e >> 1) in (open_a if e & 1 else all_a) for e in before):
                            continue
                    b = block[y]
                    produced += 1
                    yield (a, b) if a < b else (b, a)
            self.produced[self.rule_of[k]] += produced


def _group(
    records: Sequence[Any],
    positions: Iterable[int],
    keys_of: Callable[[Any], Iterable[Any]],
    only: dict[int, Any] | None = None,
) -> dict[int, int | list[int]]:
    """Positions by the hash of each key; with ``only``, the keys ``only`` has."""
    groups: dict[int, int | list[int]] = {}
    for i in positions:
        for key in keys_of(records[i]):
            h = hash(key)
            if only is not None and h not in only:
                continue
            held = groups.get(h)
            if held is None:
                groups[h] = i  # most keys are one record's: no list for them
            elif isinstance(held, int):
                if held != i:
                    groups[h] = [held, i]
            elif held[-1] != i:
                held.append(i)
    return groups


def _listed(held: int | list[int] | None) -> list[int]:
    return [] if held is None else [held] if isinstance(held, int) else held


def _window(blocks: Blocks, rule_index: int, members: list[int], records: Sequence[Any]) -> None:
    """Each record with its WINDOW nearest neighbours in the rule's order: overlapping
    blocks of 2 × WINDOW records, WINDOW apart (a pair in two of them is produced once)."""
    order = blocks.rules[rule_index].order
    if order is None:
        blocks.skipped[rule_index] += 1
        return
    ranked = sorted(members, key=lambda m: (order(records[m]), m))
    for s in range(0, len(ranked) - 1, WINDOW):
        blocks.add(rule_index, ranked[s : s + 2 * WINDOW])


def _key_of(rule_keys: Callable[[Any], Iterable[str]], record: Any, h: int) -> str:
    return next((k for k in rule_keys(record) if hash(k) == h), "")


def _symmetric(blocks: Blocks, r: int, rule: Rule, records: Sequence[Any], max_block: int) -> None:
    max_block = min(max_block, rule.max_block or max_block)
    groups = _group(records, range(len(records)), rule.keys)
    large = []
    for h, held in groups.items():
        if isinstance(held, int):
            continue
        if len(held) <= max_block:
            blocks.add(r, held)
        elif rule.second_keys is None:
            blocks.skipped[r] += 1
        else:
            large.append((h, held))
    del groups
    second = rule.second_keys
    for h, held in large:
        blocks.oversized[r] += 1
        assert second is not None

        def keys_in(record: Any, h: int = h) -> list[str]:
            return list(second(record, _key_of(rule.keys, record, h)))  # type: ignore[misc]

        for sub in _group(records, held, keys_in).values():
            if isinstance(sub, int):
                continue
            if len(sub) <= max_block:
                blocks.add(r, sub)
            else:
                _window(blocks, r, sub, records)


def _asymmetric(blocks: Blocks, r: int, rule: Rule, records: Sequence[Any], max_block: int) -> None:
    """Records with a partial key against everyone with the key, up to as many pairs as a
    full block of ``max_block``; larger ones split by the rule's second keys."""
    assert rule.partial is not None
    max_block = min(max_block, rule.max_block or max_block)
    partial = _group(records, range(len(records)), rule.partial)
    full = _group(records, range(len(records)), rule.keys, only=partial)
    budget = max_block * (max_block - 1) // 2
    second = rule.second_keys
    for h, held in partial.items():
        opened, rest = _listed(held), _listed(full.get(h))
        if len(opened) * (len(opened) + len(rest)) <= 2 * budget:
            if len(opened) + len(rest) > 1:
                blocks.add(r, opened, rest)
            continue
        if second is None:
            blocks.skipped[r] += 1
            continue
        blocks.oversized[r] += 1

        def keys_in(record: Any, h: int = h) -> list[str]:
            key = _key_of(rule.partial, record, h) or _key_of(rule.keys, record, h)  # type: ignore[arg-type]
            return list(second(record, key))  # type: ignore[misc]

        sub_open = _group(records, opened, keys_in)
        sub_rest = _group(records, rest, keys_in, only=sub_open)
        for g, sub in sub_open.items():
            o, t = _listed(sub), _listed(sub_rest.get(g))
            if len(o) + len(t) > 1 and len(o) * (len(o) + len(t)) <= 2 * budget:
                blocks.add(r, o, t)
            elif len(o) + len(t) > 1:
                blocks.skipped[r] += 1


def _one_rule(r: int, rules: Sequence[Rule], records: Sequence[Any], max_block: int) -> Blocks:
    """The blocks of rule ``r`` alone (numbered from 0)."""
    blocks = Blocks(rules=rules)
    blocks.oversized = [0] * len(rules)
    blocks.skipped = [0] * len(rules)
    if rules[r].partial is None:
        _symmetric(blocks, r, rules[r], records, max_block)
    else:
        _asymmetric(blocks, r, rules[r], records, max_block)
    return blocks


# What a forked planning worker reads: set before the fork, inherited, never pickled.
_planning: dict[str, Any] = {}


def _rule_in_worker(r: int) -> tuple[int, bytes, bytes, bytes, int, int]:
    found = _one_rule(r, _planning["rules"], _planning["records"], _planning["max_block"])
    return (
        r,
        found.starts[1:].tobytes(),
        found.members.tobytes(),
        found.open_count.tobytes(),
        found.oversized[r],
        found.skipped[r],
    )


def plan(
    records: Sequence[Any],
    *,
    rules: Sequence[Rule] = CONTACT_RULES,
    max_block: int = MAX_BLOCK,
    processes: int = 1,
) -> Blocks:
    """The blocks to compare: every block of each rule up to ``max_block`` records, larger
    ones split by their rule's second keys (or skipped if it has none), a sub-block still
    larger windowed. With ``processes`` > 1 the rules are planned in that many forked
    workers, one rule at a time each (the records inherited); the blocks are numbered in
    rule order all the same, so the pairs and which rule produces each are unchanged."""
    blocks = Blocks(rules=rules)
    blocks.oversized = [0] * len(rules)
    blocks.skipped = [0] * len(rules)
    if processes > 1 and len(records) >= PARALLEL_FROM:
        import gc
        import multiprocessing

        _planning.update(rules=rules, records=records, max_block=max_block)
        gc.freeze()  # a worker's collector must not write to every inherited object
        try:
            with multiprocessing.get_context("fork").Pool(processes) as pool:
                for r, starts, members, opened, oversized, skipped in pool.imap(
                    _rule_in_worker, range(len(rules))
                ):
                    offset = len(blocks.members)
                    ends = array("Q")
                    ends.frombytes(starts)
                    blocks.starts.extend(e + offset for e in ends)
                    blocks.members.frombytes(members)
                    blocks.open_count.frombytes(opened)
                    blocks.rule_of.extend([r] * len(ends))
                    blocks.oversized[r], blocks.skipped[r] = oversized, skipped
        finally:
            _planning.clear()
            gc.unfreeze()
    else:
        for r, rule in enumerate(rules):
            if rule.partial is None:
                _symmetric(blocks, r, rule, records, max_block)
            else:
                _asymmetric(blocks, r, rule, records, max_block)
    blocks.index_records(len(records))
    return blocks


# Fewer records than this are planned in this process: forking costs more than it saves.
PARALLEL_FROM = 20_000


def iter_candidate_pairs(
    records: Sequence[Any],
    *,
    max_block: int = MAX_BLOCK,
    rules: Sequence[Rule] = CONTACT_RULES,
    keep: list[Blocks] | None = None,
) -> Iterator[tuple[int, int]]:
    """Pairs (i, j), i < j, of positions in ``records`` sharing a block, each exactly once
    however many keys they share (see ``plan``). The blocks are made at the first pair,
    and appended to ``keep`` if given (what each rule found, for the benchmark)."""
    blocks = plan(records, rules=rules, max_block=max_block)
    if keep is not None:
        keep.append(blocks)
    yield from blocks.pairs()


def _pairs_by_id(
    records: Iterable[tuple[int, Any]], max_block: int, rules: Sequence[Rule]
) -> set[tuple[int, int]]:
    ids, items = [], []
    for pk, record in records:
        ids.append(pk)
        items.append(record)
    out: set[tuple[int, int]] = set()
    for a, b in iter_candidate_pairs(items, max_block=max_block, rules=rules):
        x, y = ids[a], ids[b]
        if x != y:
            out.add((x, y) if x < y else (y, x))
    return out


def candidate_pairs(
    people: Iterable[tuple[int, Person]], *, max_block: int = MAX_BLOCK
) -> set[tuple[int, int]]:
    """Pairs (lower id first) of records sharing a block (see ``plan``). For millions of
    records, ``iter_candidate_pairs`` streams them instead."""
    return _pairs_by_id(people, max_block, CONTACT_RULES)


def account_candidate_pairs(
    orgs: Iterable[tuple[int, Organisation]], *, max_block: int = MAX_BLOCK
) -> set[tuple[int, int]]:
    """Pairs (lower id first) of organisations sharing a blocking key (``account_keys``);
    a block larger than ``max_block`` is not compared."""
    return _pairs_by_id(orgs, max_block, ACCOUNT_RULES)

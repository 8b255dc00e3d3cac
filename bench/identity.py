"""Duplicate detection quality on a labelled set of realistic contacts (never run as a test).

    .venv/bin/python bench/identity.py --records 10000
    .venv/bin/python bench/identity.py --records 1000000 --processes 2

Generates people (names, e-mails, phones, employers and postal addresses from five
locales; the names drawn from Faker's own lists with Faker's weights, so a million are
cheap to make), then a
duplicate for a share of them carrying the variations a CRM sees: a typo in a name, a
nickname, the given and family names swapped, an initial for the given name, the address
at another provider or with dots and +tags, a phone in another format or missing, a
changed employer, the company written another way, fields left empty, the postal address
written another way or left off (``--no-address`` leaves every address empty). It runs the
blocking rules, compares each candidate pair, fits the Fellegi–Sunter model without labels
and prints the blocking recall, the precision, recall and F1 of the pairs above the
threshold, and the time and peak memory of the scan (blocking, comparing and fitting)
apart from the generation. Database-free: it measures the matching itself.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import os
import random
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")

import django  # noqa: E402

django.setup()

from faker import Faker  # noqa: E402

from rapport.identity.blocking import Person  # noqa: E402
from rapport.identity.compare import VECTOR_FIELDS, describe  # noqa: E402
from rapport.identity.scan import scan_contacts  # noqa: E402

LOCALES = ["en_GB", "en_US", "de_DE", "fr_FR", "nl_NL"]
CODES = {"en_GB": "+44", "en_US": "+1", "de_DE": "+49", "fr_FR": "+33", "nl_NL": "+31"}
NICK = {
    "robert": "Bob",
    "william": "Bill",
    "elizabeth": "Liz",
    "margaret": "Maggie",
    "richard": "Dick",
    "james": "Jim",
    "michael": "Mike",
    "katherine": "Kate",
    "thomas": "Tom",
    "jennifer": "Jen",
}
SUFFIX = [" Ltd", " Limited", " Inc.", ", Inc", " GmbH", " plc", ""]
# How each locale writes a postal address.
ADDRESS = {
    "en_GB": "{number} {street}, {city} {postcode}",
    "en_US": "{number} {street}, {city} {postcode}",
    "de_DE": "{street} {number}, {postcode} {city}",
    "fr_FR": "{number}, {street}, {postcode} {city}",
    "nl_NL": "{street} {number}, {postcode} {city}",
}
# Another hand writes the same address: abbreviated, capitals, lines instead of commas.
REWRITE = [
    (" Street", " St."),
    (" Road", " Rd"),
    ("straße", "str."),
    ("avenue", "av."),
    (" Avenue", " Ave"),
    ("Rue", "rue"),
]


class Pool:
    """Weighted draws from one of Faker's lists, as Faker itself draws them."""

    def __init__(self, values: object) -> None:
        if isinstance(values, dict):
            self.items, weights = list(values), list(values.values())
        else:
            self.items, weights = list(values), [1.0] * len(values)  # type: ignore[arg-type]
        self.cum = list(itertools.accumulate(weights))

    def draw(self, rng: random.Random) -> str:
        return self.items[bisect.bisect(self.cum, rng.random() * self.cum[-1])]


def _person_provider(faker: Faker) -> object:
    return next(p for p in faker.providers if "person" in type(p).__module__)


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1 :]  # a letter dropped
    if kind == 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # two swapped
    return word[:i] + rng.choice("aeiounrst") + word[i + 1 :]  # one replaced


def _rewrite(rng: random.Random, address: str) -> str:
    for long, short in REWRITE:
        address = address.replace(long, short)
    if rng.random() < 0.5:
        address = address.upper()
    if rng.random() < 0.5:
        address = address.replace(", ", "\n")
    return address


def generate(
    n: int, share: float, seed: int, *, with_address: bool = True
) -> tuple[list[Person], set[tuple[int, int]]]:
    rng = random.Random(seed)
    fakers = {loc: Faker(loc) for loc in LOCALES}
    for f in fakers.values():
        f.seed_instance(seed)
    first = {loc: Pool(_person_provider(f).first_names) for loc, f in fakers.items()}  # type: ignore[attr-defined]
    last = {loc: Pool(_person_provider(f).last_names) for loc, f in fakers.items()}  # type: ignore[attr-defined]
    streets = {loc: [f.street_name() for _ in range(400)] for loc, f in fakers.items()}
    towns = {loc: [(f.postcode(), f.city()) for _ in range(300)] for loc, f in fakers.items()}

    def address(loc: str) -> str:
        postcode, city = rng.choice(towns[loc])
        return ADDRESS[loc].format(
            number=rng.randint(1, 250),
            street=rng.choice(streets[loc]),
            postcode=postcode,
            city=city,
        )

    n_companies = max(20, n // 20)
    companies = [fakers[LOCALES[i % 5]].company() for i in range(n_companies)]
    offices = [address(LOCALES[i % 5]) for i in range(n_companies)]  # where each company sits

    def postal(company: int, loc: str) -> str:
        # A contact's address in a CRM is most often the office's, sometimes the home's.
        roll = rng.random()
        if not with_address or roll < 0.25:
            return ""
        return offices[company] if roll < 0.75 else address(loc)

    people: list[Person] = []
    truth: set[tuple[int, int]] = set()
    base = int(n / (1 + share))
    for i in range(base):
        loc = LOCALES[i % 5]
        given = rng.choice(list(NICK)).title() if rng.random() < 0.1 else first[loc].draw(rng)
        family = last[loc].draw(rng)
        c = rng.randrange(n_companies)
        company = companies[c]
        slug = "".join(ch for ch in company.lower() if ch.isalnum())[:15] or "co"
        local = "".join(
            ch for ch in f"{given}.{family}".lower() if ch.isascii() and (ch.isalnum() or ch == ".")
        )
        work = f"{local}@{slug}.example.com"
        personal = f"{local}{rng.randrange(100)}@gmail.com"
        phone = CODES[loc] + "".join(
            str(rng.randrange(10)) for _ in range(9 if loc != "en_US" else 10)
        )
        emails = (work, personal) if rng.random() < 0.3 else (work,)
        people.append(Person(given, family, emails, (phone,), company, postal(c, loc)))
    for i in range(base):
        if len(people) >= n or rng.random() >= share:
            continue
        p = people[i]
        d = p
        changes = rng.sample(range(9), k=rng.randint(1, 3))
        for c in changes:
            if c == 0:
                d = replace(d, family=_typo(rng, d.family))
            elif c == 1:
                d = replace(d, given=NICK.get(d.given.lower(), _typo(rng, d.given)))
            elif c == 2:
                d = replace(d, given=d.family, family=d.given)
            elif c == 3:
                d = replace(d, given=d.given[0] + ".")
            elif c == 4:  # the same Gmail box written another way, or no e-mail at all
                gmail = [e for e in d.emails if e.endswith("@gmail.com")]
                d = replace(
                    d,
                    emails=(gmail[0].replace("@gmail.com", "+crm@googlemail.com"),)
                    if gmail
                    else (),
                )
            elif c == 5:
                d = replace(d, phones=())
            elif c == 6:  # changed employer: new work address, phone and office
                new = rng.randrange(n_companies)
                company = companies[new]
                slug = "".join(ch for ch in company.lower() if ch.isalnum())[:15] or "co"
                moved = offices[new] if with_address and rng.random() < 0.5 else ""
                d = replace(
                    d,
                    organisation=company,
                    emails=tuple(e.split("@")[0] + f"@{slug}.example.com" for e in d.emails[:1]),
                    phones=(),
                    address=moved,
                )
            elif c == 7:
                d = replace(
                    d, organisation=d.organisation.split(",")[0].split(" ")[0] + rng.choice(SUFFIX)
                )
            else:
                d = replace(d, phones=tuple("+" + p_.lstrip("+") for p_ in d.phones))
        if d.address:  # the address written by another hand, or left off
            roll = rng.random()
            if roll < 0.15:
                d = replace(d, address="")
            elif roll < 0.5:
                d = replace(d, address=_rewrite(rng, d.address))
        people.append(d)
        truth.add((i, len(people) - 1))
    return people, truth


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument(
        "--duplicates", type=float, default=0.1, help="share of people with a duplicate"
    )
    parser.add_argument(
        "--threshold", type=float, default=0.5, help="match probability to call a pair a duplicate"
    )
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--processes", type=int, default=1, help="forked workers comparing pairs")
    parser.add_argument(
        "--no-address", action="store_true", help="leave every postal address empty"
    )
    parser.add_argument("--show", type=int, default=5, help="missed pairs to print")
    opts = parser.parse_args()

    t0 = time.perf_counter()
    people, truth = generate(
        opts.records, opts.duplicates, opts.seed, with_address=not opts.no_address
    )
    t1 = time.perf_counter()
    rss_generated = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = scan_contacts(people, processes=opts.processes)
    model = result.model
    found = {(a, b) for a, b, _ in result.matches(opts.threshold)}
    t2 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    truth_codes = {a << 32 | b for a, b in truth}
    blocked = {(c >> 32, c & 0xFFFFFFFF): k for k, c in enumerate(result.pairs) if c in truth_codes}
    tp = len(found & truth)
    precision = tp / len(found) if found else 0.0
    recall = tp / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    print(
        f"records {len(people):,}, true duplicate pairs {len(truth):,} (generated in {t1 - t0:.1f} s, {rss_generated:.0f} MB)"
    )
    print(f"blocking: {len(result):,} candidate pairs, recall {len(blocked) / len(truth):.3f}")
    print(
        f"model: prior {model.prior:.4f} after {model.iterations} EM iterations; {len(result.vectors)} distinct vectors"
    )
    print(
        f"pairs found {len(found):,}: precision {precision:.3f}, recall {recall:.3f}, F1 {f1:.3f}"
    )
    print(
        f"scan (block + compare + fit + score, {opts.processes} process(es)) {t2 - t1:.1f} s; peak memory {peak:.0f} MB (largest worker {workers:.0f} MB)"
    )
    for i, name in enumerate(VECTOR_FIELDS):
        levels = sorted(model.m[i], reverse=True)
        weights = ", ".join(f"{lv} {model.weight(i, lv):+.1f}" for lv in levels)
        print(f"  {name:13} {weights}")
    for a, b in sorted(truth - found)[: opts.show]:
        v = result.vector(blocked[(a, b)]) if (a, b) in blocked else None
        why = (
            "; ".join(describe(f, lv) for f, lv in zip(VECTOR_FIELDS, v, strict=True))
            if v
            else "not blocked"
        )
        print("  missed:", people[a], "|", people[b], "--", why)


if __name__ == "__main__":
    main()

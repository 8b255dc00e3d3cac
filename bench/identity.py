"""Duplicate detection quality on a labelled set of realistic contacts (never run as a test).

    .venv/bin/python bench/identity.py --records 10000

Generates people (names, e-mails, phones and employers from five locales), then a
duplicate for a share of them carrying the variations a CRM sees: a typo in a name, a
nickname, the given and family names swapped, an initial for the given name, the address
at another provider or with dots and +tags, a phone in another format or missing, a
changed employer, the company written another way, fields left empty. It runs the
blocking rules, compares each candidate pair, fits the Fellegi–Sunter model without labels
and prints the blocking recall, the precision, recall and F1 of the pairs above the
threshold, and the time and peak memory. Database-free: it measures the matching itself.
"""

from __future__ import annotations

import argparse
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

from rapport.identity import model as fs  # noqa: E402
from rapport.identity.blocking import Person, candidate_pairs  # noqa: E402
from rapport.identity.compare import VECTOR_FIELDS, contact_vector  # noqa: E402

LOCALES = ["en_GB", "en_US", "de_DE", "fr_FR", "nl_NL"]
CODES = {"en_GB": "+44", "en_US": "+1", "de_DE": "+49", "fr_FR": "+33", "nl_NL": "+31"}
NICK = {"robert": "Bob", "william": "Bill", "elizabeth": "Liz", "margaret": "Maggie", "richard": "Dick", "james": "Jim", "michael": "Mike", "katherine": "Kate", "thomas": "Tom", "jennifer": "Jen"}
SUFFIX = [" Ltd", " Limited", " Inc.", ", Inc", " GmbH", " plc", ""]


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


def generate(n: int, share: float, seed: int) -> tuple[list[Person], set[tuple[int, int]]]:
    rng = random.Random(seed)
    fakers = {loc: Faker(loc) for loc in LOCALES}
    for f in fakers.values():
        f.seed_instance(seed)
    companies = [fakers[LOCALES[i % 5]].company() for i in range(max(20, n // 20))]
    people: list[Person] = []
    truth: set[tuple[int, int]] = set()
    base = int(n / (1 + share))
    for i in range(base):
        loc = LOCALES[i % 5]
        f = fakers[loc]
        given = rng.choice(list(NICK)).title() if rng.random() < 0.1 else f.first_name()
        family = f.last_name()
        company = rng.choice(companies)
        slug = "".join(c for c in company.lower() if c.isalnum())[:15] or "co"
        local = "".join(c for c in f"{given}.{family}".lower() if c.isascii() and (c.isalnum() or c == "."))
        work = f"{local}@{slug}.example.com"
        personal = f"{local}{rng.randrange(100)}@gmail.com"
        phone = CODES[loc] + "".join(str(rng.randrange(10)) for _ in range(9 if loc != "en_US" else 10))
        emails = (work, personal) if rng.random() < 0.3 else (work,)
        people.append(Person(given, family, emails, (phone,), company))
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
                d = replace(d, emails=(gmail[0].replace("@gmail.com", "+crm@googlemail.com"),) if gmail else ())
            elif c == 5:
                d = replace(d, phones=())
            elif c == 6:  # changed employer: new work address and phone
                company = rng.choice(companies)
                slug = "".join(ch for ch in company.lower() if ch.isalnum())[:15] or "co"
                d = replace(d, organisation=company, emails=tuple(e.split("@")[0] + f"@{slug}.example.com" for e in d.emails[:1]), phones=())
            elif c == 7:
                d = replace(d, organisation=d.organisation.split(",")[0].split(" ")[0] + rng.choice(SUFFIX))
            else:
                d = replace(d, phones=tuple("+" + p_.lstrip("+") for p_ in d.phones))
        people.append(d)
        truth.add((i, len(people) - 1))
    return people, truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--duplicates", type=float, default=0.1, help="share of people with a duplicate")
    parser.add_argument("--threshold", type=float, default=0.5, help="match probability to call a pair a duplicate")
    parser.add_argument("--seed", type=int, default=11)
    opts = parser.parse_args()

    t0 = time.perf_counter()
    people, truth = generate(opts.records, opts.duplicates, opts.seed)
    t1 = time.perf_counter()
    pairs = candidate_pairs(enumerate(people))
    t2 = time.perf_counter()
    vectors = {pair: contact_vector(people[pair[0]], people[pair[1]]) for pair in pairs}
    model = fs.fit(VECTOR_FIELDS, vectors.values())
    found = {pair for pair, v in vectors.items() if model.probability(v) >= opts.threshold}
    t3 = time.perf_counter()

    tp = len(found & truth)
    precision = tp / len(found) if found else 0.0
    recall = tp / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"records {len(people):,}, true duplicate pairs {len(truth):,} (generated in {t1 - t0:.1f} s)")
    print(f"blocking: {len(pairs):,} candidate pairs, recall {len(pairs & truth) / len(truth):.3f} ({t2 - t1:.1f} s)")
    print(f"model: prior {model.prior:.4f} after {model.iterations} EM iterations; {len(set(vectors.values()))} distinct vectors")
    print(f"pairs found {len(found):,}: precision {precision:.3f}, recall {recall:.3f}, F1 {f1:.3f}")
    print(f"compare + fit + score {t3 - t2:.1f} s; peak memory {peak:.0f} MB")
    for name in VECTOR_FIELDS:
        i = VECTOR_FIELDS.index(name)
        weights = ", ".join(f"{lv.name.lower()} {model.weight(i, lv):+.1f}" for lv in fs.Level if lv is not fs.Level.MISSING)
        print(f"  {name:13} {weights}")
    missed = sorted(truth - found)[:5]
    for a, b in missed:
        print("  missed:", people[a], "|", people[b], vectors.get((a, b)))


if __name__ == "__main__":
    main()

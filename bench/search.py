"""Global search latency on a large database (never run as a test).

Fill a database first (see bench/README.md), then:

    RAPPORT_DATA_DIR=/tmp/bench-sqlite .venv/bin/python bench/search.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rapport_bench .venv/bin/python bench/search.py

It runs ``rapport.customers.selectors.search`` as the demo admin (sees everything) and as
a sales rep (sees the records owned by the North team), for ~200 queries of each kind:
a real "given family" name, an e-mail address, a phone number typed in the national
format, in the international format and as bare digits, and a name with one typo. It
prints p50/p95/p99 in milliseconds, how often the contact the query came from was found
(admin only: a rep may not see it), the SQL queries per search and the data size.
``--explain`` prints each query of one search per kind with the database's plan.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")

import django  # noqa: E402

django.setup()

import phonenumbers  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from rapport.customers.models import (  # noqa: E402
    Account,
    Contact,
    ContactEmail,
    ContactPhone,
    SearchToken,
    SearchVariant,
)
from rapport.customers.selectors import search  # noqa: E402
from rapport.users.models import User  # noqa: E402

TARGET_P95_MS = 50.0


def sample_contacts(rng: random.Random, n: int) -> list[Contact]:
    """``n`` random contacts, picked by random id (fast on any size)."""
    bounds = Contact.objects.order_by("id").values_list("id", flat=True)
    lo, hi = bounds.first(), bounds.last()
    if lo is None:
        sys.exit("No contacts: fill the database with `manage.py demo` first.")
    found: dict[int, Contact] = {}
    for _ in range(50):
        ids = [rng.randint(lo, hi) for _ in range(n * 2)]
        for c in Contact.objects.filter(pk__in=ids).prefetch_related("emails", "phones"):
            found.setdefault(c.pk, c)
        if len(found) >= n:
            break
    contacts = sorted(found.values(), key=lambda c: c.pk)
    rng.shuffle(contacts)
    return contacts[:n]


def typo(rng: random.Random, word: str) -> str:
    """One edit: a letter dropped, doubled, swapped with the next, or replaced."""
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("drop", "double", "swap", "replace"))
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    letter = rng.choice([c for c in "aeiourstln" if c != word[i].lower()])
    return word[:i] + letter + word[i + 1 :]


def build_queries(rng: random.Random, n: int) -> dict[str, list[tuple[str, int]]]:
    """Queries by kind, each with the id of the contact it was taken from."""
    kinds: dict[str, list[tuple[str, int]]] = {
        "name": [], "email": [], "phone national (GB)": [], "phone international": [],
        "phone digits only": [], "name with a typo": [],
    }  # fmt: skip
    for c in sample_contacts(rng, n * 3):
        if len(kinds["name"]) < n and c.given_name and c.family_name:
            kinds["name"].append((f"{c.given_name} {c.family_name}", c.pk))
        emails = [e.email for e in c.emails.all()]
        if emails and len(kinds["email"]) < n:
            kinds["email"].append((emails[0], c.pk))
        e164s = [p.e164 for p in c.phones.all()]
        if e164s:
            number = phonenumbers.parse(e164s[0])
            if len(kinds["phone international"]) < n:
                kinds["phone international"].append(
                    (
                        phonenumbers.format_number(
                            number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
                        ),
                        c.pk,
                    )
                )
            if len(kinds["phone digits only"]) < n:
                kinds["phone digits only"].append((e164s[0][1:], c.pk))  # "4930123456"
        family = c.family_name.split()[0] if c.family_name else ""
        if (
            len(kinds["name with a typo"]) < n
            and c.given_name
            and len(family) >= 5
            and family.isalpha()
        ):
            kinds["name with a typo"].append((f"{c.given_name} {typo(rng, family)}", c.pk))
    # National format: numbers the default region (GB) reads without a country code.
    gb = ContactPhone.objects.filter(e164__startswith="+44", is_primary=True)
    hi = gb.order_by("-id").values_list("id", flat=True).first() or 0
    picks = set()
    while len(kinds["phone national (GB)"]) < n and hi and len(picks) < n * 20:
        pk = rng.randint(1, hi)
        picks.add(pk)
        row = gb.filter(id__gte=pk).order_by("id").values_list("e164", "contact_id").first()
        if row:
            number = phonenumbers.parse(row[0])
            text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
            kinds["phone national (GB)"].append((text, row[1]))
    return kinds


def fresh(user: User) -> User:
    """Drop the per-request permission caches, so each search pays for them as a request would."""
    for attr in ("_rapport_policies", "_rapport_team_members", "_rapport_field_access"):
        user.__dict__.pop(attr, None)
    return user


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--queries", type=int, default=200, help="Queries of each kind (default 200)."
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rep", default="north-rep-1", help="The sales rep (team visibility).")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="Print the plan of each query of one search per kind.",
    )
    args = parser.parse_args()

    rng = random.Random(args.seed)
    db = connection.settings_dict
    print(f"Database: {connection.vendor} {db['NAME']}")
    print(
        "Data: "
        f"{Contact.objects.count():,} contacts, {Account.objects.count():,} accounts, "
        f"{ContactEmail.objects.count():,} e-mail addresses, {ContactPhone.objects.count():,} phones, "
        f"{SearchToken.objects.count():,} search tokens, {SearchVariant.objects.count():,} variants"
    )
    actors = {
        "admin": User.objects.get(username="admin"),
        f"sales rep ({args.rep})": User.objects.get(username=args.rep),
    }
    t0 = time.perf_counter()
    queries = build_queries(rng, args.queries)
    print(
        f"Built {sum(len(v) for v in queries.values())} queries in {time.perf_counter() - t0:.1f} s"
    )
    print(f"Target: p95 <= {TARGET_P95_MS:.0f} ms\n")
    header = f"{'actor':<24} {'query kind':<22} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'found':>6} {'SQL/search':>11}"
    print(header)
    print("-" * len(header))
    worst = 0.0
    for actor_label, user in actors.items():
        for q, _pk in list(queries["name"])[:10]:  # warm the caches
            search(actor=fresh(user), q=q)
        for kind, items in queries.items():
            times, found, counts = [], 0, []
            for q, pk in items:
                user = fresh(user)
                started = time.perf_counter()
                results = search(actor=user, q=q)
                times.append((time.perf_counter() - started) * 1000)
                found += pk in {h.obj.pk for h in results.contacts}
            for q, _pk in items[:20]:
                with CaptureQueriesContext(connection) as ctx:
                    search(actor=fresh(user), q=q)
                counts.append(len(ctx.captured_queries))
            if not times:
                continue
            p95 = pct(times, 95)
            worst = max(worst, p95)
            found_text = f"{100 * found / len(items):.0f}%" if actor_label == "admin" else "-"
            print(
                f"{actor_label:<24} {kind:<22} {len(items):>4} {statistics.median(times):>8.1f} {p95:>8.1f} "
                f"{pct(times, 99):>8.1f} {max(times):>8.1f} {found_text:>6} {min(counts):>5}-{max(counts):<5}"
            )
    print(
        f"\nWorst p95: {worst:.1f} ms ({'meets' if worst <= TARGET_P95_MS else 'MISSES'} the {TARGET_P95_MS:.0f} ms target)"
    )

    if args.explain:
        user = actors["admin"]
        for kind, items in queries.items():
            if not items:
                continue
            q = items[0][0]
            with CaptureQueriesContext(connection) as ctx:
                search(actor=fresh(user), q=q)
            print(f"\n=== {kind}: {q!r} ({len(ctx.captured_queries)} queries)")
            for captured in ctx.captured_queries:
                sql = captured["sql"]
                print(f"  [{captured['time']} s] {sql[:600]}")
            # Re-run the slowest query of the search with its plan.
            slowest = max(ctx.captured_queries, key=lambda c: float(c["time"]))
            print(f"  slowest ({slowest['time']} s), plan:")
            print(explain_raw(slowest["sql"]))


def explain_raw(sql: str) -> str:
    """EXPLAIN of a query as logged (parameters already inlined by Django's debug cursor)."""
    if sql.startswith(("SAVEPOINT", "RELEASE")):
        return "    (none)"
    with connection.cursor() as cursor:
        prefix = (
            "EXPLAIN (ANALYZE, BUFFERS) "
            if connection.vendor == "postgresql"
            else "EXPLAIN QUERY PLAN "
        )
        try:
            cursor.execute(prefix + sql)
        except Exception as exc:  # a logged query is not always valid SQL again
            return f"    (could not explain: {exc})"
        return "\n".join("    " + " | ".join(str(v) for v in row) for row in cursor.fetchall())


if __name__ == "__main__":
    main()

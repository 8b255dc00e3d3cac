"""A proposed faster name search, measured against the current one (never run as a test).

    DATABASE_URL=... .venv/bin/python bench/search_proposal.py [--queries 200] [--partial-indexes]

The current ``selectors._by_name`` runs two passes (exact words, then typos) and, in each,
filters ``Contact`` by one ``IN (SELECT contact_id FROM searchtoken WHERE token IN …)`` per
word: the database fetches every contact row matching the first word (thousands for a
common given name) before it checks the second. The account pass reads the same token
index, whose rows are 94% contacts'. The proposal:

1. the same two passes (exact and prefix words; then typos only to fill up the list);
2. intersect the words inside ``customers_searchtoken`` (a self-join on contact_id, served
   from the (token, contact) index), joining ``customers_contact`` only for an actor whose
   visibility is restricted, and fetch only the ≤ 3×limit contacts found;
3. ``contact_id IS NOT NULL`` / ``account_id IS NOT NULL`` in the token queries, with
   partial indexes ``(token, contact_id) WHERE contact_id IS NOT NULL`` and
   ``(token, account_id) WHERE account_id IS NOT NULL`` (``--partial-indexes`` creates them
   in this database, as a migration would).

It prints p50/p95/p99 of name and typo searches, current vs proposed, and whether the
proposal found the contact the query came from.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import search as bench  # bench/search.py: Django is set up on import
from django.db import connection

from rapport.customers import normalize, selectors
from rapport.customers.models import Account, Contact
from rapport.users import permissions
from rapport.users.models import RecordKind

_current = selectors._by_name


def _ids(
    kind: str, token_sets: list[list[str]], owner_ids: list[int] | None, limit: int
) -> list[int]:
    column = "contact_id" if kind == "contact" else "account_id"
    table = "customers_contact" if kind == "contact" else "customers_account"
    joins, params = [], []
    for i, tokens in enumerate(token_sets[1:], start=1):
        marks = ", ".join(["%s"] * len(tokens))
        joins.append(
            f"JOIN customers_searchtoken t{i} ON t{i}.{column} = t0.{column} AND t{i}.token IN ({marks})"
        )
        params += tokens
    where = [f"t0.token IN ({', '.join(['%s'] * len(token_sets[0]))})", f"t0.{column} IS NOT NULL"]
    params += token_sets[0]  # placeholders in SQL order: the joins' first, then WHERE's
    if owner_ids is not None:
        joins.append(f"JOIN {table} r ON r.id = t0.{column}")
        where.append(
            f"r.owner_id IN ({', '.join(['%s'] * len(owner_ids))})" if owner_ids else "1 = 0"
        )
        params += owner_ids
    sql = (
        f"SELECT DISTINCT t0.{column} FROM customers_searchtoken t0 {' '.join(joins)} "
        f"WHERE {' AND '.join(where)} LIMIT {int(limit)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def proposed_by_name(actor, q, model, kind, limit):
    words = normalize.words(q)[:5]
    if not words:
        return []
    record = RecordKind.CONTACT if kind == "contact" else RecordKind.ACCOUNT
    q_filter = permissions.visibility_q(actor, record)
    owner_ids = None
    if q_filter is not None:
        team = permissions.policy(actor, record).visibility == "team"
        owner_ids = permissions._team_member_ids(actor) if team else [actor.pk]
    found: list[int] = []
    for fuzzy in (False, True):  # exact words first, as now: typos only fill up the list
        token_sets = [
            sorted(selectors._name_tokens(w, prefix=(i == len(words) - 1), fuzzy=fuzzy))
            for i, w in enumerate(words)
        ]
        found += [i for i in _ids(kind, token_sets, owner_ids, limit * 3) if i not in found]
        if len(found) >= limit:
            break
    objs = list(
        (Contact if kind == "contact" else Account).objects.filter(pk__in=found[: limit * 3])
    )
    folded = " ".join(words)
    hits = []
    for obj in objs:
        name = f"{obj.given_name} {obj.family_name}" if kind == "contact" else obj.name
        score = selectors.fuzz.token_set_ratio(folded, normalize.fold(name)) / 100
        hits.append(selectors.Hit(kind, obj, round(score, 3), "name"))
    hits.sort(key=lambda h: (-h.score, h.obj.pk))
    return hits[:limit]


def measure(queries, user, impl) -> tuple[list[float], int]:
    selectors._by_name = impl
    times, found = [], 0
    for q, pk in queries:
        started = time.perf_counter()
        results = selectors.search(actor=bench.fresh(user), q=q)
        times.append((time.perf_counter() - started) * 1000)
        found += pk in {h.obj.pk for h in results.contacts}
    selectors._by_name = _current
    return times, found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--partial-indexes", action="store_true")
    args = parser.parse_args()
    if args.partial_indexes:
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE INDEX IF NOT EXISTS searchtoken_contact_only ON customers_searchtoken (token, contact_id) WHERE contact_id IS NOT NULL"
            )
            cursor.execute(
                "CREATE INDEX IF NOT EXISTS searchtoken_account_only ON customers_searchtoken (token, account_id) WHERE account_id IS NOT NULL"
            )
            cursor.execute("ANALYZE customers_searchtoken")
    print(
        f"Database: {connection.vendor} {connection.settings_dict['NAME']}; partial indexes: {args.partial_indexes}"
    )
    queries = bench.build_queries(random.Random(1), args.queries)
    users = {
        "admin": bench.User.objects.get(username="admin"),
        "sales rep": bench.User.objects.get(username="north-rep-1"),
    }
    print(
        f"{'actor':<10} {'kind':<18} {'version':<9} {'p50':>7} {'p95':>7} {'p99':>7} {'found':>6}"
    )
    for label, user in users.items():
        for kind in ("name", "name with a typo"):
            items = queries[kind]
            for version, impl in (("current", _current), ("proposed", proposed_by_name)):
                measure(items[:10], user, impl)  # warm
                times, found = measure(items, user, impl)
                found_text = f"{100 * found / len(items):.0f}%" if label == "admin" else "-"
                print(
                    f"{label:<10} {kind:<18} {version:<9} {statistics.median(times):>7.1f} "
                    f"{bench.pct(times, 95):>7.1f} {bench.pct(times, 99):>7.1f} {found_text:>6}"
                )


if __name__ == "__main__":
    main()

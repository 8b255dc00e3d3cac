"""Segments: counting a segment over a million contacts, and the winner rule's A/A figure.

Fill a database once (bench/README.md, section 1) and point this script at it:

    RAPPORT_DATA_DIR=/tmp/bench-sqlite .venv/bin/python bench/segments.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rapport_bench RAPPORT_DATA_DIR=/tmp/bench-pg \
        .venv/bin/python bench/segments.py
    .venv/bin/python bench/segments.py --aa-only      # only the A/A simulation (no database)

For each segment below it compiles the rules exactly as the segment pages and the send do
(``rapport.marketing.rules.contacts_matching``, as the ``marketing`` demo user, who may
see every contact), runs ``count()`` ``--repeat`` times after one warm-up, and prints the
median and the worst, the count, and the contacts in the database. Target: ≤ 2 s for a
segment over 1,000,000 contacts. Then the A/A simulation: identical variants split at
random, the winner rule applied once per simulated campaign; the share of false winners
(target ≤ 5 %).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")

SEGMENTS = {
    "everyone": {"op": "and", "rules": []},
    "customers": {"field": "contact.lifecycle", "op": "eq", "value": "customer"},
    "customers at a German account or a .de address": {
        "op": "and",
        "rules": [
            {"field": "contact.lifecycle", "op": "eq", "value": "customer"},
            {
                "op": "or",
                "rules": [
                    {"field": "account.country", "op": "eq", "value": "DE"},
                    {"field": "contact.email_domain", "op": "contains", "value": ".de"},
                ],
            },
        ],
    },
    "issue 16's example: customers in Germany, a complaint in 90 days, no open deal": {
        "op": "and",
        "rules": [
            {"field": "contact.lifecycle", "op": "eq", "value": "customer"},
            {"field": "account.country", "op": "eq", "value": "DE"},
            {"field": "case.kind", "op": "eq", "value": "complaint", "within_days": 90},
            {"op": "not", "rules": [{"field": "deal.status", "op": "eq", "value": "open"}]},
        ],
    },
    "not customers, no deal at all": {
        "op": "and",
        "rules": [
            {
                "op": "not",
                "rules": [{"field": "contact.lifecycle", "op": "eq", "value": "customer"}],
            },
            {
                "op": "not",
                "rules": [{"field": "deal.status", "op": "in", "value": ["open", "won", "lost"]}],
            },
        ],
    },
}


def aa(runs: int, recipients: int, rate: float) -> None:
    from rapport.marketing import stats

    for variants in (2, 3):
        started = time.perf_counter()
        share = stats.aa_false_winner_rate(
            runs=runs, variants=variants, recipients=recipients, rate=rate, seed=2026
        )
        print(
            f"A/A: {variants} identical variants, {recipients} recipients, click rate {rate:.0%}, "
            f"{runs} simulated campaigns: false winner {share:.2%} (target ≤ 5 %) "
            f"[{time.perf_counter() - started:.1f} s]"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--aa-runs", type=int, default=2000)
    parser.add_argument("--aa-recipients", type=int, default=2000)
    parser.add_argument("--aa-only", action="store_true")
    args = parser.parse_args()
    import django

    django.setup()
    if not args.aa_only:
        from django.db import connection

        from rapport.customers.models import Contact
        from rapport.marketing import rules
        from rapport.users.models import User

        user = User.objects.filter(username="marketing").first()
        total = Contact.objects.count()
        print(
            f"{connection.vendor}: {total:,} contacts; counted as {user or 'the system'}; load {os.getloadavg()}"
        )
        for name, rule in SEGMENTS.items():
            qs = rules.contacts_matching(user=user, rules=rule)
            qs.count()  # warm-up: the pages come into the cache
            times, count = [], 0
            for _ in range(args.repeat):
                started = time.perf_counter()
                count = qs.count()
                times.append(time.perf_counter() - started)
            verdict = "ok" if max(times) <= 2 else "over 2 s"
            print(
                f"  {name}: {count:,} contacts; median {statistics.median(times):.3f} s, "
                f"worst {max(times):.3f} s over {args.repeat} ({verdict})"
            )
    aa(args.aa_runs, args.aa_recipients, 0.05)


if __name__ == "__main__":
    main()

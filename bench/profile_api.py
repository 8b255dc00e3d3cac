"""In-process timing of REST API requests: ms per request and SQL queries per request.

Runs ``django.test.Client`` requests with a bearer token through the whole stack
(middleware, ninja, auth, selectors, rendering), with DEBUG off, against the database the
environment names (as the other benchmarks: ``RAPPORT_DATA_DIR`` for SQLite,
``DATABASE_URL`` for PostgreSQL). No HTTP server, so the figures are the app's own cost.

    RAPPORT_DATA_DIR=/tmp/bench-sqlite .venv/bin/python bench/profile_api.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rapport_bench .venv/bin/python bench/profile_api.py -n 300
    .venv/bin/python bench/profile_api.py --user north-rep-1 --only contact --profile

It creates a token for the user and revokes it at the end (both through the app's services).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    os.environ["DEBUG"] = "0"  # DEBUG on keeps every query in memory and changes the costs
    import django

    django.setup()


class QueryCounter:
    """Counts queries with an execute wrapper: far cheaper than DEBUG's cursor wrapper."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Callable, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


def sample_contacts(user: Any, n: int, seed: int) -> list[Any]:
    """``n`` contacts the user may see, spread over the id range."""
    from rapport.customers.models import Contact
    from rapport.users import permissions
    from rapport.users.models import RecordKind

    qs = permissions.visible(user, RecordKind.CONTACT, Contact.objects.all())
    ids = Contact.objects.order_by("id").values_list("id", flat=True)
    lo, hi = ids.first(), ids.last()
    if lo is None:
        raise SystemExit("No contacts in this database.")
    rng = random.Random(seed)
    found: dict[int, Any] = {}
    for _ in range(n * 3):
        c = qs.filter(id__gte=rng.randint(lo, hi)).order_by("id").first()
        if c is not None:
            found[c.pk] = c
        if len(found) >= n:
            break
    return list(found.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--user", default="admin")
    parser.add_argument("-n", type=int, default=200, help="Requests per endpoint (default 200).")
    parser.add_argument("--warmup", type=int, default=20, help="Untimed requests first.")
    parser.add_argument(
        "--only", action="append", choices=["contact", "list", "search", "me", "ceiling"],
        help="Endpoints to time (repeatable; default contact, list, search).",
    )  # fmt: skip
    parser.add_argument("--same-id", action="store_true", help="Fetch one contact every time.")
    parser.add_argument("--profile", action="store_true", help="cProfile the timed requests.")
    parser.add_argument("--top", type=int, default=30, help="Functions to show with --profile.")
    parser.add_argument(
        "--sort", default="cumulative", help="pstats sort key (cumulative, tottime)."
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    django_setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client, override_settings

    from rapport.audit.services import Actor
    from rapport.users.models import User
    from rapport.users.services import token_create, token_revoke

    user = User.objects.get(username=args.user)
    system = Actor(user=None, via="system")
    token, secret = token_create(actor=system, user=user, name=f"profile_api {time.time():.0f}")
    contacts = sample_contacts(user, 50, args.seed)
    if args.same_id:
        contacts = contacts[:1]
    rng = random.Random(args.seed)
    words = [c.full_name for c in contacts] + [c.family_name for c in contacts if c.family_name]

    endpoints: dict[str, Callable[[int], str]] = {
        "contact": lambda i: f"/api/v1/contacts/{contacts[i % len(contacts)].pk}",
        "list": lambda i: "/api/v1/contacts?size=50",
        "search": lambda i: f"/api/v1/search?q={rng.choice(words).replace(' ', '+')}",
        "me": lambda i: "/api/v1/me",
        # bench/urls_ceiling.py: one row as JSON by bare Django, the yardstick of bench/load.py
        "ceiling": lambda i: f"/ceiling/row/{contacts[i % len(contacts)].pk}",
    }
    chosen = args.only or ["contact", "list", "search"]
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {secret}")

    print(
        f"Database: {connection.vendor}, user {args.user}, DEBUG={settings.DEBUG}, "
        f"{args.n} requests each after {args.warmup} warm-up"
    )
    header = f"{'endpoint':<10} {'status':>6} {'mean ms':>8} {'p50 ms':>8} {'p95 ms':>8} {'SQL/req':>8} {'bytes':>7}"
    print(header)
    print("-" * len(header))
    profiler = cProfile.Profile() if args.profile else None
    try:
        for name in chosen:
            url_of = endpoints[name]
            urlconf = override_settings(
                ROOT_URLCONF="bench.urls_ceiling" if name == "ceiling" else settings.ROOT_URLCONF
            )
            urlconf.enable()
            for i in range(args.warmup):
                client.get(url_of(i))
            # Counting pass (also checks the status), then the timed pass without the wrapper.
            counter = QueryCounter()
            statuses: set[int] = set()
            size = 0
            with connection.execute_wrapper(counter):
                for i in range(min(args.n, 20)):
                    response = client.get(url_of(i))
                    statuses.add(response.status_code)
                    size = len(response.content)
            queries = counter.count / min(args.n, 20)
            times = []
            for i in range(args.n):
                url = url_of(i)
                if profiler:
                    profiler.enable()
                started = time.perf_counter()
                client.get(url)
                times.append((time.perf_counter() - started) * 1000)
                if profiler:
                    profiler.disable()
            times.sort()
            status = ",".join(str(s) for s in sorted(statuses))
            print(
                f"{name:<10} {status:>6} {statistics.fmean(times):>8.2f} {statistics.median(times):>8.2f} "
                f"{times[int(len(times) * 0.95)]:>8.2f} {queries:>8.1f} {size:>7}"
            )
            urlconf.disable()
    finally:
        token_revoke(actor=system, token_id=token.pk)

    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.strip_dirs().sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())


if __name__ == "__main__":
    main()

"""In-process timing of the server-rendered pages: ms per request and SQL queries per request.

Runs the real URL stack (middleware, session, views, templates) through ``django.test.Client``
with DEBUG off, against whichever database the environment selects:

    RAPPORT_DATA_DIR=/tmp/bench-sqlite .venv/bin/python bench/profile_pages.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rapport_bench .venv/bin/python bench/profile_pages.py
    ... bench/profile_pages.py --pages detail --profile      # cProfile top list per page
    ... bench/profile_pages.py --pages detail --profile --sql  # and the SQL of one request

Only GET requests are made, so the database is not changed (apart from the session row
that ``force_login`` stores).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    os.environ["DEBUG"] = "0"
    import django

    django.setup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--user", default="admin")
    parser.add_argument("-n", type=int, default=100, help="Requests per page (default 100).")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument(
        "--pages",
        default="list,detail,ceiling-table,ceiling-row",
        help="Comma-separated: list, detail, account-list, account-detail, search, picker, ceiling-table, ceiling-row.",
    )
    parser.add_argument("--contact", type=int, help="Contact id for the detail page.")
    parser.add_argument(
        "--profile", action="store_true", help="Print a cProfile top list per page."
    )
    parser.add_argument("--top", type=int, default=30, help="Lines of the profile to print.")
    parser.add_argument(
        "--sort", default="cumulative", help="pstats sort key (cumulative, tottime)."
    )
    parser.add_argument("--sql", action="store_true", help="Print the SQL of one request per page.")
    args = parser.parse_args()

    setup()
    import random

    from django.conf import settings
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    from rapport.customers.models import Account, AccountMembership, Contact
    from rapport.users.models import User

    assert not settings.DEBUG, "DEBUG must be off"
    user = User.objects.get(username=args.user)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)

    contact_id = args.contact
    if contact_id is None:
        # The same contact bench/load.py picks: the first id at or after a seeded random one.
        ids = Contact.objects.order_by("id").values_list("id", flat=True)
        lo, hi = ids.first(), ids.last()
        contact_id = (
            Contact.objects.filter(id__gte=random.Random(1).randint(lo, hi))
            .order_by("id")
            .values_list("id", flat=True)
            .first()
        )
    account_id = (
        AccountMembership.objects.filter(contact_id=contact_id)
        .values_list("account_id", flat=True)
        .first()
        or Account.objects.order_by("id").values_list("id", flat=True).first()
    )
    pages = {
        "list": "/contacts/",
        "detail": f"/contacts/{contact_id}/",
        "account-list": "/accounts/",
        "account-detail": f"/accounts/{account_id}/",
        "search": "/search/?q=smith",
        "picker": "/search/?q=acme&kind=account&pick=1",
        # The bare-Django "ceiling" pages bench/load.py compares with (bench/urls_ceiling.py).
        "ceiling-table": "/ceiling/table",
        "ceiling-row": f"/ceiling/row/{contact_id}.html",
    }
    vendor = connection.vendor
    print(
        f"Database: {vendor}, {Contact.objects.count():,} contacts; user {args.user}; "
        f"contact {contact_id}; {args.n} requests per page; DEBUG off; "
        f"cached template loader: {_cached_loader()}"
    )
    header = f"{'page':<16} {'status':>6} {'bytes':>7} {'mean':>7} {'p50':>7} {'p95':>7} {'min':>7} {'SQL':>4}"
    print(header)
    print("-" * len(header))
    for name in args.pages.split(","):
        name = name.strip()
        url = pages[name]
        urlconf = override_settings(
            ROOT_URLCONF="bench.urls_ceiling"
            if name.startswith("ceiling")
            else settings.ROOT_URLCONF
        )
        urlconf.enable()
        for _ in range(args.warmup):
            client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        captured = list(ctx.captured_queries)  # the next request_started clears the log
        queries = len(captured)
        times = []
        profiler = cProfile.Profile() if args.profile else None
        for _ in range(args.n):
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            client.get(url)
            if profiler:
                profiler.disable()
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        print(
            f"{name:<16} {response.status_code:>6} {len(response.content):>7} {statistics.mean(times):>7.2f} "
            f"{statistics.median(times):>7.2f} {p95:>7.2f} {times[0]:>7.2f} {queries:>4}"
        )
        if args.sql:
            for q in captured:
                print(f"    [{q['time']}] {q['sql'][:300]}")
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
            print(out.getvalue())
        urlconf.disable()


def _cached_loader() -> bool:
    from django.template import engines

    engine = engines["django"].engine  # type: ignore[attr-defined]
    return any(
        type(loader).__name__ == "Loader" and "cached" in type(loader).__module__
        for loader in engine.template_loaders
    )


if __name__ == "__main__":
    main()

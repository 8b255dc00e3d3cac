"""The agent's queue and a case page at volume.

    .venv/bin/python bench/service_queue.py --cases 100000 --db sqlite
    .venv/bin/python bench/service_queue.py --cases 100000 --db pg

A fresh database (``bench.common.fresh_env``) gets ``--contacts`` contacts and ``--cases``
open cases over two years, spread over four teams (the agent is in one), all priorities
and open statuses, written in bulk (not measured), and one case with ``--messages``
messages. Then, through Django's test client as the agent (the whole request: session,
permissions, the queries, the template): the queue (``service:home``, the team's open
cases by priority then age, first page of 50) and the same sorted oldest first and
filtered to urgent, and the case page of the long case (its latest
``selectors.THREAD_LATEST`` messages, the earlier ones behind "Show earlier history"), and
the same page with its whole history (``?all=1``, what the page rendered before). Each page
is requested ``--repeat`` times after two warm-up requests; printed: p50 and p95 in
milliseconds, the queries per page, and the load average after each.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, fresh_env, run_step  # noqa: E402


def _timed(client, url: str, repeat: int) -> dict:
    from django.db import connection, reset_queries

    for _ in range(2):
        assert client.get(url).status_code == 200
    times = []
    for _ in range(repeat):
        reset_queries()
        t = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - t)
        assert response.status_code == 200
    queries = len(connection.queries)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times) * 1000, 1),
        "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)] * 1000, 1),
        "queries": queries,
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }


def step(cases: int, contacts: int, messages: int, repeat: int, seed: int) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    django.setup()
    from django.conf import settings
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.utils import timezone

    from rapport.customers.models import Contact
    from rapport.service.models import Case, CaseKind, CaseMessage
    from rapport.users.models import Role, Team, User

    settings.DEBUG = True  # to count the queries
    settings.ALLOWED_HOSTS = ["testserver"]
    setup_test_environment()
    rng = random.Random(seed)
    teams = [Team.objects.create(name=f"Desk {i}") for i in range(4)]
    agent = User.objects.create_user(username="agent", role=Role.SERVICE, password="x")
    agent.teams.add(teams[0])
    Contact.objects.bulk_create(
        [Contact(full_name=f"Person {i}", sort_name=f"person {i}") for i in range(contacts)],
        batch_size=5000,
    )
    contact_ids = list(Contact.objects.values_list("id", flat=True))
    kinds = list(CaseKind.objects.all())
    now = timezone.now()
    statuses = list(Case.OPEN_STATUSES)
    rows = []
    for i in range(cases):
        rows.append(
            Case(
                contact_id=rng.choice(contact_ids),
                kind=rng.choice(kinds),
                channel="email",
                priority=rng.choice((1, 2, 3, 3, 3, 4)),
                status=rng.choice(statuses),
                subject=f"Case {i}",
                team=rng.choice(teams),
                owner=agent if rng.random() < 0.05 else None,
            )
        )
        if len(rows) == 5000:
            Case.objects.bulk_create(rows)
            rows = []
    Case.objects.bulk_create(rows)
    # created_at is set on insert (auto_now_add): spread the cases over two years after.
    ids = list(Case.objects.values_list("id", flat=True))
    rng.shuffle(ids)
    per_day = max(1, len(ids) // 730)
    for day in range(730):
        chunk = ids[day * per_day : (day + 1) * per_day]
        if chunk:
            Case.objects.filter(id__in=chunk).update(created_at=now - dt_days(day + rng.random()))
    long_case = Case.objects.filter(team=teams[0]).order_by("id").first()
    assert long_case is not None
    CaseMessage.objects.bulk_create(
        [
            CaseMessage(
                case=long_case,
                direction=("in", "out", "internal")[i % 3],
                occurred_at=now - dt_days((messages - i) / 10),
                body=f"Message {i}\n" * 5,
            )
            for i in range(messages)
        ]
    )
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # statistics, as autovacuum keeps them in a live database
    client = Client()
    client.force_login(agent)
    return {
        "cases": Case.objects.count(),
        "queue": _timed(client, "/cases/", repeat),
        "queue_oldest_urgent": _timed(client, "/cases/?sort=oldest&priority=1", repeat),
        "case_page": _timed(client, f"/cases/{long_case.pk}/", repeat),
        "case_page_whole_history": _timed(client, f"/cases/{long_case.pk}/?all=1", repeat),
        "case_messages": messages,
    }


def dt_days(days: float):
    import datetime as dt

    return dt.timedelta(days=days)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--db", choices=("sqlite", "pg"), default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--step", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(step(args.cases, args.contacts, args.messages, args.repeat, args.seed)))
        return
    with tempfile.TemporaryDirectory() as work:
        env = fresh_env(Path(work), "rapport_bench_service_queue", args.db)
        result = run_step(
            str(ROOT / "bench" / "service_queue.py"),
            env,
            "--step",
            f"--cases={args.cases}",
            f"--contacts={args.contacts}",
            f"--messages={args.messages}",
            f"--repeat={args.repeat}",
            f"--seed={args.seed}",
        )
    print(f"service queue, {args.db}: {json.dumps(result)}")


if __name__ == "__main__":
    main()

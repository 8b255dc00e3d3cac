"""My day p95: the rep's page ("my day") and the task list, with many tasks in the table.

    .venv/bin/python bench/myday.py                      # SQLite and PostgreSQL, default sizes
    .venv/bin/python bench/myday.py --db pg --tasks 1000000 --contacts 200000
    .venv/bin/python bench/myday.py --reuse -n 100 [--explain]   # the 1M database of bench/sales_fill.py

Each database is made fresh (bench/common.py: a SQLite data directory under --work, or the
PostgreSQL database rapport_bench_myday dropped and created), filled with --contacts
contacts (each with a phone) and --tasks tasks spread over --reps sales reps in two teams
(each rep with two meetings today, three calls due, five overdue, and a history of which
nine in ten are done), then the pages are requested through the whole URL stack (django.test.Client,
DEBUG off) as one rep: ms per request (mean, p50, p95) and SQL queries per request.
Target (issue 14): my day p95 <= 100 ms, constant queries.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _fill(contacts: int, tasks: int, reps: int) -> dict:
    from django.utils import timezone

    from rapport.customers.models import Contact, ContactPhone
    from rapport.followups.models import Task
    from rapport.followups.selectors import day_bounds
    from rapport.users.models import Role, Team, User

    rng = random.Random(1)
    teams = [Team.objects.create(name=n) for n in ("North", "South")]
    users = []
    for i in range(reps):
        user = User.objects.create_user(
            username=f"rep-{i}", password="bench-password-1", role=Role.SALES
        )
        user.teams.add(teams[i % 2])
        users.append(user)
    started = time.perf_counter()
    batch = 5000
    for lo in range(0, contacts, batch):
        n = min(batch, contacts - lo)
        made = Contact.objects.bulk_create(
            [Contact(full_name=f"Person {lo + i}", sort_name=f"person {lo + i}", owner=users[(lo + i) % reps])
             for i in range(n)]
        )  # fmt: skip
        ContactPhone.objects.bulk_create(
            [
                ContactPhone(contact=c, e164=f"+4420{lo + i:08d}", is_primary=True)
                for i, c in enumerate(made)
            ]
        )
    contact_ids = list(Contact.objects.values_list("id", flat=True))
    start, _ = day_bounds(timezone.localdate())
    now = timezone.now()
    rows = []
    for i in range(tasks):
        user = users[i % reps]
        k = i // reps  # the rep's k-th task: two meetings today, three calls, five overdue
        if k < 2:
            kind, due, starts, done = (
                "meeting",
                start + dt.timedelta(hours=9 + 3 * k),
                start + dt.timedelta(hours=9 + 3 * k),
                False,
            )
        elif k < 5:
            kind, due, starts, done = "call", start + dt.timedelta(hours=10 + k), None, False
        elif k < 10:
            kind, due, starts, done = "call", start - dt.timedelta(days=k), None, False
        else:  # history (and the future): nine in ten done
            kind, starts, done = "call", None, rng.random() < 0.9
            due = start + dt.timedelta(
                days=rng.randint(-400, -1) if done else rng.randint(1, 60), hours=10
            )
        rows.append(Task(
            kind=kind, title=f"Task {i}", assignee=user, team=teams[(i % reps) % 2],
            contact_id=rng.choice(contact_ids), due_at=due, starts_at=starts,
            status="done" if done else "open", done_at=now if done else None,
        ))  # fmt: skip
        if len(rows) == batch:
            Task.objects.bulk_create(rows)
            rows = []
    Task.objects.bulk_create(rows)
    return {"fill_seconds": round(time.perf_counter() - started, 1)}


def _measure(n: int, explain: bool = False) -> dict:
    from django.conf import settings
    from django.test import Client
    from django.utils import timezone

    from bench.sales_fill import timed
    from rapport.followups import selectors
    from rapport.followups.models import Task
    from rapport.users.models import User

    assert not settings.DEBUG
    from django.core.management import call_command

    call_command("collectstatic", "--noinput", verbosity=0)  # DEBUG off: hashed names
    rep = User.objects.get(username="rep-0")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(rep)
    day = selectors.my_day(actor=rep, day=timezone.localdate())
    out: dict = {
        "tasks": Task.objects.count(),
        "rep_open": Task.objects.filter(assignee=rep, status="open").count(),
        "my_day_items": len(day.meetings) + len(day.due) + len(day.overdue),
    }
    for name, url in (
        ("my-day", "/my-day/"),
        ("task-list", "/tasks/?mine=1"),
        ("task-list-team", "/tasks/"),
    ):
        out[name] = timed(client, url, n, explain=explain)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg", "both"], default="both")
    parser.add_argument("--contacts", type=int, default=50_000)
    parser.add_argument("--tasks", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("-n", type=int, default=200, help="Requests per page")
    parser.add_argument("--work", default="/tmp/bench-myday")
    parser.add_argument(
        "--reuse", action="store_true",
        help="Measure on the filled database of bench/sales_fill.py (1M contacts, 1M deals, 500k tasks), kept between runs",
    )  # fmt: skip
    parser.add_argument("--explain", action="store_true", help="Print the plans of each page's slowest queries")
    parser.add_argument("--step", choices=["fill", "measure"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        os.environ["DEBUG"] = "0"
        import django

        django.setup()
        result = (
            _fill(args.contacts, args.tasks, args.reps) if args.step == "fill" else _measure(args.n, args.explain)
        )
        print(json.dumps(result))
        return
    from bench.common import fresh_env, run_step
    from bench.sales_fill import SIZES, ensure

    extra = ["--explain"] if args.explain else []
    for db in ["sqlite", "pg"] if args.db == "both" else [args.db]:
        if args.reuse:
            env = ensure(db)
            measured = run_step(__file__, env, "--step", "measure", "-n", str(args.n), *extra)
            print(f"{db}: {measured['tasks']:,} tasks, {SIZES['contacts']:,} contacts, {SIZES['deals']:,} deals (reused); "
                  f"rep-0 has {measured['rep_open']:,} open tasks, {measured['my_day_items']} on my day")  # fmt: skip
            for page in ("my-day", "task-list", "task-list-team"):
                m = measured[page]
                print(f"  {page:<15} mean {m['mean']:>6} ms  p50 {m['p50']:>6} ms  p95 {m['p95']:>6} ms  SQL {m['sql']}  load {m['load']}")
            continue
        env = fresh_env(Path(args.work), "rapport_bench_myday", db)
        sizes = [
            "--contacts",
            str(args.contacts),
            "--tasks",
            str(args.tasks),
            "--reps",
            str(args.reps),
        ]
        filled = run_step(__file__, env, "--step", "fill", *sizes)
        measured = run_step(__file__, env, "--step", "measure", "-n", str(args.n))
        print(f"{db}: {measured['tasks']:,} tasks, {args.contacts:,} contacts, {args.reps} reps "
              f"(filled in {filled['fill_seconds']} s); rep-0 has {measured['rep_open']:,} open tasks, "
              f"{measured['my_day_items']} on my day")  # fmt: skip
        for page in ("my-day", "task-list", "task-list-team"):
            m = measured[page]
            print(
                f"  {page:<15} mean {m['mean']:>6} ms  p50 {m['p50']:>6} ms  p95 {m['p95']:>6} ms  SQL {m['sql']}"
            )


if __name__ == "__main__":
    main()

"""One filled database for the sales figures of issue 14, kept between runs.

    .venv/bin/python bench/sales_fill.py --db both          # fill (or find filled) SQLite and PostgreSQL

1,000,000 contacts (each with an e-mail address and a phone), 50,000 accounts, 1,000,000
deals of which 50,000 open (the rest won or lost over two years, each deal with one
stage-history row per stage it passed; open deals have a primary contact with a role) and
500,000 tasks (each rep: two meetings today, three calls due today, five overdue, and a
history nine in ten done), over 50 sales reps in two teams and a manager ("boss").

The data directory (SQLite) is /tmp/bench-s2/<db>, the PostgreSQL database
``rapport_bench_s2``; ``fill.json`` in the data directory records the sizes, and a second
run with the same sizes only migrates (new indexes) and reuses what is there.
``bench/sales_board.py --reuse`` and ``bench/myday.py --reuse`` measure on it.

Rows are written with plain multi-row inserts (``rapport.core.bulk.BulkWriter``: COPY on
PostgreSQL, executemany on SQLite), not per-object ORM saves, so a fill takes minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Overridable so that two people measuring at once keep their own copies.
WORK = Path(os.environ.get("BENCH_S2_WORK", "/tmp/bench-s2"))
PG_DB = os.environ.get("BENCH_S2_PG_DB", "rapport_bench_s2")
SIZES = {"contacts": 1_000_000, "accounts": 50_000, "deals": 1_000_000, "open": 50_000, "tasks": 500_000, "reps": 50}  # fmt: skip
BATCH = 10_000


def _users(reps: int) -> tuple[list, list]:
    from rapport.users.models import Role, Team, User

    teams = [Team.objects.create(name=n) for n in ("North", "South")]
    users = []
    for i in range(reps):
        user = User.objects.create_user(
            username=f"rep-{i}", password="bench-password-1", role=Role.SALES
        )
        user.teams.add(teams[i % 2])
        users.append(user)
    User.objects.create_user(username="boss", password="bench-password-1", role=Role.MANAGER)
    return teams, users


def _contacts(w, n: int, users: list, stamp) -> None:
    from django.db import transaction

    from rapport.customers.models import Contact, ContactEmail, ContactPhone

    cols = ("id", "created_at", "updated_at", "version", "owner", "source", "prefix", "given_name", "middle_name", "family_name", "suffix", "full_name", "sort_name", "job_title", "department", "preferred_channel", "language", "time_zone", "lifecycle", "custom")  # fmt: skip
    for lo in range(0, n, BATCH):
        hi = min(n, lo + BATCH)
        with transaction.atomic():
            ids = w.reserve_ids(Contact, hi - lo)
            rows, emails, phones = [], [], []
            for pk, i in zip(ids, range(lo, hi), strict=True):
                given, family = f"Given{i % 5000}", f"Family{i}"
                rows.append((pk, stamp, stamp, 1, users[i % len(users)].pk, "bench", "", given, "", family, "", f"{given} {family}", f"{family.lower()} {given.lower()}", "", "", "none", "", "", "lead", w.json({})))  # fmt: skip
                emails.append((stamp, stamp, pk, f"person{i}@example{i % 997}.test", f"example{i % 997}.test", "work", True, "bench"))  # fmt: skip
                phones.append(
                    (stamp, stamp, pk, f"+4420{i:08d}", f"+4420{i:08d}", "", "work", True, "bench")
                )
            w.insert(Contact, cols, rows)
            w.insert(ContactEmail, ("created_at", "updated_at", "contact", "email", "domain", "kind", "is_primary", "source"), emails)  # fmt: skip
            w.insert(ContactPhone, ("created_at", "updated_at", "contact", "e164", "raw", "extension", "kind", "is_primary", "source"), phones)  # fmt: skip


def _accounts(w, n: int, users: list, stamp) -> list[int]:
    from django.db import transaction

    from rapport.customers.models import Account

    cols = ("id", "created_at", "updated_at", "version", "name", "legal_name", "normalized_name", "industry", "size", "country", "phone", "parent", "owner", "lifecycle", "notes", "custom")  # fmt: skip
    out: list[int] = []
    for lo in range(0, n, BATCH):
        hi = min(n, lo + BATCH)
        with transaction.atomic():
            ids = w.reserve_ids(Account, hi - lo)
            w.insert(Account, cols, [(pk, stamp, stamp, 1, f"Company {i}", "", f"company {i}", "", "", "", "", None, users[i % len(users)].pk, "prospect", "", w.json({})) for pk, i in zip(ids, range(lo, hi), strict=True)])  # fmt: skip
            out += ids
    return out


def _deals(
    w,
    n: int,
    open_n: int,
    users: list,
    teams: list,
    account_ids: list[int],
    contacts: tuple[int, int],
    rng,
    now,
) -> None:
    from django.db import transaction
    from django.utils import timezone

    from rapport.sales.models import Deal, DealRole, DealStageChange, LostReason, Stage
    from rapport.sales.services import default_pipeline

    pipeline = default_pipeline()
    stages = list(pipeline.stages.order_by("order"))
    opens = [s for s in stages if s.kind == Stage.Kind.OPEN]
    won = next(s for s in stages if s.kind == Stage.Kind.WON)
    lost = next(s for s in stages if s.kind == Stage.Kind.LOST)
    reason = LostReason.objects.first()
    assert reason is not None
    today = timezone.localdate()
    first_contact, last_contact = contacts
    deal_cols = ("id", "created_at", "updated_at", "version", "name", "account", "primary_contact", "amount", "currency", "expected_close", "owner", "team", "source", "pipeline", "stage", "status", "forecast_category", "stage_entered_at", "closed_at", "lost_reason", "lost_note", "description", "created_by")  # fmt: skip
    move_cols = (
        "deal",
        "from_stage",
        "to_stage",
        "at",
        "by",
        "amount",
        "currency",
        "probability",
        "forecast_category",
    )
    role_cols = ("created_at", "updated_at", "deal", "contact", "role", "is_primary")
    for lo in range(0, n, BATCH):
        hi = min(n, lo + BATCH)
        with transaction.atomic():
            ids = w.reserve_ids(Deal, hi - lo)
            deals, moves, roles = [], [], []
            for pk, i in zip(ids, range(lo, hi), strict=True):
                owner = users[i % len(users)]
                created = now - dt.timedelta(days=rng.randint(1, 730), minutes=rng.randint(0, 1440))
                amount = rng.randint(1, 200) * 500
                contact = rng.randint(first_contact, last_contact)
                if i < open_n:
                    stage = rng.choice(opens)
                    status, closed, close_on = (
                        "open",
                        None,
                        today + dt.timedelta(days=rng.randint(-10, 200)),
                    )
                    category = rng.choice(["pipeline", "best_case", "commit"])
                    path = opens[: opens.index(stage) + 1]
                    roles.append((now, now, pk, contact, "decision_maker", True))
                else:
                    stage = won if rng.random() < 0.3 else lost
                    closed = created + dt.timedelta(days=rng.randint(5, 90))
                    status, close_on = stage.kind, closed.date()
                    category = "closed" if stage == won else "omitted"
                    path = [*opens[: rng.randint(1, 4)], stage]
                entered = closed or created
                deals.append((pk, w.stamp(created), w.stamp(now), 1, f"Deal {i}", rng.choice(account_ids), contact if i < open_n else None, amount, "EUR", w.day(close_on) if not w.pg else close_on, owner.pk, teams[i % len(users) % 2].pk, "bench", pipeline.pk, stage.pk, status, category, w.stamp(entered), w.stamp(closed) if closed else None, reason.pk if stage == lost else None, "", "", None))  # fmt: skip
                previous = None
                for k, step in enumerate(path):
                    at = created + (entered - created) * k / max(1, len(path) - 1)
                    moves.append(
                        (
                            pk,
                            previous,
                            step.pk,
                            w.stamp(at),
                            owner.pk,
                            amount,
                            "EUR",
                            step.probability,
                            category,
                        )
                    )
                    previous = step.pk
            w.insert(Deal, deal_cols, deals)
            w.insert(DealStageChange, move_cols, moves)
            w.insert(
                DealRole, role_cols, [(w.stamp(a), w.stamp(b), *rest) for a, b, *rest in roles]
            )


def _tasks(w, n: int, users: list, teams: list, contacts: tuple[int, int], rng, now) -> None:
    from django.db import transaction
    from django.utils import timezone

    from rapport.followups.models import Task
    from rapport.followups.selectors import day_bounds

    start, _ = day_bounds(timezone.localdate())
    cols = ("created_at", "updated_at", "version", "kind", "title", "notes", "due_at", "starts_at", "ends_at", "assignee", "team", "contact", "account", "subject_kind", "subject_id", "status", "done_at", "done_by", "outcome_note", "reminder_at", "created_by")  # fmt: skip
    reps = len(users)
    for lo in range(0, n, BATCH):
        rows = []
        for i in range(lo, min(n, lo + BATCH)):
            user = users[i % reps]
            k = i // reps
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
            else:
                kind, starts, done = "call", None, rng.random() < 0.9
                due = start + dt.timedelta(
                    days=rng.randint(-400, -1) if done else rng.randint(1, 60), hours=10
                )
            rows.append((w.stamp(now), w.stamp(now), 1, kind, f"Task {i}", "", w.stamp(due), w.stamp(starts) if starts else None, None, user.pk, teams[i % reps % 2].pk, rng.randint(*contacts), None, "", None, "done" if done else "open", w.stamp(now) if done else None, None, "", None, None))  # fmt: skip
        with transaction.atomic():
            w.insert(Task, cols, rows)


def fill(sizes: dict) -> dict:
    from django.db import connection
    from django.utils import timezone

    from rapport.core.bulk import BulkWriter
    from rapport.customers.models import Contact

    rng = random.Random(1)
    w = BulkWriter()
    if w.sqlite:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = OFF")
            cursor.execute("PRAGMA cache_size = -400000")
    teams, users = _users(sizes["reps"])
    now = timezone.now()
    stamp = w.stamp(now)
    timings = {}
    t0 = time.perf_counter()
    _contacts(w, sizes["contacts"], users, stamp)
    timings["contacts"] = round(time.perf_counter() - t0, 1)
    first = Contact.objects.order_by("id").values_list("id", flat=True).first() or 0
    last = Contact.objects.order_by("-id").values_list("id", flat=True).first() or 0
    t0 = time.perf_counter()
    account_ids = _accounts(w, sizes["accounts"], users, stamp)
    _deals(w, sizes["deals"], sizes["open"], users, teams, account_ids, (first, last), rng, now)
    timings["deals"] = round(time.perf_counter() - t0, 1)
    t0 = time.perf_counter()
    _tasks(w, sizes["tasks"], users, teams, (first, last), rng, now)
    timings["tasks"] = round(time.perf_counter() - t0, 1)
    with connection.cursor() as cursor:  # statistics, as autovacuum would have them
        cursor.execute("ANALYZE")
    return timings


def ensure(db: str, sizes: dict | None = None) -> dict[str, str]:
    """The environment of a filled database at ``sizes``: reused when ``fill.json`` says
    it holds them (after ``migrate`` for new indexes), else made fresh and filled."""
    from bench.common import fresh_env

    sizes = sizes or SIZES
    data = WORK / db
    marker = data / "fill.json"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "rapport.settings", "RAPPORT_MEDIA_ROOT": str(WORK / "media"), "RAPPORT_DATA_DIR": str(data), "DEBUG": "0"}  # fmt: skip
    if db == "pg":
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
    else:
        env.pop("DATABASE_URL", None)
    if marker.exists() and json.loads(marker.read_text()).get("sizes") == sizes:
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"],
            env=env,
            check=True,
            cwd=ROOT,
        )  # noqa: S603
        return env
    env = {**fresh_env(WORK, PG_DB, db), "DEBUG": "0"}
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--step", "fill", "--sizes", json.dumps(sizes)],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )  # noqa: S603
    timings = json.loads(out.stdout.strip().splitlines()[-1])
    marker.write_text(
        json.dumps(
            {"sizes": sizes, "seconds": round(time.perf_counter() - started, 1), "timings": timings}
        )
    )
    return env


def timed(client, url: str, n: int, *, explain: bool = False) -> dict:
    """ms per request of ``url`` (mean, p50, p95) and its SQL queries, after three warm-up
    requests; with ``explain`` the plans of the three slowest queries are printed."""
    import statistics

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):
        assert client.get(url).status_code == 200, url
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    queries = list(ctx.captured_queries)
    if explain:
        print(f"-- {url}", file=sys.stderr)
        for q in sorted(queries, key=lambda q: -float(q["time"]))[:3]:
            print(f"{q['time']} s: {q['sql'][:600]}", file=sys.stderr)
            prefix = "EXPLAIN ANALYZE " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
            with connection.cursor() as cursor:
                cursor.execute(prefix + q["sql"])
                for row in cursor.fetchall():
                    print("   ", " ".join(str(c) for c in row), file=sys.stderr)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {
        "mean": round(statistics.mean(times), 1),
        "p50": round(times[len(times) // 2], 1),
        "p95": round(times[min(len(times) - 1, int(len(times) * 0.95))], 1),
        "sql": len(queries),
        "load": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg", "both"], default="both")
    parser.add_argument("--step", choices=["fill"], help=argparse.SUPPRESS)
    parser.add_argument("--sizes", help="JSON of the sizes (default: the figures of issue 14)")
    args = parser.parse_args()
    sizes = json.loads(args.sizes) if args.sizes else SIZES
    if args.step:
        import django

        django.setup()
        print(json.dumps(fill(sizes)))
        return
    for db in ["sqlite", "pg"] if args.db == "both" else [args.db]:
        ensure(db, sizes)
        print(db, (WORK / db / "fill.json").read_text())


if __name__ == "__main__":
    main()

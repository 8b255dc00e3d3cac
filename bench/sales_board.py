"""The pipeline board, the deal list and the forecast with many deals in the table.

    .venv/bin/python bench/sales_board.py                          # SQLite and PostgreSQL
    .venv/bin/python bench/sales_board.py --db pg --deals 1000000 --open 50000
    .venv/bin/python bench/sales_board.py --reuse -n 30 [--explain]   # the 1M database of bench/sales_fill.py

Each database is made fresh (bench/common.py), filled with --accounts accounts and --deals
deals (--open of them open, the rest won or lost, closed over two years) spread over
--reps sales reps in two teams, each deal with one stage-history row per stage it passed;
then the pages are requested through the whole URL stack (django.test.Client, DEBUG off)
as a rep (who sees their team's deals) and as the manager (who sees all): ms per request
(mean, p50, p95) and SQL queries per request. Targets (issue 14): the board of a team
p95 <= 200 ms, the company's forecast roll-up for a quarter <= 1 s, constant queries.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _fill(accounts: int, deals: int, open_deals: int, reps: int) -> dict:
    from django.utils import timezone

    from rapport.customers.models import Account
    from rapport.sales.models import Deal, DealStageChange, Stage
    from rapport.sales.services import default_pipeline
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
    User.objects.create_user(username="boss", password="bench-password-1", role=Role.MANAGER)
    started = time.perf_counter()
    Account.objects.bulk_create(
        [
            Account(name=f"Company {i}", normalized_name=f"company {i}", owner=users[i % reps])
            for i in range(accounts)
        ],
        batch_size=5000,
    )
    account_ids = list(Account.objects.values_list("id", flat=True))
    pipeline = default_pipeline()
    stages = list(pipeline.stages.order_by("order"))
    opens = [s for s in stages if s.kind == Stage.Kind.OPEN]
    won = next(s for s in stages if s.kind == Stage.Kind.WON)
    lost = next(s for s in stages if s.kind == Stage.Kind.LOST)
    reason = pipeline.stages.model._meta.apps.get_model("sales", "LostReason").objects.first()
    now = timezone.now()
    today = timezone.localdate()
    batch = 5000
    for lo in range(0, deals, batch):
        rows, moves = [], []
        for i in range(lo, min(deals, lo + batch)):
            is_open = i < open_deals
            owner = users[i % reps]
            created = now - dt.timedelta(days=rng.randint(1, 730))
            if is_open:
                stage = rng.choice(opens)
                status, closed, close_on = (
                    "open",
                    None,
                    today + dt.timedelta(days=rng.randint(-10, 200)),
                )
            else:
                stage = won if rng.random() < 0.3 else lost
                closed = created + dt.timedelta(days=rng.randint(5, 90))
                status, close_on = stage.kind, closed.date()
            rows.append(Deal(
                name=f"Deal {i}", account_id=rng.choice(account_ids), amount=Decimal(rng.randint(1, 200) * 500),
                currency="EUR", expected_close=close_on, owner=owner, team=teams[(i % reps) % 2],
                pipeline=pipeline, stage=stage, status=status,
                forecast_category=rng.choice(["pipeline", "best_case", "commit"]) if is_open else ("closed" if stage == won else "omitted"),
                stage_entered_at=closed or created, closed_at=closed,
                lost_reason=reason if stage == lost else None,
            ))  # fmt: skip
        made = Deal.objects.bulk_create(rows)
        for deal in made:
            path = (
                opens[: opens.index(deal.stage) + 1]
                if deal.status == "open"
                else [*opens[: rng.randint(1, 4)], deal.stage]
            )
            previous = None
            for stage in path:
                moves.append(DealStageChange(
                    deal=deal, from_stage=previous, to_stage=stage, at=deal.stage_entered_at, amount=deal.amount,
                    currency="EUR", probability=stage.probability, forecast_category=deal.forecast_category,
                ))  # fmt: skip
                previous = stage
        DealStageChange.objects.bulk_create(moves, batch_size=5000)
    from django.db import connection

    with connection.cursor() as cursor:  # statistics, as autovacuum would have them
        cursor.execute("ANALYZE")
    return {"fill_seconds": round(time.perf_counter() - started, 1)}


def _measure(n: int, explain: bool = False) -> dict:
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from bench.sales_fill import timed
    from rapport.sales.models import Deal
    from rapport.users.models import User

    assert not settings.DEBUG
    call_command("collectstatic", "--noinput", verbosity=0)
    out: dict = {"deals": Deal.objects.count(), "open": Deal.objects.filter(status="open").count()}
    for who in ("rep-0", "boss"):
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(User.objects.get(username=who))
        for name, url in (
            ("board", "/deals/"),
            ("my board", "/deals/?mine=1"),
            ("deal-list", "/deals/list/?status=open"),
            ("forecast", "/deals/forecast/"),
        ):
            out[f"{who} {name}"] = timed(client, url, n, explain=explain)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "pg", "both"], default="both")
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--open", type=int, default=5_000)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("-n", type=int, default=40, help="Requests per page")
    parser.add_argument("--work", default="/tmp/bench-sales")
    parser.add_argument("--pg-db", default="rapport_bench_sales")
    parser.add_argument(
        "--reuse", action="store_true",
        help="Measure on the filled database of bench/sales_fill.py (1M contacts, 1M deals, 50k open), kept between runs",
    )  # fmt: skip
    parser.add_argument("--explain", action="store_true", help="Print the plans of each page's slowest queries")
    parser.add_argument("--step", choices=["fill", "measure"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        os.environ["DEBUG"] = "0"
        import django

        django.setup()
        result = (
            _fill(args.accounts, args.deals, args.open, args.reps)
            if args.step == "fill"
            else _measure(args.n, args.explain)
        )
        print(json.dumps(result))
        return
    from bench.common import fresh_env, run_step
    from bench.sales_fill import ensure

    for db in ["sqlite", "pg"] if args.db == "both" else [args.db]:
        if args.reuse:
            env = ensure(db)
            filled = {"fill_seconds": "(reused)"}
        else:
            env = fresh_env(Path(args.work), args.pg_db, db)
            sizes = ["--accounts", str(args.accounts), "--deals", str(args.deals), "--open", str(args.open),
                     "--reps", str(args.reps)]  # fmt: skip
            filled = run_step(__file__, env, "--step", "fill", *sizes)
        extra = ["--explain"] if args.explain else []
        measured = run_step(__file__, env, "--step", "measure", "-n", str(args.n), *extra)
        print(f"{db}: {measured['deals']:,} deals ({measured['open']:,} open), "
              f"filled in {filled['fill_seconds']} s; load average (1 min) with each figure")  # fmt: skip
        for key, m in measured.items():
            if isinstance(m, dict):
                print(
                    f"  {key:<18} mean {m['mean']:>7} ms  p50 {m['p50']:>7} ms  p95 {m['p95']:>7} ms  SQL {m['sql']}  load {m['load']}"
                )


if __name__ == "__main__":
    main()

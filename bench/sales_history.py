"""The forecast roll-up and the forecast of a past date with many deals (issue 14).

    .venv/bin/python bench/sales_history.py                                # 100,000 deals, PostgreSQL
    .venv/bin/python bench/sales_history.py --deals 1000000 --open 50000   # the issue's size
    .venv/bin/python bench/sales_history.py --reuse --db sqlite            # bench/sales_fill.py's 1M database

With --reuse nothing is filled: the figures are taken on the database of bench/sales_fill.py
(1,000,000 deals, 50,000 open, SQLite or PostgreSQL; its stage history has no expected-close
column, so the deal's current date stands in), without quotas or adjustments.

A fresh database (bench/common.py) is filled in SQL (INSERT ... SELECT over
generate_series on PostgreSQL, a recursive CTE on SQLite): --reps reps in four teams,
--deals deals of which --open are open, the closed ones created over two years and closed
5 to 120 days later (a third won, the rest lost), each with a stage-history row per stage
it passed (two to five: 1M deals give about 3.3M rows), at times spread over its life, with
the expected close of that moment. Quotas for every rep and team, and a manager's
adjustment for each rep.

Then, as the manager (who sees every deal), best of --runs after a warm-up:
- the company's forecast roll-up of this quarter (``selectors.forecast``, one aggregate
  query) and the same with quotas and adjustments (``forecast_report``, the page's table);
- the forecast of a past date (``history.forecast_as_of``, --days-back days ago, of that
  day's quarter, rebuilt from the stage history);
- learned stage probabilities with their calibration.
Targets: roll-up <= 1 s, historical <= 2 s at 1M deals (50,000 open).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = Path("/tmp/rapport-bench-sales-history")

PG_FILL = """
INSERT INTO sales_deal (name, account_id, amount, currency, expected_close, owner_id, team_id,
    source, pipeline_id, stage_id, status, forecast_category, stage_entered_at, closed_at,
    lost_reason_id, lost_note, description, created_at, updated_at, version)
SELECT 'Deal ' || g, %(account0)s + (g %% %(accounts)s), 1000 + ((g * 37) %% 100) * 1000, 'EUR',
    CASE WHEN g <= %(open)s THEN (%(today)s::date + (g %% 150) - 20)
         ELSE (c.created + c.cycle)::date END,
    r.id, r.team, (ARRAY['Web form','Referral','Event','Outbound'])[1 + g %% 4], %(pipeline)s,
    CASE WHEN g <= %(open)s THEN (%(opens)s::int[])[1 + g %% 4]
         WHEN g %% 3 = 0 THEN %(won)s ELSE %(lost)s END,
    CASE WHEN g <= %(open)s THEN 'open' WHEN g %% 3 = 0 THEN 'won' ELSE 'lost' END,
    CASE WHEN g <= %(open)s THEN (ARRAY['pipeline','best_case','commit'])[1 + g %% 3]
         WHEN g %% 3 = 0 THEN 'closed' ELSE 'omitted' END,
    CASE WHEN g <= %(open)s THEN c.created ELSE c.created + c.cycle END,
    CASE WHEN g <= %(open)s THEN NULL ELSE c.created + c.cycle END,
    CASE WHEN g > %(open)s AND g %% 3 <> 0 THEN %(reason)s END, '', '', c.created, c.created, 1
FROM generate_series(1, %(deals)s) g
JOIN bench_reps r ON r.n = g %% %(reps)s
CROSS JOIN LATERAL (SELECT
    CASE WHEN g <= %(open)s THEN %(now)s::timestamptz - ((g %% 90) + 1) * interval '1 day'
         ELSE %(now)s::timestamptz - interval '125 days' - ((g::bigint * 7919) %% 605) * interval '1 day'
              - (g %% 600) * interval '1 minute' END AS created,
    (5 + (g * 13) %% 116) * interval '1 day' AS cycle) c
"""

PG_HISTORY = """
INSERT INTO sales_dealstagechange (deal_id, from_stage_id, to_stage_id, at, amount, currency,
    probability, forecast_category, expected_close)
SELECT d.id, CASE WHEN i = 0 THEN NULL ELSE s.path[i] END, s.path[i + 1],
    d.created_at + (COALESCE(d.closed_at, %(now)s::timestamptz) - d.created_at) * i / s.len,
    d.amount, d.currency, st.probability,
    CASE WHEN i + 1 = s.len THEN d.forecast_category ELSE 'pipeline' END,
    CASE WHEN i + 1 = s.len THEN d.expected_close
         ELSE (d.created_at + (COALESCE(d.closed_at, %(now)s::timestamptz) - d.created_at) * i / s.len)::date + (30 + (d.id %% 40))::int END
FROM sales_deal d
CROSS JOIN LATERAL (SELECT CASE
    WHEN d.status = 'open' THEN (%(opens)s::int[])[1:array_position(%(opens)s::int[], d.stage_id)]
    ELSE (%(opens)s::int[])[1:1 + d.id %% 4] || d.stage_id END AS path) p
CROSS JOIN LATERAL (SELECT p.path, cardinality(p.path) AS len) s
CROSS JOIN LATERAL generate_series(0, s.len - 1) i
JOIN sales_stage st ON st.id = s.path[i + 1]
"""


def fill(deals: int, open_deals: int, reps: int) -> dict:
    import datetime as dt

    from django.db import connection
    from django.utils import timezone

    from rapport.customers.models import Account
    from rapport.sales.forecasting.periods import quarter_of
    from rapport.sales.models import ForecastAdjustment, LostReason, Quota, Stage
    from rapport.sales.services import default_pipeline
    from rapport.users.models import Role, Team, User

    started = time.perf_counter()
    teams = [Team.objects.create(name=f"Team {i}") for i in range(4)]
    from django.contrib.auth.hashers import make_password

    hashed = make_password("bench-password-1")  # once: hashing is slow on purpose
    users = User.objects.bulk_create(
        [User(username=f"rep-{i}", password=hashed, role=Role.SALES) for i in range(reps)]
    )
    User.teams.through.objects.bulk_create(
        [User.teams.through(user_id=u.pk, team_id=teams[i % 4].pk) for i, u in enumerate(users)]
    )
    boss = User.objects.create(username="boss", password=hashed, role=Role.MANAGER)
    accounts = 20_000
    Account.objects.bulk_create(
        [Account(name=f"Company {i}", normalized_name=f"company {i}", owner=users[i % reps]) for i in range(accounts)],
        batch_size=5000,
    )
    account0 = Account.objects.order_by("id").values_list("id", flat=True).first()
    pipeline = default_pipeline()
    stages = list(pipeline.stages.order_by("order", "id"))
    opens = [s.pk for s in stages if s.kind == Stage.Kind.OPEN]
    params = {
        "deals": deals, "open": open_deals, "reps": reps, "accounts": accounts, "account0": account0,
        "pipeline": pipeline.pk, "opens": opens,
        "won": next(s.pk for s in stages if s.kind == Stage.Kind.WON),
        "lost": next(s.pk for s in stages if s.kind == Stage.Kind.LOST),
        "reason": LostReason.objects.first().pk, "now": timezone.now(), "today": timezone.localdate(),
    }  # fmt: skip
    with connection.cursor() as cur:
        cur.execute("CREATE TEMP TABLE bench_reps (n int, id int, team int)")
        for i, u in enumerate(users):
            cur.execute("INSERT INTO bench_reps VALUES (%s, %s, %s)", [i, u.pk, teams[i % 4].pk])
        cur.execute(PG_FILL, params)
        filled = time.perf_counter()
        cur.execute(PG_HISTORY, params)
        cur.execute("SELECT count(*) FROM sales_dealstagechange")
        changes = cur.fetchone()[0]
        cur.execute("ANALYZE")
    q = quarter_of(timezone.localdate())
    Quota.objects.bulk_create(
        [Quota(user=u, period_kind="quarter", period_start=q.start, amount=2_000_000, set_by=boss) for u in users]
        + [Quota(team=t, period_kind="quarter", period_start=q.start, amount=15_000_000, set_by=boss) for t in teams]
    )
    ForecastAdjustment.objects.bulk_create(
        [ForecastAdjustment(user=u, period_kind="quarter", period_start=q.start, amount=1_500_000,
                            reason="bench", by=boss, at=timezone.now() - dt.timedelta(days=1)) for u in users]
    )  # fmt: skip
    return {
        "deals": deals, "open": open_deals, "stage_changes": changes,
        "fill_deals_s": round(filled - started, 1), "fill_s": round(time.perf_counter() - started, 1),
    }  # fmt: skip


def _best(fn, runs: int) -> tuple[float, object]:
    result = fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return round(min(times), 3), result


def measure(runs: int, days_back: int) -> dict:
    import datetime as dt

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from rapport.sales import selectors
    from rapport.sales.forecasting import history, probabilities
    from rapport.sales.forecasting.periods import quarter_of
    from rapport.sales.forecasting.selectors import forecast_report
    from rapport.sales.services import default_pipeline
    from rapport.users.models import User

    boss = User.objects.get(username="boss")
    today = timezone.localdate()
    q = quarter_of(today)
    out: dict = {}
    t, rows = _best(lambda: selectors.forecast(actor=boss, first=q.start, after=q.after), runs)
    company = [r for r in rows if r.level == "company"][0]
    out["rollup_s"] = t
    out["rollup_company"] = {"open_deals": company.open_deals, "pipeline": str(company.pipeline),
                             "weighted": str(company.weighted), "closed": str(company.closed)}  # fmt: skip
    with CaptureQueriesContext(connection) as ctx:
        forecast_report(actor=boss, period=q)
    t, _ = _best(lambda: forecast_report(actor=boss, period=q), runs)
    out["rollup_with_quotas_s"], out["rollup_with_quotas_queries"] = t, len(ctx.captured_queries)
    day = today - dt.timedelta(days=days_back)
    as_of = timezone.make_aware(dt.datetime.combine(day, dt.time.max))
    pq = quarter_of(day)
    t, rows = _best(lambda: history.forecast_as_of(actor=boss, as_of=as_of, first=pq.start, after=pq.after), runs)
    company = [r for r in rows if r.level == "company"][0]
    out["historical_s"] = t
    out["historical"] = {"as_of": day.isoformat(), "quarter": pq.name, "open_deals": company.open_deals,
                         "pipeline": str(company.pipeline), "weighted": str(company.weighted),
                         "closed": str(company.closed)}  # fmt: skip
    t, (_, cal) = _best(lambda: probabilities.learned_probabilities(actor=boss, pipeline=default_pipeline()), 1)
    out["learned_probabilities_s"] = t
    out["brier"] = {"learned": cal.brier_learned, "configured": cal.brier_configured}
    out["load"] = [round(x, 2) for x in os.getloadavg()]
    out["cpu_s"] = round(time.process_time(), 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["pg", "sqlite"], default="pg", help="sqlite only with --reuse")
    parser.add_argument("--reuse", action="store_true", help="measure on bench/sales_fill.py's filled database")
    parser.add_argument("--work", default=str(WORK), help="data directory's parent (media)")
    parser.add_argument("--pg-db", default="rapport_bench_sales_history", help="dropped and made again")
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--open", type=int, default=5_000)
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--days-back", type=int, default=120)
    parser.add_argument("--step", choices=["fill", "measure"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
        django.setup()
        result = fill(args.deals, args.open, args.reps) if args.step == "fill" else measure(args.runs, args.days_back)
        print(json.dumps(result))
        return
    from bench.common import fresh_env, run_step

    if args.reuse:
        from bench.sales_fill import WORK as FILLED
        from bench.sales_fill import ensure

        env = ensure(args.db)
        filled: dict = {"reused": str(FILLED / args.db)}
    elif args.db != "pg":
        parser.error("the SQL fill is written for PostgreSQL: use --reuse for SQLite")
    else:
        env = fresh_env(Path(args.work), args.pg_db, args.db)
        filled = run_step(__file__, env, "--step", "fill", "--deals", str(args.deals), "--open", str(args.open),
                          "--reps", str(args.reps))  # fmt: skip
    print("filled:", json.dumps(filled), flush=True)
    measured = run_step(__file__, env, "--step", "measure", "--runs", str(args.runs), "--days-back",
                        str(args.days_back))  # fmt: skip
    print("measured:", json.dumps(measured), flush=True)
    print(json.dumps({**filled, **measured}))


if __name__ == "__main__":
    main()

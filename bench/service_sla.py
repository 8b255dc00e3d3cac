"""Service goals: deadlines of open cases recomputed after a calendar change, and the
clock's agreement with the minute-by-minute oracle.

    .venv/bin/python bench/service_sla.py --cases 100000 --db sqlite
    .venv/bin/python bench/service_sla.py --cases 100000 --db pg

A fresh database (``bench.common.fresh_env``) gets a team with a calendar (Europe/London,
England's public holidays, weekdays 08:30-12:30 and 13:30-17:30), one policy (first
response 8 h, resolution 40 h of working time) and ``--cases`` open cases opened over the
last 30 days, each with its first-response and resolution targets at the state the clock
gives them (bulk-inserted; not measured), a tenth of them waiting on the customer
(paused). Measured: ``calendar_days_add`` of a company day next week, the service an
admin's change goes through: it counts every open target up to now with the calendar as
it was and gives it a new deadline with the new one, in bulk (one UPDATE per 5,000
targets, one for the cases' queue summaries). Checked: 500 targets drawn at random have
the deadline an independent replay gives. Then ``--oracle`` random cases (time zones with
daylight saving, split shifts, holidays, pauses) through the clock and the brute-force
oracle; printed: how many agree.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_env, run_step  # noqa: E402


def step(cases: int, seed: int) -> dict:
    import datetime as dt

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from rapport.core.actor import Actor, Via
    from rapport.customers.models import Contact
    from rapport.service.models import Case, CaseKind, CaseTarget, ServicePolicy
    from rapport.service.sla import calendars
    from rapport.service.sla.clock import Progress, advance, due, moment, ts
    from rapport.users.models import Team

    rng = random.Random(seed)
    system = Actor(user=None, via=Via.SYSTEM, context={"path": "bench"})
    team = Team.objects.create(name="Bench desk")
    periods = [
        {"weekday": d, "start": s, "end": e}
        for d in range(5)
        for s, e in (("08:30", "12:30"), ("13:30", "17:30"))
    ]
    calendar = calendars.calendar_create(
        actor=system,
        data={"name": "Bench hours", "time_zone": "Europe/London", "country": "GB",
              "subdivision": "ENG", "periods": periods, "teams": [team.pk]},
    )  # fmt: skip
    policy = ServicePolicy.objects.create(
        name="Bench", first_response_minutes=8 * 60, resolution_minutes=40 * 60
    )
    kind = CaseKind.objects.get(key="inquiry")
    contacts = Contact.objects.bulk_create(
        Contact(full_name=f"Bench {i}", sort_name=f"bench {i}") for i in range(1000)
    )
    clock = calendars.clock_of(calendar)
    now = timezone.now().replace(microsecond=0)
    started_fill = time.perf_counter()
    with transaction.atomic():
        rows = []
        for i in range(cases):
            opened = now - dt.timedelta(minutes=rng.randint(0, 30 * 24 * 60))
            paused = rng.random() < 0.1
            rows.append(
                Case(
                    contact_id=contacts[i % len(contacts)].pk,
                    kind=kind,
                    subject=f"Case {i}",
                    team=team,
                    status="waiting_customer" if paused else "open",
                    is_open=True,
                    status_changed_at=opened,
                )  # fmt: skip
            )
        Case.objects.bulk_create(rows, batch_size=5000)
        targets = []
        for case in rows:
            paused = case.status == "waiting_customer"
            opened = case.status_changed_at or now
            for k, minutes in (("first_response", 8 * 60), ("resolution", 40 * 60)):
                target = minutes * 60
                p = advance(
                    clock, Progress(0, ts(opened), False), ts(now), paused=paused, target=target
                )
                d = due(clock, p, target)
                targets.append(
                    CaseTarget(
                        case_id=case.pk,
                        kind=k,
                        cycle=1,
                        policy=policy,
                        calendar=calendar,
                        target_seconds=target,
                        warn_seconds=target * 8 // 10,
                        started_at=opened,
                        used_seconds=p.used,
                        counted_at=moment(p.at),
                        state="paused" if paused else "running",
                        due_at=moment(d) if d is not None else None,
                    )  # fmt: skip
                )
        CaseTarget.objects.bulk_create(targets, batch_size=5000)
    fill = time.perf_counter() - started_fill
    before = {
        t.pk: t for t in CaseTarget.objects.filter(pk__in=[t.pk for t in rng.sample(targets, 500)])
    }
    next_week = (now + dt.timedelta(days=7)).date()
    calendar.refresh_from_db()
    started = time.perf_counter()
    calendars.calendar_days_add(
        actor=system, calendar=calendar, days=[{"date": next_week.isoformat(), "name": "Bench day"}]
    )
    seconds = time.perf_counter() - started
    calendar.refresh_from_db()
    new_clock = calendars.clock_of(calendar)
    wrong = 0
    for t in CaseTarget.objects.filter(pk__in=list(before)):
        old = before[t.pk]
        reached = ts(old.due_at) if old.due_at and old.used_seconds >= old.target_seconds else None
        p = Progress(old.used_seconds, ts(old.counted_at), old.state != "running", reached)
        p = advance(clock, p, ts(t.counted_at), paused=p.paused, target=old.target_seconds)
        d = due(new_clock, p, old.target_seconds)
        if (moment(d) if d is not None else None) != t.due_at or p.used != t.used_seconds:
            wrong += 1
    moved = CaseTarget.objects.filter(
        calendar=calendar, state="running", due_at__date__gte=next_week
    ).count()
    return {
        "db": connection.vendor,
        "cases": cases,
        "targets": len(targets),
        "fill_seconds": round(fill, 1),
        "recompute_seconds": round(seconds, 3),
        "checked": len(before),
        "wrong": wrong,
        "due_on_or_after_the_new_day": moved,
        "queue_summaries": Case.objects.filter(next_due_at__isnull=False).count(),
    }


def oracle_agreement(n: int, seed: int) -> dict:
    from rapport.service.sla.clock import BusinessClock, replay
    from rapport.service.sla.oracle import ORACLE_LIMIT_MINUTES, oracle, random_case

    rng = random.Random(seed)
    agree = 0
    started = time.perf_counter()
    for _ in range(n):
        case = random_case(rng)
        expected = oracle(case)
        used, deadline = replay(
            BusinessClock(case.spec), started=case.started, target=case.target_minutes * 60,
            changes=case.changes, now=case.now, paused_at_start=case.paused_at_start,
        )  # fmt: skip
        if (
            expected[1] is None
            and deadline is not None
            and deadline - case.now >= ORACLE_LIMIT_MINUTES * 60
        ):
            deadline = None
        agree += (used // 60 if used % 60 == 0 else -1, deadline) == expected
    return {
        "oracle_cases": n,
        "agree": agree,
        "oracle_seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "pg"), default="sqlite")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument(
        "--oracle", type=int, default=10_000, help="random cases against the oracle (0: none)"
    )
    parser.add_argument("--step", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(step(args.cases, args.seed)))
        return
    result: dict = {}
    if args.cases:
        with tempfile.TemporaryDirectory() as work:
            env = fresh_env(Path(work), "rapport_v1_bench_sla", args.db)
            result = run_step(
                __file__, env, "--step", "--cases", str(args.cases), "--seed", str(args.seed)
            )
        print(
            f"{result['db']}: {result['cases']:,} open cases ({result['targets']:,} targets): "
            f"deadlines recomputed after a calendar change in {result['recompute_seconds']} s "
            f"(target <= 5 s); {result['checked'] - result['wrong']}/{result['checked']} sampled "
            f"deadlines equal an independent replay; {result['due_on_or_after_the_new_day']:,} "
            f"running targets now due on or after the new day off"
        )
    if args.oracle:
        agreement = oracle_agreement(args.oracle, args.seed)
        result.update(agreement)
        share = 100 * agreement["agree"] / agreement["oracle_cases"]
        print(
            f"clock vs minute-by-minute oracle: {agreement['agree']:,}/{agreement['oracle_cases']:,} "
            f"random cases agree ({share:.2f} %) in {agreement['oracle_seconds']} s"
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""The business-time clock against the minute-by-minute oracle, and the cases users
report broken in other helpdesks, one by one."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

from rapport.service.sla.clock import BusinessClock, Progress, advance, due, replay, spec_of, ts
from rapport.service.sla.oracle import ORACLE_LIMIT_MINUTES, oracle, random_case

CASES = 10_000
BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS_9_TO_5 = [(d, 9 * 60, 17 * 60) for d in range(5)]
SPLIT = [(d, s, e) for d in range(5) for s, e in ((8 * 60, 12 * 60), (13 * 60, 17 * 60))]


def at(y: int, mo: int, d: int, h: int, mi: int, tz: ZoneInfo = BERLIN) -> int:
    return ts(dt.datetime(y, mo, d, h, mi, tzinfo=tz))


def test_the_clock_agrees_with_the_minute_by_minute_oracle_on_10000_random_cases():
    rng = random.Random(15)
    disagreements = []
    for n in range(CASES):
        case = random_case(rng)
        expected = oracle(case)
        used, deadline = replay(
            BusinessClock(case.spec),
            started=case.started,
            target=case.target_minutes * 60,
            changes=case.changes,
            now=case.now,
            paused_at_start=case.paused_at_start,
        )
        if expected[1] is None and deadline is not None:
            # Beyond the oracle's reach: it gave up, so the clock must be beyond it too.
            assert deadline - case.now >= ORACLE_LIMIT_MINUTES * 60
            deadline = None
        assert used % 60 == 0
        if (used // 60, deadline) != expected:
            disagreements.append((n, case, expected, (used // 60, deadline)))
    assert disagreements == [], f"{len(disagreements)} of {CASES} disagree: {disagreements[:3]}"


def test_a_case_opened_on_a_saturday_evening_counts_from_monday_morning():
    clock = BusinessClock(spec_of("Europe/Berlin", WEEKDAYS_9_TO_5))
    opened = at(2026, 3, 7, 19, 30)  # Saturday
    assert clock.add(opened, 60 * 60) == at(2026, 3, 9, 10, 0)
    assert clock.seconds_between(opened, at(2026, 3, 9, 9, 30)) == 30 * 60


def test_a_holiday_is_skipped_and_lunch_is_not_counted():
    may_day = dt.date(2026, 5, 1)  # a Friday
    clock = BusinessClock(spec_of("Europe/Berlin", SPLIT, [may_day]))
    opened = at(2026, 4, 30, 16, 0)  # Thursday, one hour before the end
    # 1 h on Thursday, Friday off, Monday 8-12 (4 h), lunch, then 1 h: 6 h in all
    assert clock.add(opened, 6 * 3600) == at(2026, 5, 4, 14, 0)


def test_the_night_the_clocks_go_forward_a_period_over_it_is_an_hour_shorter():
    night = [(6, 0, 6 * 60)]  # Sundays 00:00-06:00 local
    clock = BusinessClock(spec_of("Europe/Berlin", night))
    # 29 March 2026: 02:00 local does not exist; 00:00-06:00 is 5 real hours
    assert clock.seconds_between(at(2026, 3, 29, 0, 0), at(2026, 3, 29, 6, 0)) == 5 * 3600
    # 25 October 2026: 02:00-03:00 happens twice; the period is 7 real hours
    assert clock.seconds_between(at(2026, 10, 25, 0, 0), at(2026, 10, 25, 6, 0)) == 7 * 3600


def test_the_team_calendar_counts_not_the_customers_time_zone():
    clock = BusinessClock(spec_of("Europe/Berlin", WEEKDAYS_9_TO_5))
    # The customer writes at 09:00 in New York: 15:00 in Berlin, two hours before closing
    opened = ts(dt.datetime(2026, 6, 10, 9, 0, tzinfo=ZoneInfo("America/New_York")))
    assert clock.add(opened, 3 * 3600) == at(2026, 6, 11, 10, 0)


def test_pause_and_resume_stop_and_restart_the_clock():
    clock = BusinessClock(spec_of("Europe/Berlin", WEEKDAYS_9_TO_5))
    start = at(2026, 6, 8, 9, 0)  # Monday
    used, deadline = replay(
        clock,
        started=start,
        target=4 * 3600,
        changes=[(at(2026, 6, 8, 10, 0), True), (at(2026, 6, 9, 9, 0), False)],
        now=at(2026, 6, 9, 9, 30),
    )
    assert used == 90 * 60
    assert deadline == at(2026, 6, 9, 12, 0)


def test_pause_and_resolve_in_the_same_moment_count_nothing_after_it():
    clock = BusinessClock(spec_of("Europe/Berlin", WEEKDAYS_9_TO_5))
    start = at(2026, 6, 8, 9, 0)
    moment = at(2026, 6, 8, 11, 0)
    used, deadline = replay(
        clock,
        started=start,
        target=4 * 3600,
        changes=[(moment, True), (moment, True)],  # waiting on customer, then resolved
        now=at(2026, 6, 10, 9, 0),
    )
    assert (used, deadline) == (2 * 3600, None)


def test_a_calendar_change_keeps_the_time_already_used():
    old = BusinessClock(spec_of("Europe/Berlin", WEEKDAYS_9_TO_5))
    start = at(2026, 6, 8, 9, 0)  # Monday
    changed_at = at(2026, 6, 8, 12, 0)
    progress = advance(
        old, Progress(used=0, at=start, paused=False), changed_at, paused=False, target=8 * 3600
    )
    assert progress.used == 3 * 3600
    # Monday itself declared a company day afterwards: the three hours stay used
    new = BusinessClock(spec_of("Europe/Berlin", WEEKDAYS_9_TO_5, [dt.date(2026, 6, 8)]))
    assert due(new, progress, 8 * 3600) == at(2026, 6, 9, 14, 0)


def test_an_empty_calendar_gives_no_deadline():
    clock = BusinessClock(spec_of("UTC", []))
    assert clock.add(at(2026, 1, 1, 0, 0), 60) is None

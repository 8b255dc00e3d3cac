"""The brute-force oracle the clock is checked against (tests and bench/service_sla.py):
minute by minute, convert the minute to the calendar's local time and ask whether it is a
working minute of a working day, and whether the case was paused. No intervals, no
offsets, no binary search: nothing shared with ``clock`` but the definition.

``random_case`` draws the cases: time zones with daylight saving (including a 30-minute
one and a Ramadan suspension), split shifts, holidays on and around the start, starts
near the zone's clock changes, and pauses.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from rapport.service.sla.clock import CalendarSpec

ZONES = (
    "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham",
    "Asia/Kolkata", "America/St_Johns", "UTC", "Europe/London", "America/Santiago",
    "Africa/Casablanca", "Asia/Tokyo", "America/Los_Angeles",
)  # fmt: skip
YEAR = 2026
DAY = 86_400
ORACLE_LIMIT_MINUTES = 21 * 1440  # past this the oracle gives up ("no deadline in reach")


@dataclass
class ClockCase:
    spec: CalendarSpec
    started: int  # epoch seconds, whole minutes
    now: int
    target_minutes: int
    changes: list[tuple[int, bool]]  # (moment, paused from then on), in order
    paused_at_start: bool


def _transitions(zone: str) -> list[int]:
    """Moments (to the hour) the zone's offset changes in YEAR: a plain hourly scan."""
    tz = ZoneInfo(zone)
    t = int(dt.datetime(YEAR, 1, 1, tzinfo=dt.UTC).timestamp())
    end = int(dt.datetime(YEAR + 1, 1, 1, tzinfo=dt.UTC).timestamp())
    out, last = [], dt.datetime.fromtimestamp(t, tz).utcoffset()
    while t < end:
        t += 3600
        off = dt.datetime.fromtimestamp(t, tz).utcoffset()
        if off != last:
            out.append(t)
            last = off
    return out


_TRANSITIONS: dict[str, list[int]] = {}


def random_case(rng: random.Random) -> ClockCase:
    zone = rng.choice(ZONES)
    tz = ZoneInfo(zone)
    periods: list[tuple[int, int, int]] = []
    for weekday in range(7):
        roll = rng.random()
        if weekday >= 5 and roll < 0.6:
            continue  # most weekends closed
        if roll < 0.1:
            periods.append((weekday, 0, 1440))
        elif roll < 0.2:
            periods.append((weekday, 60, 240))  # over the night the clocks change
        else:
            cuts = sorted(set(rng.sample(range(0, 1441, rng.choice((1, 15, 30, 60))), 4)))
            for start, end in zip(cuts[::2], cuts[1::2], strict=False):
                if start < end:
                    periods.append((weekday, start, end))
    if zone not in _TRANSITIONS:
        _TRANSITIONS[zone] = _transitions(zone)
    near = _TRANSITIONS[zone]
    if near and rng.random() < 0.6:
        base = rng.choice(near) - rng.randint(0, 3 * 1440) * 60
    else:
        # One of eight ordinary weeks of the year (few distinct minutes: the oracle's memo).
        week = (
            int(dt.datetime(YEAR, 1, 5, tzinfo=dt.UTC).timestamp()) + rng.randint(0, 7) * 45 * DAY
        )
        base = week + rng.randint(0, 7 * 1440) * 60
    started = base - base % 60
    span = rng.choice(
        (rng.randint(0, 240), rng.randint(0, 720), rng.randint(0, 1440), rng.randint(0, 2 * 1440))
    )
    now = started + span * 60
    first = dt.datetime.fromtimestamp(started, tz).date()
    closed = {first + dt.timedelta(days=rng.randint(-1, 6)) for _ in range(rng.randint(0, 3))}
    changes = sorted(
        (started + rng.randint(0, span) * 60, rng.random() < 0.5)
        for _ in range(rng.choice((0, 0, 1, 2, 4)))
    )
    return ClockCase(
        spec=CalendarSpec(time_zone=zone, periods=tuple(periods), closed=frozenset(closed)),
        started=started,
        now=now,
        target_minutes=rng.choice((rng.randint(1, 60), rng.randint(1, 240), rng.randint(1, 480))),
        changes=changes,
        paused_at_start=rng.random() < 0.1,
    )


_LOCAL: dict[str, dict[int, int]] = {}


def _local(zone: str, tz: ZoneInfo, m: int) -> int:
    """Minute ``m`` in local time as (day ordinal * 1440 + minute of day), memoised: the
    cases start near the same clock changes, and the conversion is the oracle's cost."""
    memo = _LOCAL.setdefault(zone, {})
    found = memo.get(m)
    if found is None:
        local = dt.datetime.fromtimestamp(m, tz)
        found = memo[m] = local.toordinal() * 1440 + local.hour * 60 + local.minute
    return found


def oracle(case: ClockCase) -> tuple[int, int | None]:
    """(working minutes used by ``now``, deadline or None), minute by minute."""
    zone = case.spec.time_zone
    tz = ZoneInfo(zone)
    working = [[False] * 1440 for _ in range(7)]
    for weekday, start, end in case.spec.periods:
        for minute in range(start, end):
            working[weekday][minute] = True
    closed = {d.toordinal() for d in case.spec.closed}
    changes = list(case.changes)
    paused, i = case.paused_at_start, 0
    used, used_by_now, deadline = 0, 0, None
    memo = _LOCAL.setdefault(zone, {})
    if len(memo) > 2_000_000:
        memo.clear()
    m = case.started
    while True:
        while i < len(changes) and changes[i][0] <= m:
            paused = changes[i][1]
            i += 1
        if m == case.now:
            used_by_now = used
        if m >= case.now and (deadline is not None or paused):
            break
        if m - case.now >= ORACLE_LIMIT_MINUTES * 60:
            break
        local = memo.get(m)
        if local is None:
            local = _local(zone, tz, m)
        day, minute = divmod(local, 1440)
        # date.toordinal() is 1 on Monday 1 January of year 1
        if not paused and working[(day - 1) % 7][minute] and day not in closed:
            used += 1
            if deadline is None and used >= case.target_minutes:
                deadline = m + 60
        m += 60
    return used_by_now, deadline

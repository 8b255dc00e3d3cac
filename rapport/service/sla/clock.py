"""Business time over a service calendar: pure arithmetic, no database.

A *working second* is a real (UTC) second during which the calendar's local wall clock
shows a working period of a working day: its local date is no public holiday or company
day, and its local time of day is inside one of that weekday's periods. Everything below
follows from that one definition, which is also what the brute-force oracle of the tests
counts minute by minute:

- a case opened outside the hours or on a holiday starts counting at the next period;
- on the night clocks go forward the skipped local hour has no seconds, so a period over
  it is shorter in real time; on the night they go back a period over the repeated hour
  is longer (the hour is worked twice);
- the calendar's time zone counts, never the customer's: moments are absolute (aware
  datetimes), shown in any zone, counted in the calendar's.

The calendar is unrolled into sorted UTC intervals with running totals, built lazily in
blocks of local days, so that "working seconds between a and b" is two binary searches
and "a plus N working seconds" one more (``BusinessClock``). Pauses (a case waiting on the
customer) are segments during which nothing is counted (``replay``).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

UTC = dt.UTC
DAY = 86_400
BLOCK_DAYS = 16  # local days unrolled at a time
HORIZON_DAYS = 3_660  # a deadline further than ~10 years away is "none" (an empty calendar)
_SAMPLE = 12 * 3600  # offsets are sampled every 12 hours; real transitions are months apart


@dataclass(frozen=True)
class CalendarSpec:
    """What the clock needs of a calendar. ``periods``: (weekday 0=Monday, start minute,
    end minute) of local time, 0 <= start < end <= 1440; ``closed``: local dates with no
    work (public holidays and the company's own days)."""

    time_zone: str
    periods: tuple[tuple[int, int, int], ...]
    closed: frozenset[dt.date] = frozenset()


def ts(moment: dt.datetime) -> int:
    """An aware moment as whole epoch seconds (fractions dropped)."""
    return int(moment.timestamp() // 1)


def moment(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, UTC)


class BusinessClock:
    def __init__(self, spec: CalendarSpec) -> None:
        self.spec = spec
        self.tz = ZoneInfo(spec.time_zone)
        by_day: dict[int, list[tuple[int, int]]] = {d: [] for d in range(7)}
        for weekday, start, end in spec.periods:
            by_day[weekday].append((start * 60, end * 60))
        self._periods = {d: sorted(p) for d, p in by_day.items()}
        self.weekly_seconds = sum(e - s for p in self._periods.values() for s, e in p)
        self._lo: int | None = None  # first block (index of BLOCK_DAYS local days) built
        self._hi: int | None = None  # one past the last
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._cum: list[int] = []  # working seconds before interval i
        self._cum_end: list[int] = []  # ... up to its end

    # --- unrolling -----------------------------------------------------------------------

    def _offset(self, t: int) -> int:
        off = dt.datetime.fromtimestamp(t, self.tz).utcoffset()
        return int(off.total_seconds()) if off is not None else 0

    def _spans(self, u0: int, u1: int) -> list[tuple[int, int, int]]:
        """[u0, u1) cut where the zone's UTC offset changes: (start, end, offset)."""
        spans: list[tuple[int, int, int]] = []
        start, off = u0, self._offset(u0)
        t = u0
        while t < u1:
            nxt = min(t + _SAMPLE, u1)
            o = self._offset(nxt) if nxt < u1 else off
            if o != off:
                lo, hi = t, nxt  # offset(lo) == off, offset(hi) != off
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    if self._offset(mid) == off:
                        lo = mid
                    else:
                        hi = mid
                spans.append((start, hi, off))
                start, off = hi, self._offset(hi)
            t = nxt
        spans.append((start, u1, off))
        return spans

    def _intervals(self, first_day: int, last_day: int) -> list[tuple[int, int]]:
        """Working UTC intervals of local days [first_day, last_day) (days since 1970-01-01)."""
        out: list[tuple[int, int]] = []
        day_lo, day_hi = first_day * DAY, last_day * DAY  # local "naive" seconds
        closed = self.spec.closed
        for u0, u1, off in self._spans(day_lo - 2 * DAY, day_hi + 2 * DAY):
            l0, l1 = max(u0 + off, day_lo), min(u1 + off, day_hi)
            if l0 >= l1:
                continue
            for day in range(l0 // DAY, (l1 - 1) // DAY + 1):
                date = dt.date(1970, 1, 1) + dt.timedelta(days=day)
                if date in closed:
                    continue
                base = day * DAY
                for s, e in self._periods[date.weekday()]:
                    a, b = max(base + s, l0), min(base + e, l1)
                    if a < b:
                        out.append((a - off, b - off))
        out.sort()
        merged: list[tuple[int, int]] = []
        for a, b in out:
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        return merged

    def _local_day(self, t: int) -> int:
        return (t + self._offset(t)) // DAY

    def _build(self, lo: int, hi: int) -> None:
        intervals = self._intervals(lo * BLOCK_DAYS, hi * BLOCK_DAYS)
        self._starts = [a for a, _ in intervals]
        self._ends = [b for _, b in intervals]
        cum, total = [], 0
        cum_end = []
        for a, b in intervals:
            cum.append(total)
            total += b - a
            cum_end.append(total)
        self._cum, self._cum_end = cum, cum_end
        self._lo, self._hi = lo, hi

    def ensure(self, a: int, b: int) -> None:
        """Unroll at least the local days around the UTC moments a..b (seconds)."""
        lo = (self._local_day(a) - 1) // BLOCK_DAYS
        hi = (self._local_day(b) + 1) // BLOCK_DAYS + 1
        if self._lo is None or self._hi is None:
            self._build(lo, hi)
        elif lo < self._lo or hi > self._hi:
            self._build(min(lo, self._lo), max(hi, self._hi))

    # --- arithmetic ----------------------------------------------------------------------

    def _cum_at(self, t: int) -> int:
        i = bisect.bisect_right(self._starts, t) - 1
        if i < 0:
            return 0
        return self._cum[i] + min(t, self._ends[i]) - self._starts[i]

    def seconds_between(self, a: int, b: int) -> int:
        """Working seconds in [a, b) (0 when b <= a)."""
        if b <= a:
            return 0
        self.ensure(a, b)
        return self._cum_at(b) - self._cum_at(a)

    def add(self, a: int, seconds: int) -> int | None:
        """The earliest moment t >= a with ``seconds`` working seconds in [a, t); None when
        the calendar has no such moment within ten years (no working time at all)."""
        if seconds <= 0:
            return a
        if self.weekly_seconds == 0:
            return None
        limit = a + HORIZON_DAYS * DAY
        end = a + max(7 * DAY, seconds * 7 * DAY // self.weekly_seconds * 2)
        while True:
            self.ensure(a, min(end, limit))
            target = self._cum_at(a) + seconds
            i = bisect.bisect_left(self._cum_end, target)
            if i < len(self._cum_end):
                return self._starts[i] + (target - self._cum[i])
            if end >= limit:
                return None
            end = min(limit, a + (end - a) * 2)

    def is_working(self, t: int) -> bool:
        self.ensure(t, t)
        i = bisect.bisect_right(self._starts, t) - 1
        return i >= 0 and t < self._ends[i]


# --- a target's clock: running, paused, stopped -------------------------------------------


@dataclass(frozen=True)
class Progress:
    """Where a target's clock stands at ``at``: ``used`` working seconds so far, counted up
    to ``at``; ``paused`` whether it stands still from then on; ``reached`` the moment the
    target ran out, once it has (it never moves again: used time only grows)."""

    used: int
    at: int
    paused: bool
    reached: int | None = None


def advance(
    clock: BusinessClock, progress: Progress, until: int, *, paused: bool, target: int
) -> Progress:
    """Count from ``progress.at`` to ``until`` (nothing while paused), then take the new
    pause state: the one step every status change, calendar change and team change makes.
    A moment before the last one counted counts nothing (time already used stays)."""
    until = max(until, progress.at)
    used, reached = progress.used, progress.reached
    if not progress.paused:
        if reached is None and used >= target:
            reached = progress.at
        ran = clock.seconds_between(progress.at, until)
        if reached is None and used + ran >= target:
            reached = clock.add(progress.at, target - used)
        used += ran
    return Progress(used=used, at=until, paused=paused, reached=reached)


def due(clock: BusinessClock, progress: Progress, target: int) -> int | None:
    """The moment ``target`` working seconds are used up: when it is past, the moment it
    ran out; else if the clock keeps running from ``progress``, when it will; None while
    paused (or when the calendar never reaches it)."""
    if progress.reached is not None:
        return progress.reached
    if progress.paused:
        return None
    return clock.add(progress.at, target - progress.used)


def replay(
    clock: BusinessClock,
    *,
    started: int,
    target: int,
    changes: Iterable[tuple[int, bool]],
    now: int,
    paused_at_start: bool = False,
) -> tuple[int, int | None]:
    """Replay a target's history: it started at ``started`` and each change is (moment,
    paused from then on), in order. Returns (working seconds used by ``now``, deadline or
    None while paused short of it). The same steps the services take one at a time."""
    progress = Progress(used=0, at=started, paused=paused_at_start)
    for at, paused in changes:
        if at > now:
            break
        progress = advance(clock, progress, at, paused=paused, target=target)
    deadline = due(clock, progress, target)
    used = advance(clock, progress, now, paused=progress.paused, target=target).used
    return used, deadline


def spec_of(
    time_zone: str,
    periods: Sequence[tuple[int, int, int]],
    closed: Iterable[dt.date] = (),
) -> CalendarSpec:
    return CalendarSpec(time_zone=time_zone, periods=tuple(periods), closed=frozenset(closed))

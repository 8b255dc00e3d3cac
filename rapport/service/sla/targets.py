"""A case's service goals (``CaseTarget``), kept by the case services as things happen.

Each target's clock is a running total (``used_seconds`` counted up to ``counted_at``,
paused or not since then), so every step is ``clock.advance`` then ``clock.due``: a status
change (the policy's pause statuses, and resolved/closed, stop the clock), a response, a
customer's message, a change of team (the new team's calendar counts from now) or of
policy (new targets, time used stays), and a calendar change (all the calendar's open
targets at once, in bulk: ``targets_recompute_calendar``). Time already counted is never
counted again, so a holiday added for yesterday gives back nothing.

The functions here never check permissions: the case service that calls them did.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from rapport.service.models import Case, CaseTarget, ServiceCalendar, ServicePolicy
from rapport.service.sla.calendars import calendar_for_team, clock_of
from rapport.service.sla.clock import BusinessClock, Progress, advance, due, moment, ts

K = CaseTarget.Kind
S = CaseTarget.State
LIVE = (S.RUNNING, S.PAUSED)
STOPPED_STATUSES = (Case.Status.RESOLVED, Case.Status.CLOSED)
MINUTES: dict[str, str] = {
    K.FIRST_RESPONSE: "first_response_minutes",
    K.NEXT_RESPONSE: "next_response_minutes",
    K.RESOLUTION: "resolution_minutes",
    K.UPDATE: "update_minutes",
}
RESPONSES = (K.FIRST_RESPONSE, K.NEXT_RESPONSE, K.UPDATE)
STORED = ["used_seconds", "counted_at", "state", "due_at", "warn_at", "met_at", "breached"]
BULK_CHUNK = 5_000

# Policies and calendars read once within ``read_once`` (the cases of one delivery of mail).
_MEMO: ContextVar[dict[tuple[Any, ...], Any] | None] = ContextVar("sla_memo", default=None)


@contextmanager
def read_once() -> Iterator[None]:
    """Within the block, each policy and calendar lookup is made once: for the cases one
    delivery of mail opens or threads onto, in one transaction, where the service setup
    they read cannot change under them."""
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def _calendar(team_id: int | None) -> ServiceCalendar | None:
    memo = _MEMO.get()
    if memo is None:
        return calendar_for_team(team_id)
    key = ("calendar", team_id)
    if key not in memo:
        memo[key] = calendar_for_team(team_id)
    return memo[key]  # type: ignore[no-any-return]


def policy_for(case: Case) -> ServicePolicy | None:
    """The most specific active policy matching the case's kind, priority, channel and tier."""
    memo = _MEMO.get()
    if memo is None:
        return _policy_for(case)
    key = ("policy", case.kind_id, case.priority, case.channel, case.tier)
    if key not in memo:
        memo[key] = _policy_for(case)
    return memo[key]  # type: ignore[no-any-return]


def _policy_for(case: Case) -> ServicePolicy | None:
    candidates = ServicePolicy.objects.filter(
        Q(kind__isnull=True) | Q(kind_id=case.kind_id),
        Q(priority__isnull=True) | Q(priority=case.priority),
        Q(channel="") | Q(channel=case.channel),
        Q(tier="") | Q(tier=case.tier),
        active=True,
    )

    def rank(p: ServicePolicy) -> tuple[int, int, int]:
        given = sum(1 for v in (p.kind_id, p.priority, p.channel, p.tier) if v not in (None, ""))
        return (-given, p.order, p.pk)

    found = sorted(candidates, key=rank)
    return found[0] if found else None


def pausing(policy: ServicePolicy | None, status: str) -> bool:
    pauses = list(policy.pause_statuses or []) if policy is not None else []
    return status in pauses or status not in Case.OPEN_STATUSES


def progress_of(t: CaseTarget) -> Progress:
    reached = ts(t.due_at) if t.due_at is not None and t.used_seconds >= t.target_seconds else None
    return Progress(
        used=t.used_seconds, at=ts(t.counted_at), paused=t.state != S.RUNNING, reached=reached
    )


def _deadlines(
    clock: BusinessClock, p: Progress, *, target: int, warn: int, warn_at: dt.datetime | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    d = due(clock, p, target)
    w: dt.datetime | None
    if p.used >= warn:
        w = warn_at or moment(p.at)  # at risk already: the moment it was (or now)
    else:
        wt = None if p.paused else clock.add(p.at, warn - p.used)
        w = moment(wt) if wt is not None else None
    return (moment(d) if d is not None else None), w


def _store(t: CaseTarget, clock: BusinessClock, p: Progress) -> None:
    t.used_seconds, t.counted_at = p.used, moment(p.at)
    if t.state in LIVE:
        t.state = S.PAUSED if p.paused else S.RUNNING
    t.due_at, t.warn_at = _deadlines(
        clock, p, target=t.target_seconds, warn=t.warn_seconds, warn_at=t.warn_at
    )


def _warn_seconds(policy: ServicePolicy, seconds: int) -> int:
    return max(0, seconds * policy.warn_percent // 100)


def _new(
    case: Case,
    kind: str,
    cycle: int,
    policy: ServicePolicy,
    calendar: ServiceCalendar,
    at: dt.datetime,
) -> CaseTarget | None:
    minutes = getattr(policy, MINUTES[kind])
    if not minutes:
        return None
    seconds = minutes * 60
    t = CaseTarget(
        case=case, kind=kind, cycle=cycle, policy=policy, calendar=calendar,
        target_seconds=seconds, warn_seconds=_warn_seconds(policy, seconds),
        started_at=at, counted_at=at, state=S.RUNNING,
    )  # fmt: skip
    paused = pausing(policy, case.status)
    _store(t, clock_of(calendar), Progress(used=0, at=ts(at), paused=paused))
    return t


def summarise(case_ids: Iterable[int], *, now: dt.datetime | None = None) -> None:
    """The case's earliest running deadline and whether a goal is at risk or missed, for
    the queue (its index sorts by ``next_due_at``)."""
    now = now or timezone.now()
    ids = list(case_ids)
    by_case: dict[int, list[CaseTarget]] = {i: [] for i in ids}
    for t in CaseTarget.objects.filter(case_id__in=ids, state__in=LIVE).only(
        "case_id", "state", "due_at", "warn_at"
    ):
        by_case[t.case_id].append(t)
    for case_id, rows in by_case.items():
        _write_summary(case_id, rows, now)


def _write_summary(case_id: int, rows: list[CaseTarget], now: dt.datetime) -> None:
    """The queue's summary of a case from its live targets ``rows``."""
    dues = [t.due_at for t in rows if t.state == S.RUNNING and t.due_at is not None]
    state = ""
    if any(t.due_at is not None and t.due_at <= now for t in rows):
        state = "breached"
    elif any(t.warn_at is not None and t.warn_at <= now for t in rows):
        state = "at_risk"
    Case.objects.filter(pk=case_id).update(next_due_at=min(dues, default=None), sla_state=state)


def _targets(case: Case, *states: str) -> list[CaseTarget]:
    return list(
        CaseTarget.objects.filter(case=case, state__in=states or LIVE)
        .select_related("policy", "calendar")
        .order_by("kind", "cycle")
    )


def _cycle(case: Case, kind: str) -> int:
    last = (
        CaseTarget.objects.filter(case=case, kind=kind)
        .order_by("-cycle")
        .values_list("cycle", flat=True)
        .first()
    )
    return (last or 0) + 1


def _advance(
    t: CaseTarget, at: dt.datetime, *, paused: bool
) -> tuple[BusinessClock | None, Progress]:
    p = progress_of(t)
    if t.calendar is None:
        return None, p
    clock = clock_of(t.calendar)
    return clock, advance(clock, p, ts(at), paused=paused, target=t.target_seconds)


def _meet(t: CaseTarget, at: dt.datetime) -> None:
    clock, p = _advance(t, at, paused=True)
    if clock is not None:
        _store(t, clock, p)
    t.state, t.met_at = S.MET, at
    t.breached = t.due_at is not None and t.due_at < at


def _save(rows: list[CaseTarget]) -> None:
    for t in rows:
        t.save(update_fields=STORED)


# --- the steps the case services take -------------------------------------------------------


def targets_start(*, case: Case, at: dt.datetime) -> None:
    """A new case: its first response and resolution goals, from the moment it opened."""
    policy = policy_for(case)
    calendar = _calendar(case.team_id)
    if policy is None or calendar is None:
        return
    kinds = [K.RESOLUTION] + ([] if case.first_response_at else [K.FIRST_RESPONSE])
    rows = [t for k in kinds if (t := _new(case, k, 1, policy, calendar, at)) is not None]
    CaseTarget.objects.bulk_create(rows)
    _summarise_new(case, rows)


def _summarise_new(case: Case, rows: list[CaseTarget]) -> None:
    """``summarise`` for a case whose only targets are ``rows``, just made (not read back)."""
    _write_summary(case.pk, rows, timezone.now())


def targets_status_changed(*, case: Case, old: str, new: str, at: dt.datetime) -> None:
    """Count up to the change, then run or stand still by the new status. Resolving meets
    the resolution goal; reopening runs it again from the time it had used."""
    rows = _targets(case, S.RUNNING, S.PAUSED, S.MET)
    changed = []
    for t in rows:
        paused = pausing(t.policy, new)
        if t.state == S.MET:
            if t.kind != K.RESOLUTION or new in STOPPED_STATUSES or old not in STOPPED_STATUSES:
                continue
            if CaseTarget.objects.filter(case=case, kind=t.kind, cycle__gt=t.cycle).exists():
                continue
            # Reopened: resolved-to-now counted nothing; on from the time already used.
            t.state, t.met_at, t.breached = S.PAUSED, None, False
            t.counted_at = max(t.counted_at, at)
        if t.kind == K.RESOLUTION and new in STOPPED_STATUSES:
            _meet(t, at)
        else:
            clock, p = _advance(t, at, paused=paused)
            if clock is not None:
                _store(t, clock, p)
        changed.append(t)
    _save(changed)
    summarise([case.pk])


def targets_responded(*, case: Case, at: dt.datetime) -> None:
    """A reply or an outbound call: the response goals running are met, and the next
    periodic update is due from now."""
    rows = _targets(case)
    for t in rows:
        if t.kind in RESPONSES:
            _meet(t, at)
    _save(rows)
    if case.status in Case.OPEN_STATUSES:
        policy = policy_for(case)
        calendar = _calendar(case.team_id)
        if policy is not None and calendar is not None and policy.update_minutes:
            update = _new(case, K.UPDATE, _cycle(case, K.UPDATE), policy, calendar, at)
            if update is not None:
                update.save()
    summarise([case.pk])


def targets_customer_wrote(*, case: Case, at: dt.datetime) -> None:
    """A message from the customer after a response: the next response is due."""
    live = _targets(case)
    if any(t.kind in (K.FIRST_RESPONSE, K.NEXT_RESPONSE) for t in live):
        return  # still waiting for an answer already
    answered = (
        case.first_response_at is not None
        or CaseTarget.objects.filter(case=case, kind=K.FIRST_RESPONSE, state=S.MET).exists()
    )
    if not answered or case.status not in Case.OPEN_STATUSES:
        return
    policy = policy_for(case)
    calendar = _calendar(case.team_id)
    if policy is None or calendar is None:
        return
    t = _new(case, K.NEXT_RESPONSE, _cycle(case, K.NEXT_RESPONSE), policy, calendar, at)
    if t is not None:
        t.save()
        summarise([case.pk])


def targets_reset(*, case: Case, at: dt.datetime) -> None:
    """The team (so the calendar) or the policy changed: count up to now as before, then
    go on with the new calendar and the new policy's targets (time used stays)."""
    policy = policy_for(case)
    calendar = _calendar(case.team_id)
    rows = _targets(case)
    for t in rows:
        clock, p = _advance(t, at, paused=t.state != S.RUNNING)
        if clock is not None:
            _store(t, clock, p)  # counted up to now with the calendar and target as they were
        minutes = getattr(policy, MINUTES[t.kind]) if policy is not None else None
        if policy is None or calendar is None or not minutes:
            t.state = S.STOPPED
            continue
        ran_out = t.due_at if t.used_seconds >= t.target_seconds else None
        t.policy, t.calendar = policy, calendar
        t.target_seconds, t.warn_seconds = minutes * 60, _warn_seconds(policy, minutes * 60)
        if ran_out is None and t.used_seconds >= t.target_seconds:
            ran_out = t.counted_at  # a shorter goal, used up already: missed from now
        paused = pausing(policy, case.status)
        t.state = S.PAUSED if paused else S.RUNNING
        reached = ts(ran_out) if ran_out is not None else None
        _store(t, clock_of(calendar), Progress(t.used_seconds, ts(t.counted_at), paused, reached))
    for t in rows:
        t.save(update_fields=[*STORED, "policy", "calendar", "target_seconds", "warn_seconds"])
    if not rows:
        have = set(CaseTarget.objects.filter(case=case).values_list("kind", flat=True))
        if policy is not None and calendar is not None and not have and case.is_open:
            targets_start(case=case, at=at)
            return
    summarise([case.pk])


# --- a calendar changed: every open target it counts for, in bulk ---------------------------


def targets_recompute_calendar(
    *, calendar: ServiceCalendar, old_clock: BusinessClock, now: dt.datetime | None = None
) -> int:
    """New deadlines for every open target the calendar counts for: the time up to now is
    counted with the calendar as it was, the rest with the new one. Read in chunks, written
    with one statement per chunk, then one statement for the cases' summaries."""
    now = now or timezone.now()
    at = ts(now)
    new_clock = clock_of(calendar)
    fields = (
        "id",
        "case_id",
        "target_seconds",
        "warn_seconds",
        "used_seconds",
        "counted_at",
        "state",
        "due_at",
        "warn_at",
    )
    rows = (
        CaseTarget.objects.filter(calendar=calendar, state__in=LIVE)
        .order_by()
        .values_list(*fields)
        .iterator(chunk_size=BULK_CHUNK)
    )
    batch: list[tuple[Any, ...]] = []
    # Per case: its earliest running deadline, and whether a goal is missed / at risk.
    cases: dict[int, list[Any]] = {}
    done = 0
    for pk, case_id, target, warn, used, counted, state, due_at, warn_at in rows:
        reached = ts(due_at) if due_at is not None and used >= target else None
        p = Progress(used=used, at=ts(counted), paused=state != S.RUNNING, reached=reached)
        p = advance(old_clock, p, at, paused=p.paused, target=target)
        d, w = _deadlines(new_clock, p, target=target, warn=warn, warn_at=warn_at)
        batch.append((pk, p.used, moment(p.at), d, w))
        summary = cases.setdefault(case_id, [None, 0])
        if d is not None and not p.paused and (summary[0] is None or d < summary[0]):
            summary[0] = d
        summary[1] = max(
            summary[1], 2 if d is not None and d <= now else 1 if w is not None and w <= now else 0
        )
        if len(batch) >= BULK_CHUNK:
            _write(batch)
            done += len(batch)
            batch = []
    if batch:
        _write(batch)
        done += len(batch)
    states = ("", "at_risk", "breached")
    _write_cases(
        [(case_id, due_first, states[level]) for case_id, (due_first, level) in cases.items()]
    )
    return done


def _write(batch: list[tuple[Any, ...]]) -> None:
    table = CaseTarget._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            values = ",".join(
                ["(%s, %s, %s::timestamptz, %s::timestamptz, %s::timestamptz)"] * len(batch)
            )
            params = [v for pk, used, c, d, w in batch for v in (pk, used, c, d, w)]
            cursor.execute(
                f"UPDATE {table} AS t SET used_seconds = v.used, counted_at = v.counted, "  # noqa: S608 - our table name
                "due_at = v.due, warn_at = v.warn "
                f"FROM (VALUES {values}) AS v(id, used, counted, due, warn) WHERE t.id = v.id",
                params,
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET used_seconds = %s, counted_at = %s, due_at = %s, warn_at = %s WHERE id = %s",  # noqa: S608
                [(used, adapt(c), adapt(d), adapt(w), pk) for pk, used, c, d, w in batch],
            )


def _write_cases(rows: list[tuple[int, dt.datetime | None, str]]) -> None:
    """The queue's summaries of many cases: one statement per chunk."""
    table = Case._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value
    for start in range(0, len(rows), BULK_CHUNK):
        chunk = rows[start : start + BULK_CHUNK]
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                values = ",".join(["(%s, %s::timestamptz, %s)"] * len(chunk))
                cursor.execute(
                    f"UPDATE {table} AS c SET next_due_at = v.due, sla_state = v.state "  # noqa: S608 - our table name
                    f"FROM (VALUES {values}) AS v(id, due, state) WHERE c.id = v.id",
                    [x for row in chunk for x in row],
                )
            else:
                cursor.executemany(
                    f"UPDATE {table} SET next_due_at = %s, sla_state = %s WHERE id = %s",  # noqa: S608
                    [(adapt(d), state, pk) for pk, d, state in chunk],
                )

"""Reads of forecasting: quotas rolled up from rep to team to company, the manager's
adjustments, and the forecast report that puts both beside the reps' figures."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet

from rapport.sales import selectors
from rapport.sales.forecasting.history import forecast_by_rep_as_of
from rapport.sales.forecasting.periods import Period
from rapport.sales.models import ForecastAdjustment, ForecastSnapshot, Quota
from rapport.sales.selectors import EVERYTHING, Scope
from rapport.users import permissions
from rapport.users.models import RecordKind, Team, User


def visible_rep_ids(actor: Any) -> list[int] | None:
    """The reps whose forecast the actor may see (None: all), as for their deals."""
    return permissions.visible_owner_ids(actor, RecordKind.DEAL)


def quota_list(
    *, actor: Any, period: Period | None = None, user: int | None = None, team: int | None = None
) -> QuerySet[Quota]:
    """Quotas (the sales setup's right to view); a rep's list has their team's reps and
    teams only."""
    permissions.require(actor, "view", RecordKind.SALES_SETUP)
    qs = Quota.objects.select_related("user", "team").order_by("period_start", "period_kind", "id")
    reps = visible_rep_ids(actor)
    if reps is not None:
        teams = Team.objects.filter(members__in=reps).values("pk")
        qs = qs.filter(Q(user_id__in=reps) | Q(team_id__in=teams))
    if period is not None:
        qs = qs.filter(period_start__gte=period.start, period_start__lt=period.after)
        if period.kind == "month":
            qs = qs.filter(period_kind="month")
    if user:
        qs = qs.filter(user_id=user)
    if team:
        qs = qs.filter(team_id=team)
    return qs


def quota_get(*, actor: Any, pk: int) -> Quota:
    from rapport.core.errors import NotFound

    quota = quota_list(actor=actor).filter(pk=pk).first()
    if quota is None:
        raise NotFound("No such quota.")
    return quota


def adjustment_list(
    *, actor: Any, period: Period | None = None, user: int | None = None
) -> QuerySet[ForecastAdjustment]:
    """Adjustments of the reps the actor may see, newest first (history included)."""
    permissions.require(actor, "view", RecordKind.DEAL)
    qs = ForecastAdjustment.objects.select_related("user", "by")
    reps = visible_rep_ids(actor)
    if reps is not None:
        qs = qs.filter(user_id__in=reps)
    if period is not None:
        qs = qs.filter(period_kind=period.kind, period_start=period.start)
    if user:
        qs = qs.filter(user_id=user)
    return qs.order_by("-at", "-id")


def _quotas_of(
    period: Period,
) -> tuple[dict[tuple[int, str], Decimal], dict[tuple[int, str], Decimal]]:
    """(rep, currency) and (team, currency) quotas of the period: its own row, or for a
    quarter without one, the sum of its months' rows."""
    own: dict[tuple[str, int, str], Decimal] = {}
    months: dict[tuple[str, int, str], Decimal] = defaultdict(Decimal)
    rows = Quota.objects.filter(period_start__gte=period.start, period_start__lt=period.after)
    for q in rows.values("user_id", "team_id", "period_kind", "period_start", "currency", "amount"):
        key = (
            ("u", q["user_id"], q["currency"])
            if q["user_id"]
            else ("t", q["team_id"], q["currency"])
        )
        if q["period_kind"] == period.kind and q["period_start"] == period.start:
            own[key] = q["amount"]
        elif period.kind == "quarter" and q["period_kind"] == "month":
            months[key] += q["amount"]
    merged = {**months, **own}
    reps = {(k[1], k[2]): v for k, v in merged.items() if k[0] == "u"}
    teams = {(k[1], k[2]): v for k, v in merged.items() if k[0] == "t"}
    return reps, teams


def company_quota(period: Period, currency: str) -> Decimal | None:
    """The company's quota of a period: each team's own, or its reps' sum (a rep counts
    in their first team by name), plus the reps without a team."""
    reps, teams = _quotas_of(period)
    users = User.objects.filter(pk__in=[u for u, c in reps if c == currency])
    first_team = {
        u.pk: next((t.pk for t in sorted(u.teams.all(), key=lambda t: t.name)), None)
        for u in users.prefetch_related("teams")
    }
    by_team: dict[int | None, Decimal] = defaultdict(Decimal)
    for (uid, c), amount in reps.items():
        if c == currency:
            by_team[first_team.get(uid)] += amount
    for (tid, c), amount in teams.items():
        if c == currency:
            by_team[tid] = amount
    return sum(by_team.values(), Decimal(0)) or None


def latest_adjustments(
    period: Period, reps: list[int] | None
) -> dict[tuple[int, str], ForecastAdjustment]:
    qs = ForecastAdjustment.objects.filter(
        period_kind=period.kind, period_start=period.start
    ).select_related("by")
    if reps is not None:
        qs = qs.filter(user_id__in=reps)
    out: dict[tuple[int, str], ForecastAdjustment] = {}
    for a in qs.order_by("at", "id"):
        out[(a.user_id, a.currency)] = a  # the newest wins
    return out


def forecast_report(
    *, actor: Any, period: Period, as_of: dt.datetime | None = None, scope: Scope = EVERYTHING
) -> list[selectors.ForecastRow]:
    """The period's forecast by rep, team and company (live, or as it stood at
    ``as_of``), with each rep's and team's quota and the manager's adjusted figure beside
    the rep's own. Reps with a quota but no deals in the period are listed too.

    Roll-up: a team's quota is its own (set by its manager) or else the sum of its reps';
    the company's is the sum of its teams'. A team's adjusted figure is the sum of its
    reps' adjusted figures, a rep without an adjustment counting with their commit."""
    args = {"actor": actor, "first": period.start, "after": period.after, "scope": scope}
    by_rep = (
        forecast_by_rep_as_of(as_of=as_of, **args) if as_of else selectors.forecast_by_rep(**args)
    )
    reps_visible = visible_rep_ids(actor)
    rep_quota, team_quota = _quotas_of(period)
    adjustments = latest_adjustments(period, reps_visible)
    by_rep.extend(_quota_only_reps(by_rep, rep_quota, reps_visible, scope))
    rows = selectors.forecast_rollup(by_rep)
    team_sum: dict[tuple[int | None, str], list[Decimal]] = defaultdict(
        lambda: [Decimal(0), Decimal(0)]
    )
    company_quota: dict[str, Decimal] = defaultdict(Decimal)
    company_adjusted: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        if r.level == "rep":
            r.quota = rep_quota.get((r.user_id, r.currency)) if r.user_id else None
            r.adjustment = adjustments.get((r.user_id, r.currency)) if r.user_id else None
            r.adjusted = r.adjustment.amount if r.adjustment else None
            sums = team_sum[(r.team_id, r.currency)]
            sums[0] += r.quota or 0
            sums[1] += r.adjusted if r.adjusted is not None else r.commit
        elif r.level == "team":
            own = team_quota.get((r.team_id, r.currency)) if r.team_id else None
            sums = team_sum[(r.team_id, r.currency)]
            r.quota = own if own is not None else (sums[0] or None)
            r.adjusted = sums[1]
            company_quota[r.currency] += r.quota or 0
            company_adjusted[r.currency] += r.adjusted
        else:
            r.quota = company_quota.get(r.currency) or None
            r.adjusted = company_adjusted.get(r.currency, Decimal(0))
    return rows


def _quota_only_reps(
    by_rep: list[dict[str, Any]],
    rep_quota: dict[tuple[int, str], Decimal],
    visible: list[int] | None,
    scope: Scope,
) -> list[dict[str, Any]]:
    """Empty rows for the reps with a quota but nothing in the period, so they show."""
    shown = {(r["rep_id"], r["cur"]) for r in by_rep}
    missing = [
        k for k in rep_quota
        if k not in shown and (visible is None or k[0] in visible) and (not scope.owner or k[0] == scope.owner)
    ]  # fmt: skip
    users = User.objects.filter(pk__in=[k[0] for k in missing]).prefetch_related("teams")
    by_pk = {u.pk: u for u in users} if missing else {}
    out = []
    for uid, currency in missing:
        u = by_pk.get(uid)
        first_team = min(u.teams.all(), key=lambda t: t.name, default=None) if u else None
        if u is None or (scope.team and (first_team is None or first_team.pk != scope.team)):
            continue
        out.append(
            {"rep_id": uid, "rep": u.username, "team_pk": first_team.pk if first_team else None,
             "team_name": first_team.name if first_team else None, "cur": currency, "n": 0,
             "pipeline": 0, "best": 0, "commit": 0, "weighted": 0, "closed": 0}
        )  # fmt: skip
    return out


def snapshot_series(
    *, actor: Any, period: Period, scope: Scope = EVERYTHING
) -> list[dict[str, Any]]:
    """The stored weekly snapshots of a quarter, summed over the reps the actor may see
    (and the filter), per week and currency, oldest first."""
    from django.db.models import Sum

    permissions.require(actor, "view", RecordKind.DEAL)
    qs = ForecastSnapshot.objects.filter(period_start=period.start)
    reps = visible_rep_ids(actor)
    if reps is not None:
        qs = qs.filter(user_id__in=reps)
    if scope.owner:
        qs = qs.filter(user_id=scope.owner)
    if scope.team:
        qs = qs.filter(team_id=scope.team)
    return list(
        qs.order_by("week", "currency")
        .values("week", "currency")
        .annotate(
            pipeline=Sum("pipeline"),
            best_case=Sum("best_case"),
            commit=Sum("commit"),
            weighted=Sum("weighted"),
            closed=Sum("closed"),
        )  # fmt: skip
    )

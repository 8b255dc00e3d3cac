"""What the forecast said on a past date, rebuilt from the stage history.

Each deal's state on date D is its last ``DealStageChange`` at or before D: the stage
(open, won or lost), amount, currency, probability, forecast category and expected close
date of that moment (rows older than the expected-close column use the deal's current
date). The rep and team are the deal's current ones. Changes made without a move (an
amount edited between moves) are not in the stage history; the weekly snapshots keep the
figures as they were shown.

Only deals that can matter are looked at: made by D and not closed by then (open on D),
or closed in the period up to D (won in it). Each one's last row is found through the
(deal, at) index, so the work grows with the deals open on D, not with all deals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from rapport.sales import selectors
from rapport.sales.forecasting.periods import Period, month_of
from rapport.sales.models import Deal, DealStageChange, Stage
from rapport.sales.selectors import EVERYTHING, Scope
from rapport.users import permissions
from rapport.users.models import RecordKind


def _moment(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def state_rows(
    *, actor: Any, as_of: dt.datetime, since: dt.datetime, scope: Scope = EVERYTHING
) -> Any:
    """The stage-history rows that were each deal's state at ``as_of``, for the deals
    open then or closed between ``since`` and then, among those the actor may see."""
    permissions.require(actor, "view", RecordKind.DEAL)
    deals = scope.apply(
        selectors.visible_deals(actor)
        .filter(created_at__lte=as_of)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gt=as_of) | Q(closed_at__gte=since))
    )
    last = (
        DealStageChange.objects.filter(deal_id=OuterRef("pk"), at__lte=as_of)
        .order_by("-at", "-id")
        .values("id")[:1]
    )
    ids = deals.order_by().annotate(state=Subquery(last)).values("state")
    return DealStageChange.objects.filter(pk__in=ids).annotate(
        close=Coalesce("expected_close", "deal__expected_close")
    )


def forecast_as_of(
    *, actor: Any, as_of: dt.datetime, first: dt.date, after: dt.date, scope: Scope = EVERYTHING
) -> list[selectors.ForecastRow]:
    """The forecast of the period ``first``..``after`` as it stood at ``as_of``: open
    deals then expected to close in the period and deals won in it by then."""
    return selectors.forecast_rollup(
        forecast_by_rep_as_of(actor=actor, as_of=as_of, first=first, after=after, scope=scope)
    )


def forecast_by_rep_as_of(
    *, actor: Any, as_of: dt.datetime, first: dt.date, after: dt.date, scope: Scope = EVERYTHING
) -> list[dict[str, Any]]:
    """``forecast_as_of``'s rows by rep, before the roll-up."""
    start = _moment(first)
    end = min(_moment(after), as_of + dt.timedelta(microseconds=1))
    rows = state_rows(actor=actor, as_of=as_of, since=start, scope=scope)
    open_q = (
        Q(to_stage__kind=Stage.Kind.OPEN)
        & ~Q(forecast_category=Deal.ForecastCategory.OMITTED)
        & Q(close__gte=first, close__lt=after)
    )
    won_q = Q(to_stage__kind=Stage.Kind.WON, at__gte=start, at__lt=end)
    sums = selectors.forecast_sums(
        open_q=open_q, won_q=won_q, amount="amount", probability="probability",
        category="forecast_category",
    )  # fmt: skip
    return list(
        rows.filter(open_q | won_q)
        .order_by()
        .values(**selectors.forecast_group("deal__"))
        .annotate(**sums)
    )


@dataclass
class MonthFigure:
    """A past month: what the forecast said when it began, and what was won in it."""

    month: Period
    currency: str
    pipeline: Decimal = Decimal(0)
    best_case: Decimal = Decimal(0)
    commit: Decimal = Decimal(0)
    weighted: Decimal = Decimal(0)
    actual: Decimal = Decimal(0)

    @property
    def error(self) -> Decimal:
        """Weighted forecast less actual (positive: the forecast was too high)."""
        return self.weighted - self.actual


def forecast_against_actual(
    *,
    actor: Any,
    months: int = 12,
    today: dt.date | None = None,
    scope: Scope = EVERYTHING,
) -> list[MonthFigure]:
    """Each of the last ``months`` whole months (oldest first), per currency: the
    company's (or the filtered) forecast of the month as it stood at its first moment,
    beside what was won in it."""
    today = today or timezone.localdate()
    current = month_of(today)
    periods: list[Period] = []
    start = current.start
    for _ in range(months):
        start = month_of(start - dt.timedelta(days=1)).start
        periods.insert(0, month_of(start))
    won = scope.apply(
        selectors.visible_deals(actor).filter(
            status=Deal.Status.WON,
            closed_at__gte=_moment(periods[0].start),
            closed_at__lt=_moment(current.start),
        )
    )
    actual: dict[tuple[dt.date, str], Decimal] = {}
    tz = timezone.get_current_timezone()
    for r in (
        won.order_by()
        .annotate(m=TruncMonth("closed_at", tzinfo=tz))
        .values("m", "currency")
        .annotate(total=Sum("amount"))
    ):
        m = r["m"].date() if isinstance(r["m"], dt.datetime) else r["m"]
        actual[(m, r["currency"])] = Decimal(r["total"] or 0).quantize(Decimal("0.01"))
    out: list[MonthFigure] = []
    for p in periods:
        said = {
            r.currency: r
            for r in forecast_as_of(
                actor=actor, as_of=_moment(p.start), first=p.start, after=p.after, scope=scope
            )
            if r.level == "company"
        }
        for currency in sorted(set(said) | {c for (m, c) in actual if m == p.start}):
            f = said.get(currency)
            out.append(
                MonthFigure(
                    month=p,
                    currency=currency,
                    pipeline=f.pipeline if f else Decimal(0),
                    best_case=f.best_case if f else Decimal(0),
                    commit=f.commit if f else Decimal(0),
                    weighted=f.weighted if f else Decimal(0),
                    actual=actual.get((p.start, currency), Decimal("0.00")),
                )  # fmt: skip
            )
    return out

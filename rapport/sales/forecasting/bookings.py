"""A forecast of bookings (the amounts won each month) for the coming months, from the
history of won deals, with statsmodels' exponential smoothing (Holt-Winters).

The model is additive: a damped trend, and a yearly season once there are two whole years
of history (otherwise the trend alone). Its backtest (``backtest``) forecasts each of the
last months from the months before only, and compares it with the seasonal-naive forecast
(the same month a year earlier): ``bench/sales_forecast.py`` prints both on the demo
history and on public series that statsmodels ships.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from rapport.sales import selectors
from rapport.sales.forecasting.periods import Period, month_of
from rapport.sales.models import Deal
from rapport.sales.selectors import EVERYTHING, Scope

SEASON = 12


def smoothing_forecast(history: Sequence[float], horizon: int) -> list[float]:
    """``horizon`` values after ``history`` (monthly), never below zero."""
    import numpy as np
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    y = np.asarray(history, dtype=float)
    if len(y) < 4 or not y.any():
        mean = float(y.mean()) if len(y) else 0.0
        return [mean] * horizon
    seasonal = "add" if len(y) >= 2 * SEASON else None
    with warnings.catch_warnings():
        # Short, noisy sales series often stop the optimiser early: the fit is still usable.
        warnings.simplefilter("ignore")
        model = ExponentialSmoothing(
            y,
            trend="add",
            damped_trend=True,
            seasonal=seasonal,
            seasonal_periods=SEASON if seasonal else None,
            initialization_method="estimated",
        ).fit()
        out = model.forecast(horizon)
    return [max(0.0, float(v)) for v in out]


def seasonal_naive(history: Sequence[float], horizon: int) -> list[float]:
    """The same month a year before (the last value when the history is shorter)."""
    if len(history) < SEASON:
        return [float(history[-1]) if history else 0.0] * horizon
    return [float(history[len(history) - SEASON + (h % SEASON)]) for h in range(horizon)]


@dataclass
class Backtest:
    wape: float  # sum |forecast - actual| / sum |actual|
    bias: float  # sum (forecast - actual) / sum |actual| (positive: too high)
    points: int


def backtest(
    series: Sequence[float],
    *,
    method: Callable[[Sequence[float], int], list[float]],
    origins: int,
    horizon: int = 3,
    min_history: int = SEASON + 1,
) -> Backtest:
    """Rolling origin: for each of the last ``origins`` starting points, fit on what came
    before only and forecast the next ``horizon`` values; score every forecast value."""
    errors = signed = actual = 0.0
    points = 0
    start = max(min_history, len(series) - origins - horizon + 1)
    for origin in range(start, len(series) - horizon + 1):
        predicted = method(series[:origin], horizon)
        for h in range(horizon):
            y = float(series[origin + h])
            errors += abs(predicted[h] - y)
            signed += predicted[h] - y
            actual += abs(y)
            points += 1
    if not actual:
        return Backtest(wape=float("nan"), bias=float("nan"), points=points)
    return Backtest(wape=errors / actual, bias=signed / actual, points=points)


def monthly_bookings(
    *,
    actor: Any,
    currency: str,
    months: int = 36,
    today: dt.date | None = None,
    scope: Scope = EVERYTHING,
) -> list[tuple[Period, Decimal]]:
    """The amount won each whole month up to the last one (oldest first; empty months
    count as zero), from the first month with a won deal, at most ``months`` back."""
    today = today or timezone.localdate()
    current = month_of(today)
    first = current.start
    for _ in range(months):
        first = month_of(first - dt.timedelta(days=1)).start
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(current.start, dt.time.min))
    won = scope.apply(
        selectors.visible_deals(actor).filter(
            status=Deal.Status.WON, currency=currency, closed_at__gte=start, closed_at__lt=end
        )
    )
    totals: dict[dt.date, Decimal] = {}
    for r in (
        won.order_by()
        .annotate(m=TruncMonth("closed_at", tzinfo=tz))
        .values("m")
        .annotate(total=Sum("amount"))
    ):
        m = r["m"].date() if isinstance(r["m"], dt.datetime) else r["m"]
        totals[m] = Decimal(r["total"] or 0).quantize(Decimal("0.01"))
    if not totals:
        return []
    out: list[tuple[Period, Decimal]] = []
    month = month_of(min(totals))
    while month.start < current.start:
        out.append((month, totals.get(month.start, Decimal("0.00"))))
        month = month_of(month.after)
    return out


@dataclass
class BookingsForecast:
    currency: str
    history: list[tuple[Period, Decimal]]
    forecast: list[tuple[Period, Decimal]]
    method: str


def bookings_forecast(
    *,
    actor: Any,
    currency: str,
    horizon: int = 6,
    today: dt.date | None = None,
    scope: Scope = EVERYTHING,
) -> BookingsForecast:
    """The coming ``horizon`` months' bookings (from the current month on)."""
    today = today or timezone.localdate()
    history = monthly_bookings(actor=actor, currency=currency, today=today, scope=scope)
    values = [float(v) for _, v in history]
    predicted = smoothing_forecast(values, horizon) if values else [0.0] * horizon
    months: list[Period] = []
    month = month_of(today)
    for _ in range(horizon):
        months.append(month)
        month = month_of(month.after)
    method = (
        "Holt-Winters (damped trend, yearly season)"
        if len(values) >= 2 * SEASON
        else "Holt (damped trend; a season needs two years)"
    )
    return BookingsForecast(
        currency=currency,
        history=history,
        forecast=[(m, Decimal(str(round(v, 2)))) for m, v in zip(months, predicted, strict=True)],
        method=method,
    )

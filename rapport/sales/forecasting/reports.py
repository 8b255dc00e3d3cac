"""The sales reports page's charts: each a ``rapport.core.charts.Chart`` (drawn beside a
table of its figures, exportable to CSV), built from the deals the reader may see, in the
period and scope (team, rep) chosen, in one currency (the default pipeline's unless
chosen; deals in other currencies are left out of the money figures).

Each builder is a few aggregate queries, whatever the number of deals, except the sales
cycle and time in stage, which read the period's closed deals' stage history.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, F, Min, Q, Sum
from django.utils import timezone

from rapport.core.charts import Chart, Series
from rapport.sales import selectors
from rapport.sales.forecasting import bookings, history, probabilities
from rapport.sales.forecasting.periods import Period, quarter_of
from rapport.sales.forecasting.selectors import company_quota, forecast_report, snapshot_series
from rapport.sales.models import Deal, DealStageChange, Pipeline, Stage
from rapport.sales.selectors import Scope

CYCLE_BUCKETS = ((0, 30, "under 30 days"), (30, 60, "30–59 days"), (60, 90, "60–89 days"),
                 (90, 180, "90–179 days"), (180, 10**6, "180 days or more"))  # fmt: skip


def _moment(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def _pct(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.1")) if whole else None


class Report:
    """The charts of one reader, period, scope and currency; each built when asked."""

    def __init__(
        self, *, actor: Any, period: Period, scope: Scope, currency: str, pipeline: Pipeline
    ) -> None:
        self.actor, self.period, self.scope = actor, period, scope
        self.currency, self.pipeline = currency, pipeline

    # The deals of the scope the reader may see, in the currency.
    def deals(self) -> Any:
        return self.scope.apply(selectors.visible_deals(self.actor)).filter(
            currency=self.currency, pipeline=self.pipeline
        )

    def closed_in_period(self) -> Any:
        return self.deals().filter(
            status__in=[Deal.Status.WON, Deal.Status.LOST],
            closed_at__gte=_moment(self.period.start),
            closed_at__lt=_moment(self.period.after),
        )

    def charts(self) -> list[Chart]:
        return [getattr(self, name)() for name in CHARTS]

    # --- the charts --------------------------------------------------------------------

    def pipeline_by_stage(self) -> Chart:
        stages = list(self.pipeline.stages.filter(kind=Stage.Kind.OPEN, is_active=True))
        rows = {
            r["stage_id"]: r
            for r in self.deals()
            .filter(status=Deal.Status.OPEN)
            .order_by()
            .values("stage_id")
            .annotate(n=Count("id"), total=Sum("amount"))
        }
        return Chart(
            key="pipeline-by-stage",
            title="Open pipeline by stage",
            labels=[f"{s.name} ({rows.get(s.pk, {}).get('n', 0)})" for s in stages],
            series=[
                Series("Amount", [_money(rows.get(s.pk, {}).get("total")) for s in stages]),
                Series(
                    "Weighted",
                    [
                        _money(Decimal(rows.get(s.pk, {}).get("total") or 0) * s.probability)
                        for s in stages
                    ],
                ),
            ],
            unit=self.currency,
            note="Every open deal, whatever its expected close date; the number of deals in brackets.",
        )

    def _win_rate(self, field: str, key: str, title: str, blank: str) -> Chart:
        rows = (
            self.closed_in_period()
            .order_by()
            .values(field)
            .annotate(
                won=Count("id", filter=Q(status=Deal.Status.WON)),
                lost=Count("id", filter=Q(status=Deal.Status.LOST)),
            )
            .order_by(field)
        )
        rows = sorted(rows, key=lambda r: -(r["won"] + r["lost"]))
        return Chart(
            key=key,
            title=title,
            labels=[
                f"{r[field] or blank} ({r['won']} of {r['won'] + r['lost']} won)" for r in rows
            ],
            series=[Series("Win rate", [_pct(r["won"], r["won"] + r["lost"]) for r in rows])],
            unit="%",
            note=f"Deals won or lost from {self.period.start:%d %b %Y} to {self.period.last:%d %b %Y}.",
        )

    def win_rate_by_source(self) -> Chart:
        return self._win_rate("source", "win-rate-source", "Win rate by source", "(no source)")

    def win_rate_by_rep(self) -> Chart:
        return self._win_rate("owner__username", "win-rate-rep", "Win rate by rep", "(no owner)")

    def deal_size(self) -> Chart:
        won = self.closed_in_period().filter(status=Deal.Status.WON)
        rows = list(
            won.order_by()
            .values("owner__username")
            .annotate(avg=Avg("amount"), n=Count("id"), total=Sum("amount"))
            .order_by("owner__username")
        )
        every = won.aggregate(avg=Avg("amount"), n=Count("id"))
        labels = [f"{r['owner__username'] or '(no owner)'} ({r['n']} won)" for r in rows]
        labels.append(f"All ({every['n']} won)")
        return Chart(
            key="deal-size",
            title="Average won deal size",
            labels=labels,
            series=[
                Series("Average", [_money(r["avg"]) for r in rows] + [_money(every["avg"])]),
            ],
            unit=self.currency,
        )

    def _cycles(self) -> list[tuple[str, int]]:
        """(status, days from the first stage-history row to the close) of each deal
        closed in the period."""
        rows = (
            self.closed_in_period()
            .annotate(began=Min("stage_changes__at"))
            .values_list("status", "began", "closed_at")
        )
        return [(s, max(0, (c - b).days)) for s, b, c in rows if b and c]

    def sales_cycle(self) -> Chart:
        cycles = self._cycles()
        counts = {
            status: [
                sum(1 for s, d in cycles if s == status and lo <= d < hi)
                for lo, hi, _ in CYCLE_BUCKETS
            ]
            for status in (Deal.Status.WON, Deal.Status.LOST)
        }
        won_days = [d for s, d in cycles if s == Deal.Status.WON]
        note = (
            f"Median for won deals: {statistics.median(won_days):.0f} days (from the first stage "
            "to won, by the stage history)."
            if won_days
            else "From the first stage to won or lost, by the stage history."
        )
        return Chart(
            key="sales-cycle",
            title="Sales cycle of the deals closed",
            labels=[label for _, _, label in CYCLE_BUCKETS],
            series=[
                Series("Won", counts[Deal.Status.WON], tone="good"),
                Series("Lost", counts[Deal.Status.LOST], tone="bad"),
            ],
            unit="deals",
            stacked=True,
            note=note,
        )

    def time_in_stage(self) -> Chart:
        stages = list(self.pipeline.stages.filter(kind=Stage.Kind.OPEN).order_by("order", "id"))
        moves = (
            DealStageChange.objects.filter(deal__in=self.closed_in_period())
            .order_by("deal_id", "at", "id")
            .values_list("deal_id", "to_stage_id", "at")
        )
        spent: dict[int, list[float]] = defaultdict(list)
        previous: tuple[int, int, dt.datetime] | None = None
        for deal_id, stage_id, at in moves:
            if previous and previous[0] == deal_id:
                spent[previous[1]].append((at - previous[2]).total_seconds() / 86400)
            previous = (deal_id, stage_id, at)
        return Chart(
            key="time-in-stage",
            title="Average days in each stage",
            labels=[f"{s.name} ({len(spent[s.pk])} moves)" for s in stages],
            series=[
                Series(
                    "Days",
                    [
                        Decimal(str(round(statistics.fmean(spent[s.pk]), 1)))
                        if spent[s.pk]
                        else None
                        for s in stages
                    ],
                ),
            ],
            unit="days",
            note="Of the deals closed in the period, from their stage history.",
        )

    def forecast_vs_quota(self) -> Chart:
        rows = [
            r
            for r in forecast_report(actor=self.actor, period=self.period, scope=self.scope)
            if r.currency == self.currency and r.level in ("rep", "company")
        ]
        return Chart(
            key="forecast-quota",
            title=f"Forecast against quota, {self.period.name}",
            labels=[r.label for r in rows],
            series=[
                Series("Quota", [r.quota for r in rows]),
                Series("Closed won", [r.closed for r in rows]),
                Series("Commit", [r.commit for r in rows]),
                Series("Weighted", [r.weighted for r in rows]),
                Series("Manager's figure", [r.adjusted for r in rows]),
            ],
            unit=self.currency,
            note="Manager's figure: the adjusted forecast (a rep without one counts with their commit).",
        )

    def forecast_vs_actual(self) -> Chart:
        months = [
            m
            for m in history.forecast_against_actual(actor=self.actor, months=12, scope=self.scope)
            if m.currency == self.currency
        ]
        quotas = [company_quota(m.month, self.currency) for m in months]
        return Chart(
            key="forecast-actual",
            title="Forecast at the start of each month against what was won",
            labels=[m.month.name for m in months],
            series=[
                Series("Weighted forecast", [m.weighted for m in months]),
                Series("Commit forecast", [m.commit for m in months]),
                Series("Won", [m.actual for m in months]),
                Series("Quota", quotas),
            ],
            kind="line",
            unit=self.currency,
            note="The forecast of each month as it stood on its first day, rebuilt from the stage history.",
        )

    def snapshots(self) -> Chart:
        quarter = self.period if self.period.kind == "quarter" else None
        quarter = quarter or quarter_of(self.period.start)
        rows = [
            r for r in snapshot_series(actor=self.actor, period=quarter, scope=self.scope)
            if r["currency"] == self.currency
        ]  # fmt: skip
        return Chart(
            key="snapshots",
            title=f"Weekly snapshots of the {quarter.name} forecast",
            labels=[f"{r['week']:%d %b}" for r in rows],
            series=[
                Series("Pipeline", [_money(r["pipeline"]) for r in rows]),
                Series("Best case", [_money(r["best_case"]) for r in rows]),
                Series("Commit", [_money(r["commit"]) for r in rows]),
                Series("Weighted", [_money(r["weighted"]) for r in rows]),
                Series("Closed won", [_money(r["closed"]) for r in rows]),
            ],
            kind="line",
            unit=self.currency,
            note="Taken each Monday by the background worker, as the forecast stood then.",
        )

    def lost_reasons(self) -> Chart:
        rows = list(
            self.closed_in_period()
            .filter(status=Deal.Status.LOST)
            .order_by()
            .values(reason=F("lost_reason__name"))
            .annotate(n=Count("id"), total=Sum("amount"))
            .order_by("-n", "reason")
        )
        return Chart(
            key="lost-reasons",
            title="Lost reasons",
            labels=[
                f"{r['reason'] or '(none)'} ({_money(r['total']):,.0f} {self.currency})"
                for r in rows
            ],
            series=[Series("Deals lost", [r["n"] for r in rows])],
            unit="deals",
            horizontal=True,
            note=f"Deals lost from {self.period.start:%d %b %Y} to {self.period.last:%d %b %Y}.",
        )

    def stage_probabilities(self) -> Chart:
        rows, cal = probabilities.learned_probabilities(actor=self.actor, pipeline=self.pipeline)
        if cal.brier_learned is not None:
            note = (
                f"Brier score on the {cal.test_deals} most recently closed deals "
                f"({cal.test_points} stage visits), learned from the {cal.train_deals} before: "
                f"learned {cal.brier_learned:.4f}, configured {cal.brier_configured:.4f} "
                "(lower is better)."
            )
        else:
            note = "Too few closed deals to score the probabilities."
        return Chart(
            key="stage-probabilities",
            title="Stage probabilities: configured and learned",
            labels=[f"{r.stage.name} ({r.sample} closed)" for r in rows],
            series=[
                Series("Configured", [r.configured * 100 for r in rows]),
                Series(
                    "Learned", [r.learned * 100 if r.learned is not None else None for r in rows]
                ),
            ],
            unit="%",
            note=note + f" Learned from at least {probabilities.MIN_SAMPLE} closed deals a stage; "
            "below that the configured one stands.",
        )

    def bookings(self) -> Chart:
        result = bookings.bookings_forecast(
            actor=self.actor, currency=self.currency, horizon=6, scope=self.scope
        )
        past = result.history[-12:]
        labels = [p.name for p, _ in past] + [p.name for p, _ in result.forecast]
        return Chart(
            key="bookings",
            title="Bookings: the last 12 months and the next 6 forecast",
            labels=labels,
            series=[
                Series("Won", [v for _, v in past] + [None] * len(result.forecast)),
                Series("Forecast", [None] * len(past) + [v for _, v in result.forecast]),
            ],
            kind="line",
            unit=self.currency,
            note=f"{result.method}, fitted to {len(result.history)} months of won deals "
            "(statsmodels). The backtest: bench/sales_forecast.py.",
        )


CHARTS = (
    "forecast_vs_quota", "forecast_vs_actual", "snapshots", "pipeline_by_stage",
    "win_rate_by_source", "win_rate_by_rep", "deal_size", "sales_cycle", "time_in_stage",
    "lost_reasons", "stage_probabilities", "bookings",
)  # fmt: skip
KEYS = {
    "forecast-quota": "forecast_vs_quota", "forecast-actual": "forecast_vs_actual",
    "snapshots": "snapshots", "pipeline-by-stage": "pipeline_by_stage",
    "win-rate-source": "win_rate_by_source", "win-rate-rep": "win_rate_by_rep",
    "deal-size": "deal_size", "sales-cycle": "sales_cycle", "time-in-stage": "time_in_stage",
    "lost-reasons": "lost_reasons", "stage-probabilities": "stage_probabilities",
    "bookings": "bookings",
}  # fmt: skip
TITLES = {
    "forecast-quota": "Forecast against quota", "forecast-actual": "Forecast against actual by month",
    "snapshots": "Weekly snapshots", "pipeline-by-stage": "Open pipeline by stage",
    "win-rate-source": "Win rate by source", "win-rate-rep": "Win rate by rep",
    "deal-size": "Average won deal size", "sales-cycle": "Sales cycle", "time-in-stage": "Time in stage",
    "lost-reasons": "Lost reasons", "stage-probabilities": "Stage probabilities: configured and learned",
    "bookings": "Bookings forecast",
}  # fmt: skip

"""Quotas and the manager's adjustment, the forecast of a past date, weekly snapshots,
learned stage probabilities."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from rapport.audit.services import Actor
from rapport.core.errors import NotFound, PermissionDenied, ValidationFailed
from rapport.customers.tests.factories import SYSTEM
from rapport.sales import services
from rapport.sales.forecasting import history, probabilities
from rapport.sales.forecasting import selectors as fsel
from rapport.sales.forecasting import services as fsvc
from rapport.sales.forecasting.periods import month_of, period_parse, quarter_of, week_of
from rapport.sales.models import DealStageChange, ForecastSnapshot, ForecastSnapshotWeek, LostReason
from rapport.sales.tests.factories import make_deal, pipeline, stage


def _as(user):
    return Actor(user=user, via="web")


def _rows(rows):
    return {(r.level, r.label, r.currency): r for r in rows}


def test_periods_parse_and_refuse_with_the_field_named():
    assert period_parse("2026-q4") == quarter_of(dt.date(2026, 11, 3))
    assert period_parse("2027-02").after == dt.date(2027, 3, 1)
    assert [m.name for m in period_parse("2026-Q1").months()] == ["2026-01", "2026-02", "2026-03"]
    with pytest.raises(ValidationFailed) as exc:
        period_parse("2026-13")
    assert "period" in exc.value.errors
    assert week_of(dt.date(2026, 12, 3)) == dt.date(2026, 11, 30)


def test_quotas_roll_up_from_rep_to_team_to_company(personas):
    mo, bob, brenda, carl = (personas[n] for n in ("mo", "bob", "brenda", "carl"))
    q = quarter_of(timezone.localdate())
    inside = q.start + dt.timedelta(days=5)
    make_deal(owner=bob, amount="1000", expected_close=inside, forecast_category="commit")
    make_deal(owner=carl, amount="400", expected_close=inside)
    # bob: a quarter quota; brenda: three monthly ones (the quarter is their sum) and no deals.
    fsvc.quota_set(actor=_as(mo), data={"user": bob.pk, "period": q.name, "amount": "5000"})
    for m in q.months():
        fsvc.quota_set(actor=_as(mo), data={"user": brenda.pk, "period": m.name, "amount": "1000"})
    fsvc.quota_set(actor=_as(mo), data={"user": carl.pk, "period": q.name, "amount": "2000"})
    south = carl.teams.get()
    fsvc.quota_set(actor=_as(mo), data={"team": south.pk, "period": q.name, "amount": "2500"})
    rows = _rows(fsel.forecast_report(actor=mo, period=q))
    assert rows[("rep", "bob", "EUR")].quota == Decimal("5000")
    assert rows[("rep", "brenda", "EUR")].quota == Decimal("3000")
    assert rows[("rep", "brenda", "EUR")].open_deals == 0  # listed for the quota alone
    assert rows[("team", "North", "EUR")].quota == Decimal("8000")  # the reps' sum
    assert rows[("team", "South", "EUR")].quota == Decimal("2500")  # the team's own
    assert rows[("company", "Company", "EUR")].quota == Decimal("10500")
    # Setting it again changes the amount, one row.
    quota, created = fsvc.quota_set(
        actor=_as(mo), data={"user": bob.pk, "period": q.name, "amount": "6000.50"}
    )
    assert not created and quota.amount == Decimal("6000.50") and quota.version == 2
    assert fsel.quota_list(actor=mo, user=bob.pk).count() == 1


def test_a_quota_needs_valid_values_and_the_right(personas):
    mo, bob = personas["mo"], personas["bob"]
    with pytest.raises(ValidationFailed) as exc:
        fsvc.quota_set(actor=_as(mo), data={"user": bob.pk, "period": "soon", "amount": "-5"})
    assert {"period", "amount"} <= set(exc.value.errors)
    with pytest.raises(ValidationFailed) as exc:
        fsvc.quota_set(
            actor=_as(mo), data={"user": bob.pk, "team": 1, "period": "2026-Q1", "amount": "5"}
        )
    assert "user" in exc.value.errors
    with pytest.raises(PermissionDenied):
        fsvc.quota_set(actor=_as(bob), data={"user": bob.pk, "period": "2026-Q1", "amount": "5"})


def test_the_managers_adjustment_sits_beside_the_reps_figure(personas):
    mo, bob, carl = personas["mo"], personas["bob"], personas["carl"]
    q = quarter_of(timezone.localdate())
    make_deal(owner=bob, amount="1000", expected_close=q.start, forecast_category="commit")
    make_deal(
        owner=personas["brenda"], amount="300", expected_close=q.start, forecast_category="commit"
    )
    fsvc.adjustment_add(
        actor=_as(mo),
        data={"user": bob.pk, "period": q.name, "amount": "700", "reason": "Slipping"},
    )
    newest = fsvc.adjustment_add(
        actor=_as(mo),
        data={"user": bob.pk, "period": q.name, "amount": "800", "reason": "Call went well"},
    )
    rows = _rows(fsel.forecast_report(actor=mo, period=q))
    b = rows[("rep", "bob", "EUR")]
    assert b.commit == Decimal("1000.00")  # the rep's own figure is untouched
    assert b.adjusted == Decimal("800") and b.adjustment == newest
    assert b.adjustment.by == mo and b.adjustment.reason == "Call went well"
    # The team: bob's adjusted figure plus brenda's commit.
    assert rows[("team", "North", "EUR")].adjusted == Decimal("1100")
    assert fsel.adjustment_list(actor=mo, user=bob.pk).count() == 2  # history kept
    with pytest.raises(ValidationFailed) as exc:
        fsvc.adjustment_add(actor=_as(mo), data={"user": bob.pk, "period": q.name, "amount": "1"})
    assert "reason" in exc.value.errors
    with pytest.raises(PermissionDenied):  # reps do not adjust
        fsvc.adjustment_add(
            actor=_as(bob), data={"user": bob.pk, "period": q.name, "amount": "1", "reason": "x"}
        )
    # carl (South) sees none of North's adjustments.
    assert fsel.adjustment_list(actor=carl).count() == 0


def _at(day: dt.date, hour: int = 12) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def test_the_forecast_of_a_past_date_is_rebuilt_from_the_stage_history(personas):
    bob = personas["bob"]
    today = timezone.localdate()
    q = quarter_of(today - dt.timedelta(days=200))
    d0 = q.start + dt.timedelta(days=3)
    close = q.start + dt.timedelta(days=40)
    deal = make_deal(owner=bob, amount="1000", expected_close=close, forecast_category="commit")
    DealStageChange.objects.filter(deal=deal).update(at=_at(d0))
    type(deal).objects.filter(pk=deal.pk).update(created_at=_at(d0))
    deal.refresh_from_db()
    deal = services.deal_stage_change(
        actor=SYSTEM, deal=deal, stage=stage("Proposal"), at=_at(d0 + dt.timedelta(days=10))
    )
    services.deal_stage_change(
        actor=SYSTEM, deal=deal, stage=stage("Won"), at=_at(d0 + dt.timedelta(days=30))
    )
    # A deal made later does not exist on the early date.
    make_deal(owner=bob, amount="9999", expected_close=close)

    def said(day: dt.date):
        rows = history.forecast_as_of(actor=bob, as_of=_at(day, 23), first=q.start, after=q.after)
        return _rows(rows).get(("rep", "bob", "EUR"))

    first = said(d0 + dt.timedelta(days=1))  # in Qualification (10 %)
    assert (first.open_deals, first.pipeline, first.weighted, first.closed) == (
        1, Decimal("1000.00"), Decimal("100.00"), Decimal("0.00"),
    )  # fmt: skip
    later = said(d0 + dt.timedelta(days=15))  # in Proposal (50 %)
    assert later.weighted == Decimal("500.00")
    won = said(d0 + dt.timedelta(days=31))
    assert (won.open_deals, won.closed) == (0, Decimal("1000.00"))
    assert said(d0 - dt.timedelta(days=1)) is None  # not made yet
    # Forecast against actual: the month it was won shows it as actual.
    months = history.forecast_against_actual(actor=bob, months=12)
    won_month = month_of(d0 + dt.timedelta(days=30)).start
    assert any(m.month.start == won_month and m.actual == Decimal("1000.00") for m in months)


def test_weekly_snapshots_are_taken_once_a_week(personas, django_capture_on_commit_callbacks):
    bob = personas["bob"]
    q = quarter_of(timezone.localdate())
    make_deal(owner=bob, amount="1000", expected_close=q.start + dt.timedelta(days=20))
    week = week_of(timezone.localdate())
    assert fsvc.snapshot_take(week=week) == 1
    assert fsvc.snapshot_take(week=week) == 0  # again: nothing added
    snap = ForecastSnapshot.objects.get(week=week, user=bob)
    assert snap.pipeline == Decimal("1000.00") and snap.period_start == quarter_of(week).start
    ForecastSnapshot.objects.all().delete()
    ForecastSnapshotWeek.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        assert fsvc.snapshots_enqueue_due() == [week]
    with django_capture_on_commit_callbacks(execute=True):
        assert fsvc.snapshots_enqueue_due() == []  # queued once
    assert ForecastSnapshot.objects.filter(week=week).count() == 1  # the task ran (immediate)
    assert ForecastSnapshotWeek.objects.get(week=week).done_at is not None
    series = fsel.snapshot_series(actor=bob, period=quarter_of(week))
    assert series[-1]["pipeline"] == Decimal("1000.00")
    with pytest.raises(ValidationFailed):
        fsvc.snapshot_take(week=week + dt.timedelta(days=14))


def test_stage_probabilities_are_learned_with_a_minimum_sample(personas, monkeypatch):
    monkeypatch.setattr(probabilities, "MIN_SAMPLE", 4)
    bob = personas["bob"]
    now = timezone.now()
    proposal, won, lost = stage("Proposal"), stage("Won"), stage("Lost")
    reason = LostReason.objects.first()
    # 8 deals went through Proposal: 6 won, 2 lost, closing over time.
    for i in range(8):
        deal = make_deal(owner=bob, amount="100")
        deal = services.deal_stage_change(
            actor=SYSTEM, deal=deal, stage=proposal, at=now - dt.timedelta(days=40 - i)
        )
        target = won if i % 4 else lost
        services.deal_stage_change(
            actor=SYSTEM, deal=deal, stage=target, lost_reason=reason.pk,
            at=now - dt.timedelta(days=30 - i),
        )  # fmt: skip
    rows, cal = probabilities.learned_probabilities(actor=bob, pipeline=pipeline())
    by = {r.stage.name: r for r in rows}
    assert by["Proposal"].learned == Decimal("0.750") and by["Proposal"].source == "learned"
    assert by["Qualification"].sample == 8 and by["Qualification"].learned == Decimal("0.750")
    assert by["Negotiation"].learned is None and by["Negotiation"].used == Decimal("0.750")
    # A time split: the first 5 closed deals teach (3 won of 5: 0.6), the last 3 are scored.
    assert (cal.train_deals, cal.test_deals) == (5, 3)
    assert cal.brier_learned is not None and cal.brier_configured is not None
    # The later three were all won: 0.6 learned beats the configured 0.1, 0.25 and 0.5.
    assert cal.brier_learned < cal.brier_configured


def test_a_rep_sees_only_their_teams_quotas(personas):
    mo, bob, carl = personas["mo"], personas["bob"], personas["carl"]
    fsvc.quota_set(actor=_as(mo), data={"user": carl.pk, "period": "2026-Q1", "amount": "5"})
    fsvc.quota_set(actor=_as(mo), data={"user": bob.pk, "period": "2026-Q1", "amount": "5"})
    assert [q.user for q in fsel.quota_list(actor=bob)] == [bob]
    carls = fsel.quota_list(actor=mo, user=carl.pk).get()
    with pytest.raises(NotFound):
        fsel.quota_get(actor=bob, pk=carls.pk)

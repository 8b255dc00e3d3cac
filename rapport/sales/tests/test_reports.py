"""The sales reports page: the forecast with quotas and the manager's figure, the charts
with their tables and CSV, the filters and who sees what."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rapport.audit.services import Actor
from rapport.customers.tests.factories import SYSTEM
from rapport.sales import services
from rapport.sales.forecasting import reports
from rapport.sales.forecasting import services as fsvc
from rapport.sales.forecasting.periods import quarter_of
from rapport.sales.models import ForecastAdjustment, LostReason
from rapport.sales.selectors import Scope
from rapport.sales.tests.factories import make_deal, pipeline, stage


def _closed(owner, amount, target, source="Referral", reason=None):
    deal = make_deal(owner=owner, amount=amount, source=source)
    deal = services.deal_stage_change(actor=SYSTEM, deal=deal, stage=stage("Proposal"))
    return services.deal_stage_change(
        actor=SYSTEM, deal=deal, stage=stage(target), lost_reason=reason.pk if reason else None
    )


def _world(personas):
    bob, brenda, carl = personas["bob"], personas["brenda"], personas["carl"]
    reason = LostReason.objects.order_by("id").first()
    _closed(bob, "1000", "Won", "Referral")
    _closed(bob, "3000", "Won", "Web form")
    _closed(brenda, "500", "Lost", "Web form", reason)
    _closed(carl, "7000", "Won", "Event")
    make_deal(owner=bob, amount="200", stage="Proposal", expected_close=timezone.localdate())
    return reason


def test_the_charts_count_what_the_reader_may_see(personas):
    reason = _world(personas)
    q = quarter_of(timezone.localdate())

    def report(user, **scope):
        return reports.Report(
            actor=user, period=q, scope=Scope(**scope), currency="EUR", pipeline=pipeline()
        )

    r = report(personas["mo"])
    source = dict(r.win_rate_by_source().rows())
    assert source["Web form (1 of 2 won)"] == [Decimal("50.0")]
    assert source["Event (1 of 1 won)"] == [Decimal("100.0")]
    rep = dict(r.win_rate_by_rep().rows())
    assert rep["bob (2 of 2 won)"] == [Decimal("100.0")] and rep["brenda (0 of 1 won)"] == [
        Decimal("0.0")
    ]
    size = dict(r.deal_size().rows())
    assert size["bob (2 won)"] == [Decimal("2000.00")] and size["All (3 won)"] == [
        Decimal("3666.67")
    ]
    lost = r.lost_reasons().rows()
    assert lost == [(f"{reason.name} (500 EUR)", [1])]
    stages = dict(r.pipeline_by_stage().rows())
    assert stages["Proposal (1)"] == [Decimal("200.00"), Decimal("100.00")]
    cycle = r.sales_cycle()
    assert sum(cycle.series[0].values) == 3 and sum(cycle.series[1].values) == 1
    assert dict(r.time_in_stage().rows())["Proposal (4 moves)"][0] is not None
    # bob (North) does not see carl's deal (South); the team filter narrows the manager's.
    mine = dict(report(personas["bob"]).win_rate_by_source().rows())
    assert not any(k.startswith("Event") for k in mine)
    north = personas["bob"].teams.get().pk
    assert not any(
        k.startswith("Event")
        for k in dict(report(personas["mo"], team=north).win_rate_by_source().rows())
    )
    # Every chart builds, each with as many values as labels.
    assert len(r.charts()) == len(reports.CHARTS)


def test_the_reports_page_shows_quota_adjustment_and_charts_with_csv(personas):
    mo, bob = personas["mo"], personas["bob"]
    _world(personas)
    q = quarter_of(timezone.localdate())
    fsvc.quota_set(
        actor=Actor(user=mo, via="web"), data={"user": bob.pk, "period": q.name, "amount": "8000"}
    )
    client = Client()
    client.force_login(mo)
    page = client.get(reverse("sales:reports"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "8,000 EUR" in html and "50.0 %" in html  # bob: 4,000 won of 8,000
    assert "chart.umd.min.js" in html and "&amp;chart=win-rate-source" in html
    # Each chart is loaded on its own when it comes into view (htmx), or opened as a page.
    part = client.get(reverse("sales:reports") + "?chart=win-rate-source", HTTP_HX_REQUEST="true")
    assert 'id="chart-win-rate-source"' in part.content.decode() and b"<html" not in part.content
    full = client.get(reverse("sales:reports") + "?chart=forecast-quota").content.decode()
    assert "<html" in full and 'id="chart-forecast-quota"' in full and "8000" in full
    assert client.get(reverse("sales:reports") + "?chart=nope").status_code == 404
    # The manager's figure, posted from the page, stands beside bob's commit.
    back = reverse("sales:reports") + f"?period={q.name}"
    response = client.post(
        reverse("sales:forecast-adjust"),
        {
            "user": bob.pk,
            "period": q.name,
            "amount": "4500",
            "reason": "Two renewals signed early",
            "next": back,
        },
    )
    assert response.status_code == 302 and response["Location"] == back
    adj = ForecastAdjustment.objects.get()
    assert (adj.by, adj.amount) == (mo, Decimal("4500"))
    assert "Two renewals signed early" in client.get(back).content.decode()
    bad = client.post(
        reverse("sales:forecast-adjust"), {"user": bob.pk, "period": q.name, "amount": "1"}
    )
    assert bad.status_code == 302 and ForecastAdjustment.objects.count() == 1  # no reason: refused
    csv = b"".join(
        client.get(back + "&format=csv&chart=win-rate-source").streaming_content
    ).decode()
    assert "Win rate by source,Win rate" in csv and "Web form (1 of 2 won),50.0" in csv
    table = b"".join(client.get(back + "&format=csv").streaming_content).decode()
    assert "rep,bob,EUR,1,200.00" in table and ",8000.00,4500.00" in table
    assert client.get(back + "&format=csv&chart=nope").status_code == 404
    # A past date: the forecast as it stood then (nothing existed a year ago).
    past = (timezone.localdate() - dt.timedelta(days=400)).isoformat()
    assert "as it stood on" in client.get(back + f"&as_of={past}").content.decode()
    # A rep sees the page (their team), without the adjust form, and no CSV.
    client.force_login(bob)
    html = client.get(back).content.decode()
    assert "carl" not in html and 'name="reason"' not in html
    assert client.get(back + "&format=csv&chart=deal-size").status_code == 403
    assert client.post(reverse("sales:forecast-adjust"), {"user": bob.pk}).status_code == 403
    assert ForecastAdjustment.objects.count() == 1

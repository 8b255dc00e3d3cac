"""The forecast of a period: pipeline, best case, commit, weighted and won, by rep, team
and company."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rapport.customers.tests.factories import SYSTEM
from rapport.sales import selectors, services
from rapport.sales.tests.factories import make_deal, stage


def test_the_forecast_rolls_up_from_rep_to_team_to_company(personas):
    bob, brenda, carl = personas["bob"], personas["brenda"], personas["carl"]
    _, first, after = selectors.period_bounds("", timezone.localdate())
    inside = first + dt.timedelta(days=10)
    make_deal(
        owner=bob,
        amount="1000",
        expected_close=inside,
        forecast_category="commit",
        stage="Proposal",
    )
    make_deal(owner=bob, amount="500", expected_close=inside, forecast_category="best_case")
    make_deal(owner=bob, amount="300", expected_close=inside, forecast_category="omitted")
    make_deal(owner=bob, amount="9999", expected_close=after + dt.timedelta(days=5))
    won = make_deal(owner=brenda, amount="2000", expected_close=inside)
    services.deal_stage_change(actor=SYSTEM, deal=won, stage=stage("Won"))
    make_deal(owner=carl, amount="7000", expected_close=inside)
    rows = {
        (r.level, r.label): r
        for r in selectors.forecast(actor=personas["mo"], first=first, after=after)
    }
    b = rows[("rep", "bob")]
    assert (b.open_deals, b.pipeline, b.best_case, b.commit) == (
        2,
        Decimal("1500.00"),
        Decimal("1500.00"),
        Decimal("1000.00"),
    )
    assert b.weighted == Decimal("1000") * Decimal("0.5") + Decimal("500") * Decimal("0.1")
    assert rows[("rep", "brenda")].closed == Decimal("2000.00")
    assert rows[("team", "North")].pipeline == Decimal("1500.00")
    assert rows[("company", "Company")].pipeline == Decimal("8500.00")
    # A rep's roll-up has only what they may see: the South team's deal is not in it.
    mine = {(r.level, r.label) for r in selectors.forecast(actor=bob, first=first, after=after)}
    assert ("rep", "carl") not in mine


def test_the_forecast_page_and_its_csv(personas):
    bob = personas["bob"]
    make_deal(owner=bob, amount="1000", expected_close=timezone.localdate())
    client = Client()
    client.force_login(personas["mo"])
    page = client.get(reverse("sales:reports"))
    assert page.status_code == 200 and b"1,000 EUR" in page.content
    csv = b"".join(client.get(reverse("sales:reports") + "?format=csv").streaming_content).decode()
    assert "rep,bob,EUR,1,1000.00" in csv
    client.force_login(bob)
    assert client.get(reverse("sales:reports") + "?format=csv").status_code == 403


def test_a_period_is_a_quarter_or_a_month():
    today = dt.date(2026, 11, 5)
    assert selectors.period_bounds("", today) == (
        "2026-Q4",
        dt.date(2026, 10, 1),
        dt.date(2027, 1, 1),
    )
    assert selectors.period_bounds("2027-02", today) == (
        "2027-02",
        dt.date(2027, 2, 1),
        dt.date(2027, 3, 1),
    )
    assert selectors.period_bounds("2026-Q9", today)[0] == "2026-Q4"

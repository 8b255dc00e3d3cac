"""The forecasting API: quotas set and rolled up, the manager's figure beside the rep's,
the forecast of a past date, forecast against actual, learned probabilities."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from rapport.customers.tests.factories import SYSTEM
from rapport.sales import services
from rapport.sales.forecasting.periods import quarter_of
from rapport.sales.tests.factories import make_deal, pipeline, stage

JSON = "application/json"


def test_quotas_and_the_managers_figure_through_the_api(api_client, personas):
    bob = personas["bob"]
    q = quarter_of(timezone.localdate())
    make_deal(owner=bob, amount="1000", expected_close=q.start, forecast_category="commit")
    mo = api_client("mo")
    body = {"user": bob.pk, "period": q.name, "amount": "5000.00"}
    made = mo.post("/api/v1/quotas", body, content_type=JSON)
    assert made.status_code == 201 and made.json()["amount"] == "5000.00"
    again = mo.post("/api/v1/quotas", {**body, "amount": "6000"}, content_type=JSON)
    assert again.status_code == 200 and again.json()["version"] == 2
    bad = mo.post("/api/v1/quotas", {**body, "period": "Q5"}, content_type=JSON)
    assert bad.status_code == 422 and "period" in bad.json()["errors"]
    float_amount = mo.post("/api/v1/quotas", {**body, "amount": 12.5}, content_type=JSON)
    assert float_amount.status_code == 422  # money travels as strings
    adj = mo.post(
        "/api/v1/forecast-adjustments",
        {"user": bob.pk, "period": q.name, "amount": "900", "reason": "Renewal slips"},
        content_type=JSON,
    )
    assert adj.status_code == 201 and adj.json()["by"] == personas["mo"].pk
    rows = {
        (r["level"], r["label"]): r
        for r in mo.get(f"/api/v1/forecast?period={q.name}").json()["rows"]
    }
    b = rows[("rep", "bob")]
    assert (b["commit"], b["quota"], b["adjusted"]) == ("1000.00", "6000.00", "900.00")
    assert rows[("team", "North")]["quota"] == "6000.00"
    # A rep may read but not set quotas, nor adjust.
    assert api_client("bob").post("/api/v1/quotas", body, content_type=JSON).status_code == 403
    assert api_client("bob").get("/api/v1/quotas").json()[0]["user"] == bob.pk


def test_the_forecast_of_a_past_date_and_learned_probabilities(api_client, personas):
    bob = personas["bob"]
    deal = make_deal(owner=bob, amount="400", expected_close=timezone.localdate())
    services.deal_stage_change(actor=SYSTEM, deal=deal, stage=stage("Won"))
    client = api_client("mo")
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    past = client.get(f"/api/v1/forecast?as_of={yesterday.isoformat()}")
    assert past.status_code == 200 and past.json()["as_of"] is not None
    assert all(r["label"] != "bob" for r in past.json()["rows"])  # the deal was made today
    assert (
        client.get(f"/api/v1/forecast?as_of={timezone.localdate().isoformat()}").status_code == 422
    )
    months = client.get("/api/v1/forecast/months?months=3")
    assert months.status_code == 200 and len(months.json()) <= 3
    learned = client.get(f"/api/v1/pipelines/{pipeline().pk}/learned-probabilities").json()
    names = [s["name"] for s in learned["stages"]]
    assert names[0] == "Qualification" and learned["stages"][0]["source"] == "configured"
    assert learned["stages"][0]["won"] == 1 and learned["min_sample"] == 30

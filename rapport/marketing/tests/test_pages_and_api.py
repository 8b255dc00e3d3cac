"""The pages (the segment builder with htmx, the report and its CSV) and the API (bad
rules as problem+json naming the rule, preview, a campaign end to end)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from rapport.customers.tests.factories import make_contact
from rapport.marketing import services
from rapport.marketing.models import Campaign, Segment
from rapport.marketing.tests.factories import SYSTEM, grant, make_campaign, make_segment

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def row(field="contact.lifecycle", op="eq", value="customer", mode="is", days=""):
    return {"mode": mode, "field": field, "op": op, "value": value, "days": days}


def post_rows(rows, **extra):
    data = {k: [r[k] for r in rows] for k in ("mode", "field", "op", "value", "days")}
    return {"match": "all", **data, **extra}


def test_the_builder_adds_a_rule_and_the_count_follows(client, personas):
    make_contact(lifecycle="customer")
    make_contact(lifecycle="lead")
    client.force_login(personas["mia"])
    url = reverse("marketing:segment-builder")
    response = client.post(url, post_rows([row()], action="add"), **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count('class="rule-row"') == 2
    assert "<strong>1</strong> contact now" in body
    response = client.post(
        url, post_rows([row(), row(field="contact.lifecycle", value="lead", mode="not")]), **HTMX
    )
    assert "<strong>1</strong> contact now" in response.content.decode()
    response = client.post(url, post_rows([row(value="emperor")]), **HTMX)
    assert "is not one of" in response.content.decode()


def test_a_changed_field_offers_its_own_operators(client, personas):
    client.force_login(personas["mia"])
    response = client.post(
        reverse("marketing:segment-builder"),
        post_rows([row(field="case.priority", op="eq", value="")]),
        **HTMX,
    )
    body = response.content.decode()
    assert 'value="lte"' in body and 'value="contains"' not in body
    assert 'name="days"' in body  # cases take a time window


def test_a_segment_is_saved_from_the_builder(client, personas):
    client.force_login(personas["mia"])
    response = client.post(
        reverse("marketing:segment-create"), post_rows([row()], name="Customers", kind="dynamic")
    )
    segment = Segment.objects.get(name="Customers")
    assert response.status_code == 302
    assert segment.rules == {
        "op": "and",
        "rules": [{"field": "contact.lifecycle", "op": "eq", "value": "customer"}],
    }
    page = client.get(reverse("marketing:segment-detail", args=[segment.pk]))
    assert page.status_code == 200 and "Contact: lifecycle" in page.content.decode()


def test_the_api_names_the_bad_rule(client, personas):
    client.force_login(personas["mia"])
    response = client.post(
        "/api/v1/segments",
        {
            "name": "Bad",
            "rules": {
                "op": "and",
                "rules": [{"field": "deal.amount", "op": "gt", "value": "lots"}],
            },
        },
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["errors"] == {"rules.rules[0].value": ["deal.amount >: a number, not 'lots'."]}
    preview = client.post(
        "/api/v1/segments/preview",
        {"rules": {"field": "contact.lifecycle", "op": "eq", "value": "lead"}},
        content_type="application/json",
    )
    assert preview.status_code == 200 and preview.json()["count"] == 0


def test_a_campaign_through_the_api(client, personas, django_capture_on_commit_callbacks):
    person = make_contact(lifecycle="customer")
    grant(person)
    segment = make_segment(rules={"field": "contact.lifecycle", "op": "eq", "value": "customer"})
    client.force_login(personas["mia"])
    created = client.post(
        "/api/v1/campaigns",
        {"name": "Spring", "purpose": "product_news", "segment": segment.pk, "seed": 3},
        content_type="application/json",
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    for label in "AB":
        assert (
            client.post(
                f"/api/v1/campaigns/{pk}/variants",
                {"label": label, "subject": f"Hi {label}", "body": "Hello https://example.com"},
                content_type="application/json",
            ).status_code
            == 201
        )
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(f"/api/v1/campaigns/{pk}/send", {}, content_type="application/json")
    assert sent.status_code == 202
    assert Campaign.objects.get(pk=pk).status == "sent"
    report = client.get(f"/api/v1/campaigns/{pk}/report").json()
    assert sum(v["delivered"] for v in report["variants"]) == 1
    assert (
        client.post(
            f"/api/v1/campaigns/{pk}/winner", {}, content_type="application/json"
        ).status_code
        == 422
    )


def test_the_report_page_and_its_csv(client, personas, django_capture_on_commit_callbacks):
    person = make_contact()
    grant(person)
    campaign = make_campaign(segment=make_segment(rules={}), name="=Formula campaign")
    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_schedule(actor=SYSTEM, campaign=campaign)
    client.force_login(personas["mo"])
    page = client.get(reverse("marketing:report"))
    assert page.status_code == 200 and "=Formula campaign" in page.content.decode()
    csv = b"".join(client.get(reverse("marketing:report-csv")).streaming_content).decode()
    assert "'=Formula campaign" in csv  # formula-safe
    assert csv.splitlines()[0].lstrip("\ufeff").startswith("campaign,variant,subject")

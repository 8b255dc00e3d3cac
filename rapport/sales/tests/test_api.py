"""The sales API: leads through the duplicate check, deals with If-Match and their stage
history, roles, paging, the public lead form's one answer."""

from __future__ import annotations

from django.test import Client

from rapport.customers.tests.factories import SYSTEM, make_contact
from rapport.sales import services
from rapport.sales.models import Lead, LeadFormPost, LostReason
from rapport.sales.tests.factories import make_deal, stage


def test_a_lead_posted_for_a_known_person_is_on_their_contact(api_client, personas):
    jane = make_contact(owner=personas["bob"], full_name="Jane Doe", emails=["jane@acme.example"])
    response = api_client("bob").post(
        "/api/v1/leads",
        {"name": "Jane Doe", "email": "jane@acme.example", "need": "A CRM"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["contact"] == jane.pk and response["ETag"] == '"1"'


def test_a_stage_move_needs_the_current_version_and_a_lost_reason(api_client, personas):
    bob = personas["bob"]
    deal = make_deal(owner=bob, amount="100")
    client = api_client("bob")
    url = f"/api/v1/deals/{deal.pk}/stage"
    moved = client.post(
        url,
        {"stage": stage("Proposal").pk},
        content_type="application/json",
        headers={"If-Match": '"1"'},
    )
    assert moved.status_code == 200 and moved.json()["probability"] == "0.500"
    stale = client.post(
        url,
        {"stage": stage("Won").pk},
        content_type="application/json",
        headers={"If-Match": '"1"'},
    )
    assert stale.status_code == 412 and stale["Content-Type"] == "application/problem+json"
    lost = client.post(url, {"stage": stage("Lost").pk}, content_type="application/json")
    assert lost.status_code == 422 and "lost_reason" in lost.json()["errors"]
    reason = LostReason.objects.get(name="Competitor")
    lost = client.post(
        url, {"stage": stage("Lost").pk, "lost_reason": reason.pk}, content_type="application/json"
    )
    assert lost.json()["status"] == "lost"
    history = client.get(f"/api/v1/deals/{deal.pk}/history").json()
    assert [h["to_stage"] for h in history] == [
        stage("Qualification").pk,
        stage("Proposal").pk,
        stage("Lost").pk,
    ]


def test_money_is_a_decimal_string_never_a_number(api_client, personas):
    deal = make_deal(owner=personas["bob"])
    client = api_client("bob")
    as_number = client.patch(
        f"/api/v1/deals/{deal.pk}", {"amount": 10.5}, content_type="application/json"
    )
    assert as_number.status_code == 422
    as_text = client.patch(
        f"/api/v1/deals/{deal.pk}", {"amount": "10.50"}, content_type="application/json"
    )
    assert as_text.json()["amount"] == "10.50"


def test_deal_lists_page_with_a_cursor_and_find_a_persons_role(api_client, personas):
    bob = personas["bob"]
    dana = make_contact(owner=bob, full_name="Dana")
    deals = [make_deal(owner=bob) for _ in range(3)]
    services.deal_role_add(actor=SYSTEM, deal=deals[1], contact=dana, role="decision_maker")
    client = api_client("bob")
    first = client.get("/api/v1/deals?size=2").json()
    second = client.get(f"/api/v1/deals?size=2&cursor={first['next_cursor']}").json()
    assert [d["id"] for d in first["items"] + second["items"]] == [d.pk for d in reversed(deals)]
    found = client.get(f"/api/v1/deals?contact={dana.pk}&role=decision_maker").json()
    assert [d["id"] for d in found["items"]] == [deals[1].pk]
    assert api_client("carl").get(f"/api/v1/deals/{deals[0].pk}").status_code == 404


def test_the_public_form_answers_the_same_whatever_happens(personas):
    _, token = services.lead_form_create(actor=SYSTEM, data={"name": "Site"})
    client = Client()
    answers = [
        client.post(
            "/api/v1/lead-forms/submit",
            {"token": token, "name": "Ann Other", "email": "ann@x.example"},
        ),
        client.post("/api/v1/lead-forms/submit", {"token": "lf_wrong", "name": "Ann"}),
        client.post("/api/v1/lead-forms/submit", {"token": token, "name": "Bot", "website": "x"}),
        client.post(
            "/api/v1/lead-forms/submit",
            {"token": token, "name": "Json Person"},
            content_type="application/json",
        ),
    ]
    assert {(a.status_code, a.content) for a in answers} == {(202, b'{"status": "received"}')}
    assert sorted(Lead.objects.values_list("name", flat=True)) == ["Ann Other", "Json Person"]
    assert LeadFormPost.objects.filter(outcome="spam").count() == 1

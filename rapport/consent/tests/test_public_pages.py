"""The person's pages (a signed link, no login) and the staff's pages and API."""

from __future__ import annotations

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from rapport.consent import services
from rapport.consent.models import ConsentState, Purpose
from rapport.consent.tests.factories import grant, withdraw
from rapport.customers.tests.factories import make_contact


def _states(contact) -> dict[tuple[str, str], str]:
    return {
        (s.channel, s.purpose.key): s.status for s in ConsentState.objects.filter(contact=contact)
    }


@pytest.mark.django_db
def test_the_preference_centre_changes_any_channel_and_purpose_without_a_login():
    ann = make_contact(given_name="Ann", family_name="Lee", emails=["ann@example.com"])
    grant(ann, "events")
    url = reverse("consent:preferences", args=[services.preferences_token(ann)])
    client = Client()
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="c-sms-product_news"' in page.content.decode()
    assert 'name="c-email-service"' not in page.content.decode()  # not the person's to refuse
    response = client.post(
        url, {"c-email-events": "withdrawn", "c-sms-product_news": "granted", "c-post-surveys": ""}
    )
    assert response.status_code == 200 and b"saved" in response.content
    assert _states(ann) == {("email", "events"): "withdrawn", ("sms", "product_news"): "granted"}
    assert ConsentState.objects.get(contact=ann, channel="sms").event.source == "preference_centre"


@pytest.mark.django_db
def test_a_preference_link_for_someone_else_or_forged_is_refused():
    ann = make_contact(emails=["ann@example.com"])
    forged = signing.dumps({"c": ann.pk}, salt="another.salt")
    assert Client().get(reverse("consent:preferences", args=[forged])).status_code == 404
    assert Client().get(reverse("consent:preferences", args=["nonsense"])).status_code == 404


@pytest.mark.django_db
def test_the_contact_panel_shows_the_grid_and_the_history_and_records_a_call(personas):
    bob = personas["bob"]
    ann = make_contact(owner=bob, emails=["ann@example.com"])
    withdraw(ann, "events", evidence_text="Please no more invitations <b>now</b>")
    client = Client()
    client.force_login(bob)
    page = client.get(reverse("consent:contact-panel", args=[ann.pk])).content.decode()
    assert "never asked" in page and "withdrawn" in page
    assert "&lt;b&gt;now&lt;/b&gt;" in page  # evidence is escaped
    response = client.post(
        reverse("consent:contact-record", args=[ann.pk]),
        {"channel": "phone", "purpose": "events", "status": "granted", "source": "call",
         "evidence_text": "Agreed on the phone", "evidence_version": "script-3"},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    assert response.status_code == 200 and "Agreed on the phone" in response.content.decode()
    assert _states(ann)[("phone", "events")] == "granted"
    bad = client.post(
        reverse("consent:contact-record", args=[ann.pk]),
        {"channel": "fax", "purpose": "events", "status": "granted", "source": "call"},
    )
    assert bad.status_code == 422


@pytest.mark.django_db
def test_another_teams_contact_is_not_found(personas):
    ann = make_contact(owner=personas["bob"], emails=["ann@example.com"])
    client = Client()
    client.force_login(personas["carl"])
    assert client.get(reverse("consent:contact-panel", args=[ann.pk])).status_code == 404


@pytest.mark.django_db
def test_the_api_gives_state_and_history_and_records(personas, django_assert_max_num_queries):
    from rapport.core.actor import Actor
    from rapport.users.services import token_create

    bob = personas["bob"]
    ann = make_contact(owner=bob, emails=["ann@example.com"])
    grant(ann, "newsletter")
    _, secret = token_create(actor=Actor(user=None, via="system"), user=bob, name="t")
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    posted = client.post(
        f"/api/v1/contacts/{ann.pk}/consent",
        {
            "channel": "email",
            "purpose": "surveys",
            "status": "withdrawn",
            "evidence_text": "No surveys",
        },
        content_type="application/json",
    )
    assert posted.status_code == 201 and posted.json()["status"] == "withdrawn"
    with django_assert_max_num_queries(12):
        body = client.get(f"/api/v1/contacts/{ann.pk}/consent").json()
    cells = {(s["channel"], s["purpose"]): s["status"] for s in body["state"] if not s["address"]}
    assert cells[("email", "newsletter")] == "granted"
    assert cells[("email", "surveys")] == "withdrawn"
    assert cells[("sms", "events")] == "never_asked"
    assert [e["purpose"] for e in body["history"]] == ["surveys", "newsletter"]
    purposes = client.get("/api/v1/consent/purposes").json()
    assert {p["key"] for p in purposes} >= {"newsletter", "service", "profiling"}
    assert Purpose.objects.get(key="service").lawful_basis == "contract"


@pytest.mark.django_db
def test_the_contact_page_loads_the_consent_panel(personas):
    ann = make_contact(owner=personas["bob"], emails=["ann@example.com"])
    client = Client()
    client.force_login(personas["bob"])
    page = client.get(reverse("customers:contact-detail", args=[ann.pk])).content.decode()
    assert f'hx-get="{reverse("consent:contact-panel", args=[ann.pk])}"' in page

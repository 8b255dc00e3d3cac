"""Another team's records are answered for as if they did not exist: carl (South) names
North's accounts and contacts, and gets exactly what he gets for an id nobody has."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import actor
from rapport.customers.models import Account
from rapport.customers.tests.factories import make_account, make_contact
from rapport.identity import services as identity_services

pytestmark = pytest.mark.django_db

JSON = "application/json"
MISSING_ID = 987_654


def _same(body: str | dict, pk: int) -> str:
    """The answer with the record's id written as the missing one's."""
    return str(body).replace(str(pk), str(MISSING_ID))


def test_a_parent_of_another_team_is_refused_on_the_web_like_a_missing_one(client, personas):
    north = make_account(name="Northwind Traders", owner=personas["bob"])
    mine = make_account(name="South Traders", owner=personas["carl"])
    client.force_login(personas["carl"])
    url = reverse("customers:account-edit", args=[mine.pk])
    answers = []
    for parent in (north.pk, MISSING_ID):
        response = client.post(
            url,
            {
                "version": mine.version,
                "name": "South Traders",
                "lifecycle": "prospect",
                "parent": parent,
            },
        )
        answers.append(
            (response.status_code, f"No account with id {parent}." in response.content.decode())
        )
    assert answers == [(422, True), (422, True)]
    mine.refresh_from_db()
    assert mine.parent_id is None


def test_a_parent_of_another_team_is_refused_by_the_api_like_a_missing_one(api_client, personas):
    north = make_account(name="Northwind Traders", owner=personas["bob"])
    mine = make_account(name="South Traders", owner=personas["carl"])
    client = api_client("carl")
    patched = [
        client.patch(
            f"/api/v1/accounts/{mine.pk}",
            {"parent": parent},
            content_type=JSON,
            headers={"If-Match": '"1"'},
        )
        for parent in (north.pk, MISSING_ID)
    ]
    assert [r.status_code for r in patched] == [422, 422]
    assert _same(patched[0].json(), north.pk) == str(patched[1].json())
    assert "No account with id" in str(patched[0].json()["errors"]["parent"])
    created = [
        client.post(
            "/api/v1/accounts", {"name": "South Child", "parent": parent}, content_type=JSON
        )
        for parent in (north.pk, MISSING_ID)
    ]
    assert [r.status_code for r in created] == [422, 422]
    assert _same(created[0].json(), north.pk) == str(created[1].json())
    assert not Account.objects.filter(parent=north).exists()


def test_a_taken_domain_or_external_id_does_not_say_whose_it_is(api_client, personas):
    north = make_account(
        name="Northwind Traders", owner=personas["bob"], domains=["northwind.example"]
    )
    client = api_client("carl")
    mine = make_account(name="South Traders", owner=personas["carl"])
    bobs = api_client("bob")
    assert (
        bobs.post(
            f"/api/v1/accounts/{north.pk}/external-ids",
            {"source": "erp", "external_id": "N-1"},
            content_type=JSON,
        ).status_code
        == 201
    )
    domain = client.post(
        f"/api/v1/accounts/{mine.pk}/domains", {"domain": "northwind.example"}, content_type=JSON
    )
    xid = client.post(
        f"/api/v1/accounts/{mine.pk}/external-ids",
        {"source": "erp", "external_id": "N-1"},
        content_type=JSON,
    )
    assert (domain.status_code, xid.status_code) == (422, 422)
    assert domain.json()["errors"]["domain"] == [
        "northwind.example already belongs to another account."
    ]
    assert xid.json()["errors"]["external_id"] == ["erp:N-1 already belongs to another account."]
    made = client.post(
        "/api/v1/accounts",
        {"name": "South Two", "domains": ["northwind.example"]},
        content_type=JSON,
    )
    assert made.status_code == 422 and str(north.pk) not in made.content.decode().replace(
        str(mine.pk), ""
    )


def _merged_pair(personas, kind: str) -> tuple[int, int]:
    """(survivor, merged-away id) of two of bob's records."""
    make = make_contact if kind == "contact" else make_account
    survivor, gone = make(owner=personas["bob"]), make(owner=personas["bob"])
    identity_services.records_merge(
        actor=actor(personas["stella"]), kind=kind, survivor_id=survivor.pk, merged_ids=[gone.pk]
    )
    return survivor.pk, gone.pk


@pytest.mark.parametrize("kind", ["contact", "account"])
def test_a_merged_id_of_another_team_is_404_like_a_missing_one(client, api_client, personas, kind):
    survivor, gone = _merged_pair(personas, kind)
    client.force_login(personas["carl"])
    pages = [client.get(f"/{kind}s/{pk}/") for pk in (gone, MISSING_ID)]
    assert [p.status_code for p in pages] == [404, 404]
    api = api_client("carl")
    answers = [api.get(f"/api/v1/{kind}s/{pk}") for pk in (gone, MISSING_ID)]
    assert [a.status_code for a in answers] == [404, 404]
    assert _same(answers[0].json(), gone) == str(answers[1].json())
    assert "Location" not in answers[0]
    timelines = [api.get(f"/api/v1/{kind}s/{pk}/timeline") for pk in (gone, MISSING_ID)]
    assert [t.status_code for t in timelines] == [404, 404]
    assert _same(timelines[0].json(), gone) == str(timelines[1].json())
    # bob may see the survivor: he is sent there.
    bobs = api_client("bob").get(f"/api/v1/{kind}s/{gone}")
    assert bobs.status_code == 308 and bobs["Location"].endswith(f"/{kind}s/{survivor}")

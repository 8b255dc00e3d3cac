"""GET /contacts/{id} reads the contact in one SQL query (selectors.contact_detail); it must show
exactly what the ORM path (selectors.contact_get + render.contact) shows, for every role."""

import datetime as dt
import json

import pytest
from ninja.responses import NinjaJSONEncoder

from conftest import PERSONAS
from rapport.core import cache
from rapport.customers import selectors, services
from rapport.customers.api import render
from rapport.customers.api.schemas import ContactOut
from rapport.customers.models import DataField
from rapport.customers.tests.factories import SYSTEM, make_account, make_contact
from rapport.users.models import RolePolicy


@pytest.fixture
def rich_contact(personas):
    """A contact with every kind of part, two memberships (one at an account bob's team may
    not see, one with no rank), tags, and custom values, one of them hidden from most roles."""
    bob, carl = personas["bob"], personas["carl"]
    north = make_account(owner=bob, name="Northwind")
    south = make_account(owner=carl, name="Southwind")
    DataField.objects.create(entity="contact", key="tier", label="Tier", type="text")
    DataField.objects.create(
        entity="contact", key="salary", label="Salary", type="text", view_roles=["manager"]
    )
    contact = make_contact(
        owner=bob,
        full_name="Dr. Nora North",
        emails=["nora@example.com", "nora@home.example"],
        phones=["+44 20 7946 0018"],
        account=north,
        tags=["VIP", "Alpha"],
        custom={"tier": "gold", "salary": "A"},
        job_title="Buyer",
    )
    add = {
        "addresses": {"street": "1 High St", "city": "York", "country": "GB"},
        "external_ids": {"source": "erp", "external_id": "C-1"},
        "memberships": {"account": south.pk, "rank": 2, "started_on": dt.date(2024, 5, 1)},
    }
    for part, data in add.items():
        contact.refresh_from_db()
        services.part_add(actor=SYSTEM, parent=contact, part=part, data=data)
    return contact


def _orm(user, pk):
    return render.contact(user, selectors.contact_get(actor=user, pk=pk))


def _fast(user, pk):
    return render.contact_values(user, selectors.contact_detail(actor=user, pk=pk))


@pytest.mark.parametrize("persona", [p for p in PERSONAS if p != "carl"])
def test_one_query_read_matches_the_orm_read(personas, rich_contact, persona):
    user = personas[persona]
    fast = _fast(user, rich_contact.pk)
    assert fast == _orm(personas[persona], rich_contact.pk)
    assert list(fast) == list(_orm(personas[persona], rich_contact.pk))  # same key order


def test_one_query_read_matches_with_hidden_builtin_fields(personas, rich_contact):
    RolePolicy.objects.update_or_create(
        role="readonly",
        kind="contact",
        defaults={
            "can_view": True,
            "hidden_fields": ["phones", "job_title", "memberships", "custom"],
        },
    )
    rita = personas["rita"]
    fast = _fast(rita, rich_contact.pk)
    assert fast == _orm(rita, rich_contact.pk)
    assert "phones" not in fast and "job_title" not in fast and "custom" not in fast


def test_read_shows_parts_in_order_and_hides_an_unseen_accounts_name(
    api_client, personas, rich_contact
):
    body = api_client("bob").get(f"/api/v1/contacts/{rich_contact.pk}").json()
    assert [e["email"] for e in body["emails"]] == ["nora@example.com", "nora@home.example"]
    assert body["emails"][0]["is_primary"] is True and body["emails"][1]["is_primary"] is False
    assert body["tags"] == ["Alpha", "VIP"]
    assert body["custom"] == {"tier": "gold"}
    north, south = body["memberships"]
    assert north["account_name"] == "Northwind" and north["is_primary"] is True
    assert "account_name" not in south  # carl's account: bob's team may not see it
    assert south["rank"] == 2 and south["started_on"] == "2024-05-01"
    assert body["addresses"][0]["city"] == "York"
    assert body["external_ids"][0]["external_id"] == "C-1"
    assert body["created_at"].endswith("Z")


def test_a_contact_outside_the_callers_team_is_404(api_client, personas, rich_contact):
    response = api_client("carl").get(f"/api/v1/contacts/{rich_contact.pk}")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_a_missing_contact_is_404(api_client, personas):
    response = api_client("alice").get("/api/v1/contacts/987654321")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


@pytest.fixture
def process_cache(settings):
    """The per-process cache of role policies and the data dictionary, on as in production."""
    cache.clear()
    settings.PROCESS_CACHE_SECONDS = 60
    yield
    cache.clear()


@pytest.mark.parametrize(("persona", "queries"), [("alice", 2), ("bob", 3)])
def test_read_contact_costs_a_fixed_number_of_queries(
    api_client, personas, rich_contact, django_assert_num_queries, process_cache, persona, queries
):
    """The token (with its user), the contact with all its parts; a team member's read
    also fetches their team's members. Role policies and data fields come from the cache."""
    client = api_client(persona)
    url = f"/api/v1/contacts/{rich_contact.pk}"
    client.get(url)  # fills the cache; the first use of a token records when it was used
    with django_assert_num_queries(queries):
        response = client.get(url)
    assert response.status_code == 200
    rich_contact.refresh_from_db()
    assert response["ETag"] == f'"{rich_contact.version}"'


@pytest.mark.parametrize("persona", ["alice", "bob", "rita"])
def test_read_body_is_what_the_response_schema_would_give(
    api_client, personas, rich_contact, persona
):
    """GET skips ninja's second validation of the body (api.common.rendered); the body must
    be exactly what validating it against ContactOut would have produced."""
    body = api_client(persona).get(f"/api/v1/contacts/{rich_contact.pk}").content
    values = _fast(personas[persona], rich_contact.pk)
    validated = ContactOut.model_validate(values).model_dump(exclude_unset=True)
    assert json.loads(body) == json.loads(json.dumps(validated, cls=NinjaJSONEncoder))

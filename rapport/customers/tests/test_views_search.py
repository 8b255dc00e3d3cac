"""The global search page and its as-you-type fragment."""

from __future__ import annotations

import pytest
from django.urls import reverse

from rapport.customers.tests.factories import make_account, make_contact


@pytest.fixture
def data(personas):
    account = make_account(name="Globex Corporation", domains=["globex.example"], owner=personas["bob"])
    contact = make_contact(full_name="Margaret Hamilton", emails=["maggie@globex.example"], phones=["+44 20 7946 0958"], owner=personas["bob"], account=account)
    return account, contact


@pytest.mark.parametrize(
    ("q", "matched"),
    [("Margret Hamilton", "name"), ("hamil", "name"), ("020 7946 0958", "phone"), ("+442079460958", "phone"), ("maggie@globex.example", "email")],
)
def test_search_finds_contacts(client, personas, data, q, matched):
    client.force_login(personas["alice"])
    page = client.get(reverse("customers:search"), {"q": q}).content.decode()
    assert "Margaret Hamilton" in page
    assert f"matched {matched}" in page


def test_search_finds_accounts_by_domain(client, personas, data):
    client.force_login(personas["alice"])
    page = client.get(reverse("customers:search"), {"q": "globex.example"}).content.decode()
    assert "Globex Corporation" in page and "matched domain" in page


def test_as_you_type_returns_a_fragment(client, personas, data):
    client.force_login(personas["alice"])
    response = client.get(reverse("customers:search"), {"q": "marg"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert "<html" not in page and "Margaret Hamilton" in page


def test_no_results_says_so(client, personas, data):
    client.force_login(personas["alice"])
    page = client.get(reverse("customers:search"), {"q": "zzzzqqq"}).content.decode()
    assert "Nothing found" in page


def test_search_hides_other_teams_records(client, personas, data):
    client.force_login(personas["carl"])
    for q in ("Margaret", "020 7946 0958", "maggie@globex.example", "globex.example"):
        page = client.get(reverse("customers:search"), {"q": q}).content.decode()
        assert "Margaret Hamilton" not in page and "Globex Corporation" not in page

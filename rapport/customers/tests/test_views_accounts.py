"""The account pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from rapport.audit.services import Actor
from rapport.customers import services
from rapport.customers.models import Account
from rapport.customers.tests.factories import make_account, make_contact


@pytest.fixture
def alice_client(client, personas):
    client.force_login(personas["alice"])
    return client


def test_create_account_with_domains(alice_client):
    response = alice_client.post(reverse("customers:account-create"), {
        "name": "Acme Ltd", "industry": "Widgets", "country": "France", "phone": "+33 1 42 68 53 00",
        "domains": "acme.example, www.acme-group.example", "lifecycle": "prospect", "size": "10-49",
    })
    assert response.status_code == 302
    account = Account.objects.get()
    assert account.country == "FR" and account.phone == "+33142685300"
    assert sorted(account.domains.values_list("domain", flat=True)) == ["acme-group.example", "acme.example"]


def test_create_account_with_a_taken_domain_shows_the_error(alice_client):
    make_account(domains=["acme.example"])
    response = alice_client.post(reverse("customers:account-create"), {"name": "Acme Copy", "domains": "acme.example", "lifecycle": "prospect"})
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="f-domains-error"' in page and 'value="Acme Copy"' in page
    assert Account.objects.count() == 1


def test_account_edit_and_conflict(alice_client, personas):
    account = make_account(name="Acme Ltd")
    url = reverse("customers:account-edit", args=[account.pk])
    assert alice_client.post(url, {"version": account.version, "name": "Acme Group", "lifecycle": "customer"}).status_code == 302
    account.refresh_from_db()
    assert account.name == "Acme Group"
    services.account_update(actor=Actor(personas["mo"]), account=account, data={"industry": "Widgets"})
    response = alice_client.post(url, {"version": account.version, "name": "Acme Stale", "lifecycle": "customer"})
    assert response.status_code == 409
    assert "changed by someone else since you opened it" in response.content.decode()
    account.refresh_from_db()
    assert account.name == "Acme Group"


def test_account_detail_ranks_people_and_lists_children(alice_client, personas):
    parent = make_account(name="Acme Group")
    account = make_account(name="Acme UK", parent=parent.pk)
    make_account(name="Acme Scotland", parent=account.pk)
    first = make_contact(full_name="Zoe Boss", account=account)
    second = make_contact(full_name="Adam User", account=account)
    actor = Actor(personas["alice"])
    services.part_update(actor=actor, parent=first, part="memberships", obj=first.memberships.get(), data={"rank": 1, "buying_role": "decision_maker"})
    services.part_update(actor=actor, parent=second, part="memberships", obj=second.memberships.get(), data={"buying_role": "user"})
    page = alice_client.get(reverse("customers:account-detail", args=[account.pk])).content.decode()
    assert page.index("Zoe Boss") < page.index("Adam User")
    assert "Acme Scotland" in page and "Acme Group" in page


def test_account_domains_inline(alice_client):
    account = make_account(name="Acme Ltd")
    url = reverse("customers:account-part-add", args=[account.pk, "domains"])
    response = alice_client.post(url, {"domain": "https://www.acme.example/", "version": account.version}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "acme.example" in response.content.decode()
    domain = account.domains.get()
    account.refresh_from_db()
    url = reverse("customers:account-part-delete", args=[account.pk, "domains", domain.pk])
    assert alice_client.post(url, {"version": account.version}).status_code == 302
    assert not account.domains.exists()


def test_account_delete(alice_client):
    account = make_account(name="Acme Ltd")
    url = reverse("customers:account-delete", args=[account.pk])
    assert alice_client.post(url, {"version": account.version}).status_code == 302
    assert not Account.objects.exists()


def test_service_role_reads_accounts_without_edit_buttons(client, personas):
    account = make_account(name="Acme Ltd")
    client.force_login(personas["sam"])
    page = client.get(reverse("customers:account-detail", args=[account.pk])).content.decode()
    assert reverse("customers:account-edit", args=[account.pk]) not in page
    assert "+ Add domain" not in page

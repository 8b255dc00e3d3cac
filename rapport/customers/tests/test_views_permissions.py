"""What sales reps of another team and roles with hidden fields do not see on the pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from rapport.customers.tests.factories import make_account, make_contact

# Which role may open which page is the permission harness's (rapport/core/tests/
# test_permission_harness.py, from rapport/customers/tests/permission_cases.py); these are
# the page-specific checks beyond a status.


@pytest.fixture
def records(personas):
    account = make_account(owner=personas["bob"], name="Northwind Traders", notes="Budget is tight")
    contact = make_contact(owner=personas["bob"], full_name="Nora North", account=account)
    return {"account": account, "contact": contact}


def test_sales_rep_of_another_team_does_not_see_the_contact_anywhere(client, personas, records):
    client.force_login(personas["carl"])
    contact = records["contact"]
    assert "Nora North" not in client.get(reverse("customers:contact-list")).content.decode()
    assert "Nora North" not in client.get(reverse("customers:search") + "?q=nora").content.decode()
    for name in ("contact-detail", "contact-edit"):
        assert client.get(reverse(f"customers:{name}", args=[contact.pk])).status_code == 404
    account = records["account"]
    assert client.get(reverse("customers:account-detail", args=[account.pk])).status_code == 404
    response = client.post(
        reverse("customers:contact-part-add", args=[contact.pk, "emails"]),
        {"email": "x@example.com", "version": contact.version},
    )
    assert response.status_code == 404


def test_teammate_sees_the_contact(client, personas, records):
    client.force_login(personas["brenda"])
    assert "Nora North" in client.get(reverse("customers:contact-list")).content.decode()
    assert (
        client.get(reverse("customers:contact-detail", args=[records["contact"].pk])).status_code
        == 200
    )


@pytest.mark.parametrize("name", ["mia", "rita"])
def test_roles_without_notes_do_not_see_account_notes(client, personas, records, name):
    client.force_login(personas[name])
    account = records["account"]
    page = client.get(reverse("customers:account-detail", args=[account.pk])).content.decode()
    assert "Budget is tight" not in page
    if name == "mia":
        form = client.get(reverse("customers:account-edit", args=[account.pk])).content.decode()
        assert 'name="notes"' not in form
        assert "Budget is tight" not in form


def test_manager_sees_account_notes(client, personas, records):
    client.force_login(personas["mo"])
    page = client.get(
        reverse("customers:account-detail", args=[records["account"].pk])
    ).content.decode()
    assert "Budget is tight" in page


def test_history_only_for_roles_that_may_read_it(client, personas, records):
    url = reverse("customers:contact-detail", args=[records["contact"].pk])
    client.force_login(personas["mo"])
    assert 'id="history"' in client.get(url).content.decode()
    client.force_login(personas["mia"])
    assert 'id="history"' not in client.get(url).content.decode()


def test_sales_rep_sees_owner_read_only_on_the_form(client, personas, records):
    client.force_login(personas["bob"])
    page = client.get(
        reverse("customers:contact-edit", args=[records["contact"].pk])
    ).content.decode()
    assert 'name="owner"' not in page
    assert "read-only for your role" in page


def test_a_contact_page_does_not_name_an_account_the_viewer_cannot_see(client, personas):
    from rapport.customers.tests.factories import make_account, make_contact

    hidden = make_account(name="Southern Secret Ltd", owner=personas["carl"])
    contact = make_contact(owner=personas["bob"], account=hidden)
    client.force_login(personas["bob"])
    page = client.get(f"/contacts/{contact.pk}/").content.decode()
    assert "Southern Secret" not in page
    assert "An account you cannot see" in page
    client.force_login(personas["alice"])
    assert "Southern Secret" in client.get(f"/contacts/{contact.pk}/").content.decode()


def test_the_contact_list_does_not_name_an_account_the_viewer_cannot_see(client, personas):
    from rapport.customers.tests.factories import make_account, make_contact

    hidden = make_account(name="Southern Secret Ltd", owner=personas["carl"])
    make_contact(full_name="Visible Person", owner=personas["bob"], account=hidden)
    client.force_login(personas["bob"])
    page = client.get("/contacts/").content.decode()
    assert "Visible Person" in page and "Southern Secret" not in page
    client.force_login(personas["alice"])
    assert "Southern Secret" in client.get("/contacts/").content.decode()

"""Other apps' panels on a record's page: listed for readers who may see them, loaded by htmx."""

from __future__ import annotations

import pytest
from django.urls import reverse

from rapport.core import panels
from rapport.customers.tests.factories import make_account, make_contact


@pytest.fixture
def probe_panel():
    # Any URL taking the record's pk will do for the page; the timeline's panel is one.
    for kind in ("contact", "account"):
        panels.register(
            panels.Panel(
                name="probe",
                kind=kind,
                title="Probe things",
                url_name=f"timeline:{kind}-panel",
                visible=lambda user: user.username == "bob",
            )
        )
    yield
    for kind in ("contact", "account"):
        panels._PANELS.pop((kind, "probe"))


def test_a_registered_panel_is_loaded_on_the_contact_and_account_pages(
    client, personas, probe_panel
):
    bob = personas["bob"]
    contact = make_contact(owner=bob, full_name="Dana Probe")
    account = make_account(owner=bob, name="Probe Ltd")
    client.force_login(bob)
    page = client.get(reverse("customers:contact-detail", args=[contact.pk])).content.decode()
    assert 'id="panel-probe"' in page
    assert f'hx-get="{reverse("timeline:contact-panel", args=[contact.pk])}"' in page
    page = client.get(reverse("customers:account-detail", args=[account.pk])).content.decode()
    assert f'hx-get="{reverse("timeline:account-panel", args=[account.pk])}"' in page


def test_a_panel_is_not_listed_for_a_reader_it_is_not_for(client, personas, probe_panel):
    contact = make_contact(owner=personas["bob"], full_name="Dana Probe")
    client.force_login(personas["alice"])
    page = client.get(reverse("customers:contact-detail", args=[contact.pk])).content.decode()
    assert 'id="panel-probe"' not in page


def test_panels_go_on_contacts_or_accounts_only():
    with pytest.raises(ValueError):
        panels.register(
            panels.Panel(name="x", kind="deal", title="X", url_name="x", visible=lambda u: True)
        )

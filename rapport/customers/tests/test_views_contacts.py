"""The contact pages: list, detail, create, edit, delete, and inline parts."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rapport.audit.services import Actor
from rapport.customers import services
from rapport.customers.models import Contact, DataField
from rapport.customers.tests.factories import make_account, make_contact


@pytest.fixture
def alice_client(client, personas):
    client.force_login(personas["alice"])
    return client


def _list_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_contact_list_query_count_does_not_grow_with_rows(alice_client, personas, django_assert_max_num_queries):
    account = make_account(owner=personas["bob"])
    for _ in range(5):
        make_contact(owner=personas["bob"], phones=["+44 20 7946 0958"], account=account, tags=["vip"])
    url = reverse("customers:contact-list")
    few = _list_queries(alice_client, url)
    for _ in range(55):
        make_contact(owner=personas["brenda"], phones=["+44 20 7946 0959"], account=account, tags=["vip"])
    many = _list_queries(alice_client, url)
    assert few == many
    with django_assert_max_num_queries(few):
        alice_client.get(url + "?sort=updated&lifecycle=lead&tag=vip")


def test_account_list_query_count_does_not_grow_with_rows(alice_client, personas):
    for _ in range(5):
        make_account(owner=personas["bob"], domains=[])
    url = reverse("customers:account-list")
    few = _list_queries(alice_client, url)
    for i in range(55):
        make_account(owner=personas["bob"], domains=[f"company{i}.example"])
    assert _list_queries(alice_client, url) == few


def test_contact_list_shows_primary_details_and_paginates(alice_client, personas):
    account = make_account(name="Acme Ltd")
    make_contact(full_name="Ada Lovelace", emails=["ada@acme.example"], phones=["+442079460958"], account=account, owner=personas["bob"])
    for i in range(55):
        make_contact(full_name=f"Zed Person{i:02d}")
    page = alice_client.get(reverse("customers:contact-list")).content.decode()
    assert "Ada Lovelace" in page and "ada@acme.example" in page and "Acme Ltd" in page
    assert "+44 20 7946 0958" in page
    assert "bob" in page
    match = re.search(r'href="\?cursor=([^"]+)"[^>]*>Next', page)
    assert match
    second = alice_client.get(reverse("customers:contact-list") + f"?cursor={match.group(1)}").content.decode()
    assert "First page" in second
    assert "Ada Lovelace" not in second


def test_contact_list_filters_and_search(alice_client, personas):
    make_contact(full_name="Ada Lovelace", lifecycle="customer", tags=["vip"])
    make_contact(full_name="Grace Hopper", lifecycle="lead")
    url = reverse("customers:contact-list")
    assert "Grace Hopper" not in alice_client.get(url + "?lifecycle=customer").content.decode()
    assert "Grace Hopper" not in alice_client.get(url + "?tag=vip").content.decode()
    page = alice_client.get(url + "?q=lovelace").content.decode()
    assert "Ada Lovelace" in page and "Grace Hopper" not in page
    fragment = alice_client.get(url + "?q=grace", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and "Grace Hopper" in fragment


def test_bad_list_parameters_are_a_400(alice_client):
    assert alice_client.get(reverse("customers:contact-list") + "?sort=shoe-size").status_code == 400
    assert alice_client.get(reverse("customers:contact-list") + "?cursor=garbage").status_code == 400


def test_detail_shows_parts_history_and_timeline_placeholder(alice_client, personas):
    account = make_account(name="Acme Ltd")
    contact = make_contact(full_name="Ada Lovelace", phones=["020 7946 0958"], account=account)
    services.part_update(
        actor=Actor(personas["alice"]), parent=contact, part="memberships",
        obj=contact.memberships.get(), data={"buying_role": "decision_maker", "rank": 1},
    )
    services.contact_update(actor=Actor(personas["alice"]), contact=contact, data={"job_title": "Analyst"})
    page = alice_client.get(reverse("customers:contact-detail", args=[contact.pk])).content.decode()
    assert "+44 20 7946 0958" in page
    assert "Decision maker" in page and "rank 1" in page
    assert "Timeline — interactions" in page
    assert "job_title" in page and "Analyst" in page and "alice" in page


def test_create_contact_with_first_email_phone_and_account(alice_client, personas):
    account = make_account(name="Acme Ltd")
    response = alice_client.post(reverse("customers:contact-create"), {
        "full_name": "Dr Ada King Lovelace", "email": "ADA@acme.example", "phone": "020 7946 0958",
        "account": account.pk, "lifecycle": "prospect", "preferred_channel": "email", "tags": "vip, analyst",
        "owner": personas["bob"].pk,
    })
    assert response.status_code == 302
    contact = Contact.objects.get()
    assert (contact.prefix, contact.given_name, contact.family_name) == ("Dr", "Ada", "Lovelace")
    assert contact.emails.get().email == "ada@acme.example"
    assert contact.phones.get().e164 == "+442079460958"
    assert contact.memberships.get().account == account
    assert contact.owner == personas["bob"]
    assert sorted(contact.tags.values_list("name", flat=True)) == ["analyst", "vip"]


def test_create_with_invalid_email_keeps_input_and_shows_the_error(alice_client):
    response = alice_client.post(reverse("customers:contact-create"), {
        "full_name": "Ada Lovelace", "email": "ada-at-nowhere", "job_title": "Analyst", "lifecycle": "lead",
        "preferred_channel": "none",
    })
    assert response.status_code == 422
    page = response.content.decode()
    assert 'value="Ada Lovelace"' in page and 'value="Analyst"' in page and 'value="ada-at-nowhere"' in page
    assert 'id="f-email-error"' in page
    assert not Contact.objects.exists()


def test_create_without_a_name_shows_the_error_next_to_the_name(alice_client):
    response = alice_client.post(reverse("customers:contact-create"), {"full_name": "", "lifecycle": "lead", "preferred_channel": "none"})
    assert response.status_code == 422
    assert 'id="f-full_name-error"' in response.content.decode()


def test_create_with_data_dictionary_fields(alice_client, personas):
    actor = Actor(personas["alice"])
    services.datafield_create(actor=actor, data={"entity": "contact", "label": "Tier", "type": "choice", "choices": ["Gold", "Silver"]})
    services.datafield_create(actor=actor, data={"entity": "contact", "label": "Interests", "type": "multichoice", "choices": ["Golf", "Wine"]})
    services.datafield_create(actor=actor, data={"entity": "contact", "label": "Seats", "type": "number"})
    services.datafield_create(actor=actor, data={"entity": "contact", "label": "Newsletter", "type": "boolean"})
    form = alice_client.get(reverse("customers:contact-create")).content.decode()
    assert '<select id="f-custom-tier" name="custom.tier"' in form
    assert 'type="checkbox" name="custom.interests" value="Golf"' in form
    assert 'type="number" id="f-custom-seats"' in form
    base = {"full_name": "Ada Lovelace", "lifecycle": "lead", "preferred_channel": "none", "custom.tier": "Gold", "custom.interests": ["Wine"], "custom.newsletter": "true"}
    bad = alice_client.post(reverse("customers:contact-create"), {**base, "custom.seats": "lots"})
    assert bad.status_code == 422
    page = bad.content.decode()
    assert 'id="f-custom-seats-error"' in page and 'value="lots"' in page
    assert '<option value="Gold" selected>' in page
    assert 'value="Wine" checked' in page
    ok = alice_client.post(reverse("customers:contact-create"), {**base, "custom.seats": "12"})
    assert ok.status_code == 302
    assert Contact.objects.get().custom == {"tier": "Gold", "interests": ["Wine"], "seats": 12, "newsletter": True}


def test_fields_the_role_may_not_see_are_not_rendered(alice_client, personas):
    services.datafield_create(actor=Actor(personas["alice"]), data={"entity": "contact", "label": "Credit limit", "type": "number", "view_roles": ["manager"]})
    contact = make_contact(owner=personas["bob"], custom={"credit_limit": 5000})
    client = Client()
    client.force_login(personas["bob"])
    page = client.get(reverse("customers:contact-detail", args=[contact.pk])).content.decode()
    assert "Credit limit" not in page
    assert 'id="history"' in page and "credit_limit" not in page and "5000" not in page
    assert "custom.credit_limit" not in client.get(reverse("customers:contact-edit", args=[contact.pk])).content.decode()
    assert "Credit limit" in alice_client.get(reverse("customers:contact-detail", args=[contact.pk])).content.decode()


def test_edit_contact(alice_client):
    contact = make_contact(full_name="Ada Lovelace")
    response = alice_client.post(reverse("customers:contact-edit", args=[contact.pk]), {
        "version": contact.version, "full_name": "Ada Lovelace", "given_name": "Ada", "family_name": "King",
        "job_title": "Countess", "lifecycle": "customer", "preferred_channel": "email", "tags": "",
    })
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.family_name, contact.job_title, contact.lifecycle) == ("King", "Countess", "customer")


def test_edit_by_typing_a_new_full_name(alice_client):
    contact = make_contact(full_name="Ada Lovelace")
    alice_client.post(reverse("customers:contact-edit", args=[contact.pk]), {
        "version": contact.version, "full_name": "Ada Byron", "given_name": "Ada", "family_name": "Lovelace",
        "lifecycle": "lead", "preferred_channel": "none",
    })
    contact.refresh_from_db()
    assert contact.full_name == "Ada Byron"


def test_edit_with_invalid_value_keeps_input(alice_client):
    contact = make_contact(full_name="Ada Lovelace")
    response = alice_client.post(reverse("customers:contact-edit", args=[contact.pk]), {
        "version": contact.version, "full_name": "Ada Lovelace", "job_title": "Countess", "time_zone": "Mars/Olympus",
        "lifecycle": "lead", "preferred_channel": "none",
    })
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="f-time_zone-error"' in page and 'value="Mars/Olympus"' in page and 'value="Countess"' in page
    contact.refresh_from_db()
    assert contact.job_title == ""


def test_stale_version_gives_the_conflict_message_and_changes_nothing(alice_client, personas):
    contact = make_contact(full_name="Ada Lovelace")
    opened_at = contact.version
    services.contact_update(actor=Actor(personas["mo"]), contact=contact, data={"department": "Maths"})
    response = alice_client.post(reverse("customers:contact-edit", args=[contact.pk]), {
        "version": opened_at, "full_name": "Ada Lovelace", "job_title": "Countess", "lifecycle": "lead", "preferred_channel": "none",
    })
    assert response.status_code == 409
    page = response.content.decode()
    assert "changed by someone else since you opened it" in page
    assert 'value="Countess"' in page
    contact.refresh_from_db()
    assert contact.job_title == "" and contact.department == "Maths"


def test_delete_asks_then_deletes(alice_client):
    contact = make_contact(full_name="Ada Lovelace")
    url = reverse("customers:contact-delete", args=[contact.pk])
    assert "Delete Ada Lovelace?" in alice_client.get(url).content.decode()
    assert Contact.objects.filter(pk=contact.pk).exists()
    response = alice_client.post(url, {"version": contact.version})
    assert response.status_code == 302
    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_add_and_remove_parts_inline(alice_client):
    contact = make_contact(full_name="Ada Lovelace", emails=["ada@example.com"])
    add = reverse("customers:contact-part-add", args=[contact.pk, "phones"])
    response = alice_client.post(add, {"number": "020 7946 0958", "kind": "mobile", "version": contact.version}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    fragment = response.content.decode()
    assert "<html" not in fragment and "+44 20 7946 0958" in fragment
    contact.refresh_from_db()
    phone = contact.phones.get()
    # The fragment carries the new version, so the next small form is not stale.
    assert f'name="version" value="{contact.version}"' in fragment
    remove = reverse("customers:contact-part-delete", args=[contact.pk, "phones", phone.pk])
    assert alice_client.post(remove, {"version": contact.version}, HTTP_HX_REQUEST="true").status_code == 200
    assert not contact.phones.exists()


def test_add_membership_and_address_inline(alice_client):
    account = make_account(name="Acme Ltd")
    contact = make_contact(full_name="Ada Lovelace")
    url = reverse("customers:contact-part-add", args=[contact.pk, "memberships"])
    alice_client.post(url, {"account": account.pk, "buying_role": "buyer", "rank": "2", "version": contact.version})
    membership = contact.memberships.get()
    assert (membership.buying_role, membership.rank) == ("buyer", 2)
    contact.refresh_from_db()
    url = reverse("customers:contact-part-add", args=[contact.pk, "addresses"])
    response = alice_client.post(url, {"street": "1 High St", "city": "London", "country": "GB", "version": contact.version})
    assert response.status_code == 302
    assert contact.addresses.get().city == "London"


def test_invalid_part_keeps_input_and_shows_error(alice_client):
    contact = make_contact(full_name="Ada Lovelace")
    url = reverse("customers:contact-part-add", args=[contact.pk, "emails"])
    response = alice_client.post(url, {"email": "nope", "version": contact.version}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    page = response.content.decode()
    assert 'value="nope"' in page and 'class="error"' in page


def test_stale_part_form_changes_nothing(alice_client):
    contact = make_contact(full_name="Ada Lovelace")
    url = reverse("customers:contact-part-add", args=[contact.pk, "emails"])
    response = alice_client.post(url, {"email": "ada@example.org", "version": contact.version - 1}, HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    assert "changed by someone else since you opened it" in response.content.decode()
    assert not contact.emails.filter(email="ada@example.org").exists()


def test_unknown_part_is_404(alice_client):
    contact = make_contact(full_name="Ada Lovelace")
    url = reverse("customers:contact-part-add", args=[contact.pk, "secrets"])
    assert alice_client.post(url, {}).status_code == 404


def test_output_is_escaped(alice_client):
    contact = make_contact(given_name="<script>alert(1)</script>", family_name="Evil", job_title='"><img src=x>')
    for url in (reverse("customers:contact-detail", args=[contact.pk]), reverse("customers:contact-list"), reverse("customers:contact-edit", args=[contact.pk])):
        page = alice_client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x>" not in alice_client.get(reverse("customers:contact-detail", args=[contact.pk])).content.decode()


def test_pages_have_a_csp_and_no_inline_script_or_style(alice_client):
    contact = make_contact(full_name="Ada Lovelace")
    for url in (reverse("customers:contact-list"), reverse("customers:contact-detail", args=[contact.pk]), reverse("customers:contact-create"), reverse("customers:datadict")):
        response = alice_client.get(url)
        csp = response["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        page = response.content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
        assert " style=" not in page and "onclick" not in page and "<style" not in page


def test_csrf_is_enforced_on_forms(personas):
    contact = make_contact(full_name="Ada Lovelace")
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas["alice"])
    response = client.post(reverse("customers:contact-edit", args=[contact.pk]), {"version": contact.version, "full_name": "Hacked", "lifecycle": "lead", "preferred_channel": "none"})
    assert response.status_code == 403
    response = client.post(reverse("customers:contact-part-add", args=[contact.pk, "emails"]), {"email": "x@example.com"})
    assert response.status_code == 403
    contact.refresh_from_db()
    assert contact.full_name == "Ada Lovelace"


def test_readonly_role_gets_403_on_write_posts(client, personas):
    contact = make_contact(full_name="Ada Lovelace")
    client.force_login(personas["rita"])
    assert client.post(reverse("customers:contact-part-add", args=[contact.pk, "emails"]), {"email": "a@example.com"}).status_code == 403
    assert client.post(reverse("customers:contact-delete", args=[contact.pk]), {}).status_code == 403
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert DataField.objects.count() == 0


def test_detail_page_carries_no_add_forms_and_no_account_list(alice_client, personas):
    for i in range(3):
        make_account(name=f"Unrelated {i}")
    contact = make_contact(full_name="Ada Lovelace")
    page = alice_client.get(reverse("customers:contact-detail", args=[contact.pk])).content.decode()
    add = reverse("customers:contact-part-add", args=[contact.pk, "memberships"])
    assert f'href="{add}" hx-get="{add}"' in page and "+ Link to an account" in page
    assert "Unrelated" not in page and 'name="account"' not in page and 'id="new-email"' not in page


def test_add_form_loads_on_click_or_opens_in_the_page_without_javascript(alice_client):
    contact = make_contact(full_name="Ada Lovelace")
    url = reverse("customers:contact-part-add", args=[contact.pk, "emails"])
    fragment = alice_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and 'id="new-email"' in fragment
    assert f'name="version" value="{contact.version}"' in fragment
    page = alice_client.get(url).content.decode()
    assert "<html" in page and 'id="new-email"' in page and "Ada Lovelace" in page
    assert alice_client.get(reverse("customers:contact-part-add", args=[contact.pk, "secrets"])).status_code == 404


def test_add_form_is_refused_to_a_role_that_may_not_change(client, personas):
    contact = make_contact(full_name="Ada Lovelace")
    client.force_login(personas["rita"])
    assert client.get(reverse("customers:contact-part-add", args=[contact.pk, "emails"])).status_code == 403
    assert "+ Add e-mail" not in client.get(reverse("customers:contact-detail", args=[contact.pk])).content.decode()


def test_account_type_ahead_offers_up_to_ten_visible_accounts(client, personas):
    for i in range(12):
        make_account(name=f"Globex {i:02d}", owner=personas["bob"])
    make_account(name="Globex Hidden", owner=personas["brenda"])
    url = reverse("customers:search")
    client.force_login(personas["alice"])
    fragment = client.get(url, {"kind": "account", "field": "account", "account_q": "globex"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment
    assert fragment.count('type="radio" name="account"') == 10
    client.force_login(personas["carl"])
    other_team = client.get(url, {"kind": "account", "field": "account", "account_q": "globex"}).content.decode()
    assert "Globex 0" not in other_team
    assert client.get(url, {"kind": "account", "field": "x<y", "q": "globex"}).status_code == 400


def test_link_an_account_by_typing_its_name_without_javascript(alice_client):
    account = make_account(name="Acme Ltd")
    make_account(name="Acme Holdings")
    contact = make_contact(full_name="Ada Lovelace")
    url = reverse("customers:contact-part-add", args=[contact.pk, "memberships"])
    # Two accounts match: the form comes back with them to choose from, input kept.
    response = alice_client.post(url, {"account_q": "acme", "job_title": "CTO", "version": contact.version})
    assert response.status_code == 422
    page = response.content.decode()
    assert "Several accounts match" in page and 'value="CTO"' in page
    assert f'type="radio" name="account" value="{account.pk}"' in page
    assert not contact.memberships.exists()
    # The exact name picks one.
    response = alice_client.post(url, {"account_q": "Acme Ltd", "version": contact.version})
    assert response.status_code == 302
    assert contact.memberships.get().account == account
    contact.refresh_from_db()
    nothing = alice_client.post(url, {"account_q": "zzqqx", "version": contact.version}, HTTP_HX_REQUEST="true")
    assert nothing.status_code == 422 and "No account you can see matches" in nothing.content.decode()


def test_list_links_match_the_url_patterns(alice_client):
    account = make_account(name="Acme Ltd")
    contact = make_contact(full_name="Ada Lovelace", account=account)
    page = alice_client.get(reverse("customers:contact-list")).content.decode()
    assert f'href="{reverse("customers:contact-detail", args=[contact.pk])}"' in page
    assert f'href="{reverse("customers:account-detail", args=[account.pk])}"' in page

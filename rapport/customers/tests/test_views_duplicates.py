"""The duplicate check on the create forms, the "Possible duplicates" panel of a record
page, merges in its history, and the data dictionary's identifying flag."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from rapport.audit.services import Actor
from rapport.customers.models import Account, Contact, DataField
from rapport.customers.tests.factories import make_account, make_contact
from rapport.identity import services as identity_services
from rapport.identity.models import Merge

HX = {"HTTP_HX_REQUEST": "true"}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def robert(personas) -> Contact:
    acme = make_account(name="Acme Ltd", domains=["acme.com"], owner=personas["bob"])
    return make_contact(
        full_name="Robert Smith",
        phones=["+44 20 7946 0958"],
        emails=["rsmith@acme.com"],
        account=acme,
        owner=personas["bob"],
    )


BOB_SMITH = {
    "full_name": "Bob Smith",
    "phone": "020 7946 0958",
    "lifecycle": "lead",
    "preferred_channel": "none",
}


def test_creating_a_likely_duplicate_warns_and_creates_nothing(personas, robert):
    response = _client(personas["alice"]).post(reverse("customers:contact-create"), BOB_SMITH)
    assert response.status_code == 409
    page = response.content.decode()
    assert "This looks like <strong>Robert Smith</strong> at Acme Ltd, " in page
    assert "%</span>" in page and "same phone number" in page.lower()
    assert f'href="{reverse("customers:contact-detail", args=[robert.pk])}"' in page  # Open it
    assert 'name="create_anyway" value="1"' in page
    assert f'name="merge_with" value="{robert.pk}"' in page  # alice may merge
    assert 'value="Bob Smith"' in page and 'value="020 7946 0958"' in page  # what was typed is kept
    assert list(Contact.objects.values_list("full_name", flat=True)) == ["Robert Smith"]


def test_create_anyway_creates_the_record(personas, robert):
    response = _client(personas["alice"]).post(
        reverse("customers:contact-create"), {**BOB_SMITH, "create_anyway": "1"}
    )
    assert response.status_code == 302
    created = Contact.objects.get(full_name="Bob Smith")
    assert response["Location"] == reverse("customers:contact-detail", args=[created.pk])
    assert created.phones.get().e164 == "+442079460958"


def test_a_different_person_is_created_without_a_warning(personas, robert):
    other = {**BOB_SMITH, "full_name": "Wilhelmina Okonkwo", "phone": "+33 1 42 68 53 00"}
    response = _client(personas["alice"]).post(reverse("customers:contact-create"), other)
    assert response.status_code == 302
    assert Contact.objects.filter(full_name="Wilhelmina Okonkwo").exists()


def test_merge_creates_the_record_then_opens_the_comparison(personas, robert):
    response = _client(personas["stella"]).post(
        reverse("customers:contact-create"), {**BOB_SMITH, "merge_with": robert.pk}
    )
    created = Contact.objects.get(full_name="Bob Smith")
    assert response.status_code == 302
    assert response["Location"] == f"/duplicates/compare/?kind=contact&ids={robert.pk},{created.pk}"


def test_a_sales_rep_does_not_get_the_merge_choice(personas, robert):
    client = _client(personas["bob"])
    response = client.post(reverse("customers:contact-create"), BOB_SMITH)
    assert response.status_code == 409
    page = response.content.decode()
    assert (
        "This looks like <strong>Robert Smith</strong>" in page and 'name="create_anyway"' in page
    )
    assert 'name="merge_with"' not in page
    # Nor can the choice be forced: nothing is created.
    forced = client.post(
        reverse("customers:contact-create"), {**BOB_SMITH, "merge_with": robert.pk}
    )
    assert forced.status_code == 403
    assert not Contact.objects.filter(full_name="Bob Smith").exists()


def test_names_in_the_warning_are_escaped(personas):
    evil = make_contact(
        full_name="<script>alert(1)</script> Smith",
        emails=["same@acme.com"],
        phones=["+44 20 7946 0958"],
    )
    assert evil.full_name.startswith("<script>")
    response = _client(personas["alice"]).post(
        reverse("customers:contact-create"), {**BOB_SMITH, "email": "same@acme.com"}
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert f"This looks like <strong>{escape(evil.full_name)}</strong>" in page
    assert "<script>" not in page


def test_the_as_you_type_check_answers_the_panel_alone(personas, robert):
    client = _client(personas["alice"])
    form = client.get(reverse("customers:contact-create")).content.decode()
    assert (
        'hx-get="/contacts/new/?check=duplicates"' in form
        and 'hx-trigger="change from:closest form delay:500ms"' in form
    )
    url = reverse("customers:contact-create")
    hint = client.get(
        url, {"check": "duplicates", "full_name": "Bob Smith", "phone": "020 7946 0958"}, **HX
    )
    assert hint.status_code == 200
    page = hint.content.decode()
    assert (
        "This looks like <strong>Robert Smith</strong>" in page
        and "same phone number" in page.lower()
    )
    assert "<html" not in page and 'name="create_anyway"' not in page  # a hint: it blocks nothing
    nothing = client.get(url, {"check": "duplicates", "full_name": "Wilhelmina Okonkwo"}, **HX)
    assert nothing.status_code == 200 and "This looks like" not in nothing.content.decode()
    assert Contact.objects.count() == 1


def test_the_account_form_warns_about_a_likely_duplicate(personas):
    acme = make_account(name="Acme Ltd", domains=["acme.com"], phone="+44 20 7946 0958")
    client = _client(personas["alice"])
    typed = {"name": "ACME Limited", "phone": "020 7946 0958", "lifecycle": "prospect"}
    response = client.post(reverse("customers:account-create"), typed)
    assert response.status_code == 409
    assert "This looks like <strong>Acme Ltd</strong>" in response.content.decode()
    assert Account.objects.count() == 1
    hint = client.get(reverse("customers:account-create"), {"check": "duplicates", **typed}, **HX)
    assert "This looks like <strong>Acme Ltd</strong>" in hint.content.decode()
    assert (
        client.post(
            reverse("customers:account-create"), {**typed, "create_anyway": "1"}
        ).status_code
        == 302
    )
    assert Account.objects.exclude(pk=acme.pk).get().name == "ACME Limited"


def test_the_record_page_lists_likely_duplicates(personas, robert):
    bob_smith = make_contact(
        full_name="Bob Smith", phones=["020 7946 0958"], emails=[], owner=personas["bob"]
    )
    client = _client(personas["stella"])
    url = reverse("customers:contact-detail", args=[robert.pk])
    page = client.get(url).content.decode()
    assert f'hx-get="{url}?panel=duplicates" hx-trigger="load"' in page  # loaded after the page
    panel = client.get(url, {"panel": "duplicates"}, **HX)
    assert panel.status_code == 200
    html = panel.content.decode()
    assert "Possible duplicates" in html and "<html" not in html
    assert f'{reverse("customers:contact-detail", args=[bob_smith.pk])}">Bob Smith</a>' in html
    assert "%</span>" in html and "same phone number" in html.lower()
    assert (
        f'href="/duplicates/compare/?kind=contact&amp;ids={robert.pk},{bob_smith.pk}">Compare</a>'
        in html
    )
    # Without JavaScript the link opens the whole page with the panel filled in.
    full = client.get(url, {"panel": "duplicates"}).content.decode()
    assert "<html" in full and "Compare</a>" in full


def test_users_who_may_not_see_duplicates_get_no_panel(personas, robert):
    client = _client(personas["bob"])
    url = reverse("customers:contact-detail", args=[robert.pk])
    assert "Possible duplicates" not in client.get(url).content.decode()
    assert client.get(url, {"panel": "duplicates"}, **HX).status_code == 403


def test_the_history_tells_merges_and_unmerges_in_words(personas, robert):
    alice = Actor(user=personas["alice"], via="web")
    other = make_contact(
        full_name="Bob Smith", phones=["020 7946 0958"], emails=[], owner=personas["bob"]
    )
    merge = identity_services.records_merge(
        actor=alice, kind="contact", survivor_id=robert.pk, merged_ids=[other.pk]
    )
    client = _client(personas["alice"])
    survivor_url = reverse("customers:contact-detail", args=[robert.pk])
    other_url = reverse("customers:contact-detail", args=[other.pk])
    page = client.get(survivor_url).content.decode()
    assert f'Merged <a href="{other_url}">contact {other.pk}</a> into this record' in page
    assert f'<a href="{other_url}">Contact {other.pk}</a> was merged into this record' in page
    assert '<span class="change-field">merged</span>' not in page  # in words, not as a raw change
    panel = client.get(survivor_url, {"panel": "duplicates"}, **HX).content.decode()
    assert f'href="/duplicates/merges/{merge.pk}/">Merge {merge.pk}</a>' in panel

    identity_services.merge_undo(actor=alice, merge=Merge.objects.get(pk=merge.pk))
    page = client.get(survivor_url).content.decode()
    assert f'Unmerged: <a href="{other_url}">contact {other.pk}</a> restored' in page
    restored = client.get(other_url).content.decode()
    assert f'Merged into <a href="{survivor_url}">contact {robert.pk}</a>' in restored
    assert f'Restored from <a href="{survivor_url}">contact {robert.pk}</a>' in restored


def test_the_data_field_form_saves_the_identifying_flag(personas):
    client = _client(personas["alice"])
    form = client.get(reverse("customers:datafield-create")).content.decode()
    assert (
        'name="is_identifying"' in form
        and "Identifying (equal values mark the same person)" in form
    )
    created = client.post(
        reverse("customers:datafield-create"),
        {
            "entity": "contact",
            "type": "text",
            "label": "Customer number",
            "is_identifying": "true",
            "position": "0",
        },
    )
    assert created.status_code == 302
    field = DataField.objects.get(key="customer_number")
    assert field.is_identifying is True
    edit = reverse("customers:datafield-edit", args=[field.pk])
    assert 'name="is_identifying" value="true" checked' in client.get(edit).content.decode()
    saved = client.post(
        edit, {"version": field.version, "label": "Customer number", "position": "0"}
    )
    assert saved.status_code == 302
    field.refresh_from_db()
    assert field.is_identifying is False


def test_the_account_page_lists_likely_duplicates(personas):
    acme = make_account(name="Acme Ltd", domains=["acme.com"], phone="+44 20 7946 0958")
    copy = make_account(name="ACME Limited", phone="020 7946 0958")
    client = _client(personas["mo"])  # managers see duplicates (stewards merge them)
    url = reverse("customers:account-detail", args=[acme.pk])
    assert f'hx-get="{url}?panel=duplicates"' in client.get(url).content.decode()
    html = client.get(url, {"panel": "duplicates"}, **HX).content.decode()
    assert f'{reverse("customers:account-detail", args=[copy.pk])}">ACME Limited</a>' in html
    assert f"/duplicates/compare/?kind=account&amp;ids={acme.pk},{copy.pk}" in html


def test_an_invalid_email_is_shown_as_an_error_not_hidden_behind_a_duplicate_warning(
    personas, robert
):
    response = _client(personas["alice"]).post(
        reverse("customers:contact-create"), {**BOB_SMITH, "email": "bob@@acme.com"}
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="f-email-error">&#x27;bob@@acme.com&#x27; is not a valid e-mail address' in page
    assert "This looks like" not in page and 'name="create_anyway"' not in page
    assert list(Contact.objects.values_list("full_name", flat=True)) == ["Robert Smith"]
    # Once the address is right, the likely duplicate is shown as before.
    fixed = _client(personas["alice"]).post(
        reverse("customers:contact-create"), {**BOB_SMITH, "email": "bob@acme.com"}
    )
    assert fixed.status_code == 409 and "This looks like <strong>Robert Smith</strong>" in fixed.content.decode()

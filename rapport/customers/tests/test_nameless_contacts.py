"""A person with no name but an e-mail, phone or identifier is still a contact (issue 13):
the services, the API, the form and imports accept one, it shows as its e-mail or phone,
and the list, search and the duplicate queue work with it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import actor
from rapport.core.errors import ValidationFailed
from rapport.customers import services
from rapport.customers.models import Contact
from rapport.ingest.tests.helpers import csv_bytes, run_import

pytestmark = pytest.mark.django_db


def test_a_contact_with_only_an_e_mail_or_a_phone_is_created_and_shown_by_it(alice):
    by_mail = services.contact_create(
        actor=actor(alice),
        data={},
        parts=services.ContactParts(emails=[{"email": "Jo@Example.com"}]),
    )
    by_phone = services.contact_create(
        actor=actor(alice),
        data={},
        parts=services.ContactParts(phones=[{"number": "+44 20 7946 0002"}]),
    )
    by_mail.refresh_from_db()
    by_phone.refresh_from_db()
    assert by_mail.full_name == "jo@example.com" and by_phone.full_name.startswith("+44")
    # A later edit of another field keeps it; a name given later replaces it.
    services.contact_update(actor=actor(alice), contact=by_mail, data={"job_title": "Buyer"})
    by_mail.refresh_from_db()
    assert by_mail.full_name == "jo@example.com"
    services.contact_update(actor=actor(alice), contact=by_mail, data={"full_name": "Jo March"})
    by_mail.refresh_from_db()
    assert by_mail.full_name == "Jo March"


def test_a_contact_with_nothing_to_tell_it_by_is_refused(alice):
    with pytest.raises(ValidationFailed) as refused:
        services.contact_create(actor=actor(alice), data={"job_title": "Buyer"})
    assert "Enter a name" in refused.value.errors["family_name"][0]


def test_the_api_creates_a_nameless_contact(api_client):
    answer = api_client("alice").post(
        "/api/v1/contacts",
        {"emails": [{"email": "anon@example.org"}]},
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["full_name"] == "anon@example.org"


def test_an_import_row_with_no_name_but_an_e_mail_or_phone_is_a_contact(personas, client):
    rows = [["Name", "Email", "Phone"], ["", "nameless@example.org", ""], ["", "", "020 7946 0003"]]
    data = csv_bytes([*rows, ["Ann Named", "", ""]])
    done = run_import(personas["carl"], data, region="GB")
    assert (done.created, done.rejected) == (3, 0)
    nameless = Contact.objects.get(emails__email="nameless@example.org")
    assert (
        nameless.full_name == "nameless@example.org"
        and nameless.given_name == nameless.family_name == ""
    )
    # The pages that list contacts work with it.
    client.force_login(personas["carl"])
    listing = client.get(reverse("customers:contact-list"))
    assert listing.status_code == 200 and "nameless@example.org" in listing.content.decode()
    assert client.get(reverse("customers:contact-detail", args=[nameless.pk])).status_code == 200
    assert client.get(reverse("customers:contact-edit", args=[nameless.pk])).status_code == 200
    assert client.get(reverse("customers:contact-list") + "?q=nameless").status_code == 200
    client.force_login(personas["stella"])
    assert client.get(reverse("identity:queue")).status_code == 200


def test_an_import_row_with_nothing_to_tell_the_person_by_is_rejected(personas):
    done = run_import(personas["carl"], csv_bytes([["Name", "Job title"], ["", "Buyer"]]))
    assert (done.created, done.rejected) == (0, 1)

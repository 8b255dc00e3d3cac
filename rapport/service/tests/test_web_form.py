"""The public web form: no login, a token per form, the same answer whatever happens (no
existence oracle), a honeypot and a rate limit that store nothing."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from rapport.customers.models import Contact
from rapport.customers.tests.factories import make_contact
from rapport.service.models import Case, WebForm
from rapport.service.views import RATE_LIMIT
from rapport.users.models import Team

pytestmark = pytest.mark.django_db

MESSAGE = {
    "name": "Nora North",
    "email": "Nora@Northwind.example",
    "subject": "Chair",
    "message": "It broke.",
}


@pytest.fixture
def form(db):
    cache.clear()
    return WebForm.objects.create(name="Contact us", team=Team.objects.create(name="Desk"))


def _post(form, data, ip="203.0.113.9"):
    return Client().post(reverse("service:web-form", args=[form.token]), data, REMOTE_ADDR=ip)


def _page(response) -> str:
    """The answer without its per-request CSRF token."""
    return re.sub(r'"X-CSRFToken": "[^"]*"', "", response.content.decode())


def test_a_known_address_opens_a_case_on_its_contact(form, bob):
    nora = make_contact(owner=bob, full_name="Nora North", emails=["nora@northwind.example"])
    response = _post(form, MESSAGE)
    assert response.status_code == 200
    case = Case.objects.get()
    assert (case.contact, case.channel, case.team) == (nora, "web_form", form.team)
    assert case.messages.get().body == "It broke."


def test_the_answer_is_the_same_for_a_known_and_an_unknown_address(form, bob):
    make_contact(owner=bob, full_name="Nora North", emails=["nora@northwind.example"])
    known = _page(_post(form, MESSAGE))
    unknown = _page(_post(form, {**MESSAGE, "email": "someone@else.example"}, ip="203.0.113.10"))
    assert known == unknown
    assert Contact.objects.filter(emails__email="someone@else.example").exists()


def test_a_filled_honeypot_stores_nothing_and_says_thanks(form):
    response = _post(form, {**MESSAGE, "website": "http://spam.example"})
    assert response.status_code == 200 and form.thanks.encode() in response.content
    assert not Case.objects.exists()


def test_too_many_sends_from_one_address_store_nothing_more(form):
    for i in range(RATE_LIMIT + 2):
        _post(form, {**MESSAGE, "subject": f"Try {i}"})
    assert Case.objects.count() == RATE_LIMIT


def test_a_wrong_token_or_a_retired_form_is_not_found(form):
    assert Client().get(reverse("service:web-form", args=["nope"])).status_code == 404
    form.active = False
    form.save()
    assert Client().get(reverse("service:web-form", args=[form.token])).status_code == 404


def test_missing_fields_are_named(form):
    response = _post(form, {**MESSAGE, "email": "not an address", "message": ""})
    assert response.status_code == 422
    assert not Case.objects.exists()

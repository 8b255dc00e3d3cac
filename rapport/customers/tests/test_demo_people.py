"""manage.py demo: different people look different (dates of birth, households, e-mail
addresses of their own), so duplicate detection can tell them apart."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from io import StringIO

import pytest
from django.core.management import call_command

from rapport.customers import normalize
from rapport.customers.models import Contact, ContactAddress, ContactEmail, DataField

pytestmark = pytest.mark.django_db


def _demo(**options) -> None:
    options.setdefault("accounts", 20)
    options.setdefault("contacts", 600)
    options.setdefault("seed", 3)
    options.setdefault("history_contacts", 0)
    call_command("demo", no_progress=True, stdout=StringIO(), stderr=StringIO(), **options)


def test_most_demo_people_have_a_date_of_birth_in_an_identifying_field():
    _demo()

    field = DataField.objects.get(entity="contact", key="date_of_birth")
    assert field.is_identifying and field.type == DataField.Type.DATE and field.is_active
    born = [c.get("date_of_birth") for c in Contact.objects.values_list("custom", flat=True)]
    dated = [dt.date.fromisoformat(b) for b in born if b]
    assert 0.75 < len(dated) / len(born) < 0.95
    today = dt.date.today()
    assert all(18 <= (today - b).days / 365.25 <= 75 for b in dated)


def test_a_household_shares_family_name_and_address_but_not_given_name_or_birth_date():
    _demo()

    homes: dict[tuple[str, str, str], list[Contact]] = defaultdict(list)
    for address in ContactAddress.objects.select_related("contact"):
        key = (address.street, address.postal_code, address.contact.family_name)
        homes[key].append(address.contact)
    households = [people for people in homes.values() if len(people) > 1]
    assert len(households) >= 5
    for people in households:
        givens = [normalize.fold(p.given_name)[:3] for p in people]
        assert len(set(givens)) == len(givens), [p.full_name for p in people]
        born = [p.custom.get("date_of_birth") for p in people if p.custom.get("date_of_birth")]
        assert len(set(born)) == len(born)


def test_no_two_demo_people_share_an_e_mail_address():
    _demo()

    counts = Counter(ContactEmail.objects.values_list("email", flat=True))
    assert counts and max(counts.values()) == 1


def test_the_same_seed_gives_the_same_dates_and_households():
    def snapshot() -> list[tuple]:
        return list(
            Contact.objects.order_by("id").values_list("given_name", "family_name", "custom")
        )

    _demo(contacts=200)
    first = snapshot()
    Contact.objects.all().delete()
    _demo(contacts=200)
    assert snapshot() == first

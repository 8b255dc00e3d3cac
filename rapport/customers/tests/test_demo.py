"""manage.py demo: realistic, valid, searchable and reproducible demo data."""

from __future__ import annotations

from io import StringIO

import phonenumbers
import pytest
from django.core.management import call_command
from django.db.models import Count, Q

from rapport.audit.models import AuditEntry
from rapport.customers import normalize, search_index
from rapport.customers.models import (
    Account,
    AccountDomain,
    AccountMembership,
    Contact,
    ContactEmail,
    ContactPhone,
    SearchToken,
    SearchVariant,
)
from rapport.customers.selectors import search
from rapport.users.models import Role, User

pytestmark = pytest.mark.django_db


def _demo(**options) -> str:
    out = StringIO()
    options.setdefault("accounts", 6)
    options.setdefault("contacts", 80)
    options.setdefault("seed", 7)
    call_command("demo", no_progress=True, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def _snapshot() -> list[tuple]:
    rows = []
    for c in Contact.objects.order_by("id").prefetch_related(
        "emails", "phones", "memberships__account"
    ):
        rows.append((
            c.full_name, c.sort_name, c.job_title, c.language, c.time_zone, c.lifecycle, c.owner.username if c.owner else None,
            [(e.email, e.kind, e.is_primary) for e in c.emails.all()],
            [(p.e164, p.raw, p.kind, p.is_primary) for p in c.phones.all()],
            [(m.account.name, m.buying_role, m.rank, m.is_primary) for m in c.memberships.all()],
        ))  # fmt: skip
    return rows


def test_demo_creates_the_requested_numbers_of_records_and_one_audit_entry():
    output = _demo(accounts=6, contacts=80)

    assert Account.objects.count() == 6
    assert Contact.objects.count() == 80
    assert AccountDomain.objects.count() == 6
    assert ContactEmail.objects.count() >= 80
    assert ContactPhone.objects.count() >= 80
    assert AccountMembership.objects.exists()
    entries = AuditEntry.objects.filter(entity_kind="system")
    assert entries.count() == 1
    assert entries.get().changes["contacts"] == [None, 80]
    assert "rapport-demo" in output


def test_demo_creates_the_staff_users_for_every_role_and_both_sales_teams():
    _demo(contacts=5, password="s3cret-demo")

    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.check_password("s3cret-demo")
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
    teams = set(User.objects.filter(role=Role.SALES).values_list("teams__name", flat=True))
    assert teams == {"North", "South"}


def test_every_contact_has_exactly_one_primary_email_phone_and_membership_when_it_has_any():
    _demo()

    for related in ("emails", "phones", "memberships"):
        counts = Contact.objects.annotate(
            n=Count(related), primaries=Count(related, filter=Q(**{f"{related}__is_primary": True}))
        )
        assert not counts.filter(n__gt=0).exclude(primaries=1).exists(), related


def test_phone_numbers_are_valid_e164_and_their_raw_form_means_the_same_number():
    _demo()

    contact_countries = {}
    for phone in ContactPhone.objects.select_related("contact"):
        number = phonenumbers.parse(phone.e164, None)
        assert phonenumbers.is_valid_number(number), phone.e164
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == phone.e164
        region = phonenumbers.region_code_for_number(number)
        assert normalize.normalize_phone(phone.raw, region)[0] == phone.e164, phone.raw
        contact_countries[phone.contact_id] = region
    for account in Account.objects.all():
        assert phonenumbers.is_valid_number(phonenumbers.parse(account.phone, None))


def test_names_emails_and_search_index_follow_the_services_rules():
    _demo()

    for contact in Contact.objects.all():
        parts = {
            k: getattr(contact, k)
            for k in ("prefix", "given_name", "middle_name", "family_name", "suffix")
        }
        assert contact.full_name == normalize.display_name(parts)
        assert contact.sort_name == normalize.sort_key(parts)
        tokens = set(SearchToken.objects.filter(contact=contact).values_list("token", flat=True))
        assert tokens == search_index.contact_tokens(contact)
    for email in ContactEmail.objects.all():
        assert normalize.normalize_email(email.email) == (email.email, email.domain)
    vocabulary = set(SearchToken.objects.values_list("token", flat=True))
    assert vocabulary <= set(SearchVariant.objects.values_list("token", flat=True))


def test_search_finds_a_demo_contact_by_name_email_phone_and_a_typo():
    _demo()
    admin = User.objects.get(username="admin")
    contact = Contact.objects.filter(family_name__regex=r"^[A-Za-z]{6,}$").order_by("id").first()
    email = contact.emails.get(is_primary=True).email
    phone = contact.phones.get(is_primary=True).e164
    typo = contact.family_name[:2] + contact.family_name[3:]  # one letter dropped

    for q in (
        f"{contact.given_name} {contact.family_name}",
        email,
        phone,
        f"{contact.given_name} {typo}",
    ):
        found = [h.obj.pk for h in search(actor=admin, q=q, limit=50).contacts]
        assert contact.pk in found, q


def test_the_same_seed_gives_the_same_data():
    _demo(seed=11)
    first = _snapshot()
    Contact.objects.all().delete()
    Account.objects.all().delete()

    _demo(seed=11)

    assert _snapshot() == first
    _demo(seed=12)
    assert _snapshot()[len(first) :] != first


def test_if_empty_does_nothing_when_contacts_exist():
    _demo(contacts=10)

    output = _demo(contacts=10, if_empty=True)

    assert Contact.objects.count() == 10
    assert "already exist" in output

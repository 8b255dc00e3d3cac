"""Factories build records through the services, so tests see what users would see."""

from __future__ import annotations

import itertools

from rapport.audit.services import Actor
from rapport.customers import services
from rapport.customers.models import Account, Contact
from rapport.customers.services import ContactParts

_seq = itertools.count(1)
SYSTEM = Actor(user=None, via="system")


def make_account(*, owner=None, domains: list[str] | None = None, **data) -> Account:
    n = next(_seq)
    data.setdefault("name", f"Company {n} Ltd")
    if owner is not None:
        data["owner"] = owner.pk
    return services.account_create(actor=SYSTEM, data=data, domains=domains or [])


def make_contact(
    *,
    owner=None,
    emails: list[str] | None = None,
    phones: list[str] | None = None,
    account: Account | None = None,
    **data,
) -> Contact:
    n = next(_seq)
    if "full_name" not in data and "given_name" not in data and "family_name" not in data:
        data["full_name"] = f"Person{n} Example"
    if owner is not None:
        data["owner"] = owner.pk
    parts = ContactParts(
        emails=[{"email": e} for e in (emails if emails is not None else [f"person{n}@example.com"])],
        phones=[{"number": p} for p in (phones or [])],
        memberships=[{"account": account.pk}] if account is not None else [],
    )
    return services.contact_create(actor=SYSTEM, data=data, parts=parts)

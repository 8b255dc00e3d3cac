# ruff: noqa: S608 -- table and column names come from the models; values are always parameters
"""Reading records into the plain forms matching compares (``Person``, ``Organisation``).

Plain SQL, a few queries for any number of records: a full scan of a million contacts
reads each table once, in primary-key order, without building model instances.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection

from rapport.customers.models import (
    Account,
    AccountAddress,
    AccountDomain,
    AccountMembership,
    Contact,
    ContactAddress,
    ContactEmail,
    ContactPhone,
    DataField,
)
from rapport.identity.blocking import Organisation, Person
from rapport.identity.compare import identifying_field

_CHUNK = 900  # ids per IN (...) list: under SQLite's parameter limit


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _rows(sql: str, params: list[Any] | None = None) -> Iterator[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        while True:
            batch = cursor.fetchmany(20_000)
            if not batch:
                return
            yield from batch


def _in(ids: list[int] | None, column: str) -> Iterator[tuple[str, list[int]]]:
    """WHERE clauses for all rows (ids None) or for chunks of ids."""
    if ids is None:
        yield "", []
        return
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        yield f" WHERE {column} IN ({', '.join(['%s'] * len(chunk))})", chunk


def identifying_keys(kind: str, *, typed: bool = False) -> list[Any]:
    """The keys of the active identifying data fields; ``typed``: (key, type) pairs."""
    rows = DataField.objects.filter(entity=kind, is_identifying=True, is_active=True)
    if typed:
        return list(rows.values_list("key", "type"))
    return list(rows.values_list("key", flat=True))


def identifying_fields(kind: str, *, labels: bool = False) -> list[Any]:
    """The comparison fields of the active identifying data fields, sorted (as
    ``compare.identifying_fields_of`` finds them in the values); ``labels``: (field, label)."""
    found: list[tuple[str, str]] = sorted(
        (identifying_field(key, type_), label)
        for key, type_, label in DataField.objects.filter(
            entity=kind, is_identifying=True, is_active=True
        ).values_list("key", "type", "label")
    )
    if labels:
        return found
    return [name for name, _ in found]


def identifying_values(custom: dict[str, Any], typed: list[tuple[str, str]]) -> tuple[str, ...]:
    """A record's identifying values as matching compares them: "date:birth_date=1980-03-10",
    each named by its comparison field (``compare.identifying_field``)."""
    return tuple(
        f"{identifying_field(key, type_)}={custom[key]}"
        for key, type_ in typed
        if custom.get(key) not in (None, "")
    )


def _address(street: str, postal_code: str, city: str) -> str:
    return " ".join(p for p in (street, postal_code, city) if p)


def _multi(sql: str, ids: list[int] | None, column: str) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = defaultdict(list)
    for where, params in _in(ids, column):
        for owner, *value in _rows(sql + where, params):
            out[owner].append(value[0] if len(value) == 1 else tuple(value))
    return out


def people(
    ids: Iterable[int] | None = None, *, typed: list[tuple[str, str]] | None = None
) -> Iterator[tuple[int, Person]]:
    """(id, Person) for the contacts ``ids`` (every contact if None), in id order;
    ``typed``: the identifying fields (``identifying_keys(typed=True)``) if the caller has
    them already (the check before create: one query fewer)."""
    wanted = sorted(set(ids)) if ids is not None else None
    if typed is None:
        typed = identifying_keys("contact", typed=True)
    keys = [key for key, _ in typed]
    emails = _multi(f"SELECT contact_id, email FROM {_table(ContactEmail)}", wanted, "contact_id")
    phones = _multi(f"SELECT contact_id, e164 FROM {_table(ContactPhone)}", wanted, "contact_id")
    orgs: dict[int, str] = {}
    for where, params in _in(wanted, "m.contact_id"):
        sql = (
            f"SELECT m.contact_id, a.name, m.is_primary FROM {_table(AccountMembership)} m "
            f"JOIN {_table(Account)} a ON a.id = m.account_id{where}"
        )
        for contact_id, name, primary in _rows(sql, params):
            if primary or contact_id not in orgs:
                orgs[contact_id] = name
    addresses: dict[int, str] = {}
    for where, params in _in(wanted, "contact_id"):
        sql = f"SELECT contact_id, street, postal_code, city, is_primary FROM {_table(ContactAddress)}{where}"
        for contact_id, street, postal_code, city, primary in _rows(sql, params):
            if primary or contact_id not in addresses:
                addresses[contact_id] = _address(street, postal_code, city)
    custom_column = ", custom" if keys else ""
    for where, params in _in(wanted, "id"):
        sql = f"SELECT id, given_name, family_name{custom_column} FROM {_table(Contact)}{where} ORDER BY id"
        for row in _rows(sql, params):
            pk = row[0]
            identifiers: tuple[str, ...] = ()
            if keys:
                custom = row[3] if isinstance(row[3], dict) else json_loads(row[3])
                identifiers = identifying_values(custom, typed)
            yield (
                pk,
                # Names and employers repeat across a million people: one string each.
                Person(
                    given=sys.intern(row[1]),
                    family=sys.intern(row[2]),
                    emails=tuple(emails.pop(pk, ())),
                    phones=tuple(phones.pop(pk, ())),
                    organisation=sys.intern(orgs.pop(pk, "")),
                    address=addresses.pop(pk, ""),
                    identifiers=identifiers,
                ),
            )


def json_loads(text: Any) -> dict:
    try:
        value = json.loads(text or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def organisations(ids: Iterable[int] | None = None) -> Iterator[tuple[int, Organisation]]:
    """(id, Organisation) for the accounts ``ids`` (every account if None), in id order."""
    wanted = sorted(set(ids)) if ids is not None else None
    domains = _multi(
        f"SELECT account_id, domain FROM {_table(AccountDomain)}", wanted, "account_id"
    )
    addresses: dict[int, str] = {}
    for where, params in _in(wanted, "account_id"):
        sql = f"SELECT account_id, street, postal_code, city, is_primary FROM {_table(AccountAddress)}{where}"
        for account_id, street, postal_code, city, primary in _rows(sql, params):
            if primary or account_id not in addresses:
                addresses[account_id] = _address(street, postal_code, city)
    for where, params in _in(wanted, "id"):
        for pk, name, phone in _rows(
            f"SELECT id, name, phone FROM {_table(Account)}{where} ORDER BY id", params
        ):
            yield (
                pk,
                Organisation(
                    name=name,
                    domains=tuple(domains.pop(pk, ())),
                    phones=(phone,) if phone else (),
                    address=addresses.pop(pk, ""),
                ),
            )

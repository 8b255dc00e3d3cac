"""One contact and all its parts in one SQL query, for ``selectors.contact_detail``: the
API's GET /contacts/{id} and the web contact page.

The ORM version (``selectors.contact_get``) costs eight queries and, above all, the
building of eight querysets and dozens of model instances: about 7 ms a request against
1.5 ms for the rest of the request. Here the SQL is written once per database vendor,
each part comes back as a JSON array of rows, and the result is the plain dict that
``render.contact`` makes from a model instance (a test holds the two to the same output).

The permission rules are the selector's: the role must be allowed to view contacts (403), and a
contact outside the caller's visibility is "not found" (404), checked on the row's owner
with ``permissions.can_see_record``, the same rule ``permissions.visible`` filters with.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Model
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from rapport.core.errors import Moved, NotFound
from rapport.customers.api.render import CONTACT_FIELDS, MEMBERSHIP_FIELDS, PART_FIELDS, Owned
from rapport.customers.models import (
    Account,
    AccountMembership,
    Contact,
    ContactAddress,
    ContactEmail,
    ContactExternalId,
    ContactPhone,
    Tag,
)
from rapport.users import permissions
from rapport.users.models import RecordKind, User

# The owner's name columns, joined so the web page can show the owner without a query.
_OWNER_FIELDS = ("first_name", "last_name", "username")

# part -> (model, columns, ORDER BY); the orders are those of the models' Meta and of the
# selector's membership prefetch, so the lists come out as the ORM gives them.
_PARTS: dict[str, tuple[type[Model], tuple[str, ...], str]] = {
    "emails": (ContactEmail, PART_FIELDS["emails"], "p.is_primary DESC, p.id"),
    "phones": (ContactPhone, PART_FIELDS["phones"], "p.is_primary DESC, p.id"),
    "addresses": (ContactAddress, PART_FIELDS["addresses"], "p.is_primary DESC, p.id"),
    "external_ids": (ContactExternalId, PART_FIELDS["external_ids"], "p.id"),
}
_BOOLEAN = {"is_primary"}
_sql: dict[str, str] = {}


def _column(model: type[Model], name: str) -> str:
    """The quoted column of a field, named as on the instance (``owner_id``, ``email``)."""
    field = next(f for f in model._meta.concrete_fields if name in (f.attname, f.name))
    return connection.ops.quote_name(field.column)


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _rows(columns: list[str], source: str, order: str) -> str:
    """A scalar subquery: the rows of ``source`` as a JSON array of arrays, in ``order``."""
    if connection.vendor == "postgresql":
        return (
            f"(SELECT json_agg(json_build_array({', '.join(columns)}) ORDER BY {order}) {source})"
        )
    # SQLite before 3.44 has no ORDER BY inside an aggregate; it aggregates a sorted
    # subquery in that order. json() keeps each row an array, not a string.
    return (
        f"(SELECT json_group_array(json(r)) FROM "  # noqa: S608
        f"(SELECT json_array({', '.join(columns)}) AS r {source} ORDER BY {order}))"
    )


def _build_sql() -> str:
    # Every name in it comes from the models' metadata; the one value is a parameter.
    contact_columns = [f"c.{_column(Contact, f)}" for f in ("id", *CONTACT_FIELDS)]
    subqueries = []
    for name, (model, fields, order) in _PARTS.items():
        source = f"FROM {_table(model)} p WHERE p.{_column(model, 'contact_id')} = c.{_column(Contact, 'id')}"
        subqueries.append(
            _rows([f"p.{_column(model, f)}" for f in fields], source, order) + f" AS {name}"
        )
    membership_columns = [f"p.{_column(AccountMembership, f)}" for f in MEMBERSHIP_FIELDS] + [
        f"a.{_column(Account, 'name')}",
        f"a.{_column(Account, 'owner_id')}",
    ]
    source = (
        f"FROM {_table(AccountMembership)} p JOIN {_table(Account)} a "
        f"ON a.{_column(Account, 'id')} = p.{_column(AccountMembership, 'account_id')} "
        f"WHERE p.{_column(AccountMembership, 'contact_id')} = c.{_column(Contact, 'id')}"
    )
    subqueries.append(
        _rows(membership_columns, source, "p.is_primary DESC, p.rank, p.id") + " AS memberships"
    )
    through = Contact.tags.through
    source = (
        f"FROM {_table(through)} ct JOIN {_table(Tag)} t "
        f"ON t.{_column(Tag, 'id')} = ct.{connection.ops.quote_name('tag_id')} "
        f"WHERE ct.{connection.ops.quote_name('contact_id')} = c.{_column(Contact, 'id')}"
    )
    subqueries.append(_rows([f"t.{_column(Tag, 'name')}"], source, "1") + " AS tags")
    owner_columns = [f"u.{_column(User, f)}" for f in _OWNER_FIELDS]
    return (
        f"SELECT {', '.join(contact_columns + subqueries + owner_columns)} "  # noqa: S608
        f"FROM {_table(Contact)} c LEFT JOIN {_table(User)} u "
        f"ON u.{_column(User, 'id')} = c.{_column(Contact, 'owner_id')} "
        f"WHERE c.{_column(Contact, 'id')} = %s"
    )


def _json(value: Any, default: Any) -> Any:
    if value is None:
        return default
    if isinstance(value, str | bytes):  # SQLite, and jsonb columns on PostgreSQL
        return json.loads(value)
    return value  # json built by PostgreSQL, already decoded by the driver


def _datetime(value: Any) -> dt.datetime:
    if isinstance(value, str):  # SQLite stores text
        value = parse_datetime(value)
    if settings.USE_TZ and timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return value  # type: ignore[no-any-return]


def _date(value: Any) -> dt.date | None:
    return parse_date(value) if isinstance(value, str) else value


def raise_if_merged(kind: str, pk: int, *, actor: Any) -> None:
    """A merged-away id keeps resolving: raise ``Moved`` with the survivor's id, if the
    actor may see the survivor. Otherwise return, and the caller answers NotFound exactly as
    for an id that never existed: a redirect would tell that the record exists, and where."""
    from rapport.identity.models import MergedId

    survivor = MergedId.objects.filter(kind=kind, old_id=pk).values_list("survivor_id", flat=True).first()
    if survivor is None:
        return
    model: Any = Contact if kind == "contact" else Account
    owner = model.objects.filter(pk=survivor).values_list("owner_id", flat=True).first()
    if permissions.can_see_record(actor, kind, Owned(owner)):
        raise Moved(kind=kind, target_id=survivor)


def contact_row(*, actor: User, pk: int) -> dict[str, Any]:
    """The contact ``pk`` as ``render.contact`` takes it: every field, the parts as lists of
    dicts, memberships with ``account_name`` and ``account_owner_id``, and ``owner_user`` (the
    owner's first_name, last_name and username, or None). NotFound if the actor may not see it."""
    permissions.require(actor, "view", RecordKind.CONTACT)
    sql = _sql.get(connection.vendor)
    if sql is None:
        sql = _sql[connection.vendor] = _build_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk])
        row = cursor.fetchone()
    if row is None:
        raise_if_merged("contact", pk, actor=actor)
        raise NotFound("No such contact.")
    names = ("id", *CONTACT_FIELDS)
    values = dict(zip(names, row[: len(names)], strict=True))
    if not permissions.can_see_record(actor, RecordKind.CONTACT, Owned(values["owner_id"])):
        raise NotFound("No such contact.")
    values["custom"] = _json(values["custom"], {})
    values["created_at"] = _datetime(values["created_at"])
    values["updated_at"] = _datetime(values["updated_at"])
    rest = iter(row[len(names) :])
    for name, (_model, fields, _order) in _PARTS.items():
        values[name] = [
            {f: bool(v) if f in _BOOLEAN else v for f, v in zip(fields, r, strict=True)}
            for r in _json(next(rest), [])
        ]
    memberships = []
    for r in _json(next(rest), []):
        m = dict(zip((*MEMBERSHIP_FIELDS, "account_name", "account_owner_id"), r, strict=True))
        m["is_primary"] = bool(m["is_primary"])
        m["started_on"] = _date(m["started_on"])
        m["ended_on"] = _date(m["ended_on"])
        memberships.append(m)
    values["memberships"] = memberships
    values["tags"] = [t[0] for t in _json(next(rest), [])]
    owner = dict(zip(_OWNER_FIELDS, rest, strict=True))
    values["owner_user"] = None if owner["username"] is None else owner
    return values

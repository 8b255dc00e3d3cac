"""What matched contacts have now, and writing a change to one: shared by the import's
update path and by undo."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from rapport.core.bulk import json_text, rows_in
from rapport.customers.models import (
    AccountMembership,
    Contact,
    ContactAddress,
    ContactEmail,
    ContactExternalId,
    ContactPhone,
    Tag,
)

CONTACT_FIELDS = (
    "prefix", "given_name", "middle_name", "family_name", "suffix", "full_name", "sort_name",
    "job_title", "department", "preferred_channel", "language", "time_zone", "source", "lifecycle",
)  # fmt: skip
@dataclass
class Parts:
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    xids: set[tuple[str, str]] = field(default_factory=set)
    accounts: set[int] = field(default_factory=set)
    tags: set[str] = field(default_factory=set)
    has_address: bool = False
    has_primary_account: bool = False


def load_parts(ids: list[int]) -> collections.defaultdict[int, Parts]:
    """The parts each contact has, by contact id (an empty Parts for one with none)."""
    out: collections.defaultdict[int, Parts] = collections.defaultdict(Parts)
    of = out.__getitem__

    for pk, email in rows_in(ContactEmail, "contact", ids, ("contact", "email")):
        of(pk).emails.add(email)
    for pk, e164 in rows_in(ContactPhone, "contact", ids, ("contact", "e164")):
        of(pk).phones.add(e164)
    for pk, s, x in rows_in(ContactExternalId, "contact", ids, ("contact", "source", "external_id")):
        of(pk).xids.add((s, x))
    for pk, account, primary in rows_in(AccountMembership, "contact", ids, ("contact", "account", "is_primary")):
        of(pk).accounts.add(account)
        of(pk).has_primary_account |= bool(primary)
    for (pk,) in rows_in(ContactAddress, "contact", ids, ("contact",)):
        of(pk).has_address = True
    through = Contact.tags.through
    tag_rows = rows_in(through, "contact", ids, ("contact", "tag"))
    if tag_rows:
        names = dict(Tag.objects.filter(pk__in={t for _, t in tag_rows}).values_list("pk", "name"))
        for pk, tag in tag_rows:
            of(pk).tags.add(names[tag])
    return out


def write_contact(pk: int, fields: dict[str, Any], custom: dict | None, version: int, now: Any) -> None:
    """One UPDATE of a contact's columns, its version and time stamp."""
    qn = connection.ops.quote_name
    values = dict(fields)
    sets = [f"{qn(k)} = %s" for k in values]
    params: list[Any] = list(values.values())
    if custom is not None:
        sets.append(f"{qn('custom')} = %s" + ("::jsonb" if connection.vendor == "postgresql" else ""))
        params.append(json_text(custom))
    sets += [f"{qn('version')} = %s", f"{qn('updated_at')} = %s"]
    params += [version, now, pk]
    table = qn(Contact._meta.db_table)
    with connection.cursor() as cursor:
        # Column names come from the model's fields, never from input.
        cursor.execute(f"UPDATE {table} SET {', '.join(sets)} WHERE id = %s", params)  # noqa: S608

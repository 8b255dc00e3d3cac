"""Records as the API shows them: plain dicts, without the fields the caller's role may not see.

List renderers read only what the list selectors prefetch, so a page costs the same number
of queries whatever its length.
"""

from __future__ import annotations

from typing import Any

from django.db.models import prefetch_related_objects

from rapport.audit.models import AuditEntry
from rapport.customers.models import Account, AccountMembership, Contact, DataField
from rapport.users import permissions
from rapport.users.models import RecordKind, User

PART_FIELDS = {
    "emails": ("id", "email", "domain", "kind", "is_primary", "source"),
    "phones": ("id", "e164", "raw", "extension", "kind", "is_primary", "source"),
    "addresses": (
        "id",
        "street",
        "city",
        "region",
        "postal_code",
        "country",
        "kind",
        "is_primary",
        "source",
    ),
    "external_ids": ("id", "source", "external_id"),
    "domains": ("id", "domain"),
}
# Always shown: identity and concurrency, which no role-hiding may remove.
ALWAYS = {"id", "version", "full_name", "name", "created_at", "updated_at"}


def _visible(user: User, kind: str, values: dict[str, Any]) -> dict[str, Any]:
    access = permissions.field_access(user, kind)
    out = {k: v for k, v in values.items() if k in ALWAYS or access.can_view(k)}
    if isinstance(out.get("custom"), dict):
        out["custom"] = {k: v for k, v in out["custom"].items() if access.can_view(f"custom.{k}")}
    return out


def _tags(obj: Contact | Account) -> list[str]:
    return sorted(t.name for t in obj.tags.all())


def part(user: User, name: str, obj: Any) -> dict[str, Any]:
    if name == "memberships":
        return membership(user, obj)
    return {f: getattr(obj, f) for f in PART_FIELDS[name]}


def membership(user: User, m: AccountMembership) -> dict[str, Any]:
    out = {
        "id": m.pk,
        "account": m.account_id,
        "is_primary": m.is_primary,
        "job_title": m.job_title,
        "buying_role": m.buying_role,
        "rank": m.rank,
        "started_on": m.started_on,
        "ended_on": m.ended_on,
    }
    # The account's name only if the caller may see that account.
    if permissions.can_see_record(user, RecordKind.ACCOUNT, m.account):
        out["account_name"] = m.account.name
    return out


def contact(user: User, c: Contact) -> dict[str, Any]:
    values = {
        "id": c.pk,
        "version": c.version,
        "full_name": c.full_name,
        **{
            f: getattr(c, f)
            for f in (
                "prefix",
                "given_name",
                "middle_name",
                "family_name",
                "suffix",
                "job_title",
                "department",
                "preferred_channel",
                "language",
                "time_zone",
                "source",
                "lifecycle",
            )
        },
        "owner": c.owner_id,
        "tags": _tags(c),
        "custom": c.custom,
        "emails": [part(user, "emails", e) for e in c.emails.all()],
        "phones": [part(user, "phones", p) for p in c.phones.all()],
        "addresses": [part(user, "addresses", a) for a in c.addresses.all()],
        "memberships": [membership(user, m) for m in c.memberships.all()],
        "external_ids": [part(user, "external_ids", x) for x in c.external_ids.all()],
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    }
    return _visible(user, RecordKind.CONTACT, values)


def contact_summaries(user: User, contacts: list[Contact]) -> list[dict[str, Any]]:
    prefetch_related_objects(contacts, "tags")
    rows = []
    for c in contacts:
        email = c.primary_emails[0].email if c.primary_emails else None  # type: ignore[attr-defined]
        phone = c.primary_phones[0].e164 if c.primary_phones else None  # type: ignore[attr-defined]
        m = c.primary_memberships[0] if c.primary_memberships else None  # type: ignore[attr-defined]
        account = None
        if m is not None and permissions.can_see_record(user, RecordKind.ACCOUNT, m.account):
            account = {"id": m.account_id, "name": m.account.name}
        values = {
            "id": c.pk,
            "version": c.version,
            "full_name": c.full_name,
            "given_name": c.given_name,
            "family_name": c.family_name,
            "job_title": c.job_title,
            "lifecycle": c.lifecycle,
            "owner": c.owner_id,
            "tags": _tags(c),
            "custom": c.custom,
            "primary_email": email,
            "primary_phone": phone,
            "primary_account": account,
            "updated_at": c.updated_at,
        }
        visible = _visible(user, RecordKind.CONTACT, values)
        # A hidden part hides its summary too.
        access = permissions.field_access(user, RecordKind.CONTACT)
        for field, summary in (
            ("emails", "primary_email"),
            ("phones", "primary_phone"),
            ("memberships", "primary_account"),
        ):
            if not access.can_view(field):
                visible.pop(summary, None)
        rows.append(visible)
    return rows


def account(user: User, a: Account) -> dict[str, Any]:
    values = {
        "id": a.pk,
        "version": a.version,
        "name": a.name,
        **{
            f: getattr(a, f)
            for f in ("legal_name", "industry", "size", "country", "phone", "lifecycle", "notes")
        },
        "parent": a.parent_id,
        "owner": a.owner_id,
        "tags": _tags(a),
        "custom": a.custom,
        "domains": [part(user, "domains", d) for d in a.domains.all()],
        "addresses": [part(user, "addresses", x) for x in a.addresses.all()],
        "external_ids": [part(user, "external_ids", x) for x in a.external_ids.all()],
        "created_at": a.created_at,
        "updated_at": a.updated_at,
    }
    return _visible(user, RecordKind.ACCOUNT, values)


def account_summaries(user: User, accounts: list[Account]) -> list[dict[str, Any]]:
    prefetch_related_objects(accounts, "tags")
    return [
        _visible(
            user,
            RecordKind.ACCOUNT,
            {
                "id": a.pk,
                "version": a.version,
                "name": a.name,
                "industry": a.industry,
                "country": a.country,
                "lifecycle": a.lifecycle,
                "owner": a.owner_id,
                "tags": _tags(a),
                "custom": a.custom,
                "domains": [d.domain for d in a.domains.all()],
                "updated_at": a.updated_at,
            },
        )
        for a in accounts
    ]


def person(m: AccountMembership) -> dict[str, Any]:
    return {
        "membership": m.pk,
        "contact": m.contact_id,
        "full_name": m.contact.full_name,
        "job_title": m.job_title or m.contact.job_title,
        "buying_role": m.buying_role,
        "rank": m.rank,
        "is_primary": m.is_primary,
        "started_on": m.started_on,
        "ended_on": m.ended_on,
    }


def datafield(df: DataField) -> dict[str, Any]:
    names = (
        "id",
        "version",
        "entity",
        "key",
        "label",
        "help_text",
        "type",
        "choices",
        "required",
        "view_roles",
        "edit_roles",
        "position",
        "is_active",
    )
    return {n: getattr(df, n) for n in names}


def history_entry(user: User, kind: str, e: AuditEntry) -> dict[str, Any]:
    return {
        "id": e.pk,
        "at": e.at,
        "actor": e.actor_name or "system",
        "via": e.via,
        "action": e.action,
        "object_kind": e.object_kind,
        "object_id": e.object_id,
        # selectors.history has removed the fields the caller may not see.
        "changes": e.changes,
    }

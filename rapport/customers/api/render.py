"""Records as the API shows them: plain dicts, without the fields the caller's role may not see.

List renderers read only what the list selectors prefetch, so a page costs the same number
of queries whatever its length.
"""

from __future__ import annotations

from typing import Any

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
# A contact's own columns, as the API reads them (the parts are in PART_FIELDS).
CONTACT_FIELDS = (
    "version",
    "full_name",
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
    "owner_id",
    "custom",
    "created_at",
    "updated_at",
)
MEMBERSHIP_FIELDS = (
    "id",
    "account_id",
    "is_primary",
    "job_title",
    "buying_role",
    "rank",
    "started_on",
    "ended_on",
)
# Always shown: identity and concurrency, which no role-hiding may remove.
ALWAYS = {"id", "version", "full_name", "name", "created_at", "updated_at"}


def _visible(user: User, kind: str, values: dict[str, Any]) -> dict[str, Any]:
    return _shown(permissions.field_access(user, kind), values)


def _shown(access: permissions.FieldAccess, values: dict[str, Any]) -> dict[str, Any]:
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
    return _membership(user, _membership_values(m))


def _membership_values(m: AccountMembership) -> dict[str, Any]:
    return {
        **{f: getattr(m, f) for f in MEMBERSHIP_FIELDS},
        "account_name": m.account.name,
        "account_owner_id": m.account.owner_id,
    }


def _membership(user: User, m: dict[str, Any]) -> dict[str, Any]:
    out = {
        "id": m["id"],
        "account": m["account_id"],
        "is_primary": m["is_primary"],
        "job_title": m["job_title"],
        "buying_role": m["buying_role"],
        "rank": m["rank"],
        "started_on": m["started_on"],
        "ended_on": m["ended_on"],
    }
    # The account's name only if the caller may see that account.
    if permissions.can_see_record(user, RecordKind.ACCOUNT, Owned(m["account_owner_id"])):
        out["account_name"] = m["account_name"]
    return out


class Owned:
    """What ``permissions.can_see_record`` reads of a record: its owner."""

    __slots__ = ("owner_id",)

    def __init__(self, owner_id: int | None) -> None:
        self.owner_id = owner_id


def contact(user: User, c: Contact) -> dict[str, Any]:
    """A contact model instance (with its parts prefetched) as the API shows it."""
    return contact_values(
        user,
        {
            "id": c.pk,
            **{f: getattr(c, f) for f in CONTACT_FIELDS},
            "tags": [t.name for t in c.tags.all()],
            **{
                name: [
                    {f: getattr(p, f) for f in PART_FIELDS[name]} for p in getattr(c, name).all()
                ]
                for name in ("emails", "phones", "addresses", "external_ids")
            },
            "memberships": [_membership_values(m) for m in c.memberships.all()],
        },
    )


def contact_values(user: User, v: dict[str, Any]) -> dict[str, Any]:
    """A contact as the API shows it, from its plain values (see ``contact`` and
    ``detail_query.contact_row``), in the order of ``ContactOut``."""
    values = {
        "id": v["id"],
        "version": v["version"],
        "full_name": v["full_name"],
        "prefix": v["prefix"],
        "given_name": v["given_name"],
        "middle_name": v["middle_name"],
        "family_name": v["family_name"],
        "suffix": v["suffix"],
        "job_title": v["job_title"],
        "department": v["department"],
        "preferred_channel": v["preferred_channel"],
        "language": v["language"],
        "time_zone": v["time_zone"],
        "owner": v["owner_id"],
        "source": v["source"],
        "lifecycle": v["lifecycle"],
        "tags": sorted(v["tags"]),
        "custom": v["custom"],
        "emails": v["emails"],
        "phones": v["phones"],
        "addresses": v["addresses"],
        "memberships": [_membership(user, m) for m in v["memberships"]],
        "external_ids": v["external_ids"],
        "created_at": v["created_at"],
        "updated_at": v["updated_at"],
    }
    return _visible(user, RecordKind.CONTACT, values)


def _tag_names(model: type[Contact] | type[Account], ids: list[int]) -> dict[int, list[str]]:
    """The tags of a page of records, by record id, in one query.

    Cheaper than prefetching: no Tag instances and no related manager per record.
    """
    through = model.tags.through
    key = f"{model._meta.model_name}_id"
    names: dict[int, list[str]] = {i: [] for i in ids}
    for pk, name in through.objects.filter(**{f"{key}__in": ids}).values_list(key, "tag__name"):
        names[pk].append(name)
    return names


def contact_summaries(user: User, contacts: list[Contact]) -> list[dict[str, Any]]:
    tags = _tag_names(Contact, [c.pk for c in contacts])
    access = permissions.field_access(user, RecordKind.CONTACT)
    # A hidden part hides its summary too.
    shown = {
        summary: access.can_view(part)
        for part, summary in (
            ("emails", "primary_email"),
            ("phones", "primary_phone"),
            ("memberships", "primary_account"),
        )
    }
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
            "tags": sorted(tags[c.pk]),
            "custom": c.custom,
            "primary_email": email,
            "primary_phone": phone,
            "primary_account": account,
            "updated_at": c.updated_at,
        }
        rows.append({k: v for k, v in _shown(access, values).items() if shown.get(k, True)})
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
    tags = _tag_names(Account, [a.pk for a in accounts])
    access = permissions.field_access(user, RecordKind.ACCOUNT)
    return [
        _shown(
            access,
            {
                "id": a.pk,
                "version": a.version,
                "name": a.name,
                "industry": a.industry,
                "country": a.country,
                "lifecycle": a.lifecycle,
                "owner": a.owner_id,
                "tags": sorted(tags[a.pk]),
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
        "is_identifying",
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
        "import_id": (e.context or {}).get("import"),
    }

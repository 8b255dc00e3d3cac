"""Writes to the customer master. Web views, the API and imports all come through here.

Every service: checks the actor's rights (record, action, fields), cleans values with the
same rules on every path (``rapport.customers.normalize`` and ``datadict``), runs in one
transaction, refuses a stale ``expected_version``, bumps the record's version and writes
the audit trail with each field's old and new value. Nothing is half-saved: any error
rolls back the whole call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.audit.services import Actor, audit_record, diff, snapshot
from rapport.core import cache
from rapport.core.errors import NotFound, ValidationFailed, VersionConflict
from rapport.core.transactions import after_commit
from rapport.customers import normalize, search_index
from rapport.customers.datadict import active_fields, clean_custom
from rapport.customers.models import (
    Account,
    AccountAddress,
    AccountDomain,
    AccountExternalId,
    AccountMembership,
    Contact,
    ContactAddress,
    ContactEmail,
    ContactExternalId,
    ContactPhone,
    DataField,
    Kind,
    Lifecycle,
    Tag,
)
from rapport.users import permissions
from rapport.users.models import RecordKind, User

NAME_PARTS = ["prefix", "given_name", "middle_name", "family_name", "suffix"]
CONTACT_FIELDS = [
    *NAME_PARTS,
    "job_title",
    "department",
    "preferred_channel",
    "language",
    "time_zone",
    "owner",
    "source",
    "lifecycle",
    "tags",
    "custom",
]
ACCOUNT_FIELDS = [
    "name",
    "legal_name",
    "industry",
    "size",
    "country",
    "phone",
    "parent",
    "owner",
    "lifecycle",
    "tags",
    "notes",
    "custom",
]

Errors = dict[str, list[str]]


def _add_error(errors: Errors, name: str, message: str) -> None:
    errors.setdefault(name, []).append(message)


def _has_controls(errors: Errors, name: str, value: str) -> bool:
    """Whether ``value`` holds a control character; if so, the field's error says so."""
    try:
        normalize.check_text(value)
    except ValueError as exc:
        _add_error(errors, name, str(exc))
        return True
    return False


def _text(errors: Errors, data: dict, cleaned: dict, name: str, max_length: int) -> None:
    if name not in data:
        return
    value = data[name]
    if value is None:
        value = ""
    if not isinstance(value, str):
        _add_error(errors, name, "Must be text.")
        return
    if _has_controls(errors, name, value):
        return
    value = " ".join(value.split()) if name != "notes" else value.strip()
    if len(value) > max_length:
        _add_error(errors, name, f"At most {max_length} characters.")
        return
    cleaned[name] = value


def _choice(errors: Errors, data: dict, cleaned: dict, name: str, choices: Any, blank=False) -> None:
    if name not in data:
        return
    value = data[name] if data[name] is not None else ""
    if value == "" and blank:
        cleaned[name] = ""
    elif value not in choices.values:
        _add_error(errors, name, f"Choose one of: {', '.join(choices.values)}.")
    else:
        cleaned[name] = value


def _normalized(
    errors: Errors, data: dict, cleaned: dict, name: str, fn: Callable[[str], str]
) -> None:
    if name not in data:
        return
    value = data[name]
    if value in (None, ""):
        cleaned[name] = ""
        return
    try:
        cleaned[name] = fn(str(value))
    except ValueError as exc:
        _add_error(errors, name, str(exc))


def _owner(errors: Errors, data: dict, cleaned: dict) -> None:
    if "owner" not in data:
        return
    value = data["owner"]
    if value in (None, ""):
        cleaned["owner"] = None
        return
    owner_id = value.pk if isinstance(value, User) else value
    try:
        cleaned["owner"] = User.objects.get(pk=int(owner_id), is_active=True)
    except (User.DoesNotExist, TypeError, ValueError):
        _add_error(errors, "owner", f"No active user with id {owner_id}.")


def _tags(errors: Errors, data: dict, cleaned: dict) -> None:
    if "tags" not in data:
        return
    value = data["tags"] or []
    if isinstance(value, str):
        value = [t for t in value.split(",")]
    try:
        cleaned["tags"] = sorted({normalize.normalize_tag(str(t)) for t in value if str(t).strip()})
    except ValueError as exc:
        _add_error(errors, "tags", str(exc))


def _custom(
    errors: Errors, data: dict, cleaned: dict, entity: str, existing: dict, actor: Actor
) -> None:
    values = data.get("custom") or {}
    if not isinstance(values, dict):
        _add_error(errors, "custom", "Must be an object of data-dictionary keys and values.")
        return
    result, custom_errors = clean_custom(entity, values, existing=existing)
    access = permissions.field_access(actor.user, entity) if actor.user else None
    for name, messages in custom_errors.items():
        # A required field the actor may not edit is not theirs to fill in.
        if access is not None and name[len("custom.") :] not in values and not access.can_edit(name):
            continue
        errors[name] = messages
    if "custom" in data or result != existing:
        cleaned["custom"] = result


def clean_contact_scalars(data: dict[str, Any]) -> tuple[dict[str, Any], Errors]:
    """Cleaned name parts, texts, choices, language and time zone of ``data``, and errors.

    Needs no database: imports run it in worker processes. A ``full_name`` as typed fills
    the name parts that were not given separately. Other keys are left alone.
    """
    errors: Errors = {}
    full = data.get("full_name")
    if full:
        if not isinstance(full, str):
            _add_error(errors, "full_name", "Must be text.")
        elif _has_controls(errors, "full_name", full):
            pass  # said of the name as typed, not of the part the splitting would put it in
        else:
            data = dict(data)
            for key, value in normalize.parse_full_name(full).items():
                data.setdefault(key, value)
    cleaned: dict[str, Any] = {}
    for name in NAME_PARTS:
        _text(errors, data, cleaned, name, 100 if name.endswith("name") else 30)
    for name in ("job_title", "department"):
        _text(errors, data, cleaned, name, 150)
    _text(errors, data, cleaned, "source", 100)
    _choice(errors, data, cleaned, "preferred_channel", Contact.Channel)
    _choice(errors, data, cleaned, "lifecycle", Lifecycle)
    _normalized(errors, data, cleaned, "language", normalize.normalize_language)
    _normalized(errors, data, cleaned, "time_zone", normalize.normalize_time_zone)
    return cleaned, errors


def clean_contact_data(
    data: dict[str, Any], *, actor: Actor, existing: Contact | None = None, reachable: bool | None = None
) -> dict[str, Any]:
    """Cleaned values of the contact fields in ``data``; raises ValidationFailed.

    A ``full_name`` as typed fills the name parts that were not given separately. A contact
    needs a given or family name unless it can be told by an e-mail address, a phone number
    or an external id (issue 13: such a row is still a person); ``reachable`` says whether
    it has one (None: look at ``existing``'s).
    """
    data = dict(data)
    full = data.get("full_name")
    cleaned, errors = clean_contact_scalars(data)
    for name in sorted(set(data) - set(CONTACT_FIELDS) - {"full_name"}):
        _add_error(errors, name, "Unknown field.")
    _owner(errors, data, cleaned)
    _tags(errors, data, cleaned)
    _custom(errors, data, cleaned, "contact", existing.custom if existing else {}, actor)
    parts = {k: cleaned.get(k, getattr(existing, k, "") if existing else "") for k in NAME_PARTS}
    if not (parts["given_name"] or parts["family_name"]) and "full_name" not in errors:
        if reachable is None:
            reachable = existing is not None and has_handle(existing)
        if not reachable:
            _add_error(
                errors,
                "full_name" if full is not None else "family_name",
                "Enter a name (or give an e-mail address, phone number or external id).",
            )
    if errors:
        raise ValidationFailed("The contact has invalid values.", errors=errors)
    return cleaned


def _identifying_value(contact: Contact) -> str:
    custom = contact.custom or {}
    return next((str(custom[df.key]) for df in active_fields("contact") if df.is_identifying and custom.get(df.key) not in (None, "", [])), "")


def has_handle(contact: Contact) -> bool:
    """Whether a contact can be told without a name: an e-mail, a phone, an external id or
    an identifying data-dictionary value."""
    return bool(contact.emails.exists() or contact.phones.exists() or contact.external_ids.exists() or _identifying_value(contact))


def contact_handle(contact: Contact) -> str:
    """What shows for a contact with no name: its primary (else first) e-mail address,
    else its phone number as typed, else its external id."""
    email = contact.emails.order_by("-is_primary", "pk").values_list("email", flat=True).first()
    if email:
        return email
    phone = contact.phones.order_by("-is_primary", "pk").values_list("raw", "e164").first()
    if phone:
        return phone[0] or phone[1]
    xid = contact.external_ids.order_by("pk").values_list("source", "external_id").first()
    return f"{xid[0]}:{xid[1]}" if xid else _identifying_value(contact)


def clean_account_data(
    data: dict[str, Any], *, actor: Actor, existing: Account | None = None
) -> dict[str, Any]:
    errors: Errors = {}
    for name in sorted(set(data) - set(ACCOUNT_FIELDS)):
        _add_error(errors, name, "Unknown field.")
    cleaned: dict[str, Any] = {}
    _text(errors, data, cleaned, "name", 200)
    _text(errors, data, cleaned, "legal_name", 200)
    _text(errors, data, cleaned, "industry", 100)
    _text(errors, data, cleaned, "notes", 20000)
    _choice(errors, data, cleaned, "size", Account.Size, blank=True)
    _choice(errors, data, cleaned, "lifecycle", Lifecycle)
    _normalized(errors, data, cleaned, "country", normalize.normalize_country)
    _normalized(errors, data, cleaned, "phone", lambda v: normalize.normalize_phone(v)[0])
    _owner(errors, data, cleaned)
    _tags(errors, data, cleaned)
    _custom(errors, data, cleaned, "account", existing.custom if existing else {}, actor)
    if "parent" in data:
        parent = data["parent"]
        parent_id = parent.pk if isinstance(parent, Account) else parent
        if parent_id in (None, ""):
            cleaned["parent"] = None
        else:
            found = Account.objects.filter(pk=parent_id).first() if str(parent_id).isdigit() else None
            if found is not None and not permissions.can_see_record(actor.user, RecordKind.ACCOUNT, found):
                found = None  # another team's account: refused exactly like a missing one
            if found is None:
                _add_error(errors, "parent", f"No account with id {parent_id}.")
            elif existing is not None and _creates_cycle(existing, found):
                _add_error(errors, "parent", "An account cannot be its own ancestor.")
            else:
                cleaned["parent"] = found
    name = cleaned.get("name", existing.name if existing else "")
    if not name:
        _add_error(errors, "name", "Enter the organisation's name.")
    if errors:
        raise ValidationFailed("The account has invalid values.", errors=errors)
    return cleaned


def _creates_cycle(account: Account, parent: Account) -> bool:
    seen: set[int] = set()
    node: Account | None = parent
    while node is not None and node.pk not in seen:
        if node.pk == account.pk:
            return True
        seen.add(node.pk)
        node = node.parent
    return False


def _audit_fields(kind: str) -> list[str]:
    return [f for f in (CONTACT_FIELDS if kind == "contact" else ACCOUNT_FIELDS) if f != "tags"]


def _snapshot(obj: Contact | Account, kind: str) -> dict[str, Any]:
    values = snapshot(obj, _audit_fields(kind))
    if obj.pk:
        values["tags"] = sorted(obj.tags.values_list("name", flat=True))
    return values


def _set_tags(obj: Contact | Account, names: list[str]) -> None:
    existing = {t.name: t for t in Tag.objects.filter(name__in=names)}
    missing = [Tag(name=n) for n in names if n not in existing]
    Tag.objects.bulk_create(missing, ignore_conflicts=True)
    obj.tags.set(Tag.objects.filter(name__in=names))


def _lock(model: Any, pk: int, expected_version: int | None) -> Any:
    """Lock a row for the rest of the transaction and check the caller saw its latest version."""
    try:
        obj = model._default_manager.select_for_update().get(pk=pk)
    except model.DoesNotExist:  # type: ignore[attr-defined]
        raise NotFound(f"No such {model._meta.model_name}.") from None
    if expected_version is not None and obj.version != expected_version:
        raise VersionConflict(
            f"This {model._meta.verbose_name} was changed by someone else (now version "
            f"{obj.version}, you had {expected_version}). Reload it and apply your change again.",
            current_version=obj.version,
        )
    return obj


def _bump(obj: Contact | Account) -> None:
    # updated_at moves too: a new e-mail or phone is a change the duplicate scan must see.
    now = timezone.now()
    type(obj)._default_manager.filter(pk=obj.pk).update(version=F("version") + 1, updated_at=now)
    obj.version += 1
    obj.updated_at = now


def _apply_names(contact: Contact) -> None:
    parts = {k: getattr(contact, k) for k in NAME_PARTS}
    name = normalize.display_name(parts)
    # No name: the contact shows as its e-mail, phone or external id (see contact_handle).
    contact.full_name = (name or (contact_handle(contact) if contact.pk else ""))[:300]
    contact.sort_name = normalize.sort_key(parts) or normalize.fold(contact.full_name)[:300]


# --- contacts ---------------------------------------------------------------------------


@dataclass
class ContactParts:
    """Parts that may come with a new contact: lists of dicts, as for the part services."""

    emails: list[dict] | None = None
    phones: list[dict] | None = None
    addresses: list[dict] | None = None
    memberships: list[dict] | None = None
    external_ids: list[dict] | None = None


def _written_fields(data: dict) -> list[str]:
    names = [k for k in data if k not in ("custom", "full_name")]
    if "full_name" in data:
        names += [n for n in NAME_PARTS if n not in names]
    names += [f"custom.{k}" for k in (data.get("custom") or {}) if isinstance(data.get("custom"), dict)]
    return names


def _contact_parts(parts: ContactParts) -> list[tuple[str, list[dict] | None, PartSpec]]:
    return [
        ("emails", parts.emails, EMAIL),
        ("phones", parts.phones, PHONE),
        ("addresses", parts.addresses, CONTACT_ADDRESS),
        ("memberships", parts.memberships, MEMBERSHIP),
        ("external_ids", parts.external_ids, CONTACT_XID),
    ]


def contact_validate(
    *, actor: Actor, data: dict[str, Any], parts: ContactParts | None = None
) -> dict[str, Any]:
    """The cleaned fields of a new contact, or one ValidationFailed naming every value that
    is wrong, in its fields and in its parts (``emails[0].email``). Writes nothing: a form
    checks its values with it before looking for duplicates of them."""
    errors: Errors = {}
    cleaned: dict[str, Any] = {}
    given = parts or ContactParts()
    try:
        cleaned = clean_contact_data(data, actor=actor, reachable=bool(given.emails or given.phones or given.external_ids))
    except ValidationFailed as exc:
        errors.update(exc.errors)
    for label, items, spec in _contact_parts(given):
        for i, item in enumerate(items or []):
            try:
                spec.clean(item, None, None)
            except ValidationFailed as exc:
                for name, messages in exc.errors.items():
                    errors[f"{label}[{i}].{name}"] = messages
    if errors:
        raise ValidationFailed("The contact has invalid values.", errors=errors)
    return cleaned


def contact_create(
    *, actor: Actor, data: dict[str, Any], parts: ContactParts | None = None
) -> Contact:
    """Create a contact with its e-mails, phones, addresses, memberships and external ids.

    The first e-mail, phone and address become primary unless one is marked so. All of it
    is saved, or none of it; every wrong value is named at once (``contact_validate``).
    """
    permissions.require(actor.user, "add", RecordKind.CONTACT)
    permissions.require_fields_writable(actor.user, RecordKind.CONTACT, _written_fields(data))
    cleaned = contact_validate(actor=actor, data=data, parts=parts)
    parts = parts or ContactParts()
    with transaction.atomic():
        tags = cleaned.pop("tags", [])
        if "owner" not in cleaned and actor.user is not None and getattr(actor.user, "pk", None):
            cleaned["owner"] = actor.user
        contact = Contact(**cleaned)
        _normalize_record(contact)
        contact.save()
        _set_tags(contact, tags)
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            entity_kind="contact",
            entity_id=contact.pk,
            obj=contact,
            changes=diff({}, _snapshot(contact, "contact")),
        )
        errors: Errors = {}
        for label, items, spec in _contact_parts(parts):
            for i, item in enumerate(items or []):
                try:
                    _part_add(actor=actor, spec=spec, parent=contact, data=item, bump=False)
                except ValidationFailed as exc:
                    for name, messages in exc.errors.items():
                        errors[f"{label}[{i}].{name}"] = messages
        if errors:
            raise ValidationFailed("The contact has invalid values.", errors=errors)
        if not contact.full_name:  # nameless: shown by the e-mail or phone just added
            _apply_names(contact)
            Contact.objects.filter(pk=contact.pk).update(full_name=contact.full_name, sort_name=contact.sort_name)
        search_index.index_contact(contact)
    return contact


def _normalize_record(obj: Contact | Account) -> None:
    """Derived columns recomputed from the fields: display and sort names."""
    if isinstance(obj, Contact):
        _apply_names(obj)
    else:
        obj.normalized_name = normalize.normalize_org_name(obj.name)[:200]


def _record_update(
    *, actor: Actor, kind: str, obj: Contact | Account, data: dict[str, Any], expected_version: int | None
) -> Any:
    permissions.require_record(actor.user, "change", kind, obj)
    permissions.require_fields_writable(actor.user, kind, _written_fields(data))
    model = Contact if kind == "contact" else Account
    clean = clean_contact_data if kind == "contact" else clean_account_data
    name_fields = NAME_PARTS if kind == "contact" else ["name", "legal_name"]
    with transaction.atomic():
        locked = _lock(model, obj.pk, expected_version)
        cleaned = clean(data, actor=actor, existing=locked)
        before = _snapshot(locked, kind)
        tags = cleaned.pop("tags", None)
        for name, value in cleaned.items():
            setattr(locked, name, value)
        _normalize_record(locked)
        if tags is not None:
            _set_tags(locked, tags)
        changes = diff(before, _snapshot(locked, kind))
        if changes:
            locked.version += 1
            locked.save()
            audit_record(
                actor=actor,
                action=AuditEntry.Action.UPDATE,
                entity_kind=kind,
                entity_id=locked.pk,
                obj=locked,
                changes=changes,
            )
            if any(k in changes for k in name_fields):
                (search_index.index_contact if kind == "contact" else search_index.index_account)(locked)
    return locked


def _record_delete(*, actor: Actor, kind: str, obj: Contact | Account, expected_version: int | None) -> None:
    permissions.require_record(actor.user, "delete", kind, obj)
    with transaction.atomic():
        locked = _lock(Contact if kind == "contact" else Account, obj.pk, expected_version)
        audit_record(
            actor=actor,
            action=AuditEntry.Action.DELETE,
            entity_kind=kind,
            entity_id=locked.pk,
            obj=locked,
            changes=diff(_snapshot(locked, kind), {}),
        )
        locked.delete()


def contact_update(
    *, actor: Actor, contact: Contact, data: dict[str, Any], expected_version: int | None = None
) -> Contact:
    """Change a contact's fields. A stale ``expected_version`` changes nothing."""
    return _record_update(actor=actor, kind="contact", obj=contact, data=data, expected_version=expected_version)


def contact_delete(*, actor: Actor, contact: Contact, expected_version: int | None = None) -> None:
    _record_delete(actor=actor, kind="contact", obj=contact, expected_version=expected_version)


# --- accounts ---------------------------------------------------------------------------


def account_create(
    *,
    actor: Actor,
    data: dict[str, Any],
    domains: list[str] | None = None,
    external_ids: list[dict] | None = None,
    addresses: list[dict] | None = None,
) -> Account:
    permissions.require(actor.user, "add", RecordKind.ACCOUNT)
    permissions.require_fields_writable(actor.user, RecordKind.ACCOUNT, _written_fields(data))
    cleaned = clean_account_data(data, actor=actor)
    with transaction.atomic():
        tags = cleaned.pop("tags", [])
        if "owner" not in cleaned and getattr(actor.user, "pk", None):
            cleaned["owner"] = actor.user
        account = Account(**cleaned)
        _normalize_record(account)
        account.save()
        _set_tags(account, tags)
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            entity_kind="account",
            entity_id=account.pk,
            obj=account,
            changes=diff({}, _snapshot(account, "account")),
        )
        errors: Errors = {}
        items: list[tuple[str, list, PartSpec]] = [
            ("domains", [{"domain": d} for d in (domains or [])], DOMAIN),
            ("external_ids", external_ids or [], ACCOUNT_XID),
            ("addresses", addresses or [], ACCOUNT_ADDRESS),
        ]
        for label, rows, spec in items:
            for i, item in enumerate(rows):
                try:
                    _part_add(actor=actor, spec=spec, parent=account, data=item, bump=False)
                except ValidationFailed as exc:
                    for name, messages in exc.errors.items():
                        errors[f"{label}[{i}].{name}"] = messages
        if errors:
            raise ValidationFailed("The account has invalid values.", errors=errors)
        search_index.index_account(account)
    return account


def account_update(
    *, actor: Actor, account: Account, data: dict[str, Any], expected_version: int | None = None
) -> Account:
    """Change an account's fields. A stale ``expected_version`` changes nothing."""
    return _record_update(actor=actor, kind="account", obj=account, data=data, expected_version=expected_version)


def account_delete(*, actor: Actor, account: Account, expected_version: int | None = None) -> None:
    _record_delete(actor=actor, kind="account", obj=account, expected_version=expected_version)


# --- parts: e-mails, phones, addresses, domains, memberships, external ids ---------------


@dataclass(frozen=True)
class PartSpec:
    """How one kind of part is cleaned, stored and audited."""

    model: Any  # a part model class
    parent_kind: str  # "contact" or "account"
    parent_field: str
    object_kind: str
    fields: tuple[str, ...]
    clean: Callable[[dict[str, Any], Any, Any], dict[str, Any]]
    primary: bool = False
    # Identity of a part within its parent, for a clear "already there" error.
    natural_key: tuple[str, ...] = ()


def _check_unknown(data: dict, allowed: tuple[str, ...]) -> Errors:
    return {k: ["Unknown field."] for k in data if k not in allowed}


def _clean_common(data: dict, errors: Errors, cleaned: dict) -> None:
    _choice(errors, data, cleaned, "kind", Kind)
    _text(errors, data, cleaned, "source", 100)
    if "is_primary" in data:
        if not isinstance(data["is_primary"], bool):
            _add_error(errors, "is_primary", "Must be true or false.")
        else:
            cleaned["is_primary"] = data["is_primary"]


def _clean_email(data: dict, parent: Any, existing: Any) -> dict:
    errors = _check_unknown(data, ("email", "kind", "is_primary", "source"))
    cleaned: dict[str, Any] = {}
    if "email" in data or existing is None:
        try:
            cleaned["email"], cleaned["domain"] = normalize.normalize_email(data.get("email") or "")
        except ValueError as exc:
            _add_error(errors, "email", str(exc))
    _clean_common(data, errors, cleaned)
    if errors:
        raise ValidationFailed("Invalid e-mail address.", errors=errors)
    return cleaned


def _clean_phone(data: dict, parent: Any, existing: Any) -> dict:
    errors = _check_unknown(data, ("number", "kind", "is_primary", "source", "region"))
    cleaned: dict[str, Any] = {}
    if "number" in data or existing is None:
        raw = str(data.get("number") or "")
        try:
            cleaned["e164"], cleaned["extension"] = normalize.normalize_phone(raw, data.get("region"))
            cleaned["raw"] = raw.strip()[:50]
        except ValueError as exc:
            _add_error(errors, "number", str(exc))
    _clean_common(data, errors, cleaned)
    if errors:
        raise ValidationFailed("Invalid phone number.", errors=errors)
    return cleaned


ADDRESS_FIELDS = ("street", "city", "region", "postal_code", "country", "kind", "is_primary", "source")


def _clean_address(data: dict, parent: Any, existing: Any) -> dict:
    errors = _check_unknown(data, ADDRESS_FIELDS)
    cleaned: dict[str, Any] = {}
    _text(errors, data, cleaned, "street", 300)
    _text(errors, data, cleaned, "city", 100)
    _text(errors, data, cleaned, "region", 100)
    _text(errors, data, cleaned, "postal_code", 20)
    if "country" in data or existing is None:
        try:
            cleaned["country"] = normalize.normalize_country(str(data.get("country") or ""))
        except ValueError as exc:
            _add_error(errors, "country", str(exc))
    _clean_common(data, errors, cleaned)
    if errors:
        raise ValidationFailed("Invalid address.", errors=errors)
    return cleaned


def _clean_domain(data: dict, parent: Any, existing: Any) -> dict:
    errors = _check_unknown(data, ("domain",))
    cleaned: dict[str, Any] = {}
    try:
        cleaned["domain"] = normalize.normalize_domain(str(data.get("domain") or ""))
    except ValueError as exc:
        _add_error(errors, "domain", str(exc))
    else:
        taken = AccountDomain.objects.filter(domain=cleaned["domain"]).exclude(account=parent).first()
        if taken is not None:
            # Unique, so the clash is said; which account has it is not (it may be another
            # team's, and the cleaners do not know who asks).
            _add_error(errors, "domain", f"{cleaned['domain']} already belongs to another account.")
    if errors:
        raise ValidationFailed("Invalid domain.", errors=errors)
    return cleaned


def _clean_membership(data: dict, parent: Any, existing: Any) -> dict:
    allowed = ("account", "is_primary", "job_title", "buying_role", "rank", "started_on", "ended_on")
    errors = _check_unknown(data, allowed)
    cleaned: dict[str, Any] = {}
    if existing is None:
        value = data.get("account")
        account_id = value.pk if isinstance(value, Account) else value
        account = Account.objects.filter(pk=int(str(account_id))).first() if str(account_id or "").isdigit() else None
        if account is None:
            _add_error(errors, "account", f"No account with id {account_id}.")
        else:
            cleaned["account"] = account
    elif "account" in data:
        _add_error(errors, "account", "A membership's account cannot change; end it and add another.")
    _text(errors, data, cleaned, "job_title", 150)
    _choice(errors, data, cleaned, "buying_role", AccountMembership.BuyingRole, blank=True)
    if "rank" in data:
        rank = data["rank"]
        if rank in (None, ""):
            cleaned["rank"] = None
        elif isinstance(rank, bool) or not str(rank).isdigit() or not 1 <= int(rank) <= 999:
            _add_error(errors, "rank", "A whole number from 1 (most important) to 999.")
        else:
            cleaned["rank"] = int(rank)
    import datetime as dt

    for name in ("started_on", "ended_on"):
        if name in data:
            value = data[name]
            if value in (None, ""):
                cleaned[name] = None
            elif isinstance(value, dt.date):
                cleaned[name] = value
            else:
                try:
                    cleaned[name] = dt.date.fromisoformat(str(value))
                except ValueError:
                    _add_error(errors, name, f"'{value}' is not a date (YYYY-MM-DD).")
    if "is_primary" in data:
        if not isinstance(data["is_primary"], bool):
            _add_error(errors, "is_primary", "Must be true or false.")
        else:
            cleaned["is_primary"] = data["is_primary"]
    if errors:
        raise ValidationFailed("Invalid account membership.", errors=errors)
    return cleaned


def _clean_xid(data: dict, parent: Any, existing: Any) -> dict:
    errors = _check_unknown(data, ("source", "external_id"))
    cleaned: dict[str, Any] = {}
    for name, size in (("source", 100), ("external_id", 200)):
        value = str(data.get(name) or "").strip()
        if not value:
            _add_error(errors, name, "Required.")
        elif _has_controls(errors, name, value):
            continue
        elif len(value) > size:
            _add_error(errors, name, f"At most {size} characters.")
        else:
            cleaned[name] = value
    if errors:
        raise ValidationFailed("Invalid external id.", errors=errors)
    return cleaned


EMAIL = PartSpec(ContactEmail, "contact", "contact", "email", ("email", "kind", "is_primary", "source"), _clean_email, primary=True, natural_key=("email",))
PHONE = PartSpec(ContactPhone, "contact", "contact", "phone", ("e164", "raw", "extension", "kind", "is_primary", "source"), _clean_phone, primary=True, natural_key=("e164",))
CONTACT_ADDRESS = PartSpec(ContactAddress, "contact", "contact", "address", ADDRESS_FIELDS, _clean_address, primary=True)
ACCOUNT_ADDRESS = PartSpec(AccountAddress, "account", "account", "address", ADDRESS_FIELDS, _clean_address, primary=True)
DOMAIN = PartSpec(AccountDomain, "account", "account", "domain", ("domain",), _clean_domain, natural_key=("domain",))
MEMBERSHIP = PartSpec(AccountMembership, "contact", "contact", "membership", ("account", "is_primary", "job_title", "buying_role", "rank", "started_on", "ended_on"), _clean_membership, primary=True, natural_key=("account",))
CONTACT_XID = PartSpec(ContactExternalId, "contact", "contact", "external_id", ("source", "external_id"), _clean_xid, natural_key=("source", "external_id"))
ACCOUNT_XID = PartSpec(AccountExternalId, "account", "account", "external_id", ("source", "external_id"), _clean_xid, natural_key=("source", "external_id"))  # fmt: skip

SPECS = {
    ("contact", "emails"): EMAIL,
    ("contact", "phones"): PHONE,
    ("contact", "addresses"): CONTACT_ADDRESS,
    ("contact", "memberships"): MEMBERSHIP,
    ("contact", "external_ids"): CONTACT_XID,
    ("account", "addresses"): ACCOUNT_ADDRESS,
    ("account", "domains"): DOMAIN,
    ("account", "external_ids"): ACCOUNT_XID,
}


def _parent_model(spec: PartSpec) -> type[Contact] | type[Account]:
    return Contact if spec.parent_kind == "contact" else Account


def _unset_other_primaries(spec: PartSpec, parent: Any, keep_pk: int | None) -> None:
    others = spec.model._default_manager.filter(**{spec.parent_field: parent}, is_primary=True)
    if keep_pk is not None:
        others = others.exclude(pk=keep_pk)
    others.update(is_primary=False)


def _xid_taken_error(spec: PartSpec, cleaned: dict) -> str | None:
    if spec.object_kind != "external_id":
        return None
    clash = spec.model._default_manager.filter(
        source=cleaned.get("source"), external_id=cleaned.get("external_id")
    ).first()
    if clash is None:
        return None
    # As for domains: the clash is said, never whose record has the id.
    return f"{cleaned['source']}:{cleaned['external_id']} already belongs to another {spec.parent_kind}."


def _part_add(*, actor: Actor, spec: PartSpec, parent: Any, data: dict, bump: bool = True) -> Any:
    cleaned = spec.clean(data, parent, None)
    if spec.object_kind == "membership":
        account = cleaned["account"]
        if not permissions.can_see_record(actor.user, RecordKind.ACCOUNT, account):
            raise ValidationFailed(errors={"account": [f"No account with id {account.pk}."]})
    if spec.natural_key:
        lookup = {k: cleaned[k] for k in spec.natural_key if k in cleaned}
        exists = spec.model._default_manager.filter(**{spec.parent_field: parent}, **lookup).exists()
        if exists:
            first = spec.natural_key[0]
            raise ValidationFailed(errors={first if first != "e164" else "number": ["Already on this record."]})
    taken = _xid_taken_error(spec, cleaned)
    if taken:
        raise ValidationFailed(errors={"external_id": [taken]})
    with transaction.atomic():
        if spec.primary:
            has_any = spec.model._default_manager.filter(**{spec.parent_field: parent}).exists()
            if not has_any:
                cleaned["is_primary"] = True
            elif cleaned.get("is_primary"):
                _unset_other_primaries(spec, parent, None)
        try:
            with transaction.atomic():
                obj = spec.model._default_manager.create(**{spec.parent_field: parent}, **cleaned)
        except IntegrityError:
            raise ValidationFailed(errors={spec.natural_key[0] if spec.natural_key else "__all__": ["Already exists."]}) from None
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            entity_kind=spec.parent_kind,
            entity_id=parent.pk,
            obj=obj,
            object_kind=spec.object_kind,
            changes=diff({}, snapshot(obj, list(spec.fields))),
        )
        if bump:
            _bump(parent)
    return obj


def part_add(
    *, actor: Actor, parent: Contact | Account, part: str, data: dict, expected_version: int | None = None
) -> Any:
    """Add an e-mail, phone, address, domain, membership or external id to a record."""
    kind = "contact" if isinstance(parent, Contact) else "account"
    spec = SPECS.get((kind, part))
    if spec is None:
        raise NotFound(f"{kind}s have no {part}.")
    permissions.require_record(actor.user, "change", kind, parent)
    permissions.require_fields_writable(actor.user, kind, [part])
    with transaction.atomic():
        locked = _lock(_parent_model(spec), parent.pk, expected_version)
        obj = _part_add(actor=actor, spec=spec, parent=locked, data=data)
        parent.version = locked.version
    return obj


def part_update(
    *, actor: Actor, parent: Contact | Account, part: str, obj: Any, data: dict, expected_version: int | None = None
) -> Any:
    kind = "contact" if isinstance(parent, Contact) else "account"
    spec = SPECS[(kind, part)]
    permissions.require_record(actor.user, "change", kind, parent)
    permissions.require_fields_writable(actor.user, kind, [part])
    if spec.object_kind in ("domain", "external_id"):
        raise ValidationFailed(errors={"__all__": ["Remove it and add the new one instead."]})
    cleaned = spec.clean(data, parent, obj)
    with transaction.atomic():
        locked_parent = _lock(_parent_model(spec), parent.pk, expected_version)
        locked = spec.model._default_manager.select_for_update().get(pk=obj.pk)
        before = snapshot(locked, list(spec.fields))
        if spec.natural_key:
            lookup = {k: cleaned[k] for k in spec.natural_key if k in cleaned}
            if lookup and spec.model._default_manager.filter(**{spec.parent_field: locked_parent}, **lookup).exclude(pk=locked.pk).exists():
                first = spec.natural_key[0]
                raise ValidationFailed(errors={first if first != "e164" else "number": ["Already on this record."]})
        if spec.primary and cleaned.get("is_primary"):
            _unset_other_primaries(spec, locked_parent, locked.pk)
        for name, value in cleaned.items():
            setattr(locked, name, value)
        changes = diff(before, snapshot(locked, list(spec.fields)))
        if changes:
            locked.save()
            audit_record(
                actor=actor,
                action=AuditEntry.Action.UPDATE,
                entity_kind=kind,
                entity_id=parent.pk,
                obj=locked,
                object_kind=spec.object_kind,
                changes=changes,
            )
            _bump(locked_parent)
        parent.version = locked_parent.version
    return locked


def part_delete(
    *, actor: Actor, parent: Contact | Account, part: str, obj: Any, expected_version: int | None = None
) -> None:
    kind = "contact" if isinstance(parent, Contact) else "account"
    spec = SPECS[(kind, part)]
    permissions.require_record(actor.user, "change", kind, parent)
    permissions.require_fields_writable(actor.user, kind, [part])
    with transaction.atomic():
        locked_parent = _lock(_parent_model(spec), parent.pk, expected_version)
        before = snapshot(obj, list(spec.fields))
        was_primary = bool(getattr(obj, "is_primary", False))
        pk = obj.pk
        audit_record(
            actor=actor,
            action=AuditEntry.Action.DELETE,
            entity_kind=kind,
            entity_id=parent.pk,
            obj=obj,
            object_kind=spec.object_kind,
            changes=diff(before, {}),
        )
        obj.delete()
        obj.pk = pk
        if spec.primary and was_primary:
            # Another one takes over as primary, so a record with e-mails always has one.
            successor = spec.model._default_manager.filter(**{spec.parent_field: locked_parent}).order_by("id").first()
            if successor is not None:
                successor.is_primary = True
                successor.save(update_fields=["is_primary"])
        _bump(locked_parent)
        parent.version = locked_parent.version


def part_get(*, parent: Contact | Account, part: str, pk: int) -> Any:
    kind = "contact" if isinstance(parent, Contact) else "account"
    spec = SPECS.get((kind, part))
    if spec is None:
        raise NotFound(f"{kind}s have no {part}.")
    obj = spec.model._default_manager.filter(**{spec.parent_field: parent}, pk=pk).first()
    if obj is None:
        raise NotFound(f"No such {spec.object_kind} on this {kind}.")
    return obj


# --- data dictionary ----------------------------------------------------------------------

DATAFIELD_FIELDS = ("entity", "key", "label", "help_text", "type", "choices", "required", "is_identifying", "view_roles", "edit_roles", "position", "is_active")


def clean_datafield_data(data: dict, *, existing: DataField | None) -> dict:
    from django.utils.text import slugify

    from rapport.users.models import Role

    errors: Errors = {k: ["Unknown field."] for k in data if k not in DATAFIELD_FIELDS}
    cleaned: dict[str, Any] = {}
    if existing is None:
        _choice(errors, data, cleaned, "entity", DataField.Entity)
        if "entity" not in data:
            _add_error(errors, "entity", "Choose account or contact.")
        key = str(data.get("key") or slugify(str(data.get("label") or "")).replace("-", "_"))
        if not key or not key.replace("_", "").isalnum() or not key[0].isalpha() or len(key) > 50:
            _add_error(errors, "key", "Letters, digits and underscores, starting with a letter.")
        elif DataField.objects.filter(entity=data.get("entity"), key=key).exists():
            _add_error(errors, "key", f"A field '{key}' already exists.")
        else:
            cleaned["key"] = key
    else:
        for name in ("entity", "key"):
            if name in data and data[name] != getattr(existing, name):
                _add_error(errors, name, "Cannot change once the field exists.")
    _text(errors, data, cleaned, "label", 100)
    if existing is None and not cleaned.get("label"):
        _add_error(errors, "label", "Enter a label.")
    _text(errors, data, cleaned, "help_text", 300)
    if existing is None or "type" in data:
        _choice(errors, data, cleaned, "type", DataField.Type)
        if existing is None and "type" not in data:
            _add_error(errors, "type", "Choose a type.")
        if existing is not None and cleaned.get("type", existing.type) != existing.type:
            _add_error(errors, "type", "Cannot change the type of a field that may hold values.")
    field_type = cleaned.get("type") or (existing.type if existing else None)
    if "choices" in data or (existing is None and field_type in ("choice", "multichoice")):
        raw = data.get("choices") or []
        if isinstance(raw, str):
            raw = [c for c in raw.splitlines()]
        choices = [str(c).strip() for c in raw if str(c).strip()]
        if field_type in ("choice", "multichoice") and not choices:
            _add_error(errors, "choices", "List at least one choice.")
        elif len(set(choices)) != len(choices):
            _add_error(errors, "choices", "Choices must be different from each other.")
        elif _has_controls(errors, "choices", "".join(choices)):
            pass
        else:
            cleaned["choices"] = choices
    for name in ("required", "is_identifying", "is_active"):
        if name in data:
            if not isinstance(data[name], bool):
                _add_error(errors, name, "Must be true or false.")
            else:
                cleaned[name] = data[name]
    for name in ("view_roles", "edit_roles"):
        if name in data:
            roles = data[name] or []
            wrong = [r for r in roles if r not in Role.values]
            if wrong:
                _add_error(errors, name, f"Unknown roles: {', '.join(map(str, wrong))}.")
            else:
                cleaned[name] = sorted(set(roles))
    if "position" in data:
        try:
            cleaned["position"] = max(0, int(data["position"]))
        except (TypeError, ValueError):
            _add_error(errors, "position", "Must be a whole number.")
    if errors:
        raise ValidationFailed("The data-dictionary field has invalid values.", errors=errors)
    return cleaned


def datafield_create(*, actor: Actor, data: dict) -> DataField:
    permissions.require(actor.user, "add", RecordKind.DATAFIELD)
    cleaned = clean_datafield_data(data, existing=None)
    with transaction.atomic():
        df = DataField.objects.create(**cleaned)
        after_commit(cache.clear)
        audit_record(actor=actor, action=AuditEntry.Action.CREATE, entity_kind="datafield", entity_id=df.pk, obj=df, changes=diff({}, snapshot(df, list(DATAFIELD_FIELDS))))
    return df


def datafield_update(*, actor: Actor, field: DataField, data: dict, expected_version: int | None = None) -> DataField:
    permissions.require(actor.user, "change", RecordKind.DATAFIELD)
    cleaned = clean_datafield_data(data, existing=field)
    with transaction.atomic():
        locked = _lock(DataField, field.pk, expected_version)
        before = snapshot(locked, list(DATAFIELD_FIELDS))
        for name, value in cleaned.items():
            setattr(locked, name, value)
        changes = diff(before, snapshot(locked, list(DATAFIELD_FIELDS)))
        if changes:
            locked.version += 1
            locked.save()
            after_commit(cache.clear)
            audit_record(actor=actor, action=AuditEntry.Action.UPDATE, entity_kind="datafield", entity_id=locked.pk, obj=locked, changes=changes)
    return locked


def datafield_delete(*, actor: Actor, field: DataField, expected_version: int | None = None) -> None:
    """Retire a field: it disappears from forms and the API; stored values are kept."""
    datafield_update(actor=actor, field=field, data={"is_active": False}, expected_version=expected_version)

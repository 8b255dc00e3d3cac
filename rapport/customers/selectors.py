"""Reads of the customer master. Every selector applies the actor's record visibility."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, QuerySet
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from rapport.audit.models import AuditEntry
from rapport.audit.selectors import history_for
from rapport.core.errors import NotFound, ValidationFailed
from rapport.core.pagination import Page, keyset_page
from rapport.customers import normalize
from rapport.customers.datadict import active_fields
from rapport.customers.models import (
    Account,
    AccountDomain,
    AccountMembership,
    Contact,
    ContactEmail,
    ContactPhone,
    DataField,
    Lifecycle,
    SearchToken,
    SearchVariant,
)
from rapport.customers.search_index import deletions
from rapport.users import permissions
from rapport.users.models import RecordKind
from rapport.users.permissions import UserLike

CONTACT_SORTS = {
    "name": ["sort_name", "id"],
    "-name": ["-sort_name", "-id"],
    "newest": ["-id"],
    "oldest": ["id"],
    "updated": ["-updated_at", "-id"],
}
ACCOUNT_SORTS = {
    "name": ["normalized_name", "id"],
    "-name": ["-normalized_name", "-id"],
    "newest": ["-id"],
    "oldest": ["id"],
    "updated": ["-updated_at", "-id"],
}
MAX_PAGE_SIZE = 200


def _visible_contacts(actor: UserLike) -> QuerySet[Contact]:
    permissions.require(actor, "view", RecordKind.CONTACT)
    return permissions.visible(actor, RecordKind.CONTACT, Contact.objects.all())


def _visible_accounts(actor: UserLike) -> QuerySet[Account]:
    permissions.require(actor, "view", RecordKind.ACCOUNT)
    return permissions.visible(actor, RecordKind.ACCOUNT, Account.objects.all())


def _list_prefetch_contacts(qs: QuerySet[Contact]) -> QuerySet[Contact]:
    return qs.select_related("owner").prefetch_related(
        Prefetch("emails", queryset=ContactEmail.objects.filter(is_primary=True), to_attr="primary_emails"),
        Prefetch("phones", queryset=ContactPhone.objects.filter(is_primary=True), to_attr="primary_phones"),
        Prefetch(
            "memberships",
            queryset=AccountMembership.objects.filter(is_primary=True).select_related("account"),
            to_attr="primary_memberships",
        ),
    )


@dataclass
class ListFilters:
    q: str = ""
    lifecycle: str = ""
    owner: int | None = None
    tag: str = ""
    account: int | None = None
    sort: str = "name"
    cursor: str | None = None
    size: int = 50

    def clean(self, sorts: dict[str, list[str]]) -> None:
        errors: dict[str, list[str]] = {}
        if self.sort not in sorts:
            errors["sort"] = [f"Sort by one of: {', '.join(sorts)}."]
        if self.lifecycle and self.lifecycle not in Lifecycle.values:
            errors["lifecycle"] = [f"One of: {', '.join(Lifecycle.values)}."]
        if not 1 <= self.size <= MAX_PAGE_SIZE:
            errors["size"] = [f"From 1 to {MAX_PAGE_SIZE}."]
        if errors:
            raise ValidationFailed("Invalid list parameters.", errors=errors)


def contact_list(*, actor: UserLike, filters: ListFilters) -> Page:
    """One page of the contacts the actor may see, filtered and sorted."""
    filters.clean(CONTACT_SORTS)
    qs = _visible_contacts(actor)
    if filters.q:
        ids = [h.obj.pk for h in search(actor=actor, q=filters.q, limit=MAX_PAGE_SIZE, kinds=("contact",)).contacts]
        qs = qs.filter(pk__in=ids)
    if filters.lifecycle:
        qs = qs.filter(lifecycle=filters.lifecycle)
    if filters.owner:
        qs = qs.filter(owner_id=filters.owner)
    if filters.tag:
        qs = qs.filter(tags__name=filters.tag)
    if filters.account:
        qs = qs.filter(memberships__account_id=filters.account)
    qs = _list_prefetch_contacts(qs)
    return keyset_page(qs, order=CONTACT_SORTS[filters.sort], cursor=filters.cursor, size=filters.size)


def account_list(*, actor: UserLike, filters: ListFilters) -> Page:
    filters.clean(ACCOUNT_SORTS)
    qs = _visible_accounts(actor)
    if filters.q:
        ids = [h.obj.pk for h in search(actor=actor, q=filters.q, limit=MAX_PAGE_SIZE, kinds=("account",)).accounts]
        qs = qs.filter(pk__in=ids)
    if filters.lifecycle:
        qs = qs.filter(lifecycle=filters.lifecycle)
    if filters.owner:
        qs = qs.filter(owner_id=filters.owner)
    if filters.tag:
        qs = qs.filter(tags__name=filters.tag)
    qs = qs.select_related("owner").prefetch_related("domains")
    return keyset_page(qs, order=ACCOUNT_SORTS[filters.sort], cursor=filters.cursor, size=filters.size)


def contact_get(*, actor: UserLike, pk: int, for_action: str = "view") -> Contact:
    """A contact with everything its detail page shows, or NotFound if the actor can't see it."""
    qs = _visible_contacts(actor).select_related("owner").prefetch_related(
        "emails",
        "phones",
        "addresses",
        "external_ids",
        "tags",
        Prefetch("memberships", queryset=AccountMembership.objects.select_related("account").order_by("-is_primary", "rank", "id")),
    )
    contact = qs.filter(pk=pk).first()
    if contact is None:
        raise NotFound("No such contact.")
    if for_action != "view":
        permissions.require(actor, for_action, RecordKind.CONTACT)  # type: ignore[arg-type]
    return contact


def account_get(*, actor: UserLike, pk: int) -> Account:
    qs = _visible_accounts(actor).select_related("owner", "parent").prefetch_related(
        "domains", "addresses", "external_ids", "tags"
    )
    account = qs.filter(pk=pk).first()
    if account is None:
        raise NotFound("No such account.")
    return account


def account_people(*, actor: UserLike, account: Account) -> list[AccountMembership]:
    """The account's people the actor may see, ranked: by rank, then buying role, then name."""
    role_order = {r: i for i, r in enumerate(AccountMembership.BuyingRole.values)}
    q = permissions.visibility_q(actor, RecordKind.CONTACT, owner_field="contact__owner")
    qs = AccountMembership.objects.filter(account=account).select_related("contact")
    if not permissions.can(actor, "view", RecordKind.CONTACT):
        return []
    if q is not None:
        qs = qs.filter(q)
    people = list(qs[:500])
    people.sort(
        key=lambda m: (
            m.ended_on is not None,
            m.rank if m.rank is not None else 10_000,
            role_order.get(m.buying_role, 99),
            m.contact.sort_name,
        )
    )
    return people


def history(*, actor: UserLike, kind: str, obj: Any, limit: int = 50) -> list[AuditEntry]:
    """The record's history, newest first. Each entry's ``changes`` (not saved) keeps only
    the fields the actor may see, with data-dictionary values as ``custom.<key>``."""
    permissions.require(actor, "view", RecordKind.AUDIT)
    access = permissions.field_access(actor, kind)
    entries = list(history_for(entity_kind=kind, entity_id=obj.pk).select_related("actor")[:limit])
    for entry in entries:
        entry.changes = _visible_changes(entry, kind, access)
    return entries


def _visible_changes(entry: AuditEntry, kind: str, access: permissions.FieldAccess) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    for name, (old, new) in sorted(entry.changes.items()):
        if name == "custom" and isinstance(old or new, dict):
            # A create or delete stores the whole dict; split it like updates do.
            old_d, new_d = old or {}, new or {}
            for key in sorted(set(old_d) | set(new_d)):
                changes[f"custom.{key}"] = [old_d.get(key), new_d.get(key)]
        else:
            changes[name] = [old, new]
    if entry.object_kind != kind:  # a part (e-mail, phone…): its own fields, not the record's
        return changes
    return {name: pair for name, pair in changes.items() if access.can_view(name)}


def datafields_for(*, actor: UserLike, entity: str) -> list[DataField]:
    """Active data-dictionary fields of ``entity`` that the actor's role may see."""
    access = permissions.field_access(actor, entity)
    return [
        df
        for df in active_fields(entity)
        if access.can_view(f"custom.{df.key}")
    ]


def datafield_list(*, actor: UserLike) -> QuerySet[DataField]:
    permissions.require(actor, "view", RecordKind.DATAFIELD)
    return DataField.objects.all()


def datafield_get(*, actor: UserLike, pk: int) -> DataField:
    field = datafield_list(actor=actor).filter(pk=pk).first()
    if field is None:
        raise NotFound("No such data-dictionary field.")
    return field


# --- global search --------------------------------------------------------------------------


@dataclass
class Hit:
    kind: str  # "contact" or "account"
    obj: Any
    score: float
    matched_on: str  # "name", "email", "phone", "domain"


@dataclass
class SearchResults:
    contacts: list[Hit] = field(default_factory=list)
    accounts: list[Hit] = field(default_factory=list)

    @property
    def all(self) -> list[Hit]:
        return sorted(self.contacts + self.accounts, key=lambda h: -h.score)


_PHONEISH = re.compile(r"^[\d\s+().\-/]{6,}$")
_DOMAINISH = re.compile(r"^(?:https?://)?(?:www\.)?[\w-]+(?:\.[\w-]+)+/?$", re.UNICODE)


def _fuzzy_budget(word: str) -> int:
    return 0 if len(word) < 4 else 1 if len(word) < 8 else 2


def _name_tokens(word: str, *, prefix: bool, fuzzy: bool) -> set[str]:
    """Known name words that ``word`` could mean: itself, words it begins (prefix), typos."""
    tokens = {word}
    if prefix and len(word) >= 2:
        rows = SearchVariant.objects.filter(variant__gte=word, variant__lt=word + "\uffff").values_list("token", flat=True)[:400]
        tokens |= {t for t in rows if t.startswith(word)}
    if fuzzy and _fuzzy_budget(word):
        rows = SearchVariant.objects.filter(variant__in=sorted(deletions(word))).values_list("token", flat=True)[:400]
        budget = _fuzzy_budget(word)
        tokens |= {t for t in rows if OSA.distance(word, t) <= budget}
    return tokens


def _by_name(actor: UserLike, q: str, model: type, kind: str, limit: int) -> list[Hit]:
    words = normalize.words(q)[:5]
    if not words:
        return []
    base = _visible_contacts(actor) if kind == "contact" else _visible_accounts(actor)
    column = "contact" if kind == "contact" else "account"
    found: dict[int, Any] = {}
    for fuzzy in (False, True):
        qs = base
        for i, word in enumerate(words):
            tokens = _name_tokens(word, prefix=(i == len(words) - 1), fuzzy=fuzzy)
            sub = SearchToken.objects.filter(token__in=sorted(tokens)).values(column)
            qs = qs.filter(pk__in=sub)
        for obj in qs.exclude(pk__in=list(found))[: limit * 3]:
            found[obj.pk] = obj
        if len(found) >= limit:
            break
    folded = " ".join(words)
    hits = []
    for obj in found.values():
        name = f"{obj.given_name} {obj.family_name}" if kind == "contact" else obj.name
        score = fuzz.token_set_ratio(folded, normalize.fold(name)) / 100
        hits.append(Hit(kind, obj, round(score, 3), "name"))
    hits.sort(key=lambda h: (-h.score, h.obj.pk))
    return hits[:limit]


def search(*, actor: UserLike, q: str, limit: int = 20, kinds: tuple[str, ...] = ("contact", "account")) -> SearchResults:
    """Find contacts and accounts by name (typos tolerated), any e-mail address, any phone
    number in any format, or a web domain. Records the actor may not see never appear."""
    q = (q or "").strip()[:200]
    results = SearchResults()
    if not q:
        return results
    want_contacts = "contact" in kinds and permissions.can(actor, "view", RecordKind.CONTACT)
    want_accounts = "account" in kinds and permissions.can(actor, "view", RecordKind.ACCOUNT)
    contact_hits: dict[int, Hit] = {}
    account_hits: dict[int, Hit] = {}

    def add(store: dict[int, Hit], hits: list[Hit]) -> None:
        for h in hits:
            if h.obj.pk not in store or store[h.obj.pk].score < h.score:
                store[h.obj.pk] = h

    if "@" in q:
        email = q.lower()
        if want_contacts:
            exact = _visible_contacts(actor).filter(emails__email=email).distinct()[:limit]
            add(contact_hits, [Hit("contact", c, 1.0, "email") for c in exact])
            if len(contact_hits) < limit:
                prefix = _visible_contacts(actor).filter(emails__email__gte=email, emails__email__lt=email + "\uffff").distinct()[:limit]
                add(contact_hits, [Hit("contact", c, 0.9, "email") for c in prefix])
        domain = email.rsplit("@", 1)[1]
        if want_accounts and "." in domain:
            accounts = _visible_accounts(actor).filter(domains__domain=domain)[:limit]
            add(account_hits, [Hit("account", a, 0.8, "domain") for a in accounts])
    elif _PHONEISH.match(q):
        numbers = normalize.phone_candidates(q)
        if numbers and want_contacts:
            found = _visible_contacts(actor).filter(phones__e164__in=numbers).distinct()[:limit]
            add(contact_hits, [Hit("contact", c, 1.0, "phone") for c in found])
        if numbers and want_accounts:
            found_accounts = _visible_accounts(actor).filter(phone__in=numbers)[:limit]
            add(account_hits, [Hit("account", a, 1.0, "phone") for a in found_accounts])
    else:
        if _DOMAINISH.match(q) and "." in q:
            try:
                domain = normalize.normalize_domain(q)
            except ValueError:
                domain = ""
            if domain and want_accounts:
                found_accounts = _visible_accounts(actor).filter(domains__domain=domain)[:limit]
                add(account_hits, [Hit("account", a, 1.0, "domain") for a in found_accounts])
            if domain and want_contacts:
                found = _visible_contacts(actor).filter(emails__domain=domain).distinct()[:limit]
                add(contact_hits, [Hit("contact", c, 0.85, "email") for c in found])
        if want_contacts:
            add(contact_hits, _by_name(actor, q, Contact, "contact", limit))
        if want_accounts:
            add(account_hits, _by_name(actor, q, Account, "account", limit))
    results.contacts = sorted(contact_hits.values(), key=lambda h: (-h.score, h.obj.pk))[:limit]
    results.accounts = sorted(account_hits.values(), key=lambda h: (-h.score, h.obj.pk))[:limit]
    return results


def account_for_email_domain(domain: str) -> Account | None:
    """The account that owns a web domain (e-mail addresses there belong to it)."""
    row = AccountDomain.objects.select_related("account").filter(domain=domain.lower()).first()
    return row.account if row else None

"""Reads of the customer master. Every selector applies the actor's record visibility."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import F, Prefetch, Q, QuerySet
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from rapport.audit.models import AuditEntry
from rapport.audit.selectors import history_for
from rapport.core.errors import NotFound, ValidationFailed
from rapport.core.pagination import Page, keyset_page
from rapport.customers import detail_query, normalize
from rapport.customers.datadict import active_fields
from rapport.customers.detail_query import raise_if_merged
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
from rapport.customers.search_index import deletions, nickname_forms
from rapport.identity.compare import organisation_domain, registered_domain
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


# The columns a list row shows (web and API): loading only these halves the list's cost.
LIST_CONTACT_FIELDS = (
    "id", "version", "full_name", "sort_name", "given_name", "family_name", "job_title",
    "lifecycle", "custom", "updated_at", "owner", "owner__username", "owner__first_name",
    "owner__last_name",
)  # fmt: skip


def _list_prefetch_contacts(actor: UserLike, qs: QuerySet[Contact]) -> QuerySet[Contact]:
    """Contacts with their owner and primary e-mail, phone and account. A primary account
    the actor may not see is left out, so a list never names it."""
    memberships = AccountMembership.objects.filter(is_primary=True).select_related("account")
    account_q = permissions.visibility_q(actor, RecordKind.ACCOUNT, owner_field="account__owner")
    if account_q is not None:
        memberships = memberships.filter(account_q)
    return (
        qs.select_related("owner")
        .only(*LIST_CONTACT_FIELDS)
        .prefetch_related(
            Prefetch(
                "emails",
                queryset=ContactEmail.objects.filter(is_primary=True).only("id", "contact_id", "email", "is_primary"),
                to_attr="primary_emails",
            ),
            Prefetch(
                "phones",
                queryset=ContactPhone.objects.filter(is_primary=True).only("id", "contact_id", "e164", "is_primary"),
                to_attr="primary_phones",
            ),
            Prefetch(
                "memberships",
                queryset=memberships.only(
                    "id", "contact_id", "account_id", "is_primary", "account__id", "account__name", "account__owner_id"
                ),
                to_attr="primary_memberships",
            ),
        )
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


def _filtered(actor: UserLike, kind: str, filters: ListFilters) -> QuerySet:
    """The records of ``kind`` the actor may see, narrowed by the list filters."""
    filters.clean(CONTACT_SORTS if kind == "contact" else ACCOUNT_SORTS)
    qs = _visible_contacts(actor) if kind == "contact" else _visible_accounts(actor)
    if filters.q:
        found = search(actor=actor, q=filters.q, limit=MAX_PAGE_SIZE, kinds=(kind,))
        qs = qs.filter(pk__in=[h.obj.pk for h in (found.contacts if kind == "contact" else found.accounts)])
    if filters.lifecycle:
        qs = qs.filter(lifecycle=filters.lifecycle)
    if filters.owner:
        qs = qs.filter(owner_id=filters.owner)
    if filters.tag:
        qs = qs.filter(tags__name=filters.tag)
    if filters.account and kind == "contact":
        qs = qs.filter(memberships__account_id=filters.account)
    return qs


def contact_list(*, actor: UserLike, filters: ListFilters) -> Page:
    """One page of the contacts the actor may see, filtered and sorted."""
    qs = _list_prefetch_contacts(actor, _filtered(actor, "contact", filters))
    return keyset_page(qs, order=CONTACT_SORTS[filters.sort], cursor=filters.cursor, size=filters.size)


def account_list(*, actor: UserLike, filters: ListFilters) -> Page:
    qs = _filtered(actor, "account", filters).select_related("owner").prefetch_related("domains")
    return keyset_page(qs, order=ACCOUNT_SORTS[filters.sort], cursor=filters.cursor, size=filters.size)


def export_queryset(*, actor: UserLike, kind: str, filters: ListFilters) -> QuerySet:
    """Every record a list would show under ``filters`` (all pages), in its sort order."""
    sorts = CONTACT_SORTS if kind == "contact" else ACCOUNT_SORTS
    qs = _filtered(actor, kind, filters).order_by(*sorts.get(filters.sort, sorts["name"]))
    return qs.distinct() if filters.tag or filters.account else qs  # only those joins repeat rows


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
        raise_if_merged("contact", pk, actor=actor)
        raise NotFound("No such contact.")
    if for_action != "view":
        permissions.require(actor, for_action, RecordKind.CONTACT)  # type: ignore[arg-type]
    return contact


def contact_detail(*, actor: UserLike, pk: int) -> dict[str, Any]:
    """The contact ``pk`` and all its parts in one query, as plain values (see
    ``detail_query.contact_row``), for the API read and the web detail page; NotFound if
    the actor can't see it. Nothing is hidden yet: the caller applies field visibility."""
    return detail_query.contact_row(actor=actor, pk=pk)


def account_get(*, actor: UserLike, pk: int) -> Account:
    qs = _visible_accounts(actor).select_related("owner", "parent").prefetch_related(
        "domains", "addresses", "external_ids", "tags"
    )
    account = qs.filter(pk=pk).first()
    if account is None:
        raise_if_merged("account", pk, actor=actor)
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


def merged_into(kind: str, pk: int) -> list[int]:
    """The ids of the records merged into ``pk`` (directly or through earlier merges)."""
    from rapport.identity.models import MergedId

    return list(MergedId.objects.filter(kind=kind, survivor_id=pk).values_list("old_id", flat=True))


def history(*, actor: UserLike, kind: str, obj: Any, limit: int = 50) -> list[AuditEntry]:
    """The record's history, newest first. Each entry's ``changes`` (not saved) keeps only
    the fields the actor may see, with data-dictionary values as ``custom.<key>``."""
    permissions.require(actor, "view", RecordKind.AUDIT)
    access = permissions.field_access(actor, kind)
    # A survivor's history includes that of the records merged into it.
    ids = [obj.pk, *merged_into(kind, obj.pk)]
    entries = list(history_for(entity_kind=kind, entity_ids=ids).select_related("actor")[:limit])
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


def _name_tokens(word: str, *, prefix: bool, nicknames: bool = False) -> tuple[set[str], set[str]]:
    """Known name words that ``word`` could mean, in one query: (itself, its nicknames or
    the names it is short for when ``nicknames``, and the words it begins when ``prefix``;
    those plus the words one typo away)."""
    budget = _fuzzy_budget(word)
    condition = Q(variant__in=sorted(deletions(word))) if budget else Q(variant=word)
    if prefix and len(word) >= 2:
        condition |= Q(variant__gte=word, variant__lt=word + "\uffff", token=F("variant"))
    exact = {word} | (nickname_forms(word) if nicknames else set())
    fuzzy = set(exact)
    for token in SearchVariant.objects.filter(condition).values_list("token", flat=True).distinct()[:800]:
        if prefix and token.startswith(word):
            exact.add(token)
            fuzzy.add(token)
        elif budget and OSA.distance(word, token) <= budget:
            fuzzy.add(token)
    return exact, fuzzy


def _token_frequency(kind: str, tokens: list[str], cap: int = 3000) -> int:
    """How many records have one of ``tokens``, counted up to ``cap`` in the index only."""
    column = "contact_id" if kind == "contact" else "account_id"
    marks = ", ".join(["%s"] * len(tokens))
    sql = (
        f"SELECT COUNT(*) FROM (SELECT 1 FROM {SearchToken._meta.db_table} "  # noqa: S608 - names are ours
        f"WHERE token IN ({marks}) AND {column} IS NOT NULL LIMIT {int(cap)}) AS capped"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, tokens)
        return int(cursor.fetchone()[0])


def _name_match_ids(kind: str, token_sets: list[list[str]], owner_ids: list[int] | None, limit: int) -> list[int]:
    """Ids of records having, for every query word, one of that word's possible tokens.

    The words are intersected inside the token table (a self-join served by its
    partial index on (token, record)), and the record table is joined only when the
    actor's visibility is restricted, so a common first name costs an index scan, not
    thousands of record rows.
    """
    column = "contact_id" if kind == "contact" else "account_id"
    token_table = SearchToken._meta.db_table
    record_table = (Contact if kind == "contact" else Account)._meta.db_table
    joins: list[str] = []
    params: list[Any] = []
    for i, tokens in enumerate(token_sets[1:], start=1):
        marks = ", ".join(["%s"] * len(tokens))
        joins.append(f"JOIN {token_table} t{i} ON t{i}.{column} = t0.{column} AND t{i}.token IN ({marks})")
        params += tokens
    where = [f"t0.token IN ({', '.join(['%s'] * len(token_sets[0]))})", f"t0.{column} IS NOT NULL"]
    params += token_sets[0]
    if owner_ids is not None:
        if not owner_ids:
            return []
        joins.append(f"JOIN {record_table} r ON r.id = t0.{column}")
        where.append(f"r.owner_id IN ({', '.join(['%s'] * len(owner_ids))})")
        params += owner_ids
    sql = (
        f"SELECT DISTINCT t0.{column} FROM {token_table} t0 {' '.join(joins)} "  # noqa: S608 - names are ours, values are parameters
        f"WHERE {' AND '.join(where)} LIMIT {int(limit)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _by_name(actor: UserLike, q: str, kind: str, limit: int) -> list[Hit]:
    """Records whose name words match the query's words: exact or (last word) prefix;
    only when nothing matches as typed, words one typo away. Ranked with rapidfuzz."""
    words = normalize.words(q)[:5]
    if not words:
        return []
    owner_ids = permissions.visible_owner_ids(actor, kind)
    people = kind == "contact"
    candidates = [
        _name_tokens(word, prefix=(i == len(words) - 1), nicknames=people) for i, word in enumerate(words)
    ]
    found: list[int] = []
    for pass_index in (0, 1):  # exact and prefix words first; typos only if that finds none
        if pass_index == 1 and all(c[0] == c[1] for c in candidates):
            break
        token_sets = [sorted(c[pass_index]) for c in candidates]
        if len(token_sets) > 1:
            # The rarest word drives the join; the others are then point look-ups in the
            # (token, record) index. Neither database can know which word is rare.
            token_sets.sort(key=lambda tokens: _token_frequency(kind, tokens))
        found += [pk for pk in _name_match_ids(kind, token_sets, owner_ids, limit * 3) if pk not in found]
        if found:  # a name that exists as typed is what was meant: no typo guesses
            break
    model: Any = Contact if kind == "contact" else Account
    folded = " ".join(words)
    hits = []
    for obj in model.objects.filter(pk__in=found[: limit * 3]):
        name = f"{obj.given_name} {obj.family_name}" if kind == "contact" else obj.name
        score = fuzz.token_set_ratio(folded, normalize.fold(name)) / 100
        if people:
            # 'Bob Carpenter' for Robert Carpenter: scored as the given name it stands for,
            # just below the person actually called Bob (a family name Bill is no Robert).
            given = set(normalize.words(f"{obj.given_name} {obj.middle_name}"))
            meant = [w if w in given else next((t for t in sorted(nickname_forms(w)) if t in given), w) for w in words]
            if meant != words:
                score = max(score, 0.95 * fuzz.token_set_ratio(" ".join(meant), normalize.fold(name)) / 100)
        hits.append(Hit(kind, obj, round(score, 3), "name"))
    hits.sort(key=lambda h: (-h.score, h.obj.pk))
    return hits[:limit]


def search(*, actor: UserLike, q: str, limit: int = 20, kinds: tuple[str, ...] = ("contact", "account")) -> SearchResults:
    """Find contacts and accounts by name (typos tolerated), any e-mail address, any phone
    number in any format, or a web domain. Records the actor may not see never appear."""
    q = normalize.strip_controls(q or "").strip()[:200]  # PostgreSQL refuses a NUL in a query
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
            add(contact_hits, _by_name(actor, q, "contact", limit))
        if want_accounts:
            add(account_hits, _by_name(actor, q, "account", limit))
    results.contacts = sorted(contact_hits.values(), key=lambda h: (-h.score, h.obj.pk))[:limit]
    results.accounts = sorted(account_hits.values(), key=lambda h: (-h.score, h.obj.pk))[:limit]
    return results


def account_for_email_domain(domain: str) -> Account | None:
    """The account that owns a web domain (e-mail addresses there belong to it)."""
    row = AccountDomain.objects.select_related("account").filter(domain=domain.lower()).first()
    return row.account if row else None


def account_for_email(*, actor: UserLike, email: str) -> Account | None:
    """Which account an e-mail address belongs to: the account that owns its domain, else
    the domain's registered part (``mail.uk.acme.co.uk`` -> ``acme.co.uk``), among those
    the actor may see (None, the system, sees all). None for a free-mail address, which
    says nothing about an employer. The one rule for every path that attaches a person to
    an account by their address: vCards and card photos, unknown senders of e-mail."""
    domain = organisation_domain(email)
    if not domain:
        return None
    for candidate in dict.fromkeys((domain, registered_domain(domain))):
        found = account_for_email_domain(candidate)
        if found is not None and permissions.can_see_record(actor, RecordKind.ACCOUNT, found):
            return found
    return None

"""Small reads the web pages need on top of ``selectors``; they apply the same permissions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rapport.core import cache
from rapport.customers import selectors
from rapport.customers.models import Account, Tag
from rapport.users import permissions
from rapport.users.models import RecordKind, User


def account_get_for(*, actor: User, pk: int, action: str = "view") -> Account:
    """An account the actor may see, and may act on with ``action`` (else PermissionDenied)."""
    account = selectors.account_get(actor=actor, pk=pk)
    if action != "view":
        permissions.require(actor, action, RecordKind.ACCOUNT)  # type: ignore[arg-type]
    return account


def account_children(*, actor: User, account: Account) -> list[Account]:
    qs = permissions.visible(actor, RecordKind.ACCOUNT, Account.objects.filter(parent=account))
    return list(qs.order_by("normalized_name", "id")[:200])


def account_choices(*, actor: User, exclude: int | None = None, limit: int = 500) -> list[tuple[int, str]]:
    """Accounts to pick from in a form (memberships, parent), by name."""
    if not permissions.can(actor, "view", RecordKind.ACCOUNT):
        return []
    qs = permissions.visible(actor, RecordKind.ACCOUNT, Account.objects.all())
    if exclude:
        qs = qs.exclude(pk=exclude)
    return list(qs.order_by("normalized_name", "id").values_list("id", "name")[:limit])


def account_matches(*, actor: User, q: str, limit: int = 10) -> list[tuple[int, str]]:
    """Up to ``limit`` accounts the actor may see matching ``q`` (name, domain, phone), best
    first: the options of the account type-ahead that replaces a select of every account."""
    q = (q or "").strip()
    if not q:
        return []
    hits = selectors.search(actor=actor, q=q, limit=limit, kinds=("account",)).accounts
    return [(h.obj.pk, h.obj.name) for h in hits]


# The list filters' owner and tag suggestions are the same for everyone and change rarely, so
# each process keeps them for PROCESS_CACHE_SECONDS (a new user or tag shows up that late).


def owner_choices() -> list[tuple[int, str]]:
    def load() -> list[tuple[int, str]]:
        users = User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")
        return [(u.pk, str(u)) for u in users]

    return cache.cached("web:owner_choices", load)


def tag_names(limit: int = 300) -> list[str]:
    return cache.cached(f"web:tag_names:{limit}", lambda: list(Tag.objects.values_list("name", flat=True)[:limit]))


@dataclass
class HistoryRow:
    entry: Any
    changes: list[tuple[str, Any, Any]]


def history_rows(*, actor: User, kind: str, obj: Any) -> list[HistoryRow] | None:
    """The record's history as rows of (field, old, new); None if the actor may not read
    history at all. ``selectors.history`` already removed what the actor may not see."""
    if not permissions.can(actor, "view", RecordKind.AUDIT):
        return None
    return [
        HistoryRow(entry, [(name, old, new) for name, (old, new) in entry.changes.items()])
        for entry in selectors.history(actor=actor, kind=kind, obj=obj)
    ]


# The built-in fields, documented on the data dictionary page.
BUILTIN_FIELDS: dict[str, list[tuple[str, str, str]]] = {
    "account": [
        ("name", "Text", "The organisation's usual name, as people say it."),
        ("legal_name", "Text", "The registered name, for invoices and contracts."),
        ("industry", "Text", "What the organisation does, in a few words."),
        ("size", "Choice", "Number of employees: 1–9, 10–49, 50–249, 250–999 or 1,000+."),
        ("country", "Country", "Where it is based, stored as an ISO 3166-1 code (GB, FR, US…)."),
        ("phone", "Phone", "Switchboard number, stored in international E.164 form."),
        ("parent", "Account", "The group or head office this account belongs to."),
        ("owner", "User", "The staff member responsible for the relationship."),
        ("lifecycle", "Choice", "Subscriber, lead, prospect, customer or former customer."),
        ("tags", "Tags", "Free labels for segmenting, e.g. 'partner' or 'event-2025'."),
        ("notes", "Long text", "Internal sales notes; hidden from some roles."),
        ("domains", "List", "Web domains the organisation owns; e-mails there point to it."),
        ("addresses", "List", "Postal addresses: street, city, region, postcode, country."),
        ("external_ids", "List", "The account's ids in other systems (ERP, billing…)."),
    ],
    "contact": [
        ("prefix", "Text", "Title before the name, e.g. Dr or Ms."),
        ("given_name", "Text", "First name."),
        ("middle_name", "Text", "Middle names or initials."),
        ("family_name", "Text", "Surname; lists sort by it."),
        ("suffix", "Text", "After the name, e.g. Jr or PhD."),
        ("job_title", "Text", "Their role, as they describe it."),
        ("department", "Text", "Their team or department."),
        ("preferred_channel", "Choice", "How they like to be contacted: e-mail, phone, SMS, post."),
        ("language", "Language", "Preferred language as a BCP 47 tag, e.g. en or fr-CA."),
        ("time_zone", "Time zone", "IANA zone, e.g. Europe/London, for calling at sane hours."),
        ("owner", "User", "The staff member responsible for the relationship."),
        ("source", "Text", "Where the contact came from: an event, a form, an import."),
        ("lifecycle", "Choice", "Subscriber, lead, prospect, customer or former customer."),
        ("tags", "Tags", "Free labels for segmenting."),
        ("emails", "List", "E-mail addresses, one primary; stored lower-case."),
        ("phones", "List", "Phone numbers in E.164 form, one primary; any format finds them."),
        ("addresses", "List", "Postal addresses, one primary."),
        ("memberships", "List", "Accounts they work at, with buying role and rank (1 = key)."),
        ("external_ids", "List", "Their ids in other systems, used by imports to update them."),
    ],
}

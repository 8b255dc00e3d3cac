"""Reading the timeline: a record's entries newest first, filtered, a page at a time."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, prefetch_related_objects

from rapport.core.errors import NotFound, ValidationFailed
from rapport.core.pagination import Page, keyset_page
from rapport.customers.detail_query import raise_if_merged
from rapport.customers.models import Account, AccountMembership, Contact
from rapport.customers.normalize import normalize_phone
from rapport.timeline import events
from rapport.timeline.models import Attachment, Entry, EntryLink
from rapport.users import permissions


@dataclass
class Filters:
    kinds: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    departments: list[str] = field(default_factory=list)
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    q: str = ""


def visible_record(actor: Any, kind: str, pk: int) -> Any:
    """The record (id and owner only), if the actor may see it; a merged-away id raises
    ``Moved`` to its survivor."""
    if kind not in ("contact", "account"):
        raise NotFound("No such kind of record.")
    model: Any = Contact if kind == "contact" else Account
    permissions.require(actor, "view", kind)
    found = permissions.visible(
        actor, kind, model.objects.only("id", "owner_id").filter(pk=pk)
    ).first()
    if found is None:
        raise_if_merged(kind, pk, actor=actor)
        raise NotFound(f"No such {kind}.")
    return found


def timeline(
    *,
    actor: Any,
    kind: str,
    pk: int,
    filters: Filters | None = None,
    cursor: str | None = None,
    size: int = 25,
    record: Any = None,
) -> Page:
    """The record's timeline, newest first, as ``EntryLink`` rows with their entry, its
    staff member and attachments loaded: a constant number of queries per page. A caller
    that has just read ``record`` through the actor's visibility passes it along."""
    if record is None or record.pk != pk:
        record = visible_record(actor, kind, pk)
    filters = filters or Filters()
    qs: QuerySet[EntryLink] = EntryLink.objects.filter(**{f"{kind}_id": record.pk})
    if kind == "account":
        qs = _through_visible_people(actor, qs)
    if filters.kinds:
        qs = qs.filter(entry__kind__in=filters.kinds)
    if filters.channels:
        qs = qs.filter(entry__channel__in=filters.channels)
    if filters.departments:
        qs = qs.filter(entry__department__in=filters.departments)
    if filters.since:
        qs = qs.filter(occurred_at__gte=filters.since)
    if filters.until:
        qs = qs.filter(occurred_at__lt=filters.until)
    if filters.q:
        qs = qs.filter(entry__body__icontains=filters.q) | qs.filter(
            entry__summary__icontains=filters.q
        )
    # Whether an entry has attachments comes with the page; they are fetched only when some
    # have: most pages have none, and a query less is a round trip less on PostgreSQL.
    qs = qs.select_related("entry", "entry__staff").annotate(
        has_attachments=Exists(Attachment.objects.filter(entry_id=OuterRef("entry_id")))
    )
    page = keyset_page(qs, order=["-occurred_at", "-entry_id"], cursor=cursor, size=size)
    with_files = [link.entry for link in page.items if link.has_attachments]  # type: ignore[attr-defined]
    if with_files:
        prefetch_related_objects(
            with_files, Prefetch("attachments", queryset=Attachment.objects.order_by("id"))
        )
    for link in page.items:
        if not link.has_attachments:  # type: ignore[attr-defined]
            cache = link.entry.__dict__.setdefault("_prefetched_objects_cache", {})
            cache["attachments"] = Attachment.objects.none()
    return page


def _through_visible_people(actor: Any, qs: QuerySet[EntryLink]) -> QuerySet[EntryLink]:
    """An account's entries that came through one of its people (``VIA``: a contact's
    e-mail, notes, calls) only where the reader may see one of the contacts the entry is
    on: seeing the employer is not seeing another team's contact's mail (decision 0012)."""
    people = permissions.visibility_q(actor, "contact", owner_field="contact__owner")
    if people is None:
        return qs
    seen = EntryLink.objects.filter(people, entry_id=OuterRef("entry_id"), contact__isnull=False)
    return qs.filter(~Q(role=EntryLink.Role.VIA) | Exists(seen))


def entry_get(*, actor: Any, pk: int) -> Entry:
    """One entry, if the actor may see one of the records it is on (an account it is on
    only through one of its people does not count: the person must be visible)."""
    entry = (
        Entry.objects.select_related("staff")
        .prefetch_related("links", "attachments")
        .filter(pk=pk)
        .first()
    )
    if entry is None:
        raise NotFound("No such timeline entry.")
    for link in entry.links.all():
        if link.role == EntryLink.Role.VIA:
            continue
        kind, record_id = (
            ("contact", link.contact_id) if link.contact_id else ("account", link.account_id)
        )
        try:
            visible_record(actor, kind, int(record_id or 0))
        except NotFound:
            continue
        return entry
    raise NotFound("No such timeline entry.")


# --- the screen pop --------------------------------------------------------------------------

LOOKUP_LIMIT = 10  # a screen pop with more matches than this is no pop
LOOKUP_ENTRIES = 5


@dataclass
class Found:
    record: Any  # a Contact (memberships with their accounts loaded) or an Account
    entries: list[EntryLink]
    open_items: list[events.OpenItem] = field(default_factory=list)


@dataclass
class Lookup:
    phone: str | None
    contacts: list[Found]
    accounts: list[Found]


def phone_e164(phone: str, region: str | None) -> str | None:
    """A number as typed, in E.164: the caller's region first (a number with its +code
    reads the same in any region; one without means what it means where the caller is),
    then the default region, then its digits."""
    for reg in (region, None) if region else (None,):
        try:
            return normalize_phone(phone, reg)[0]
        except ValueError:
            continue
    digits = re.sub(r"\D", "", phone)
    return f"+{digits}" if digits else None


def lookup(*, actor: Any, phone: str = "", region: str = "", q: str = "") -> Lookup:
    """Who is calling: the contacts (and accounts) the actor may see with this number in any
    format (or this e-mail address or exact name), each contact with its accounts, buying
    role and rank, and its latest entries, today's first."""
    phone, q = phone.strip(), q.strip()
    if not phone and not q:
        raise ValidationFailed(
            "Give a phone number, an e-mail address or a name.", errors={"phone": ["Required."]}
        )
    e164 = phone_e164(phone, region.strip() or None) if phone else None
    contacts: Any = Contact.objects.none()
    accounts: Any = Account.objects.none()
    if e164:
        contacts = Contact.objects.filter(phones__e164=e164)
        accounts = Account.objects.filter(phone=e164)
    elif "@" in q:
        contacts = Contact.objects.filter(emails__email=q.lower())
    elif q:
        contacts = Contact.objects.filter(Q(full_name__iexact=q) | Q(sort_name__iexact=q))
    # The accounts the actor may see, as a condition on the account's owner: a subquery
    # over every account made SQLite read the memberships the other way round (5 ms a pop
    # at a million contacts, against 0.1).
    visible_accounts = permissions.visibility_q(actor, "account", owner_field="account__owner")
    memberships = AccountMembership.objects.select_related("account")
    if visible_accounts is not None:
        memberships = memberships.filter(visible_accounts)
    found = list(
        permissions.visible(actor, "contact", contacts)
        .distinct()
        .order_by("sort_name", "id")
        .prefetch_related(Prefetch("memberships", queryset=memberships))[:LOOKUP_LIMIT]
    )
    found_accounts = list(
        permissions.visible(actor, "account", accounts).order_by("name", "id")[:LOOKUP_LIMIT]
    )
    items = events.open_items(actor, [c.pk for c in found])
    return Lookup(
        phone=e164,
        contacts=[
            Found(
                c,
                timeline(actor=actor, kind="contact", pk=c.pk, size=LOOKUP_ENTRIES, record=c).items,
                items.get(c.pk, []),
            )
            for c in found
        ],
        accounts=[
            Found(
                a,
                timeline(actor=actor, kind="account", pk=a.pk, size=LOOKUP_ENTRIES, record=a).items,
            )
            for a in found_accounts
        ],
    )

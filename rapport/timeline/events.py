"""The timeline's one interface for the apps: register a kind of entry, record an entry.

Each app that puts touches on the timeline keeps an ``events.py`` of its own with one typed
function per event, all calling ``record`` here, for example (sales)::

    from rapport.timeline import events

    events.register_kind("deal_stage", "Deal stage changed", department="sales", channel="other")

    def deal_stage_changed(*, actor, deal, old, new):
        return events.record(
            kind="deal_stage", summary=f"{deal.name}: {old} → {new}", staff=actor.user,
            contacts=deal.contact_ids(), accounts=[deal.account_id], data={"deal": deal.pk},
        )

``record`` never checks permissions (the calling service did) and is idempotent when given
``source`` and ``external_id``: a second delivery returns the first entry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from rapport.customers.models import AccountMembership
from rapport.customers.normalize import strip_controls
from rapport.timeline.models import Channel, Department, Direction, Entry, EntryLink


@dataclass(frozen=True)
class KindInfo:
    name: str
    label: str
    department: str = Department.OTHER
    channel: str = Channel.OTHER


KINDS: dict[str, KindInfo] = {}


def register_kind(
    name: str, label: str, *, department: str = Department.OTHER, channel: str = Channel.OTHER
) -> KindInfo:
    """Declare a kind of entry (once, in the app's ``ready``); its label shows on the timeline."""
    info = KindInfo(name, label, department, channel)
    KINDS[name] = info
    return info


@dataclass(frozen=True)
class OpenItem:
    """Something still open about a contact, for the screen pop: a deal in progress, a case
    waiting, a detail to confirm with the caller. Apps provide them (see
    ``register_open_items``); the timeline only shows them."""

    kind: str  # "deal", "case", "to_confirm", ...
    label: str  # "Deal", "Case", "To confirm"
    title: str
    url: str = ""
    due: dt.date | None = None
    # Lower first on the pop, whichever app registered first: a caller's open cases (10)
    # come before the rest (50).
    rank: int = 50


# (actor, contact ids) -> {contact id: open items the actor may see}; one query per provider.
OpenItemsProvider = Callable[[Any, list[int]], dict[int, list[OpenItem]]]
OPEN_ITEMS: list[OpenItemsProvider] = []


def register_open_items(provider: OpenItemsProvider) -> None:
    """Declare a source of open items (once, in the app's ``ready``)."""
    if provider not in OPEN_ITEMS:
        OPEN_ITEMS.append(provider)


def open_items(actor: Any, contact_ids: list[int]) -> dict[int, list[OpenItem]]:
    """Every provider's open items for these contacts, by contact."""
    found: dict[int, list[OpenItem]] = {pk: [] for pk in contact_ids}
    if not contact_ids:
        return found
    for provider in OPEN_ITEMS:
        for pk, items in provider(actor, contact_ids).items():
            found.setdefault(pk, []).extend(items)
    for items in found.values():
        items.sort(key=lambda item: item.rank)  # stable: each provider's order stays
    return found


# The timeline's own kinds: what people write on it. The apps that feed it declare theirs
# in their own events.py (mail: "email", captures: "card") and register them in ready().
TIMELINE_KINDS = (
    KindInfo("note", "Note", channel=Channel.OTHER),
    KindInfo("call", "Call", channel=Channel.PHONE),
    KindInfo("meeting", "Meeting", channel=Channel.MEETING),
)


def register_builtin_kinds() -> None:
    for kind in TIMELINE_KINDS:
        register_kind(kind.name, kind.label, department=kind.department, channel=kind.channel)


@dataclass
class Draft:
    """One entry to write (see ``record`` for the fields)."""

    kind: str
    summary: str
    contacts: Iterable[int] = ()
    accounts: Iterable[int] = ()
    occurred_at: dt.datetime | None = None
    channel: str | None = None
    direction: str = Direction.INTERNAL
    department: str | None = None
    staff: Any = None
    body: str = ""
    body_format: str = "text"
    source: str = ""
    external_id: str = ""
    duration_seconds: int | None = None
    outcome: str = ""
    data: dict[str, Any] | None = None
    roles: dict[int, str] | None = None
    scope: str = ""  # whose ``external_id`` it is (see ``Entry.scope``)


def record(
    *,
    kind: str,
    summary: str,
    contacts: Iterable[int] = (),
    accounts: Iterable[int] = (),
    occurred_at: dt.datetime | None = None,
    channel: str | None = None,
    direction: str = Direction.INTERNAL,
    department: str | None = None,
    staff: Any = None,
    body: str = "",
    body_format: str = "text",
    source: str = "",
    external_id: str = "",
    duration_seconds: int | None = None,
    outcome: str = "",
    data: dict[str, Any] | None = None,
    roles: dict[int, str] | None = None,
    scope: str = "",
) -> Entry:
    """Write one entry and its links: each contact's timeline, each account's, and the
    accounts of those contacts (an account's timeline shows its people's touches)."""
    draft = Draft(
        kind=kind, summary=summary, contacts=contacts, accounts=accounts,
        occurred_at=occurred_at, channel=channel, direction=direction, department=department,
        staff=staff, body=body, body_format=body_format, source=source,
        external_id=external_id, duration_seconds=duration_seconds, outcome=outcome,
        data=data, roles=roles, scope=scope,
    )  # fmt: skip
    try:
        return record_many([draft])[0]
    except IntegrityError:
        # The same message delivered twice at once: the other writer's entry stands.
        found = Entry.objects.from_source(source, external_id, scope)
        if found is None:
            raise
        return found


def record_many(drafts: list[Draft]) -> list[Entry]:
    """Write many entries at once (a file of mail): one insert of entries, one query for
    the contacts' accounts, one insert of links, whatever their number. An entry whose
    source and external id are stored already is returned as it is (also when it comes
    twice in ``drafts``). A concurrent writer of the same id raises IntegrityError: the
    caller retries with ``record``, one by one."""
    for draft in drafts:
        if draft.kind not in KINDS:
            raise ValueError(
                f"Unknown kind of timeline entry: {draft.kind!r} (register it with register_kind)."
            )
    stored: dict[tuple[str, str, str], Entry] = {}
    keyed = [(d.source, d.scope, d.external_id) for d in drafts if d.source and d.external_id]
    for source, scope in {(s, sc) for s, sc, _ in keyed}:
        ids = [x for s, sc, x in keyed if (s, sc) == (source, scope)]
        if len(ids) == 1:
            found = Entry.objects.from_source(source, ids[0], scope)
            rows = [found] if found is not None else []
        else:
            rows = list(
                Entry.objects.filter(
                    ~Q(external_id=""), source=source, scope=scope, external_id__in=ids
                )
            )
        stored.update({(source, scope, e.external_id): e for e in rows})
    now = timezone.now()
    new: list[tuple[Draft, Entry]] = []
    # A received message is kept, not refused, for a control character in it (PostgreSQL
    # cannot store NUL, in text or JSON): such characters are left out.
    for draft in drafts:
        key = (draft.source, draft.scope, draft.external_id)
        if draft.source and draft.external_id and key in stored:
            continue
        info = KINDS[draft.kind]
        entry = Entry(
            kind=draft.kind,
            occurred_at=draft.occurred_at or now,
            channel=draft.channel or info.channel,
            direction=draft.direction,
            department=draft.department or info.department,
            staff=draft.staff if getattr(draft.staff, "pk", None) else None,
            summary=strip_controls(draft.summary)[:300],
            body=strip_controls(draft.body),
            body_format=draft.body_format,
            source=draft.source,
            external_id=draft.external_id,
            scope=draft.scope,
            duration_seconds=draft.duration_seconds,
            outcome=strip_controls(draft.outcome),
            data=_without_controls(draft.data or {}),
        )
        new.append((draft, entry))
        if draft.source and draft.external_id:
            stored[key] = entry  # a second copy in this batch is the same entry
    if new:
        with transaction.atomic():
            Entry.objects.bulk_create([e for _, e in new])
            contact_ids = {int(c) for d, _ in new for c in d.contacts}
            employers: dict[int, set[int]] = {}
            for contact_id, account_id in AccountMembership.objects.filter(
                contact_id__in=contact_ids
            ).values_list("contact_id", "account_id"):
                employers.setdefault(contact_id, set()).add(account_id)
            links: list[EntryLink] = []
            for draft, entry in new:
                links += _links(draft, entry, employers)
            EntryLink.objects.bulk_create(links)
    out = []
    for draft in drafts:
        if draft.source and draft.external_id:
            out.append(stored[(draft.source, draft.scope, draft.external_id)])
        else:
            out.append(next(e for d, e in new if d is draft))
    return out


def link_contacts(*, entry: Entry, roles: dict[int, str]) -> list[int]:
    """Put an entry already written on more contacts' timelines, with their role (and on
    their accounts', through them): a message delivered again by someone who sees other
    contacts in it. Returns the contacts it was not on before."""
    have = set(
        EntryLink.objects.filter(entry=entry, contact__isnull=False).values_list(
            "contact_id", flat=True
        )
    )
    new = [c for c in dict.fromkeys(int(c) for c in roles) if c not in have]
    if not new:
        return []
    accounts = set(
        EntryLink.objects.filter(entry=entry, account__isnull=False).values_list(
            "account_id", flat=True
        )
    )
    employers = AccountMembership.objects.filter(contact_id__in=new)
    via = set(employers.values_list("account_id", flat=True)) - accounts
    when = entry.occurred_at
    links = [EntryLink(entry=entry, contact_id=c, role=roles[c], occurred_at=when) for c in new]
    links += [
        EntryLink(entry=entry, account_id=a, role=EntryLink.Role.VIA, occurred_at=when)
        for a in sorted(via)
    ]
    # Two deliveries at once may add the same link: the second one's is simply not needed.
    EntryLink.objects.bulk_create(links, ignore_conflicts=True)
    return new


def _without_controls(value: Any) -> Any:
    if isinstance(value, str):
        return strip_controls(value)
    if isinstance(value, dict):
        return {strip_controls(str(k)): _without_controls(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_without_controls(v) for v in value]
    return value


def _links(draft: Draft, entry: Entry, employers: dict[int, set[int]]) -> list[EntryLink]:
    contact_ids = list(dict.fromkeys(int(c) for c in draft.contacts))
    account_ids = list(dict.fromkeys(int(a) for a in draft.accounts))
    when = entry.occurred_at
    roles = draft.roles or {}
    links = [
        EntryLink(entry=entry, contact_id=c, role=roles.get(c, EntryLink.Role.ABOUT), occurred_at=when)
        for c in contact_ids
    ]
    links += [
        EntryLink(entry=entry, account_id=a, role=EntryLink.Role.ABOUT, occurred_at=when)
        for a in account_ids
    ]
    via = set().union(*(employers.get(c, set()) for c in contact_ids)) - set(account_ids)
    links += [
        EntryLink(entry=entry, account_id=a, role=EntryLink.Role.VIA, occurred_at=when)
        for a in sorted(via)
    ]
    return links

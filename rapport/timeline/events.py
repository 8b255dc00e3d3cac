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
from django.utils import timezone

from rapport.customers.models import AccountMembership
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
    return found


def register_builtin_kinds() -> None:
    register_kind("note", "Note", channel=Channel.OTHER)
    register_kind("email", "E-mail", channel=Channel.EMAIL)
    register_kind("call", "Call", channel=Channel.PHONE)
    register_kind("meeting", "Meeting", channel=Channel.MEETING)
    register_kind("card", "Business card", channel=Channel.IN_PERSON)


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
) -> Entry:
    """Write one entry and its links: each contact's timeline, each account's, and the
    accounts of those contacts (an account's timeline shows its people's touches)."""
    info = KINDS.get(kind)
    if info is None:
        raise ValueError(
            f"Unknown kind of timeline entry: {kind!r} (register it with register_kind)."
        )
    if source and external_id:
        found = Entry.objects.from_source(source, external_id)
        if found is not None:
            return found
    contact_ids = list(dict.fromkeys(int(c) for c in contacts))
    account_ids = list(dict.fromkeys(int(a) for a in accounts))
    when = occurred_at or timezone.now()
    try:
        with transaction.atomic():
            entry = Entry.objects.create(
                kind=kind,
                occurred_at=when,
                channel=channel or info.channel,
                direction=direction,
                department=department or info.department,
                staff=staff if getattr(staff, "pk", None) else None,
                summary=summary[:300],
                body=body,
                body_format=body_format,
                source=source,
                external_id=external_id,
                duration_seconds=duration_seconds,
                outcome=outcome,
                data=data or {},
            )
            links = [
                EntryLink(
                    entry=entry,
                    contact_id=c,
                    role=(roles or {}).get(c, EntryLink.Role.ABOUT),
                    occurred_at=when,
                )
                for c in contact_ids
            ]
            via = set(
                AccountMembership.objects.filter(contact_id__in=contact_ids).values_list(
                    "account_id", flat=True
                )
            )
            links += [
                EntryLink(entry=entry, account_id=a, role=EntryLink.Role.ABOUT, occurred_at=when)
                for a in account_ids
            ]
            links += [
                EntryLink(entry=entry, account_id=a, role=EntryLink.Role.VIA, occurred_at=when)
                for a in sorted(via - set(account_ids))
            ]
            EntryLink.objects.bulk_create(links)
    except IntegrityError:
        # The same message delivered twice at once: the other writer's entry stands.
        found = Entry.objects.from_source(source, external_id)
        if found is None:
            raise
        return found
    return entry

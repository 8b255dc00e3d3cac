"""Reading the timeline: a record's entries newest first, filtered, a page at a time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, QuerySet

from rapport.core.errors import NotFound
from rapport.core.pagination import Page, keyset_page
from rapport.customers.detail_query import raise_if_merged
from rapport.customers.models import Account, Contact
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


def _record(actor: Any, kind: str, pk: int) -> Any:
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
        raise_if_merged(kind, pk)
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
) -> Page:
    """The record's timeline, newest first, as ``EntryLink`` rows with their entry, its
    staff member and attachments loaded: a constant number of queries per page."""
    record = _record(actor, kind, pk)
    filters = filters or Filters()
    qs: QuerySet[EntryLink] = EntryLink.objects.filter(**{f"{kind}_id": record.pk})
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
    qs = qs.select_related("entry", "entry__staff").prefetch_related(
        Prefetch("entry__attachments", queryset=Attachment.objects.order_by("id"))
    )
    return keyset_page(qs, order=["-occurred_at", "-entry_id"], cursor=cursor, size=size)


def entry_get(*, actor: Any, pk: int) -> Entry:
    """One entry, if the actor may see one of the records it is on."""
    entry = (
        Entry.objects.select_related("staff")
        .prefetch_related("links", "attachments")
        .filter(pk=pk)
        .first()
    )
    if entry is None:
        raise NotFound("No such timeline entry.")
    for link in entry.links.all():
        kind, record_id = (
            ("contact", link.contact_id) if link.contact_id else ("account", link.account_id)
        )
        try:
            _record(actor, kind, int(record_id or 0))
        except NotFound:
            continue
        return entry
    raise NotFound("No such timeline entry.")

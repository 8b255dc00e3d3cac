"""The 360° timeline over the API: a contact's or an account's touches, entries posted by
integrations (a phone system, a web form), notes, and the screen pop a phone system asks
for when a call comes in. The same services and selectors as the web pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from rapport.api.auth import actor_of
from rapport.api.common import data_of, problems, user_of
from rapport.core.errors import ValidationFailed
from rapport.timeline import events, render, selectors, services
from rapport.timeline.models import Channel, Department, Entry, EntryLink

router = Router(tags=["timeline"])

MAX_PAGE_SIZE = 100


# --- shapes ----------------------------------------------------------------------------------


class In(Schema):
    model_config = ConfigDict(extra="forbid")


class AttachmentOut(Schema):
    id: int
    name: str
    size: int
    content_type: str
    url: str = Field(description="Download it here (only as a file, never shown inline)")


class EntryOut(Schema):
    id: int
    kind: str
    kind_label: str
    occurred_at: dt.datetime
    channel: str = Field(description=", ".join(Channel.values))
    direction: str = Field(description="in, out, internal")
    department: str = Field(description=", ".join(Department.values))
    staff: str | None = Field(description="The staff member's username")
    summary: str
    body: str = Field(description="As stored (plain text, or Markdown for notes)")
    body_html: str = Field(description="The body as safe HTML (an allow-list of tags)")
    duration_seconds: int | None
    outcome: str
    source: str
    attachments: list[AttachmentOut]


class TimelineItemOut(EntryOut):
    role: str = Field(description="How the entry concerns the record: about, from, to, cc, via")


class TimelinePage(Schema):
    items: list[TimelineItemOut]
    next_cursor: str | None


class TimelineQuery(Schema):
    kind: list[str] = Field(
        default_factory=list, description="Repeat it, or give a comma list: call,email"
    )
    channel: list[str] = Field(default_factory=list, description="Repeatable or a comma list")
    department: list[str] = Field(default_factory=list, description="Repeatable or a comma list")
    since: dt.datetime | None = Field(None, description="At or after")
    until: dt.datetime | None = Field(None, description="Before")
    q: str = Field("", description="Words in the summary or body")
    cursor: str | None = None
    size: int = Field(25, ge=1, le=MAX_PAGE_SIZE)


class EntryIn(In):
    kind: str = Field(description="A registered kind: call, email, meeting, note, …")
    summary: str = Field(max_length=300)
    contacts: list[int] = Field(default_factory=list)
    accounts: list[int] = Field(default_factory=list)
    occurred_at: dt.datetime | None = Field(None, description="Default: now")
    channel: str | None = Field(None, description="Default: the kind's")
    direction: str | None = Field(None, description="in, out, internal (the default)")
    department: str | None = Field(None, description="Default: the kind's")
    body: str = ""
    duration_seconds: int | None = Field(None, ge=0)
    outcome: str = Field("", max_length=100)
    source: str = Field("", max_length=100, description="The system it comes from")
    external_id: str = Field(
        "", max_length=300, description="Its id there: a repeated post returns the first entry"
    )


class NoteIn(In):
    body: str = Field(description="Simple formatting (Markdown) is kept and shown safely")


class LookupMembershipOut(Schema):
    account_id: int
    account_name: str
    is_primary: bool
    buying_role: str
    rank: int | None


class OpenItemOut(Schema):
    kind: str = Field(description="deal, case, to_confirm, …: whatever the apps provide")
    label: str
    title: str
    url: str = Field(description="The item's page, if you may open it")
    due: dt.date | None


class LookupContactOut(Schema):
    id: int
    full_name: str
    accounts: list[LookupMembershipOut] = Field(
        description="The accounts you may see, primary first"
    )
    entries: list[TimelineItemOut] = Field(description="The latest entries, newest first")
    open_items: list[OpenItemOut] = Field(
        description="What is still open about the contact (proposed details to confirm; deals and cases as those apps arrive)"
    )


class LookupAccountOut(Schema):
    id: int
    name: str
    phone: str
    entries: list[TimelineItemOut] = Field(description="The latest entries, newest first")


class LookupOut(Schema):
    phone: str | None = Field(description="The number searched for, in E.164")
    contacts: list[LookupContactOut]
    accounts: list[LookupAccountOut]


# --- rendering -------------------------------------------------------------------------------


def entry_out(entry: Entry) -> dict[str, Any]:
    info = events.KINDS.get(entry.kind)
    return {
        "id": entry.pk,
        "kind": entry.kind,
        "kind_label": info.label if info else entry.kind,
        "occurred_at": entry.occurred_at,
        "channel": entry.channel,
        "direction": entry.direction,
        "department": entry.department,
        "staff": entry.staff.username if entry.staff else None,
        "summary": entry.summary,
        "body": entry.body,
        "body_html": str(render.body_html(entry)),
        "duration_seconds": entry.duration_seconds,
        "outcome": entry.outcome,
        "source": entry.source,
        "attachments": [
            {
                "id": a.pk,
                "name": a.name,
                "size": a.size,
                "content_type": a.content_type,
                "url": reverse(
                    "api:timeline-entry-attachment",
                    kwargs={"entry_id": entry.pk, "attachment_id": a.pk},
                ),
            }
            for a in entry.attachments.all()
        ],
    }


def item_out(link: EntryLink) -> dict[str, Any]:
    return {**entry_out(link.entry), "role": link.role}


def _listed(values: list[str]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def _filters(query: TimelineQuery) -> selectors.Filters:
    filters = selectors.Filters(
        kinds=_listed(query.kind),
        channels=_listed(query.channel),
        departments=_listed(query.department),
        since=query.since,
        until=query.until,
        q=query.q.strip(),
    )
    errors: dict[str, list[str]] = {}
    for name, given, choices in (
        ("kind", filters.kinds, sorted(events.KINDS)),
        ("channel", filters.channels, Channel.values),
        ("department", filters.departments, Department.values),
    ):
        if set(given) - set(choices):
            errors[name] = [f"Choose from: {', '.join(choices)}."]
    if errors:
        raise ValidationFailed("The filters have problems.", errors=errors)
    return filters


def _page(request: HttpRequest, kind: str, pk: int, query: TimelineQuery) -> dict[str, Any]:
    page = selectors.timeline(
        actor=user_of(request),
        kind=kind,
        pk=pk,
        filters=_filters(query),
        cursor=query.cursor,
        size=query.size,
    )
    return {"items": [item_out(link) for link in page.items], "next_cursor": page.next_cursor}


def _created(response: HttpResponse, request: HttpRequest, entry: Entry) -> dict[str, Any]:
    response["Location"] = reverse("api:timeline-entry-detail", kwargs={"entry_id": entry.pk})
    return entry_out(selectors.entry_get(actor=user_of(request), pk=entry.pk))


# --- a record's timeline ---------------------------------------------------------------------


@router.get(
    "/contacts/{contact_id}/timeline",
    response={200: TimelinePage, **problems(403, 404)},
    url_name="contact-timeline",
)
def contact_timeline(request: HttpRequest, contact_id: int, query: Query[TimelineQuery]):
    """Every touch with the contact, from every department, newest first; follow
    `next_cursor` until it is null. A merged-away id answers 308 to the survivor's."""
    return _page(request, "contact", contact_id, query)


@router.get(
    "/accounts/{account_id}/timeline",
    response={200: TimelinePage, **problems(403, 404)},
    url_name="account-timeline",
)
def account_timeline(request: HttpRequest, account_id: int, query: Query[TimelineQuery]):
    """The account's touches and its people's (`role` `via`), newest first."""
    return _page(request, "account", account_id, query)


# --- entries ---------------------------------------------------------------------------------


@router.post(
    "/timeline/entries",
    response={200: EntryOut, 201: EntryOut, **problems(403, 404)},
    url_name="timeline-entry-create",
)
def entry_create(request: HttpRequest, payload: EntryIn, response: HttpResponse):
    """Put an entry on the timelines of the contacts and accounts named (and on those
    contacts' accounts): a call from the phone system, a web form's message. With `source`
    and `external_id`, posting it again returns the first entry with 200 instead of 201.
    The ids are yours: another caller posting the same id makes an entry of its own."""
    # Only to choose 200 or 201: the service itself is what makes a repeat harmless.
    actor = actor_of(request)
    repeat = bool(payload.source and payload.external_id) and (
        Entry.objects.from_source(payload.source, payload.external_id, services.entry_scope(actor))
        is not None
    )
    entry = services.entry_add(actor=actor, data=data_of(payload))
    return Status(200 if repeat else 201, _created(response, request, entry))


@router.get(
    "/timeline/entries/{entry_id}",
    response={200: EntryOut, **problems(403, 404)},
    url_name="timeline-entry-detail",
)
def entry_read(request: HttpRequest, entry_id: int):
    """One entry, if you may see one of the records it is on."""
    return entry_out(selectors.entry_get(actor=user_of(request), pk=entry_id))


@router.get(
    "/timeline/entries/{entry_id}/attachments/{attachment_id}",
    response={200: None, **problems(403, 404)},
    url_name="timeline-entry-attachment",
    openapi_extra={
        "responses": {
            200: {
                "description": "The file, as a download",
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            }
        }
    },
)
def entry_attachment(request: HttpRequest, entry_id: int, attachment_id: int):
    """An e-mail attachment of an entry, if you may see one of the records the entry is on
    (404 otherwise). Always a download (``Content-Disposition: attachment``)."""
    from rapport.timeline.views import attachment_response

    entry = selectors.entry_get(actor=user_of(request), pk=entry_id)
    return attachment_response(entry, attachment_id)


@router.post(
    "/contacts/{contact_id}/notes",
    response={201: EntryOut, **problems(403, 404)},
    url_name="contact-note-create",
)
def contact_note(request: HttpRequest, contact_id: int, payload: NoteIn, response: HttpResponse):
    """Leave a note on the contact's timeline (needs the right to change the contact)."""
    entry = services.note_add(
        actor=actor_of(request), kind="contact", pk=contact_id, body=payload.body
    )
    return Status(201, _created(response, request, entry))


@router.post(
    "/accounts/{account_id}/notes",
    response={201: EntryOut, **problems(403, 404)},
    url_name="account-note-create",
)
def account_note(request: HttpRequest, account_id: int, payload: NoteIn, response: HttpResponse):
    """Leave a note on the account's timeline (needs the right to change the account)."""
    entry = services.note_add(
        actor=actor_of(request), kind="account", pk=account_id, body=payload.body
    )
    return Status(201, _created(response, request, entry))


# --- the screen pop --------------------------------------------------------------------------


@router.get(
    "/lookup",
    response={200: LookupOut, **problems(403)},
    url_name="timeline-lookup",
)
def lookup(
    request: HttpRequest,
    phone: str = "",
    region: str = Query("", description="ISO country of a number typed without +code"),  # noqa: B008
    q: str = Query("", description="Instead of a phone: a name or an e-mail address"),  # noqa: B008
):
    """Who is calling: the contacts (and accounts) you may see with this number, in any
    format, each contact with its accounts, buying role and rank, and its latest entries."""
    user = user_of(request)
    found = selectors.lookup(actor=user, phone=phone, region=region, q=q)
    return {
        "phone": found.phone,
        "contacts": [
            {
                "id": c.record.pk,
                "full_name": c.record.full_name,
                "accounts": [
                    {
                        "account_id": m.account_id,
                        "account_name": m.account.name,
                        "is_primary": m.is_primary,
                        "buying_role": m.buying_role,
                        "rank": m.rank,
                    }
                    for m in c.record.memberships.all()
                ],
                "entries": [item_out(link) for link in c.entries],
                "open_items": [
                    {"kind": i.kind, "label": i.label, "title": i.title, "url": i.url, "due": i.due}
                    for i in c.open_items
                ],
            }
            for c in found.contacts
        ],
        "accounts": [
            {
                "id": a.record.pk,
                "name": a.record.name,
                "phone": a.record.phone,
                "entries": [item_out(link) for link in a.entries],
            }
            for a in found.accounts
        ],
    }

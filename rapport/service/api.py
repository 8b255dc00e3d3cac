"""Service endpoints of the REST API (mounted by rapport/api_urls.py): cases, their
messages, notes, calls, status changes and assignment, and the kinds of case. The same
services and selectors as the pages; ETags and If-Match on cases; cursor paging."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from rapport.api.auth import actor_of
from rapport.api.common import data_of, problems, user_of
from rapport.api.concurrency import expected_version, set_etag
from rapport.core.errors import NotFound
from rapport.core.pagination import keyset_page
from rapport.service import selectors, services
from rapport.service.models import Case, CaseKind, CaseMessage, CaseStatusChange

router = Router(tags=["Service"])

MAX_PAGE_SIZE = 100
ORDERS = {
    "priority": ["priority", "created_at", "id"],
    "oldest": ["created_at", "id"],
    "newest": ["-created_at", "-id"],
    "updated": ["-updated_at", "-id"],
}


class In(Schema):
    model_config = ConfigDict(extra="forbid")


class CaseOut(Schema):
    id: int
    reference: str = Field(description='"C-000123": the case id, in subjects of its e-mails')
    contact: int
    account: int | None
    kind: str
    channel: str = Field(description=", ".join(Case.Channel.values))
    priority: int = Field(description="1 urgent, 2 high, 3 normal, 4 low")
    status: str = Field(description=", ".join(Case.Status.values))
    subject: str
    description: str
    topic: str
    owner: int | None
    team: int | None
    important: bool
    tier: str
    created_at: dt.datetime
    updated_at: dt.datetime
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    close_reason: str
    version: int


class CasePage(Schema):
    items: list[CaseOut]
    next_cursor: str | None


class CaseCreate(In):
    contact: int
    subject: str = Field(max_length=300)
    description: str = ""
    topic: str = Field("", max_length=100)
    kind: str = Field("inquiry", description="A case kind's key")
    channel: str = Field("phone", description=", ".join(Case.Channel.values))
    priority: int = Field(3, ge=1, le=4)
    important: bool = False
    account: int | None = Field(None, description="Default: the contact's primary account")
    owner: int | None = Field(None, description="Default: you")
    team: int | None = Field(None, description="Default: your first team")


class CasePatch(In):
    subject: str | None = Field(None, max_length=300)
    description: str | None = None
    topic: str | None = Field(None, max_length=100)
    kind: str | None = None
    channel: str | None = None
    priority: int | None = Field(None, ge=1, le=4)
    important: bool | None = None
    account: int | None = None


class CaseListQuery(Schema):
    status: str = Field("open", description="A status, open (any open one) or all")
    priority: int | None = Field(None, ge=1, le=4)
    kind: str = ""
    channel: str = ""
    owner: str = Field("", description="A user id, me or none")
    team: int | None = None
    contact: int | None = None
    account: int | None = None
    important: bool = False
    q: str = Field("", max_length=200, description="A reference (C-000123) or words of the subject")
    sort: str = Field("priority", description=", ".join(ORDERS))
    cursor: str | None = None
    size: int = Field(25, ge=1, le=MAX_PAGE_SIZE)


class CaseMessageOut(Schema):
    id: int
    direction: str = Field(description="in (from the customer), out (to them), internal (a note)")
    channel: str = Field(description=", ".join(CaseMessage.Channel.values))
    occurred_at: dt.datetime
    author_user: str | None = Field(description="The staff member's username")
    author_contact: int | None
    subject: str
    body: str
    message_id: str
    in_reply_to: str
    to_address: str
    duration_seconds: int | None
    entry: int | None = Field(description="Its timeline entry")


class MessagePage(Schema):
    items: list[CaseMessageOut]
    next_cursor: str | None


class CasePageQuery(Schema):
    cursor: str | None = None
    size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class BodyIn(In):
    body: str


class ReplyIn(In):
    body: str
    status: str = Field("", description="Move the case on in the same step, e.g. waiting_customer")


class CallIn(In):
    direction: str = Field("in", description="in or out")
    minutes: float | None = Field(None, ge=0, le=1440)
    body: str = ""


class StatusIn(In):
    status: str = Field(description=", ".join(Case.Status.values))
    reason: str = Field("", description="Needed to close a case with open follow-ups")


class StatusChangeOut(Schema):
    id: int
    from_status: str
    to_status: str
    at: dt.datetime
    by: str | None
    reason: str


class StatusChangePage(Schema):
    items: list[StatusChangeOut]
    next_cursor: str | None


class CaseAssignIn(In):
    owner: int | None = None
    team: int | None = None


class KindOut(Schema):
    id: int
    key: str
    name: str
    builtin: bool
    active: bool
    order: int


class KindCreate(In):
    key: str = Field(max_length=40)
    name: str = Field(max_length=100)
    order: int = Field(50, ge=0, le=32767)


class KindPatch(In):
    name: str | None = Field(None, max_length=100)
    active: bool | None = None
    order: int | None = Field(None, ge=0, le=32767)


# --- rendering ---------------------------------------------------------------------------------


def case_out(case: Case) -> dict[str, Any]:
    return {
        "id": case.pk,
        "reference": case.reference,
        "contact": case.contact_id,
        "account": case.account_id,
        "kind": case.kind.key,
        "channel": case.channel,
        "priority": case.priority,
        "status": case.status,
        "subject": case.subject,
        "description": case.description,
        "topic": case.topic,
        "owner": case.owner_id,
        "team": case.team_id,
        "important": case.important,
        "tier": case.tier,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
        "first_response_at": case.first_response_at,
        "resolved_at": case.resolved_at,
        "closed_at": case.closed_at,
        "close_reason": case.close_reason,
        "version": case.version,
    }


def message_out(m: CaseMessage) -> dict[str, Any]:
    return {
        "id": m.pk,
        "direction": m.direction,
        "channel": m.channel,
        "occurred_at": m.occurred_at,
        "author_user": m.author_user.username if m.author_user else None,
        "author_contact": m.author_contact_id,
        "subject": m.subject,
        "body": m.body,
        "message_id": m.message_id,
        "in_reply_to": m.in_reply_to,
        "to_address": m.to_address,
        "duration_seconds": m.duration_seconds,
        "entry": m.entry_id,
    }


def change_out(c: CaseStatusChange) -> dict[str, Any]:
    return {
        "id": c.pk,
        "from_status": c.from_status,
        "to_status": c.to_status,
        "at": c.at,
        "by": c.by.username if c.by else None,
        "reason": c.reason,
    }


def _case(request: HttpRequest, case_id: int, action: str = "view") -> Case:
    return selectors.case_get(actor=user_of(request), pk=case_id, action=action)


def _fresh(request: HttpRequest, response: HttpResponse, case_id: int) -> dict[str, Any]:
    case = _case(request, case_id)
    set_etag(response, case.version)
    return case_out(case)


# --- cases -------------------------------------------------------------------------------------


@router.get("/cases", response={200: CasePage, **problems(403)}, url_name="case-list")
def case_list(request: HttpRequest, query: Query[CaseListQuery]):
    """The cases you may see (an agent: their team's; a manager: all), open ones by default,
    most urgent and oldest first; follow `next_cursor` until it is null."""
    filters = selectors.Filters(
        status=query.status,
        priority=query.priority,
        kind=query.kind,
        channel=query.channel,
        owner=query.owner,
        team=query.team,
        contact=query.contact,
        account=query.account,
        important=query.important,
        q=query.q,
        sort=query.sort if query.sort in ORDERS else "priority",
    )
    qs = selectors.case_list(actor=user_of(request), filters=filters)
    page = keyset_page(qs, order=ORDERS[filters.sort], cursor=query.cursor, size=query.size)
    return {"items": [case_out(c) for c in page.items], "next_cursor": page.next_cursor}


@router.post("/cases", response={201: CaseOut, **problems(403)}, url_name="case-create")
def case_create(request: HttpRequest, payload: CaseCreate, response: HttpResponse):
    """Open a case for a contact you may see."""
    data = data_of(payload)
    case = services.case_create(actor=actor_of(request), data=data)
    response["Location"] = reverse("api:case-detail", kwargs={"case_id": case.pk})
    return Status(201, _fresh(request, response, case.pk))


@router.get(
    "/cases/{case_id}", response={200: CaseOut, **problems(403, 404)}, url_name="case-detail"
)
def case_read(request: HttpRequest, case_id: int, response: HttpResponse):
    return _fresh(request, response, case_id)


@router.patch(
    "/cases/{case_id}", response={200: CaseOut, **problems(403, 404, 412)}, url_name="case-update"
)
def case_update(request: HttpRequest, case_id: int, payload: CasePatch, response: HttpResponse):
    """Change the fields you send. Send `If-Match` with the ETag you read to avoid lost
    updates (412 when someone changed the case since)."""
    services.case_update(
        actor=actor_of(request),
        case=_case(request, case_id, "change"),
        data=data_of(payload),
        expected_version=expected_version(request),
    )
    return _fresh(request, response, case_id)


@router.delete(
    "/cases/{case_id}", response={204: None, **problems(403, 404, 412)}, url_name="case-delete"
)
def case_delete(request: HttpRequest, case_id: int):
    services.case_delete(
        actor=actor_of(request),
        case=_case(request, case_id, "delete"),
        expected_version=expected_version(request),
    )
    return Status(204, None)


@router.post(
    "/cases/{case_id}/status",
    response={200: CaseOut, **problems(403, 404, 412)},
    url_name="case-status",
)
def case_status(request: HttpRequest, case_id: int, payload: StatusIn, response: HttpResponse):
    """Move the case to another status (kept with its moment). Closing a case whose
    follow-ups are open needs its owner and a `reason`."""
    services.case_status_change(
        actor=actor_of(request),
        case=_case(request, case_id, "change"),
        status=payload.status,
        reason=payload.reason,
        expected_version=expected_version(request),
    )
    return _fresh(request, response, case_id)


@router.post(
    "/cases/{case_id}/assign",
    response={200: CaseOut, **problems(403, 404, 412)},
    url_name="case-assign",
)
def case_assign(request: HttpRequest, case_id: int, payload: CaseAssignIn, response: HttpResponse):
    """Give the case to a person and/or a team (null: nobody)."""
    services.case_assign(
        actor=actor_of(request),
        case=_case(request, case_id, "change"),
        owner=payload.owner,
        team=payload.team,
        expected_version=expected_version(request),
    )
    return _fresh(request, response, case_id)


@router.get(
    "/cases/{case_id}/status-changes",
    response={200: StatusChangePage, **problems(403, 404)},
    url_name="case-status-changes",
)
def case_status_changes(request: HttpRequest, case_id: int, query: Query[CasePageQuery]):
    """Every status the case went through, oldest first."""
    qs = selectors.status_changes_of(actor=user_of(request), case=_case(request, case_id))
    page = keyset_page(qs, order=["at", "id"], cursor=query.cursor, size=query.size)
    return {"items": [change_out(c) for c in page.items], "next_cursor": page.next_cursor}


# --- messages ----------------------------------------------------------------------------------


@router.get(
    "/cases/{case_id}/messages",
    response={200: MessagePage, **problems(403, 404)},
    url_name="case-messages",
)
def case_messages(request: HttpRequest, case_id: int, query: Query[CasePageQuery]):
    """The case's messages, calls and internal notes, oldest first."""
    qs = selectors.messages_of(actor=user_of(request), case=_case(request, case_id))
    page = keyset_page(qs, order=["occurred_at", "id"], cursor=query.cursor, size=query.size)
    return {"items": [message_out(m) for m in page.items], "next_cursor": page.next_cursor}


def _message_created(response: HttpResponse, message: CaseMessage) -> Status:
    response["Location"] = reverse("api:case-messages", kwargs={"case_id": message.case_id})
    return Status(201, message_out(message))


@router.post(
    "/cases/{case_id}/replies",
    response={201: CaseMessageOut, **problems(403, 404, 412)},
    url_name="case-reply",
)
def case_reply(request: HttpRequest, case_id: int, payload: ReplyIn, response: HttpResponse):
    """Reply to the customer by e-mail (through the consent gate, purpose "service"),
    threaded and with the case reference in the subject."""
    message = services.case_reply(
        actor=actor_of(request),
        case=_case(request, case_id, "change"),
        body=payload.body,
        status=payload.status,
        expected_version=expected_version(request),
    )
    return _message_created(response, message)


@router.post(
    "/cases/{case_id}/notes",
    response={201: CaseMessageOut, **problems(403, 404, 412)},
    url_name="case-note",
)
def case_note(request: HttpRequest, case_id: int, payload: BodyIn, response: HttpResponse):
    """An internal note: staff only, never sent to the customer."""
    message = services.case_note_add(
        actor=actor_of(request),
        case=_case(request, case_id, "change"),
        body=payload.body,
        expected_version=expected_version(request),
    )
    return _message_created(response, message)


@router.post(
    "/cases/{case_id}/calls",
    response={201: CaseMessageOut, **problems(403, 404, 412)},
    url_name="case-call",
)
def case_call(request: HttpRequest, case_id: int, payload: CallIn, response: HttpResponse):
    """A call about the case (an outbound one is a response to the customer)."""
    message = services.case_call_log(
        actor=actor_of(request),
        case=_case(request, case_id, "change"),
        inbound=payload.direction != "out",
        minutes=payload.minutes,
        body=payload.body,
        expected_version=expected_version(request),
    )
    return _message_created(response, message)


# --- kinds -------------------------------------------------------------------------------------


def kind_out(kind: CaseKind) -> dict[str, Any]:
    return {
        "id": kind.pk,
        "key": kind.key,
        "name": kind.name,
        "builtin": kind.builtin,
        "active": kind.active,
        "order": kind.order,
    }


def _kind(request: HttpRequest, kind_id: int) -> CaseKind:
    from rapport.users import permissions
    from rapport.users.models import RecordKind

    permissions.require(user_of(request), "view", RecordKind.SERVICE_SETUP)
    kind = CaseKind.objects.filter(pk=kind_id).first()
    if kind is None:
        raise NotFound("No such kind of case.")
    return kind


@router.get("/case-kinds", response={200: list[KindOut], **problems(403)}, url_name="casekind-list")
def casekind_list(request: HttpRequest):
    """The kinds of case, retired ones included (`active` false)."""
    from rapport.users import permissions
    from rapport.users.models import RecordKind

    permissions.require(user_of(request), "view", RecordKind.SERVICE_SETUP)
    return [kind_out(k) for k in selectors.kinds(active_only=False)]


@router.post("/case-kinds", response={201: KindOut, **problems(403)}, url_name="casekind-create")
def casekind_create(request: HttpRequest, payload: KindCreate):
    return Status(
        201, kind_out(services.casekind_create(actor=actor_of(request), data=data_of(payload)))
    )


@router.patch(
    "/case-kinds/{kind_id}",
    response={200: KindOut, **problems(403, 404)},
    url_name="casekind-update",
)
def casekind_update(request: HttpRequest, kind_id: int, payload: KindPatch):
    kind = services.casekind_update(
        actor=actor_of(request), kind=_kind(request, kind_id), data=data_of(payload)
    )
    return kind_out(kind)


@router.delete(
    "/case-kinds/{kind_id}", response={204: None, **problems(403, 404)}, url_name="casekind-delete"
)
def casekind_delete(request: HttpRequest, kind_id: int):
    """Delete a kind no case uses (built-in kinds are retired with `active` false)."""
    services.casekind_delete(actor=actor_of(request), kind=_kind(request, kind_id))
    return Status(204, None)


# Service goals and escalation add their endpoints to this router.
from rapport.service.sla import api as _goals_api  # noqa: E402, F401

"""REST endpoints: IMAP mailboxes Rapport polls for mail. The same services as the web
pages (``mail.mailboxes``); the password can be set but is never returned."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal, TypeAlias

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Router, Schema, Status
from pydantic import ConfigDict, Field

from rapport.api.auth import actor_of
from rapport.api.common import data_of, problems
from rapport.api.concurrency import expected_version, set_etag
from rapport.ingest.mail import mailboxes as services
from rapport.ingest.models import Mailbox

router = Router(tags=["mailboxes"])

if TYPE_CHECKING:
    SecurityT: TypeAlias = str
else:
    SecurityT = Literal[tuple(Mailbox.Security.values)]


class In(Schema):
    model_config = ConfigDict(extra="forbid")


class MailboxCreate(In):
    name: str = Field(max_length=100)
    host: str = Field(max_length=255)
    port: int | None = Field(None, description="Default: 993 for ssl, 143 otherwise")
    security: SecurityT = "ssl"
    username: str = Field(max_length=255)
    password: str = Field(description="Stored encrypted; never returned")
    folders: list[str] = Field(default_factory=lambda: ["INBOX"], description="The folders to poll")
    poll_minutes: int = Field(5, ge=1)
    enabled: bool = True
    shared: bool = Field(False, description="A shared mailbox (no owner); admins only. Else yours.")
    opens_leads: bool = Field(False, description="Mail from outside opens a sales lead (shared mailboxes only)")
    address: str = Field("", max_length=254, description="The mailbox's own address (sales@…): mail to it reaching Rapport another way opens leads too")


class MailboxPatch(In):
    name: str | None = Field(None, max_length=100)
    host: str | None = Field(None, max_length=255)
    port: int | None = None
    security: SecurityT | None = None
    username: str | None = Field(None, max_length=255)
    password: str | None = Field(
        None, description="A new password; required when host, port or username change"
    )
    folders: list[str] | None = None
    poll_minutes: int | None = Field(None, ge=1)
    enabled: bool | None = None
    opens_leads: bool | None = None
    address: str | None = Field(None, max_length=254)


class FolderOut(Schema):
    name: str
    uid_validity: int | None
    last_uid: int = Field(description="The highest UID handled; the next poll starts after it")
    messages_seen: int
    messages_stored: int


class MailboxOut(Schema):
    id: int
    version: int = Field(description="Also the ETag; send it in If-Match to change or delete")
    name: str
    owner_id: int | None = Field(description="null: a shared mailbox")
    host: str
    port: int
    security: str
    username: str
    has_password: bool
    folders: list[str]
    poll_minutes: int
    enabled: bool
    opens_leads: bool = Field(description="Mail from outside opens a sales lead")
    address: str
    last_polled_at: dt.datetime | None
    last_error: str = Field(
        description="What went wrong in the last poll that had a problem; '' if none"
    )
    last_error_at: dt.datetime | None
    polling: bool = Field(description="A poll is running now")
    folder_states: list[FolderOut]
    created_at: dt.datetime
    updated_at: dt.datetime


class PollOut(Schema):
    id: int
    queued: bool


def _out(mailbox: Mailbox) -> MailboxOut:
    return MailboxOut(
        id=mailbox.pk,
        version=mailbox.version,
        name=mailbox.name,
        owner_id=mailbox.owner_id,
        host=mailbox.host,
        port=mailbox.port,
        security=mailbox.security,
        username=mailbox.username,
        has_password=bool(mailbox.password_encrypted),
        folders=list(mailbox.folders or []),
        poll_minutes=mailbox.poll_minutes,
        enabled=mailbox.enabled,
        opens_leads=mailbox.opens_leads,
        address=mailbox.address,
        last_polled_at=mailbox.last_polled_at,
        last_error=mailbox.last_error,
        last_error_at=mailbox.last_error_at,
        polling=mailbox.polling_since is not None,
        folder_states=[
            FolderOut(
                name=f.name,
                uid_validity=f.uid_validity,
                last_uid=f.last_uid,
                messages_seen=f.messages_seen,
                messages_stored=f.messages_stored,
            )
            for f in mailbox.folder_states.all()
        ],
        created_at=mailbox.created_at,
        updated_at=mailbox.updated_at,
    )


@router.get(
    "/mailboxes", response={200: list[MailboxOut], **problems(403)}, url_name="mailbox-list"
)
def mailbox_list(request: HttpRequest):
    """Your own mailboxes; every mailbox for those who manage shared ones (admins)."""
    return [_out(m) for m in services.mailbox_list(actor=actor_of(request))]


@router.post("/mailboxes", response={201: MailboxOut, **problems(403)}, url_name="mailbox-create")
def mailbox_create(request: HttpRequest, payload: MailboxCreate, response: HttpResponse):
    """Connect a mailbox: yours, or a shared one (`shared`: admins)."""
    mailbox = services.mailbox_create(
        actor=actor_of(request), data=data_of(payload, exclude=("shared",)), shared=payload.shared
    )
    set_etag(response, mailbox.version)
    response["Location"] = reverse("api:mailbox-detail", kwargs={"mailbox_id": mailbox.pk})
    return Status(201, _out(mailbox))


@router.get(
    "/mailboxes/{mailbox_id}",
    response={200: MailboxOut, **problems(403, 404)},
    url_name="mailbox-detail",
)
def mailbox_read(request: HttpRequest, mailbox_id: int, response: HttpResponse):
    mailbox = services.mailbox_get(actor=actor_of(request), mailbox_id=mailbox_id)
    set_etag(response, mailbox.version)
    return _out(mailbox)


@router.patch(
    "/mailboxes/{mailbox_id}",
    response={200: MailboxOut, **problems(403, 404, 412)},
    url_name="mailbox-update",
)
def mailbox_update(
    request: HttpRequest, mailbox_id: int, payload: MailboxPatch, response: HttpResponse
):
    """Change the settings you send. Send `If-Match` with the ETag you read: a mailbox
    changed since is a 412 and nothing is saved."""
    mailbox = services.mailbox_update(
        actor=actor_of(request),
        mailbox_id=mailbox_id,
        data={k: v for k, v in data_of(payload).items() if v is not None},
        expected_version=expected_version(request),
    )
    set_etag(response, mailbox.version)
    return _out(mailbox)


@router.delete(
    "/mailboxes/{mailbox_id}",
    response={204: None, **problems(403, 404, 412)},
    url_name="mailbox-delete",
)
def mailbox_delete(request: HttpRequest, mailbox_id: int):
    """Disconnect the mailbox. The messages already on timelines stay."""
    services.mailbox_delete(
        actor=actor_of(request), mailbox_id=mailbox_id, expected_version=expected_version(request)
    )
    return Status(204, None)


@router.post(
    "/mailboxes/{mailbox_id}/poll",
    response={202: PollOut, **problems(403, 404)},
    url_name="mailbox-poll",
)
def mailbox_poll(request: HttpRequest, mailbox_id: int):
    """Queue a poll now; a worker fetches the new messages (see `last_polled_at`)."""
    mailbox = services.mailbox_poll_enqueue(actor=actor_of(request), mailbox_id=mailbox_id)
    return Status(202, PollOut(id=mailbox.pk, queued=True))

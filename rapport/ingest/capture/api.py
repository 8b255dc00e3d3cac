"""REST endpoints: captures (wired into rapport.api_urls).

The same steps as the capture pages: a vCard file through ``vcard.ingest_bytes``, a card
photo through ``cardocr.read_card`` (read only: the client shows the fields, the user
corrects them, and the client saves through ``/capture/vcard`` or ``POST /contacts``), a mail
file message by message through ``mail.receive``. Errors are problem+json: 413 for a file
over the limit, 422 with the reason for one that cannot be read.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Router, Schema, Status
from pydantic import Field

from rapport.api.auth import actor_of
from rapport.api.common import problems, user_of
from rapport.api.errors import problem
from rapport.core.errors import ValidationFailed
from rapport.ingest.capture import cardocr, services, vcard
from rapport.ingest.capture import views as capture_views
from rapport.ingest.mail import services as mail
from rapport.ingest.mail import uploads as mail_uploads
from rapport.ingest.models import MailUpload

router = Router(tags=["captures"])

VCARD_TYPES = ("text/vcard", "text/x-vcard", "text/directory")


def _multipart(field_name: str, description: str, *extra: str) -> dict[str, Any]:
    properties: dict[str, Any] = {field_name: {"type": "string", "format": "binary"}}
    for name in extra:
        properties[name] = {"type": "string"}
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": properties,
                        "required": [field_name],
                    }
                }
            },
        }
    }


# --- shapes ----------------------------------------------------------------------------------


class CardResultOut(Schema):
    position: int = Field(description="1 for the first card in the file")
    name: str
    outcome: str = Field(description="created, updated or skipped (a likely duplicate)")
    contact_id: int | None
    duplicate_of: int | None
    duplicate_percent: int | None
    account_id: int | None
    account_how: str = Field(description="name or domain; '' without an account")
    proposed_account: str = Field(description="The card's company when no account has it")
    rejected: list[str] = Field(description="Values left out, with the reason")
    entry_id: int | None = Field(description="The card entry on the contact's timeline")


class CardProblemOut(Schema):
    position: int
    line: int
    message: str


class VcardOut(Schema):
    created: int
    updated: int
    skipped: int
    results: list[CardResultOut]
    problems: list[CardProblemOut] = Field(description="Cards that could not be read or saved")


class CardPhoneOut(Schema):
    kind: str = Field(description="mobile, work, fax or other")
    e164: str
    line: str


class FieldsOut(Schema):
    name: str
    given_name: str
    family_name: str
    title: str
    company: str
    emails: list[str]
    phones: list[CardPhoneOut]
    websites: list[str]
    address: dict[str, str] = Field(description="street, city, postcode, region, country (ISO)")
    sources: dict[str, str] = Field(description="{field: the line it was read from}")


class AccountSuggestionOut(Schema):
    account_id: int | None
    account_name: str
    how: str = Field(description="name or domain; '' when no account matches")
    proposed: str = Field(description="The company to propose as a new account")


class CardImageOut(Schema):
    text: str = Field(description="The text as read by OCR")
    lines: list[str]
    fields: FieldsOut
    account: AccountSuggestionOut
    width: int
    height: int


class SkippedAttachmentOut(Schema):
    filename: str
    content_type: str
    size: int
    reason: str


class MessageOut(Schema):
    number: int
    label: str
    status: str = Field(description="stored, duplicate, unmatched or error")
    reason: str
    entry_id: int | None
    sender: str
    skipped_attachments: list[SkippedAttachmentOut]


class MailOut(Schema):
    read: int
    stored: int
    duplicates: int
    unmatched: int
    errors: int
    messages: list[MessageOut]


# --- endpoints -------------------------------------------------------------------------------


def _too_large(name: str, size: int, limit: int) -> Any:
    return problem(
        413, f"{name} is {size:,} bytes; at most {limit:,} bytes are accepted.", {"file": []}
    )


def _no_file(name: str) -> ValidationFailed:
    return ValidationFailed(
        f"Send the file as multipart/form-data in the field '{name}'.",
        errors={name: ["Required."]},
    )


@router.post(
    "/capture/vcard",
    response={200: VcardOut, **problems(403, 413)},
    url_name="capture-vcard",
    openapi_extra={
        **_multipart(
            "file", "A .vcf file, or the vCard text itself as text/vcard", "on_duplicate", "event"
        ),
    },
)
def capture_vcard(request: HttpRequest, on_duplicate: str = "skip", event: str = ""):
    """Every card of a vCard file (3.0 or 4.0, one card or many) into contacts: the duplicate
    check (``on_duplicate``: skip, update or create), the account by company or e-mail
    domain, and a card entry on the timeline (``event``: where it was collected). Send the
    file as multipart (``file``) or the text as the body with ``Content-Type: text/vcard``;
    ``on_duplicate`` and ``event`` as query or form fields."""
    services.require_card_capture(user_of(request))
    on_duplicate = request.POST.get("on_duplicate", on_duplicate)
    event = request.POST.get("event", event).strip()
    if on_duplicate not in vcard.ON_DUPLICATE:
        raise ValidationFailed(
            "on_duplicate must be skip, update or create.",
            errors={"on_duplicate": [f"Choose one of {', '.join(vcard.ON_DUPLICATE)}."]},
        )
    limit = int(getattr(settings, "RAPPORT_VCARD_UPLOAD_MAX_BYTES", 10 * 1024 * 1024))
    content_type = (request.content_type or "").lower()
    if content_type.startswith("multipart/"):
        upload = request.FILES.get("file")
        if upload is None:
            raise _no_file("file")
        if upload.size and upload.size > limit:
            return _too_large(upload.name or "The file", upload.size, limit)
        data = upload.read()
    elif content_type in VCARD_TYPES:
        if int(request.headers.get("Content-Length") or 0) > limit:
            return _too_large("The body", int(request.headers["Content-Length"]), limit)
        data = request.body
    else:
        raise ValidationFailed(
            "Send a vCard file as multipart/form-data ('file') or as text/vcard.",
            errors={"file": ["Required."]},
        )
    summary = vcard.ingest_bytes(
        data,
        actor=actor_of(request),
        event=event,
        on_duplicate=on_duplicate,
        source="api",
    )
    return {
        "created": summary.count("created"),
        "updated": summary.count("updated"),
        "skipped": summary.count("skipped"),
        "results": [
            {
                "position": r.card.position,
                "name": r.card.name,
                "outcome": r.outcome,
                "contact_id": r.contact_id,
                "duplicate_of": r.duplicate_of,
                "duplicate_percent": r.duplicate_percent,
                "account_id": r.account_id,
                "account_how": r.account_how,
                "proposed_account": r.proposed_account,
                "rejected": r.rejected,
                "entry_id": r.entry_id,
            }
            for r in summary.results
        ],
        "problems": [
            {"position": p.position, "line": p.line, "message": str(p)} for p in summary.problems
        ],
    }


@router.post(
    "/capture/card-image",
    response={200: CardImageOut, **problems(403, 413)},
    url_name="capture-card-image",
    openapi_extra=_multipart("image", "A PNG or JPEG photo of a paper business card"),
)
def capture_card_image(request: HttpRequest):
    """The text on a photo of a business card (OCR) and the contact fields read from it, with
    the account the contact would be attached to. Nothing is saved: show the fields, let the
    user correct them, then save through ``POST /capture/vcard`` or ``POST /contacts``."""
    services.require_card_capture(user_of(request))
    upload = request.FILES.get("image")
    if upload is None:
        raise _no_file("image")
    limit = capture_views.card_image_max_bytes()
    if upload.size and upload.size > limit:
        return _too_large(upload.name or "The image", upload.size, limit)
    try:
        reading = services.card_read(actor=actor_of(request), data=upload.read(), filename=upload.name or "")
    except cardocr.CardImageError as exc:
        raise ValidationFailed(str(exc), errors={"image": [exc.reason]}) from None
    fields = reading.fields
    card = vcard.Card(
        position=1,
        line=0,
        given=fields.given_name,
        family=fields.family_name,
        organisation=fields.company,
        emails=[vcard.Typed(e) for e in fields.emails],
    )
    account, how = vcard.account_suggestion(card, user=user_of(request))
    return {
        "text": reading.text,
        "lines": reading.lines,
        "fields": {
            "name": fields.name,
            "given_name": fields.given_name,
            "family_name": fields.family_name,
            "title": fields.title,
            "company": fields.company,
            "emails": fields.emails,
            "phones": [{"kind": p.kind, "e164": p.e164, "line": p.line} for p in fields.phones],
            "websites": fields.websites,
            "address": fields.address,
            "sources": fields.sources,
        },
        "account": {
            "account_id": account.pk if account else None,
            "account_name": account.name if account else "",
            "how": how,
            "proposed": "" if account else fields.company,
        },
        "width": reading.width,
        "height": reading.height,
    }


class MailUploadOut(Schema):
    id: int
    status: str = Field(description="queued, running, done or failed")
    file_name: str
    size: int
    read: int
    stored: int
    duplicates: int
    unmatched: int
    errors: int
    messages: list[MessageOut] = Field(
        description=f"The outcomes of the first {MailUpload.MAX_OUTCOMES:,} messages"
    )
    error: str = Field(description="Why the file could not be read; '' otherwise")
    created_at: dt.datetime
    finished_at: dt.datetime | None


def _messages(outcomes: list[Any]) -> list[dict[str, Any]]:
    def get(m: Any, name: str) -> Any:
        return m[name] if isinstance(m, dict) else getattr(m, name)

    return [
        {
            "number": get(m, "number"),
            "label": get(m, "label"),
            "status": get(m, "status"),
            "reason": get(m, "reason"),
            "entry_id": get(m, "entry_id"),
            "sender": get(m, "sender"),
            "skipped_attachments": get(m, "skipped"),
        }
        for m in outcomes
    ]


def _upload(row: MailUpload) -> dict[str, Any]:
    return {
        "id": row.pk,
        "status": row.status,
        "file_name": row.file_name,
        "size": row.size,
        "read": row.read,
        "stored": row.stored,
        "duplicates": row.duplicates,
        "unmatched": row.unmatched,
        "errors": row.errors,
        "messages": _messages(row.outcomes),
        "error": row.error,
        "created_at": row.created_at,
        "finished_at": row.finished_at,
    }


@router.post(
    "/capture/mail",
    response={200: MailOut, 202: MailUploadOut, **problems(403, 413)},
    url_name="capture-mail",
    openapi_extra=_multipart("file", "An .eml file (one message) or an .mbox file (many)"),
)
def capture_mail(request: HttpRequest, response: HttpResponse):
    """Every message of an .eml or mbox file onto the timelines of the contacts among its
    sender and recipients (once per Message-ID). Each message's outcome is listed; a broken
    message has its reason and does not stop the others; attachments over the size limit
    are left out and listed with the reason while the message is stored. A file larger than
    ``MAIL_UPLOAD_INLINE_BYTES`` (5 MiB by default) is read in the background: the answer is
    202 with the upload; follow ``Location`` until ``status`` is ``done``."""
    mail.require_mail_file(user_of(request))
    upload = request.FILES.get("file")
    if upload is None:
        raise _no_file("file")
    limit = capture_views.mail_upload_max_bytes()
    if upload.size and upload.size > limit:
        return _too_large(upload.name or "The file", upload.size, limit)
    result = mail_uploads.mail_file_receive(actor=actor_of(request), upload=upload)
    if isinstance(result, MailUpload):
        response["Location"] = reverse("api:capture-mail-upload", kwargs={"upload_id": result.pk})
        return Status(202, _upload(result))
    return {
        "read": result.read,
        "stored": result.stored,
        "duplicates": result.duplicates,
        "unmatched": len(result.unmatched),
        "errors": len(result.errors),
        "messages": _messages(result.messages),
    }


@router.get(
    "/capture/mail/uploads/{upload_id}",
    response={200: MailUploadOut, **problems(404)},
    url_name="capture-mail-upload",
)
def capture_mail_upload(request: HttpRequest, upload_id: int):
    """A mail file read in the background: its status, and its counts once done. Only the
    person who uploaded it (and admins) see it; 404 for anyone else."""
    return _upload(mail_uploads.mail_upload_get(user=user_of(request), pk=upload_id))

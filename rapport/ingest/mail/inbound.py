"""The inbound-mail webhook: a mail provider posts each message as raw MIME (RFC 5322),
authenticated with a personal API token of an integration user, and it lands on the
timeline like an ingested file's messages (stored once per Message-ID)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status

from rapport.api.auth import actor_of
from rapport.api.common import problems, user_of
from rapport.api.errors import problem
from rapport.core.errors import ValidationFailed
from rapport.ingest.mail import services as mail
from rapport.users import permissions

router = Router(tags=["inbound mail"])


class InboundOut(Schema):
    status: str  # stored, duplicate or unmatched
    entry_id: int | None
    contacts: list[int]
    sender: str
    message_id: str


def max_bytes() -> int:
    return int(getattr(settings, "MAIL_MAX_MESSAGE_BYTES", 50 * 1024 * 1024))


READ_CHUNK = 64 * 1024


def read_body(request: HttpRequest, limit: int) -> bytes | None:
    """The request body, or None when it is longer than ``limit``: refused from the
    Content-Length before anything is read, and read in chunks up to the limit when the
    body is chunked (no Content-Length). ``request.body`` is not used: Django caps it at
    DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), far below a message with attachments."""
    declared = request.headers.get("Content-Length")
    if declared:
        try:
            if int(declared) > limit:
                return None
        except ValueError:
            return None
        stream: Any = request  # Django's stream, bounded by the Content-Length
    else:
        # Without a length Django reads nothing; a server that ends the input itself
        # (chunked transfer: wsgi.input_terminated) lets the raw input be read to its end.
        if not request.META.get("wsgi.input_terminated"):
            return b""
        stream = request.META["wsgi.input"]
    parts: list[bytes] = []
    size = 0
    while chunk := stream.read(READ_CHUNK):
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
    return b"".join(parts)


@router.post(
    "/inbound/mail",
    response={201: InboundOut, 200: InboundOut, **problems(403, 413, 422)},
    url_name="inbound-mail",
    openapi_extra={
        "requestBody": {
            "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
            "required": True,
        }
    },
)
def inbound_mail(request: HttpRequest, response: HttpResponse):
    """Post one message as raw MIME (``Content-Type: message/rfc822``). 201 when stored
    on the timeline of the contacts among its sender and recipients, 200 when it was
    stored before (same Message-ID) or matches no contact (``unmatched``, with its sender),
    422 with the reason when it cannot be read."""
    user = user_of(request)
    permissions.require(user, "change", "contact")
    raw = read_body(request, max_bytes())
    if raw is None:
        return problem(413, f"A message may be at most {max_bytes():,} bytes.")
    try:
        message, result = mail.receive(raw, actor=actor_of(request))
    except mail.MailProblem as exc:
        raise ValidationFailed(
            f"The message cannot be read: {exc}", errors={"message": [str(exc)]}
        ) from None
    body = {
        "status": result.status,
        "entry_id": result.entry.pk if result.entry else None,
        "contacts": result.contacts,
        "sender": (result.sender or message.from_)[1],
        "message_id": message.message_id,
    }
    return Status(201 if result.status == "stored" else 200, body)

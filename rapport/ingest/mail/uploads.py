"""Mail files uploaded through the pages and the API: small ones read at once, large ones
handed to the worker.

A file up to ``MAIL_UPLOAD_INLINE_BYTES`` is read in the request, as it always was. A
larger one (an mbox of years of mail takes minutes) is stored in default storage and read
by ``mail_upload_task`` as its uploader, so it lands on the same contacts as it would have
in the request; its ``MailUpload`` keeps the counts and the first outcomes for the status
page and ``GET /capture/mail/uploads/{id}``. Only the uploader and admins see an upload.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from rapport.audit.services import Actor, audit_record
from rapport.core.errors import NotFound
from rapport.core.transactions import enqueue_after_commit
from rapport.ingest.mail.services import Summary, ingest_file, require_mail_file
from rapport.ingest.mail.upload_runs import spooled
from rapport.ingest.models import MailUpload
from rapport.users import permissions
from rapport.users.models import Role

ENTITY = "mail_upload"


def inline_bytes() -> int:
    return int(getattr(settings, "MAIL_UPLOAD_INLINE_BYTES", 5 * 1024 * 1024))


# --- writes ------------------------------------------------------------------------------------


def mail_file_receive(*, actor: Actor, upload: Any) -> Summary | MailUpload:
    """An uploaded .eml or mbox file: read now (its ``Summary``) when it is at most
    ``MAIL_UPLOAD_INLINE_BYTES``, else stored and queued (its ``MailUpload``), so that no
    web request holds a worker thread for the minutes a large mbox takes."""
    require_mail_file(actor.user)
    if (upload.size or 0) <= inline_bytes():
        with spooled(upload.chunks()) as path:
            return ingest_file(path, actor, outcomes=True)
    return mail_upload_create(actor=actor, upload=upload)


def mail_upload_create(*, actor: Actor, upload: Any) -> MailUpload:
    """Store the file (under a random name, never the uploaded one) and queue its reading."""
    from rapport.ingest.mail.tasks import mail_upload_task

    require_mail_file(actor.user)
    name = default_storage.save(f"mail/{uuid.uuid4().hex}.upload", File(upload))
    with transaction.atomic():
        row = MailUpload.objects.create(
            uploaded_by=actor.user,
            via=actor.via,
            file_name=(upload.name or "upload")[:255],
            file_path=name,
            size=upload.size or 0,
        )
        audit_record(
            actor=actor,
            action="create",
            entity_kind=ENTITY,
            entity_id=row.pk,
            changes={"file_name": [None, row.file_name], "size": [None, row.size]},
        )
        enqueue_after_commit(mail_upload_task, row.pk)
    return row


# --- reads -------------------------------------------------------------------------------------


def mail_upload_get(*, user: Any, pk: int) -> MailUpload:
    """An upload, for its uploader or an admin; NotFound for anyone else (not 403: others
    do not learn that it exists)."""
    row = MailUpload.objects.filter(pk=pk).first()
    if row is None:
        raise NotFound("No such mail upload.")
    if row.uploaded_by_id != getattr(user, "pk", None) and permissions.role_of(user) != Role.ADMIN:
        raise NotFound("No such mail upload.")
    return row

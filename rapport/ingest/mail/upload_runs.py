"""Reading a queued mail upload (``mail_upload_task``): apart from ``uploads``, which queues
the task, so that the task module and the module that queues it do not import each other."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from rapport.audit.services import Actor
from rapport.core.errors import NotFound
from rapport.core.transactions import after_commit
from rapport.ingest.mail.services import ingest_file
from rapport.ingest.models import MailUpload


@contextmanager
def spooled(chunks: Iterator[bytes]) -> Iterator[str]:
    # The mailbox module reads files by path, so a stream goes through a temporary file.
    handle, name = tempfile.mkstemp(prefix="rapport-mail-", suffix=".upload")
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
        yield name
    finally:
        os.unlink(name)



def mail_upload_run(*, upload_id: int) -> None:
    """Read a queued upload as its uploader. Safe to run twice: a done upload is left as
    it is, and a rerun of one cut off half-way stores nothing twice (Message-ID). The
    stored file is deleted once read, or once reading it failed."""
    with transaction.atomic():
        row = MailUpload.objects.select_for_update().filter(pk=upload_id).first()
        if row is None or row.status == MailUpload.Status.DONE:
            return
        row.status = MailUpload.Status.RUNNING
        row.save(update_fields=["status", "updated_at"])
    try:
        if row.uploaded_by is None:
            raise NotFound("The account of the person who uploaded the file is gone.")
        actor = Actor(
            user=row.uploaded_by, via=row.via, context={"path": "worker", "mail_upload": row.pk}
        )
        with (
            default_storage.open(row.file_path, "rb") as f,
            spooled(iter(File(f).chunks())) as path,
        ):
            summary = ingest_file(path, actor, outcomes=True, max_outcomes=MailUpload.MAX_OUTCOMES)
    except Exception as exc:
        _finish(row, status=MailUpload.Status.FAILED, error=str(exc) or type(exc).__name__)
        raise
    row.read, row.stored, row.duplicates = summary.read, summary.stored, summary.duplicates
    row.unmatched, row.errors = len(summary.unmatched), len(summary.errors)
    row.outcomes = [dataclasses.asdict(m) for m in summary.messages]
    _finish(row, status=MailUpload.Status.DONE, error="")


def _finish(row: MailUpload, *, status: str, error: str) -> None:
    with transaction.atomic():
        row.status, row.error, row.finished_at = status, error, timezone.now()
        path, row.file_path = row.file_path, ""
        row.save()
        if path:
            after_commit(default_storage.delete, path)

"""Background work of mail: polling a mailbox, reading a large uploaded file. Safe to run twice."""

from __future__ import annotations

from django_tasks import task

from rapport.audit.models import Via
from rapport.audit.services import Actor


@task()
def mailbox_poll_task(mailbox_id: int, due_only: bool = False) -> None:
    """Poll one IMAP mailbox. ``due_only`` (the scheduler's runs): skip a mailbox polled
    since it was queued, so a queue that fell behind does not poll it twice in a row."""
    from rapport.ingest.mail import imap, selectors
    from rapport.ingest.models import Mailbox

    if due_only and mailbox_id not in selectors.mailboxes_due():
        return
    if not Mailbox.objects.filter(pk=mailbox_id).exists():
        return  # deleted since it was queued
    imap.poll(mailbox_id, actor=Actor(user=None, via=Via.SYSTEM, context={"path": "worker"}))


@task()
def mail_upload_task(upload_id: int) -> None:
    """Read a large uploaded mail file (``upload_runs.mail_upload_run``); safe to run twice."""
    from rapport.ingest.mail import upload_runs

    upload_runs.mail_upload_run(upload_id=upload_id)

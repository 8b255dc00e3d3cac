"""Background work of imports. Each task takes an id and is safe to run twice: a run that
finds the job finished, or owned by a live run, does nothing."""

from __future__ import annotations

from django_tasks import task

from rapport.audit.models import Via
from rapport.audit.services import Actor


@task()
def import_run_task(job_id: int) -> None:
    from rapport.ingest import engine

    engine.run(job_id)


@task()
def import_undo_task(job_id: int) -> None:
    from rapport.ingest import undo
    from rapport.ingest.models import ImportJob

    job = ImportJob.objects.select_related("undone_by").get(pk=job_id)
    undo.undo_run(job_id, Actor(user=job.undone_by, via=Via.IMPORT, context={"import": job_id, "undo": True}))


@task()
def mailbox_poll_task(mailbox_id: int, due_only: bool = False) -> None:
    """Poll one IMAP mailbox. ``due_only`` (the scheduler's runs): skip a mailbox polled
    since it was queued, so a queue that fell behind does not poll it twice in a row."""
    from rapport.ingest import imap, mailbox_services
    from rapport.ingest.models import Mailbox

    if due_only and mailbox_id not in mailbox_services.mailboxes_due():
        return
    if not Mailbox.objects.filter(pk=mailbox_id).exists():
        return  # deleted since it was queued
    imap.poll(mailbox_id, actor=Actor(user=None, via=Via.SYSTEM, context={"path": "worker"}))


@task()
def mail_learn_task(entry_ids: list[int], user_id: int | None = None) -> None:
    """Facts from the signatures of e-mails stored from a file (``mail.ingest_file``).
    Safe to run twice: a fact seen again is a sighting of the same proposal."""
    from rapport.ingest import proposals
    from rapport.users.models import User

    user = User.objects.filter(pk=user_id).first() if user_id else None
    proposals.from_entries(entry_ids=entry_ids, actor=Actor(user=user, via=Via.IMPORT, context={"learn": "mail"}))

"""Background work of service: cases from the e-mails of a file. Safe to run twice (a
Message-ID already on a case adds nothing)."""

from __future__ import annotations

from django_tasks import task

from rapport.core.actor import Actor
from rapport.core.transactions import enqueue_after_commit


@task()
def cases_from_entries_task(entry_ids: list[int], bringer_id: int | None = None) -> int:
    from rapport.service import mail

    return mail.from_entries(entry_ids=entry_ids, bringer_id=bringer_id)


def queue_cases_from_entries(*, entry_ids: list[int], actor: Actor) -> None:
    """The mail learner's ``later`` hook: a file's stored messages, after commit."""
    from rapport.service.models import ServiceMailbox

    if entry_ids and ServiceMailbox.objects.filter(active=True).exists():
        enqueue_after_commit(cases_from_entries_task, entry_ids, getattr(actor.user, "pk", None))


@task()
def sla_notices_task() -> dict[str, int]:
    """One pass of the service-goal notices (the worker's loop calls it every 30 s
    directly; this task is for queueing one by hand). Safe to run twice: each notice is
    claimed once."""
    from rapport.service.sla.notices import notices_run

    run = notices_run()
    return {"warnings": run.warnings, "breaches": run.breaches}


"""Background work of proposals: learning the facts of stored e-mails. Safe to run twice."""

from __future__ import annotations

from django_tasks import task

from rapport.audit.models import Via
from rapport.core.actor import Actor


@task()
def mail_learn_task(entry_ids: list[int], user_id: int | None = None) -> None:
    """Facts from the signatures of e-mails stored from a file (``mail.ingest_file``).
    Safe to run twice: a fact seen again is a sighting of the same proposal."""
    from rapport.ingest.proposals import services as proposals
    from rapport.users.models import User

    user = User.objects.filter(pk=user_id).first() if user_id else None
    proposals.from_entries(
        entry_ids=entry_ids, actor=Actor(user=user, via=Via.IMPORT, context={"learn": "mail"})
    )


def queue_learning(*, entry_ids: list[int], actor: Actor) -> None:
    """Mail's ``later`` learner (``mail.learners``): the entries of a file's batch, learned
    by the worker."""
    mail_learn_task.enqueue(entry_ids, actor.user.pk if actor.user else None)

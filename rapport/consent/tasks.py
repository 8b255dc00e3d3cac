"""Background sending; each task takes an id and is safe to run twice (the gate claims
each message before it sends it)."""

from __future__ import annotations

from django_tasks import task

from rapport.consent import delivery


@task()
def send_message_task(message_id: int) -> str:
    return delivery.deliver(message_id)


@task()
def send_batch_task(batch_id: int) -> dict[str, int]:
    return delivery.batch_run(batch_id)

"""Marketing's background work; each task takes ids and is safe to run twice."""

from __future__ import annotations

from django_tasks import task

from rapport.marketing import services


@task()
def campaign_send_task(campaign_id: int) -> dict[str, int]:
    """Split, queue through the consent gate, send, and follow the outcome of a campaign."""
    return services.campaign_send_run(campaign_id=campaign_id)


@task()
def campaigns_due_task() -> int:
    """Queue every scheduled campaign whose time has come (run it from the scheduler)."""
    return len(services.campaigns_enqueue_due())

"""The touchpoint listener (registered in ``SurveysConfig.ready``): after a case is
resolved, a deal won or lost, a meeting held or a campaign message sent (and committed),
queue the task that invites the person to the surveys of that touchpoint. It only queues:
the request that reached the touchpoint is not held up, and nothing here can undo it."""

from __future__ import annotations

from rapport.core.touchpoints import Touchpoint


def touchpoint_heard(point: Touchpoint) -> None:
    if point.contact_id is None:
        return
    from rapport.surveys.tasks import touchpoint_invite_task

    touchpoint_invite_task.enqueue(
        point.kind, point.contact_id, point.department, point.object_kind, point.object_id,
        point.staff_id, point.occurred_at.isoformat() if point.occurred_at else None,
    )  # fmt: skip

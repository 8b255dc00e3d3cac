"""Timeline events of tasks: a task done, with its note, on its contact's (and account's)
timeline. A quick log's call or meeting is recorded by the timeline's own kinds instead
(``services.activity_log``), so a call logged from "my day" is one entry, not two.

Registered by ``FollowupsConfig.ready``; ``timeline.E001`` fails if a kind here is not.
"""

from __future__ import annotations

from typing import Any

from rapport.core.actor import Actor
from rapport.timeline import events
from rapport.timeline.models import Channel, Department, Entry

TASK_DONE = events.KindInfo("task_done", "Task done", Department.OTHER, Channel.OTHER)
TIMELINE_KINDS = (TASK_DONE,)


def register() -> None:
    for kind in TIMELINE_KINDS:
        events.register_kind(
            kind.name, kind.label, department=kind.department, channel=kind.channel
        )


def _department(actor: Actor) -> str:
    return department_of_role(getattr(actor.user, "role", ""))


def department_of_role(role: str) -> str:
    return {
        "sales": Department.SALES,
        "service": Department.SERVICE,
        "marketing": Department.MARKETING,
    }.get(role, Department.OTHER)


def task_done(*, actor: Actor, task: Any, note: str = "") -> Entry:
    return events.record(
        kind=TASK_DONE.name,
        summary=f"Done: {task.title}",
        contacts=[task.contact_id] if task.contact_id else [],
        accounts=[task.account_id] if task.account_id else [],
        department=_department(actor),
        staff=actor.user,
        body=note,
        data={
            "task": task.pk,
            "kind": task.kind,
            **(
                {"subject_kind": task.subject_kind, "subject_id": task.subject_id}
                if task.subject_kind
                else {}
            ),
        },
    )

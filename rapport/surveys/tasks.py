"""Background work of surveys: inviting a touchpoint's person (queued by the touchpoint
listener after the change commits). Takes plain values and is safe to run twice: an
object's invitation is decided once (rapport.surveys.services)."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from rapport.surveys import services


@task()
def touchpoint_invite_task(
    kind: str,
    contact_id: int | None,
    department: str,
    object_kind: str,
    object_id: int,
    staff_id: int | None = None,
    occurred_at: str | None = None,
) -> dict[str, object]:
    result = services.touchpoint_invite(
        kind=kind, contact_id=contact_id, department=department, object_kind=object_kind,
        object_id=object_id, staff_id=staff_id,
        occurred_at=dt.datetime.fromisoformat(occurred_at) if occurred_at else None,
    )  # fmt: skip
    return {"invited": result.invited, "skipped": result.skipped, "already": result.already}

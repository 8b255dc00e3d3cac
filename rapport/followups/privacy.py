"""What tasks hold about a person, for subject access and erasure (rapport.core.privacy).

A task on the contact is exported whole (what was to be done, its notes and outcome). On
erasure the tasks about them are deleted: their titles and notes are about the person, and
a task with no one to do it for has no use.
"""

from __future__ import annotations

from typing import Any

from rapport.audit.models import AuditEntry
from rapport.audit.services import audit_record, plain
from rapport.followups.models import Task

EXPORT_FIELDS = (
    "id", "kind", "title", "notes", "status", "due_at", "starts_at", "ends_at", "done_at",
    "outcome_note", "subject_kind", "subject_id", "created_at",
)  # fmt: skip


def tasks_export(*, contact_id: int) -> list[dict[str, Any]]:
    return [
        {k: plain(v) for k, v in row.items()}
        for row in Task.objects.filter(contact_id=contact_id).order_by("id").values(*EXPORT_FIELDS)
    ]


def tasks_erase(*, actor: Any, contact_id: int) -> int:
    tasks = list(Task.objects.filter(contact_id=contact_id).only("id", "title"))
    for task in tasks:
        audit_record(
            actor=actor, action=AuditEntry.Action.DELETE, entity_kind="task", entity_id=task.pk,
            object_kind="task", object_id=task.pk, changes={"contact": [contact_id, None]},
        )  # fmt: skip
    return Task.objects.filter(pk__in=[t.pk for t in tasks]).delete()[0]

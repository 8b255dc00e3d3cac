"""Tasks and follow-ups shared by every department (call back, send a quote, a meeting, a
case's follow-up), and the "my day" page.

One ``Task`` table for the whole product: sales, service and anyone else point a task at
what it follows up with ``subject_kind`` + ``subject_id`` (plain fields, so this app needs
to know none of theirs). A task is visible to its assignee's team (or only to the assignee),
as a contact is to its owner's: for ``RecordKind.TASK`` the assignee is the owner.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from rapport.core.models import VersionedModel


class Task(VersionedModel):
    class Kind(models.TextChoices):
        CALL = "call", "Call"
        EMAIL = "email", "E-mail"
        MEETING = "meeting", "Meeting"
        QUOTE = "quote", "Send a quote"
        FOLLOW_UP = "follow_up", "Follow-up"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.FOLLOW_UP)
    title = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    # Meetings: when they start and end (a meeting's due_at is its start).
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    # Not indexed alone: the (assignee, status, due_at) index starts with it.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    team = models.ForeignKey(
        "users.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    account = models.ForeignKey(
        "customers.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What it follows up ("deal", "case", "lead"…), by the owning app's kind and id.
    subject_kind = models.CharField(max_length=20, blank=True)
    subject_id = models.PositiveBigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Why it was cancelled, or the note it was done with.
    outcome_note = models.CharField(max_length=500, blank=True)
    reminder_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="done") | Q(done_at__isnull=False), name="task_done_has_time"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True)
                | Q(starts_at__isnull=True)
                | Q(ends_at__gte=models.F("starts_at")),
                name="task_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(subject_kind="") | Q(subject_id__isnull=False),
                name="task_subject_has_id",
            ),
        ]
        indexes = [
            # My day and my open tasks: one index range per assignee.
            models.Index(fields=["assignee", "status", "due_at"], name="task_assignee_idx"),
            models.Index(
                fields=["subject_kind", "subject_id"],
                name="task_subject_idx",
                condition=~Q(subject_kind=""),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def owner_id(self) -> int:
        """The permission layer's owner of a task is its assignee (team / own visibility)."""
        return self.assignee_id

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

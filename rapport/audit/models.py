from django.conf import settings
from django.db import models

from rapport.core.actor import Via as Via  # lives beside Actor in core; still exported here


class AuditEntry(models.Model):
    """One change to one record, with each field's old and new value.

    Entries are only ever inserted; nothing in the app updates or deletes them. ``entity``
    is the record whose history shows the change (a contact for a change to one of its
    phone numbers), ``object`` the row that actually changed.
    """

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Changed"
        DELETE = "delete", "Deleted"
        EXPORT = "export", "Exported"
        MERGE = "merge", "Merged"
        UNMERGE = "unmerge", "Unmerged"

    at = models.DateTimeField(auto_now_add=True)
    # Not indexed alone: audit_actor_idx starts with it.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False,
    )
    actor_name = models.CharField(max_length=150, blank=True)
    via = models.CharField(max_length=20, choices=Via.choices)
    action = models.CharField(max_length=20, choices=Action.choices)
    entity_kind = models.CharField(max_length=30)
    entity_id = models.BigIntegerField(null=True)
    object_kind = models.CharField(max_length=30)
    object_id = models.BigIntegerField(null=True)
    object_repr = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    # Where the change came from beyond the path: an import's id, a token's name…
    context = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["entity_kind", "entity_id", "-id"], name="audit_entity_idx"),
            models.Index(fields=["actor", "-id"], name="audit_actor_idx"),
        ]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.action} {self.object_kind} {self.object_id} by {self.actor_name}"

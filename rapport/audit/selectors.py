from django.db.models import QuerySet

from rapport.audit.models import AuditEntry


def history_for(*, entity_kind: str, entity_id: int) -> QuerySet[AuditEntry]:
    """A record's history, newest first (callers check the actor may see the record)."""
    return AuditEntry.objects.filter(entity_kind=entity_kind, entity_id=entity_id).order_by("-id")

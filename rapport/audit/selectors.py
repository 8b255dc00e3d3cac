from django.db.models import QuerySet

from rapport.audit.models import AuditEntry


def history_for(
    *, entity_kind: str, entity_id: int | None = None, entity_ids: list[int] | None = None
) -> QuerySet[AuditEntry]:
    """A record's history (or several records' together), newest first (callers check the
    actor may see the record)."""
    ids: list[int | None] = list(entity_ids) if entity_ids is not None else [entity_id]
    if len(ids) == 1:
        return AuditEntry.objects.filter(entity_kind=entity_kind, entity_id=ids[0]).order_by("-id")
    return AuditEntry.objects.filter(entity_kind=entity_kind, entity_id__in=ids).order_by("-id")

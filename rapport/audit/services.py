"""Writing the audit trail. Every service that changes customer data calls ``audit_record``."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

from django.db import models

from rapport.audit.models import AuditEntry
from rapport.core.actor import Actor as Actor  # moved to core; still exported here


def plain(value: Any) -> Any:
    """A JSON-safe form of a field value, for the old/new pairs of an entry."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple | set):
        items = [plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set) else items
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def snapshot(obj: models.Model, fields: list[str]) -> dict[str, Any]:
    return {name: plain(getattr(obj, _attname(obj, name))) for name in fields}


def _attname(obj: models.Model, name: str) -> str:
    try:
        f = obj._meta.get_field(name)
    except Exception:
        return name
    return getattr(f, "attname", name)


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Fields whose value differs, as ``{field: [old, new]}``; custom fields are expanded."""
    changes: dict[str, list[Any]] = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if key == "custom" and isinstance(old, dict) and isinstance(new, dict):
            for sub in sorted(set(old) | set(new)):  # one entry per data-dictionary field
                if old.get(sub) != new.get(sub):
                    changes[f"custom.{sub}"] = [old.get(sub), new.get(sub)]
        elif old != new and not (old is None and new in ("", [], {})):
            changes[key] = [old, new]
    return changes


def audit_record(
    *,
    actor: Actor,
    action: str,
    entity_kind: str,
    entity_id: int | None,
    obj: models.Model | None = None,
    object_kind: str | None = None,
    object_id: int | None = None,
    changes: dict[str, list[Any]] | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor.user if getattr(actor.user, "pk", None) else None,
        actor_name=actor.name,
        via=actor.via,
        action=action,
        entity_kind=entity_kind,
        entity_id=entity_id,
        object_kind=object_kind or (str(obj._meta.model_name) if obj is not None else entity_kind),
        object_id=object_id if object_id is not None else (obj.pk if obj is not None else entity_id),
        object_repr=str(obj)[:300] if obj is not None else "",
        changes=changes or {},
        context=actor.context,
    )

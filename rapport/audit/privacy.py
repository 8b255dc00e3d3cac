"""The audit trail under an erasure: tombstones (rapport.core.privacy).

The audit trail says who did what and when; it must go on saying so after a person is
erased, without saying anything about the person. So an erasure replaces values, never
entries:

- an entry about the person's record (``entity`` the contact, or a record merged into it),
  or about a record this erasure deleted (a lead, a case, a task: the handlers audit what
  they delete, under the actor that names the request, ``context["privacy_request"]``),
  keeps its moment, actor, path, action, kinds and ids and the names of the fields that
  changed; every value becomes ``[erased]``, and so does the object's label;
- any other entry that holds one of the person's values (their address in a consent
  change of someone else's record, their name in a lead's label) keeps everything but
  those values: a field whose old or new value held them is ``[erased]`` on both sides.

This handler runs last (``ORDER_AUDIT``): the handlers before it write audit entries of
what they delete, and those are swept too. Export gives the person's record's history
(what was changed and when, not by which colleague).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from rapport.audit.models import AuditEntry
from rapport.core import privacy

ERASED = privacy.ERASED
# The key of the actor's context that names the privacy request an erasure answers.
REQUEST_KEY = "privacy_request"


def audit_export(*, contact_id: int) -> list[dict[str, Any]]:
    ids = privacy.person_ids(contact_id=contact_id)
    return [
        {"at": e.at.isoformat(), "action": e.action, "object": e.object_kind, "changes": e.changes}
        for e in AuditEntry.objects.filter(entity_kind="contact", entity_id__in=ids).order_by("id")
    ]


def _tombstone(entry: AuditEntry, values: list[str]) -> None:
    entry.changes = {
        privacy.redact(str(k), values): [ERASED, ERASED] for k in (entry.changes or {})
    }
    entry.object_repr = ERASED if entry.object_repr else ""
    entry.context = privacy.redact_data(entry.context, values)


def _redact(entry: AuditEntry, values: list[str]) -> None:
    changes = {}
    for key, pair in (entry.changes or {}).items():
        held = privacy.holds_any(str(pair), values) or privacy.holds_any(str(key), values)
        changes[privacy.redact(str(key), values)] = [ERASED, ERASED] if held else pair
    entry.changes = changes
    entry.object_repr = privacy.redact(entry.object_repr, values)
    entry.context = privacy.redact_data(entry.context, values)


def _deleted_now(actor: Any) -> Q:
    """The records the handlers before deleted in this erasure (their audit entries carry
    the request in their context): their whole history is about the person."""
    marker = (getattr(actor, "context", None) or {}).get(REQUEST_KEY)
    if marker is None:
        return Q(pk__in=[])
    q = Q(pk__in=[])
    gone = (
        AuditEntry.objects.filter(
            action=AuditEntry.Action.DELETE, **{f"context__{REQUEST_KEY}": marker}
        )
        .exclude(entity_kind="contact")
        .values_list("entity_kind", "entity_id")
        .distinct()
    )
    by_kind: dict[str, set[int]] = {}
    for kind, pk in gone:
        if pk is not None:
            by_kind.setdefault(kind, set()).add(pk)
    for kind, pks in by_kind.items():
        q |= Q(entity_kind=kind, entity_id__in=sorted(pks))
    return q


def audit_erase(*, actor: Any, contact_id: int, values: list[str]) -> dict[str, int]:
    ids = privacy.person_ids(contact_id=contact_id)
    about = Q(entity_kind="contact", entity_id__in=ids) | _deleted_now(actor)
    tombstones = redacted = 0
    batch: list[AuditEntry] = []
    for entry in AuditEntry.objects.filter(about).iterator(chunk_size=1000):
        _tombstone(entry, values)
        batch.append(entry)
        tombstones += 1
    if values:
        holding = privacy.value_q(("changes", "object_repr", "context"), values)
        for entry in AuditEntry.objects.filter(holding).exclude(about).iterator(chunk_size=1000):
            _redact(entry, values)
            batch.append(entry)
            redacted += 1
    AuditEntry.objects.bulk_update(batch, ["changes", "object_repr", "context"], batch_size=500)
    return {"tombstones": tombstones, "redacted": redacted}


def register_all() -> None:
    privacy.register(
        "audit",
        export=audit_export,
        erase=audit_erase,
        order=privacy.ORDER_AUDIT,
        wants_values=True,
    )

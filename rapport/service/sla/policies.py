"""Writes of service policies: validated, audited; the open cases a policy matches keep
their targets until their next change (kind, priority, channel, team), which matches the
policy again (``targets.targets_reset``)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from rapport.audit.models import AuditEntry
from rapport.audit.services import audit_record, diff, snapshot
from rapport.core.actor import Actor
from rapport.core.errors import ValidationFailed
from rapport.service.models import Case, CaseKind, ServicePolicy
from rapport.users import permissions
from rapport.users.models import RecordKind

SETUP = RecordKind.SERVICE_SETUP
TARGETS = (
    "first_response_minutes",
    "next_response_minutes",
    "resolution_minutes",
    "update_minutes",
)
FIELDS = (
    "name",
    "active",
    "order",
    "kind",
    "priority",
    "channel",
    "tier",
    *TARGETS,
    "warn_percent",
    "pause_statuses",
)
MAX_MINUTES = 365 * 24 * 60


def _clean(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for name in sorted(set(data) - set(FIELDS)):
        errors[name] = ["Unknown field."]
    if creating or "name" in data:
        name = str(data.get("name") or "").strip()
        if not name or len(name) > 100:
            errors["name"] = ["Give a name of at most 100 characters."]
        out["name"] = name
    if "active" in data:
        out["active"] = bool(data["active"])
    if "order" in data:
        out["order"] = max(0, min(32767, int(data["order"] or 0)))
    if "kind" in data:
        key = data["kind"]
        kind = CaseKind.objects.filter(key=key).first() if key else None
        if key and kind is None:
            errors["kind"] = ["No such kind of case."]
        out["kind"] = kind
    if "priority" in data:
        value = data["priority"]
        if value is not None and value not in Case.Priority.values:
            errors["priority"] = ["1 (urgent) to 4 (low), or null for any."]
        out["priority"] = value
    if "channel" in data:
        value = data["channel"] or ""
        if value and value not in Case.Channel.values:
            errors["channel"] = [f"Choose one of: {', '.join(Case.Channel.values)}, or empty."]
        out["channel"] = value
    if "tier" in data:
        out["tier"] = str(data["tier"] or "")[:40]
    for name in TARGETS:
        if name in data:
            value = data[name]
            if value is not None and (not isinstance(value, int) or not 1 <= value <= MAX_MINUTES):
                errors[name] = [f"Working minutes, 1 to {MAX_MINUTES:,}, or null for none."]
            out[name] = value
    if "warn_percent" in data:
        value = data["warn_percent"]
        if not isinstance(value, int) or not 1 <= value <= 99:
            errors["warn_percent"] = ["1 to 99 (% of the target used when the warning goes out)."]
        out["warn_percent"] = value
    if "pause_statuses" in data:
        value = data["pause_statuses"]
        allowed = [s for s in Case.OPEN_STATUSES]
        if not isinstance(value, list) or any(v not in allowed for v in value):
            errors["pause_statuses"] = [f"A list of: {', '.join(allowed)}."]
        out["pause_statuses"] = value
    if errors:
        raise ValidationFailed("The policy has problems.", errors=errors)
    return out


def policy_create(*, actor: Actor, data: dict[str, Any]) -> ServicePolicy:
    permissions.require(actor.user, "add", SETUP)
    cleaned = _clean(data, creating=True)
    with transaction.atomic():
        policy = ServicePolicy.objects.create(**cleaned)
        audit_record(
            actor=actor, action=AuditEntry.Action.CREATE, entity_kind="servicepolicy",
            entity_id=policy.pk, obj=policy, changes=diff({}, snapshot(policy, list(FIELDS))),
        )  # fmt: skip
    return policy


def policy_update(*, actor: Actor, policy: ServicePolicy, data: dict[str, Any]) -> ServicePolicy:
    permissions.require(actor.user, "change", SETUP)
    cleaned = _clean(data, creating=False)
    with transaction.atomic():
        before = snapshot(policy, list(FIELDS))
        for name, value in cleaned.items():
            setattr(policy, name, value)
        policy.save()
        audit_record(
            actor=actor, action=AuditEntry.Action.UPDATE, entity_kind="servicepolicy",
            entity_id=policy.pk, obj=policy, changes=diff(before, snapshot(policy, list(FIELDS))),
        )  # fmt: skip
    return policy


def policy_delete(*, actor: Actor, policy: ServicePolicy) -> None:
    permissions.require(actor.user, "delete", SETUP)
    with transaction.atomic():
        audit_record(
            actor=actor, action=AuditEntry.Action.DELETE, entity_kind="servicepolicy",
            entity_id=policy.pk, obj=policy, changes={"name": [policy.name, None]},
        )  # fmt: skip
        policy.delete()

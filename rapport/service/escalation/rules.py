"""Rule-based escalation: the next level, once per rule and case.

A trigger (a goal at risk, a goal missed, a complaint marked important) fires the
lowest-level active rule for it that has not fired on the case and is above the level the
case has reached; ``rule_fires_once`` (a unique constraint on case and rule) makes a
second firing impossible even for two workers at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q

from rapport.service import events as service_events
from rapport.service.models import Case, CaseEscalation, EscalationRule, ServiceExpert, ServiceTeam
from rapport.service.sla.notify import notify
from rapport.users.models import Role, User

R = EscalationRule.Recipient


def recipient_of(rule: EscalationRule, case: Case) -> User | None:
    """Who the rule sends the case to, for this case (None: nobody fits)."""
    team = (
        ServiceTeam.objects.filter(team_id=case.team_id).select_related("lead", "manager").first()
        if case.team_id is not None
        else None
    )
    found: Any = None
    if rule.recipient == R.TEAM_LEAD:
        found = team.lead if team else None
    elif rule.recipient == R.MANAGER:
        found = (team.manager if team else None) or (
            User.objects.filter(role=Role.MANAGER, is_active=True).order_by("id").first()
        )
    elif rule.recipient == R.EXPERT:
        found = expert_for(case.topic)
    elif rule.recipient == R.ACCOUNT_OWNER:
        found = case.account.owner if case.account_id and case.account else None
    elif rule.recipient == R.PERSON:
        found = rule.person
    return found if found is not None and found.is_active else None


def expert_for(topic: str) -> User | None:
    if not topic:
        return None
    row = (
        ServiceExpert.objects.filter(topic__iexact=topic.strip(), user__is_active=True)
        .select_related("user")
        .order_by("id")
        .first()
    )
    return row.user if row else None


def escalations_fire(
    *, case: Case, trigger: str, reason: str, at: dt.datetime, target_kind: str = ""
) -> CaseEscalation | None:
    """Send the case to the next level by the rules for ``trigger``, if one is left."""
    rules = EscalationRule.objects.filter(
        Q(team__isnull=True) | Q(team_id=case.team_id),
        Q(target_kind="") | Q(target_kind=target_kind),
        active=True,
        trigger=trigger,
        level__gt=case.escalation_level,
    ).exclude(pk__in=CaseEscalation.objects.filter(case=case, rule__isnull=False).values("rule_id"))
    rule = rules.order_by("level", "id").first()
    if rule is None:
        return None
    to = recipient_of(rule, case)
    try:
        with transaction.atomic():
            escalation = CaseEscalation.objects.create(
                case=case, rule=rule, level=rule.level, trigger=trigger, reason=reason[:500],
                to_user=to, status=CaseEscalation.Status.NOTIFIED, created_at=at,
            )  # fmt: skip
    except IntegrityError:
        return None  # fired already (a concurrent run)
    updates: dict[str, Any] = {"escalation_level": rule.level}
    if rule.reassign and to is not None:
        updates.update(owner=to, version=F("version") + 1)
    Case.objects.filter(pk=case.pk, escalation_level__lt=rule.level).update(**updates)
    case.escalation_level = rule.level
    service_events.case_escalated(
        actor=None, case=case, level=rule.level, reason=reason, to=to, at=at
    )
    notify(
        recipients=[to, case.owner_id],
        case=case,
        kind="escalation",
        text=f"{case.reference} escalated to level {rule.level} ({rule.name}): {reason}",
        at=at,
    )
    return escalation

"""Escalation by hand: an agent sends a question about a case to a person or to a skill
(the expert on a topic or product); the expert gets a task and a notification; the answer
comes back to the case as an internal note, with a task and a notification for the
case's owner, who closes the loop with the customer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.audit.services import audit_record
from rapport.core.actor import Actor, Via
from rapport.core.errors import NotFound, PermissionDenied, ValidationFailed
from rapport.followups import services as followups
from rapport.followups.models import Task
from rapport.service import events as service_events
from rapport.service import selectors
from rapport.service.escalation.rules import expert_for
from rapport.service.models import Case, CaseEscalation, CaseMessage
from rapport.service.sla.notify import notify
from rapport.users import permissions
from rapport.users.models import RecordKind, User

SYSTEM = Actor(user=None, via=Via.SYSTEM, context={"path": "service.escalation"})
MAX_QUESTION = 5_000


def _task(*, title: str, assignee: User, case: Case, notes: str) -> int | None:
    if not permissions.can(assignee, "view", RecordKind.TASK):
        return None
    task = followups.task_create(
        actor=SYSTEM,
        data={
            "title": title[:200], "notes": notes[:2000], "assignee": assignee.pk,
            "contact": case.contact_id, "subject_kind": "case", "subject_id": case.pk,
            "due_at": timezone.now() + dt.timedelta(days=1),
        },
    )  # fmt: skip
    return task.pk


def escalation_request(
    *, actor: Actor, case: Case, question: str, to_user: Any = None, topic: str = ""
) -> CaseEscalation:
    """Escalate by hand to a person, or to the expert on a topic, with the question to
    answer. The case goes one level up; the timeline and the audit trail say why."""
    selectors.require_case(actor.user, "change", case)
    errors: dict[str, list[str]] = {}
    question = str(question or "").strip()
    if not question:
        errors["question"] = ["Say what the expert should answer."]
    elif len(question) > MAX_QUESTION:
        errors["question"] = [f"At most {MAX_QUESTION:,} characters."]
    topic = str(topic or "").strip()[:100]
    person: User | None = None
    if to_user not in (None, ""):
        person = (
            User.objects.filter(pk=int(to_user), is_active=True).first()
            if str(to_user).isdigit()
            else None
        )
        if person is None:
            errors["to_user"] = ["No such active colleague."]
    elif topic:
        person = expert_for(topic)
        if person is None:
            errors["topic"] = ["Nobody is an expert on this topic yet."]
    else:
        errors["to_user"] = ["Choose a person or a topic."]
    if errors:
        raise ValidationFailed("The escalation has problems.", errors=errors)
    assert person is not None
    now = timezone.now()
    with transaction.atomic():
        locked = Case.objects.select_for_update(of=("self",)).select_related("kind").get(pk=case.pk)
        level = locked.escalation_level + 1
        escalation = CaseEscalation.objects.create(
            case=locked, level=level, trigger="manual", reason=f"Question: {question}"[:500],
            to_user=person, topic=topic, question=question, status=CaseEscalation.Status.OPEN,
            created_by=actor.user if getattr(actor.user, "pk", None) else None, created_at=now,
        )  # fmt: skip
        Case.objects.filter(pk=locked.pk).update(escalation_level=level, version=F("version") + 1)
        escalation.task_id = _task(
            title=f"Answer on {locked.reference}: {question}",
            assignee=person,
            case=locked,
            notes=f"{locked.subject}\n\n{question}",
        )
        escalation.save(update_fields=["task_id"])
        service_events.case_escalated(
            actor=actor, case=locked, level=level, reason=question, to=person, at=now
        )
        notify(
            recipients=[person],
            case=locked,
            kind="question",
            text=f"{locked.reference} {locked.subject}: a question for you: {question}",
        )
        audit_record(
            actor=actor, action=AuditEntry.Action.CREATE, entity_kind="case", entity_id=locked.pk,
            obj=escalation, changes={"escalated_to": [None, person.username], "question": [None, question[:200]]},
        )  # fmt: skip
    return escalation


def escalation_answer(*, actor: Actor, escalation: CaseEscalation, answer: str) -> CaseEscalation:
    """The expert's answer (or a colleague's who may change the case): an internal note on
    the case, the expert's task done, a task and a notification for the case's owner."""
    case = escalation.case
    user = actor.user
    if not permissions.is_system(user) and getattr(user, "pk", None) != escalation.to_user_id:
        try:
            selectors.require_case(user, "change", case)
        except NotFound:
            raise NotFound("No such escalation.") from None
    text = str(answer or "").strip()
    if not text or len(text) > MAX_QUESTION:
        raise ValidationFailed(
            "The answer has problems.",
            errors={"answer": [f"Give the answer (at most {MAX_QUESTION:,} characters)."]},
        )
    now = timezone.now()
    with transaction.atomic():
        locked = CaseEscalation.objects.select_for_update().get(pk=escalation.pk)
        if locked.status != CaseEscalation.Status.OPEN:
            raise PermissionDenied("This escalation is answered already.")
        locked.answer, locked.answered_at = text, now
        locked.status = CaseEscalation.Status.ANSWERED
        locked.save(update_fields=["answer", "answered_at", "status"])
        who = (user.get_full_name() or user.username) if getattr(user, "pk", None) else "the expert"
        body = f"Answer from {who} to: {locked.question}\n\n{text}"
        entry = service_events.case_noted(actor=actor, case=case, body=body, at=now)
        CaseMessage.objects.create(
            case=case, direction=CaseMessage.Direction.INTERNAL, channel=CaseMessage.Channel.NOTE,
            author_user=user if getattr(user, "pk", None) else None, occurred_at=now, body=body,
            entry=entry,
        )  # fmt: skip
        if locked.task_id:
            task = Task.objects.filter(pk=locked.task_id).first()
            if task is not None and task.status == Task.Status.OPEN:
                followups.task_complete(
                    actor=SYSTEM, task=task, note="Answered", record_event=False
                )
        owner = case.owner
        if owner is not None and owner.is_active:
            _task(
                title=f"Close the loop on {case.reference}: {who} answered",
                assignee=owner,
                case=case,
                notes=body,
            )
            notify(
                recipients=[owner],
                case=case,
                kind="answer",
                text=f"{case.reference} {case.subject}: {who} answered your question",
            )
        audit_record(
            actor=actor, action=AuditEntry.Action.UPDATE, entity_kind="case", entity_id=case.pk,
            obj=locked, changes={"answer": [None, text[:200]]},
        )  # fmt: skip
    return locked


def rule_create(*, actor: Actor, data: dict[str, Any]) -> Any:
    """An escalation rule (service setup rights)."""
    from rapport.service.models import CaseTarget, EscalationRule

    permissions.require(actor.user, "add", RecordKind.SERVICE_SETUP)
    errors: dict[str, list[str]] = {}
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 100:
        errors["name"] = ["Give a name of at most 100 characters."]
    trigger = data.get("trigger")
    if trigger not in EscalationRule.Trigger.values:
        errors["trigger"] = [f"Choose one of: {', '.join(EscalationRule.Trigger.values)}."]
    recipient = data.get("recipient")
    if recipient not in EscalationRule.Recipient.values:
        errors["recipient"] = [f"Choose one of: {', '.join(EscalationRule.Recipient.values)}."]
    target_kind = data.get("target_kind") or ""
    if target_kind and target_kind not in CaseTarget.Kind.values:
        errors["target_kind"] = [f"Choose one of: {', '.join(CaseTarget.Kind.values)}, or empty."]
    person = None
    if data.get("person") is not None:
        person = User.objects.filter(pk=data["person"], is_active=True).first()
        if person is None:
            errors["person"] = ["No such active colleague."]
    if recipient == EscalationRule.Recipient.PERSON and person is None:
        errors.setdefault("person", ["Name the person."])
    if data.get("team") is not None:
        from rapport.users.models import Team

        if not Team.objects.filter(pk=data["team"]).exists():
            errors["team"] = ["No such team."]
    level = data.get("level", 1)
    if not isinstance(level, int) or not 1 <= level <= 9:
        errors["level"] = ["1 to 9."]
    if errors:
        raise ValidationFailed("The rule has problems.", errors=errors)
    with transaction.atomic():
        rule = EscalationRule.objects.create(
            name=name, trigger=str(trigger), recipient=str(recipient), target_kind=target_kind,
            person=person, level=level, reassign=bool(data.get("reassign")),
            team_id=data.get("team"),
        )  # fmt: skip
        audit_record(
            actor=actor, action=AuditEntry.Action.CREATE, entity_kind="escalationrule",
            entity_id=rule.pk, obj=rule, changes={"name": [None, name], "trigger": [None, trigger]},
        )  # fmt: skip
    return rule

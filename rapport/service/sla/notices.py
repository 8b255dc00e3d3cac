"""Warnings before a breach and breach notices: each exactly once, soon after its moment.

``notices_run`` (called every 30 s by the scheduler, see ``scheduler``) takes the targets
whose warning or deadline moment has passed and not been noticed. Each is claimed by a
conditional UPDATE (``... WHERE warned_at IS NULL``) in the transaction that writes its
timeline entry, its notifications and its escalation: two runners never both send one
(the second's UPDATE changes no row), and a runner that dies before committing leaves it
for the next run. On PostgreSQL the candidates are read with ``FOR UPDATE SKIP LOCKED``
so concurrent runners share the work instead of waiting on each other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from rapport.service import events as service_events
from rapport.service.escalation.rules import escalations_fire
from rapport.service.models import Case, CaseTarget, EscalationRule
from rapport.service.sla.notify import notify, waiting_on

S = CaseTarget.State
LIVE = (S.RUNNING, S.PAUSED)
BATCH = 200


@dataclass
class NoticeRun:
    warnings: int = 0
    breaches: int = 0


def _candidates(what: str, now: dt.datetime, case_ids: list[int] | None) -> list[CaseTarget]:
    if what == "warning":
        qs = CaseTarget.objects.filter(state__in=LIVE, warn_at__lte=now, warned_at__isnull=True)
    else:
        qs = CaseTarget.objects.filter(
            Q(state__in=LIVE) | Q(state=S.MET, breached=True),
            due_at__lte=now,
            breach_noticed_at__isnull=True,
        )
    if case_ids is not None:
        qs = qs.filter(case_id__in=case_ids)
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    return list(qs.select_related("case", "case__kind").order_by("due_at", "id")[:BATCH])


def _claim(t: CaseTarget, what: str, now: dt.datetime) -> bool:
    field = "warned_at" if what == "warning" else "breach_noticed_at"
    claimed = CaseTarget.objects.filter(pk=t.pk, **{f"{field}__isnull": True}).update(
        **{field: now}
    )
    return claimed == 1


def _fire(t: CaseTarget, what: str, now: dt.datetime) -> None:
    case: Case = t.case
    label = CaseTarget.Kind(t.kind).label
    moment = (t.warn_at if what == "warning" else t.due_at) or now
    service_events.case_sla_notice(case=case, target_kind=t.kind, label=label, what=what, at=moment)
    due_text = timezone.localtime(t.due_at).strftime("%d %b %H:%M") if t.due_at else ""
    text = (
        f"{case.reference} {case.subject}: {label.lower()} due {due_text}"
        if what == "warning"
        else f"{case.reference} {case.subject}: {label.lower()} missed (due {due_text})"
    )
    notify(recipients=list(waiting_on(case)), case=case, kind=what, text=text, at=moment)
    state = "at_risk" if what == "warning" else "breached"
    if what == "breach":
        CaseTarget.objects.filter(pk=t.pk).update(breached=True)
        Case.objects.filter(pk=case.pk).update(sla_state=state)
    else:
        Case.objects.filter(pk=case.pk).exclude(sla_state="breached").update(sla_state=state)
    if case.is_open:
        trigger = (
            EscalationRule.Trigger.AT_RISK if what == "warning" else EscalationRule.Trigger.BREACHED
        )
        reason = f"{label} {'at risk' if what == 'warning' else 'missed'}"
        escalations_fire(case=case, trigger=trigger, reason=reason, at=moment, target_kind=t.kind)


def notices_run(*, now: dt.datetime | None = None, case_ids: list[int] | None = None) -> NoticeRun:
    """Send every warning and breach notice that is due by ``now``, each exactly once."""
    now = now or timezone.now()
    run = NoticeRun()
    for what in ("warning", "breach"):
        while True:
            with transaction.atomic():
                batch = _candidates(what, now, case_ids)
                fired = 0
                for t in batch:
                    if _claim(t, what, now):
                        _fire(t, what, now)
                        fired += 1
            if what == "warning":
                run.warnings += fired
            else:
                run.breaches += fired
            if len(batch) < BATCH:
                break
    return run

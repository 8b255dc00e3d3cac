"""Pages of service goals and escalation: the goals panel on a case's page, escalation by
hand and its answer, my notifications on the queue. Thin: the services decide."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from rapport.core.errors import NotFound, ValidationFailed
from rapport.core.web import actor_of, user_of, web_view
from rapport.service import selectors
from rapport.service.escalation import services as escalation
from rapport.service.models import (
    Case,
    CaseEscalation,
    CaseTarget,
    ServiceCalendar,
    ServiceExpert,
    ServiceTeam,
)
from rapport.service.sla.notify import mark_read, unread_for
from rapport.users import permissions
from rapport.users.models import RecordKind


def team_zones(team_ids: set[int | None]) -> dict[int | None, str]:
    """Each team's calendar time zone (the default calendar's for the rest): where a
    deadline is shown, as it is where it is counted."""
    default = (
        ServiceCalendar.objects.filter(is_default=True).values_list("time_zone", flat=True).first()
    )
    zones: dict[int | None, str] = dict.fromkeys(team_ids, default or "UTC")
    for team_id, tz in ServiceTeam.objects.filter(
        team_id__in=[t for t in team_ids if t], calendar__isnull=False
    ).values_list("team_id", "calendar__time_zone"):
        zones[team_id] = tz
    return zones


def deadline(
    due_at: dt.datetime | None, state: str, tz: str, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """What a row or a panel shows of a deadline: time left (or overdue), its moment in
    the team's zone, and a state for the colour (ok, at_risk, breached, paused)."""
    if due_at is None:
        return {
            "label": "paused" if state == CaseTarget.State.PAUSED else "",
            "state": "paused",
            "at": "",
        }
    now = now or timezone.now()
    left = int((due_at - now).total_seconds())
    local = due_at.astimezone(ZoneInfo(tz))
    span = abs(left) // 60
    text = (
        f"{span // 1440} d {span % 1440 // 60} h"
        if span >= 1440
        else f"{span // 60} h {span % 60} min"
    )
    return {
        "label": f"{text} left" if left >= 0 else f"overdue {text}",
        "state": "breached" if left < 0 else (state or "ok"),
        "at": f"{local:%a %d %b %H:%M} {local.tzname()}",
    }


def _hours(seconds: int) -> str:
    minutes = seconds // 60
    return f"{minutes // 60} h {minutes % 60:02d}" if minutes >= 60 else f"{minutes} min"


def queue_context(request: HttpRequest, rows: list[Any]) -> dict[str, Any]:
    """The queue's deadlines (one query for the teams' zones) and my notifications."""
    zones = team_zones({getattr(r, "team_id", None) for r in rows})
    for r in rows:
        r.sla = deadline(r.next_due_at, r.sla_state, zones.get(r.team_id, "UTC"))
    return {"notifications": unread_for(user_of(request))}


def case_goals_context(user: Any, case: Case) -> dict[str, Any]:
    zone = team_zones({case.team_id}).get(case.team_id, "UTC")
    targets = list(
        CaseTarget.objects.filter(case=case).select_related("calendar").order_by("kind", "-cycle")
    )
    seen: set[str] = set()
    current = []
    for t in targets:  # the latest cycle of each goal
        if t.kind in seen:
            continue
        seen.add(t.kind)
        tz = t.calendar.time_zone if t.calendar else zone
        t.view = deadline(  # type: ignore[attr-defined]
            t.due_at if t.state in (CaseTarget.State.RUNNING, CaseTarget.State.PAUSED) else None,
            t.state,
            tz,
        )
        t.used_text = _hours(t.used_seconds)  # type: ignore[attr-defined]
        t.target_text = _hours(t.target_seconds)  # type: ignore[attr-defined]
        current.append(t)
    escalations = list(
        CaseEscalation.objects.filter(case=case)
        .select_related("to_user")
        .order_by("created_at", "id")
    )
    return {
        "goals": current,
        "goal_zone": zone,
        "escalations": escalations,
        "my_questions": [e for e in escalations if e.status == "open" and e.to_user_id == user.pk],
        "expert_topics": sorted(set(ServiceExpert.objects.values_list("topic", flat=True))),
    }


@require_POST
@web_view
def case_escalate(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.case_get(actor=user_of(request), pk=pk, action="change")
    from rapport.service.views import _action_failed

    try:
        escalation.escalation_request(
            actor=actor_of(request), case=case, question=request.POST.get("question", ""),
            to_user=request.POST.get("to_user") or None, topic=request.POST.get("topic", ""),
        )  # fmt: skip
    except ValidationFailed as exc:
        return _action_failed(request, pk, exc, "escalate")
    return redirect("service:case-detail", pk=pk)


@require_POST
@web_view
def escalation_answer(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    found = CaseEscalation.objects.select_related("case").filter(pk=pk).first()
    if found is None:
        permissions.require(user, "view", RecordKind.CASE)
        raise NotFound("No such escalation.")
    if found.to_user_id != user.pk:
        selectors.require_case(user, "change", found.case)
    from rapport.service.views import _action_failed

    try:
        escalation.escalation_answer(
            actor=actor_of(request), escalation=found, answer=request.POST.get("answer", "")
        )
    except ValidationFailed as exc:
        return _action_failed(request, found.case_id, exc, "answer")
    return redirect("service:case-detail", pk=found.case_id)


@require_POST
@web_view
def notifications_read(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    permissions.require(user, "view", RecordKind.CASE)
    mark_read(user=user)
    return redirect("service:home")

"""API of service goals and escalation, on the service router (``rapport.service.api``
imports this module at its end): calendars, policies, escalation rules (service setup
rights), a case's targets and escalations (the case's rights), my notifications."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Schema, Status
from pydantic import ConfigDict, Field

from rapport.api.auth import actor_of
from rapport.api.common import data_of, problems, user_of
from rapport.core.errors import NotFound
from rapport.service import selectors
from rapport.service.api import router
from rapport.service.escalation import services as escalation
from rapport.service.models import (
    CaseEscalation,
    CaseTarget,
    EscalationRule,
    Notification,
    ServiceCalendar,
    ServicePolicy,
)
from rapport.service.sla import calendars, policies
from rapport.users import permissions
from rapport.users.models import RecordKind

SETUP = RecordKind.SERVICE_SETUP


class In(Schema):
    model_config = ConfigDict(extra="forbid")


class ServicePeriod(Schema):
    weekday: int = Field(ge=0, le=6, description="0 Monday … 6 Sunday")
    start: str = Field(description="HH:MM, local time", pattern=r"^\d{1,2}:\d{2}$")
    end: str = Field(description="HH:MM, local time; 24:00 is midnight", pattern=r"^\d{1,2}:\d{2}$")


class ServiceCalendarDayOut(Schema):
    date: dt.date
    name: str
    source: str


class ServiceCalendarOut(Schema):
    id: int
    name: str
    time_zone: str
    country: str
    subdivision: str
    is_default: bool
    version: int
    periods: list[ServicePeriod]
    days: list[ServiceCalendarDayOut] = Field(description="The company's own days off")
    teams: list[int]


class ServiceCalendarIn(In):
    name: str = Field(max_length=100)
    time_zone: str = Field("UTC", max_length=64)
    country: str = Field(
        "", max_length=2, description="ISO 3166 code: its public holidays are days off"
    )
    subdivision: str = Field("", max_length=10)
    is_default: bool = False
    periods: list[ServicePeriod] = Field(default_factory=list, max_length=42)
    teams: list[int] = Field(default_factory=list, max_length=100)


class ServiceCalendarPatch(In):
    name: str | None = Field(None, max_length=100)
    time_zone: str | None = Field(None, max_length=64)
    country: str | None = Field(None, max_length=2)
    subdivision: str | None = Field(None, max_length=10)
    is_default: bool | None = None
    periods: list[ServicePeriod] | None = Field(None, max_length=42)
    teams: list[int] | None = Field(None, max_length=100)


class ServiceCalendarDayIn(Schema):
    date: dt.date
    name: str = Field("", max_length=200)


class ServiceCalendarDaysIn(In):
    days: list[ServiceCalendarDayIn] = Field(default_factory=list, max_length=2000)
    ics: str = Field(
        "", max_length=1_000_000, description="An iCalendar file's text (its events' days)"
    )


class ServiceCalendarDaysOut(Schema):
    changed: int
    calendar: ServiceCalendarOut


class ServicePolicyOut(Schema):
    id: int
    name: str
    active: bool
    order: int
    kind: str | None
    priority: int | None
    channel: str
    tier: str
    first_response_minutes: int | None
    next_response_minutes: int | None
    resolution_minutes: int | None
    update_minutes: int | None
    warn_percent: int
    pause_statuses: list[str]


class ServicePolicyIn(In):
    name: str = Field(max_length=100)
    active: bool = True
    order: int = Field(50, ge=0, le=32767)
    kind: str | None = Field(None, description="A case kind's key; null for any")
    priority: int | None = Field(None, ge=1, le=4)
    channel: str = ""
    tier: str = Field("", max_length=40)
    first_response_minutes: int | None = Field(None, ge=1, le=525600)
    next_response_minutes: int | None = Field(None, ge=1, le=525600)
    resolution_minutes: int | None = Field(None, ge=1, le=525600)
    update_minutes: int | None = Field(None, ge=1, le=525600)
    warn_percent: int = Field(80, ge=1, le=99)
    pause_statuses: list[str] = Field(
        default_factory=lambda: ["waiting_customer", "waiting_third_party"]
    )


class ServicePolicyPatch(In):
    name: str | None = Field(None, max_length=100)
    active: bool | None = None
    order: int | None = Field(None, ge=0, le=32767)
    first_response_minutes: int | None = Field(None, ge=1, le=525600)
    next_response_minutes: int | None = Field(None, ge=1, le=525600)
    resolution_minutes: int | None = Field(None, ge=1, le=525600)
    update_minutes: int | None = Field(None, ge=1, le=525600)
    warn_percent: int | None = Field(None, ge=1, le=99)


class CaseTargetOut(Schema):
    kind: str
    cycle: int
    state: str = Field(description="running, paused, met, stopped")
    target_minutes: int
    used_minutes: int = Field(description="Working minutes used, counted up to counted_at")
    started_at: dt.datetime
    counted_at: dt.datetime
    due_at: dt.datetime | None = Field(description="Null while paused")
    warn_at: dt.datetime | None
    met_at: dt.datetime | None
    breached: bool
    time_zone: str | None = Field(description="The calendar's: the team's time counts")


class CaseEscalationOut(Schema):
    id: int
    level: int
    trigger: str
    reason: str
    to_user: int | None
    topic: str
    question: str
    answer: str
    status: str
    created_at: dt.datetime
    answered_at: dt.datetime | None


class CaseEscalationIn(In):
    question: str = Field(max_length=5000)
    to_user: int | None = Field(None, description="A colleague, or give a topic")
    topic: str = Field("", max_length=100, description="A skill: the expert on it is asked")


class CaseEscalationAnswerIn(In):
    answer: str = Field(max_length=5000)


class EscalationRuleOut(Schema):
    id: int
    name: str
    active: bool
    trigger: str
    target_kind: str
    team: int | None
    level: int
    recipient: str
    person: int | None
    reassign: bool


class EscalationRuleIn(In):
    name: str = Field(max_length=100)
    trigger: str = Field(description=", ".join(EscalationRule.Trigger.values))
    recipient: str = Field(description=", ".join(EscalationRule.Recipient.values))
    target_kind: str = ""
    team: int | None = None
    level: int = Field(1, ge=1, le=9)
    person: int | None = None
    reassign: bool = False


class ServiceNotificationOut(Schema):
    id: int
    case: int | None
    kind: str
    text: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class ServiceNotificationsRead(In):
    ids: list[int] = Field(default_factory=list, max_length=500, description="Empty: all of mine")


# --- rendering ---------------------------------------------------------------------------------


def calendar_out(c: ServiceCalendar) -> dict[str, Any]:
    return {
        "id": c.pk, "name": c.name, "time_zone": c.time_zone, "country": c.country,
        "subdivision": c.subdivision, "is_default": c.is_default, "version": c.version,
        "periods": [
            {"weekday": p.weekday, "start": calendars.format_minute(p.start_minute),
             "end": calendars.format_minute(p.end_minute)}
            for p in c.periods.all()
        ],
        "days": [{"date": d.date, "name": d.name, "source": d.source} for d in c.days.all()],
        "teams": [t.team_id for t in c.teams.all()],
    }  # fmt: skip


def policy_out(p: ServicePolicy) -> dict[str, Any]:
    return {
        "id": p.pk, "name": p.name, "active": p.active, "order": p.order,
        "kind": p.kind.key if p.kind else None, "priority": p.priority, "channel": p.channel,
        "tier": p.tier, "first_response_minutes": p.first_response_minutes,
        "next_response_minutes": p.next_response_minutes,
        "resolution_minutes": p.resolution_minutes, "update_minutes": p.update_minutes,
        "warn_percent": p.warn_percent, "pause_statuses": list(p.pause_statuses or []),
    }  # fmt: skip


def target_out(t: CaseTarget) -> dict[str, Any]:
    return {
        "kind": t.kind, "cycle": t.cycle, "state": t.state,
        "target_minutes": t.target_seconds // 60, "used_minutes": t.used_seconds // 60,
        "started_at": t.started_at, "counted_at": t.counted_at, "due_at": t.due_at,
        "warn_at": t.warn_at, "met_at": t.met_at, "breached": t.breached,
        "time_zone": t.calendar.time_zone if t.calendar else None,
    }  # fmt: skip


def escalation_out(e: CaseEscalation) -> dict[str, Any]:
    return {
        "id": e.pk, "level": e.level, "trigger": e.trigger, "reason": e.reason,
        "to_user": e.to_user_id, "topic": e.topic, "question": e.question, "answer": e.answer,
        "status": e.status, "created_at": e.created_at, "answered_at": e.answered_at,
    }  # fmt: skip


def rule_out(r: EscalationRule) -> dict[str, Any]:
    return {
        "id": r.pk, "name": r.name, "active": r.active, "trigger": r.trigger,
        "target_kind": r.target_kind, "team": r.team_id, "level": r.level,
        "recipient": r.recipient, "person": r.person_id, "reassign": r.reassign,
    }  # fmt: skip


def _setup(request: HttpRequest) -> None:
    permissions.require(user_of(request), "view", SETUP)


def _calendar(request: HttpRequest, calendar_id: int) -> ServiceCalendar:
    _setup(request)
    found = (
        ServiceCalendar.objects.prefetch_related("periods", "days", "teams")
        .filter(pk=calendar_id)
        .first()
    )
    if found is None:
        raise NotFound("No such calendar.")
    return found


def _policy(request: HttpRequest, policy_id: int) -> ServicePolicy:
    _setup(request)
    found = ServicePolicy.objects.select_related("kind").filter(pk=policy_id).first()
    if found is None:
        raise NotFound("No such policy.")
    return found


# --- calendars ---------------------------------------------------------------------------------


@router.get(
    "/service-calendars",
    response={200: list[ServiceCalendarOut], **problems(403)},
    url_name="servicecalendar-list",
)
def servicecalendar_list(request: HttpRequest):
    """The service calendars: time zone, working periods, company days, teams."""
    _setup(request)
    qs = ServiceCalendar.objects.prefetch_related("periods", "days", "teams").order_by("name")
    return [calendar_out(c) for c in qs[:200]]


@router.post(
    "/service-calendars",
    response={201: ServiceCalendarOut, **problems(403)},
    url_name="servicecalendar-create",
)
def servicecalendar_create(request: HttpRequest, payload: ServiceCalendarIn):
    _setup(request)
    data = data_of(payload)
    data["periods"] = [dict(p) for p in data.get("periods", [])]
    c = calendars.calendar_create(actor=actor_of(request), data=data)
    return Status(201, calendar_out(_calendar(request, c.pk)))


@router.get(
    "/service-calendars/{calendar_id}",
    response={200: ServiceCalendarOut, **problems(403, 404)},
    url_name="servicecalendar-detail",
)
def servicecalendar_read(request: HttpRequest, calendar_id: int):
    return calendar_out(_calendar(request, calendar_id))


@router.patch(
    "/service-calendars/{calendar_id}",
    response={200: ServiceCalendarOut, **problems(403, 404)},
    url_name="servicecalendar-update",
)
def servicecalendar_update(request: HttpRequest, calendar_id: int, payload: ServiceCalendarPatch):
    """Change a calendar: the open cases it counts for get new deadlines at once (the time
    they used so far stays). A field sent as null is left as it is: none of them can be
    empty."""
    data = {k: v for k, v in data_of(payload).items() if v is not None}
    if "periods" in data:
        data["periods"] = [dict(p) for p in data["periods"]]
    calendars.calendar_update(
        actor=actor_of(request), calendar=_calendar(request, calendar_id), data=data
    )
    return calendar_out(_calendar(request, calendar_id))


@router.delete(
    "/service-calendars/{calendar_id}",
    response={204: None, **problems(403, 404)},
    url_name="servicecalendar-delete",
)
def servicecalendar_delete(request: HttpRequest, calendar_id: int):
    calendars.calendar_delete(actor=actor_of(request), calendar=_calendar(request, calendar_id))
    return Status(204, None)


@router.post(
    "/service-calendars/{calendar_id}/days",
    response={200: ServiceCalendarDaysOut, **problems(403, 404)},
    url_name="servicecalendar-days",
)
def servicecalendar_days(request: HttpRequest, calendar_id: int, payload: ServiceCalendarDaysIn):
    """Add company days off: a list, and/or the days of an iCalendar file's events. Open
    cases recompute."""
    calendar = _calendar(request, calendar_id)
    actor = actor_of(request)
    changed = 0
    if payload.days:
        changed += calendars.calendar_days_add(
            actor=actor, calendar=calendar, days=[dict(d) for d in payload.days]
        )
    if payload.ics:
        changed += calendars.calendar_import_ics(
            actor=actor, calendar=calendar, raw=payload.ics.encode()
        )
    if not payload.days and not payload.ics:
        permissions.require(user_of(request), "change", SETUP)
    return {"changed": changed, "calendar": calendar_out(_calendar(request, calendar_id))}


# --- policies ----------------------------------------------------------------------------------


@router.get(
    "/service-policies",
    response={200: list[ServicePolicyOut], **problems(403)},
    url_name="servicepolicy-list",
)
def servicepolicy_list(request: HttpRequest):
    """Service goals by kind, priority, channel and tier; the most specific one matches."""
    _setup(request)
    return [policy_out(p) for p in ServicePolicy.objects.select_related("kind")[:500]]


@router.post(
    "/service-policies",
    response={201: ServicePolicyOut, **problems(403)},
    url_name="servicepolicy-create",
)
def servicepolicy_create(request: HttpRequest, payload: ServicePolicyIn):
    _setup(request)
    p = policies.policy_create(actor=actor_of(request), data=data_of(payload))
    return Status(201, policy_out(_policy(request, p.pk)))


@router.patch(
    "/service-policies/{policy_id}",
    response={200: ServicePolicyOut, **problems(403, 404)},
    url_name="servicepolicy-update",
)
def servicepolicy_update(request: HttpRequest, policy_id: int, payload: ServicePolicyPatch):
    p = policies.policy_update(
        actor=actor_of(request), policy=_policy(request, policy_id), data=data_of(payload)
    )
    return policy_out(p)


@router.delete(
    "/service-policies/{policy_id}",
    response={204: None, **problems(403, 404)},
    url_name="servicepolicy-delete",
)
def servicepolicy_delete(request: HttpRequest, policy_id: int):
    policies.policy_delete(actor=actor_of(request), policy=_policy(request, policy_id))
    return Status(204, None)


# --- escalation rules --------------------------------------------------------------------------


@router.get(
    "/escalation-rules",
    response={200: list[EscalationRuleOut], **problems(403)},
    url_name="escalationrule-list",
)
def escalationrule_list(request: HttpRequest):
    _setup(request)
    return [rule_out(r) for r in EscalationRule.objects.all()[:500]]


@router.post(
    "/escalation-rules",
    response={201: EscalationRuleOut, **problems(403)},
    url_name="escalationrule-create",
)
def escalationrule_create(request: HttpRequest, payload: EscalationRuleIn):
    _setup(request)
    return Status(
        201, rule_out(escalation.rule_create(actor=actor_of(request), data=data_of(payload)))
    )


# --- a case's targets and escalations -------------------------------------------------------------


@router.get(
    "/cases/{case_id}/targets",
    response={200: list[CaseTargetOut], **problems(403, 404)},
    url_name="case-targets",
)
def case_targets(request: HttpRequest, case_id: int):
    """The case's service goals, every cycle, with deadlines (UTC; `time_zone` is the
    team calendar's)."""
    case = selectors.case_get(actor=user_of(request), pk=case_id)
    qs = CaseTarget.objects.filter(case=case).select_related("calendar").order_by("kind", "cycle")
    return [target_out(t) for t in qs[:500]]


@router.get(
    "/cases/{case_id}/escalations",
    response={200: list[CaseEscalationOut], **problems(403, 404)},
    url_name="case-escalations",
)
def case_escalations(request: HttpRequest, case_id: int):
    case = selectors.case_get(actor=user_of(request), pk=case_id)
    qs = CaseEscalation.objects.filter(case=case).order_by("created_at", "id")
    return [escalation_out(e) for e in qs[:500]]


@router.post(
    "/cases/{case_id}/escalations",
    response={201: CaseEscalationOut, **problems(403, 404)},
    url_name="case-escalate",
)
def case_escalate(request: HttpRequest, case_id: int, payload: CaseEscalationIn):
    """Escalate by hand to a colleague (`to_user`) or the expert on a `topic`, with the
    question to answer; they get a task and a notification."""
    case = selectors.case_get(actor=user_of(request), pk=case_id, action="change")
    e = escalation.escalation_request(
        actor=actor_of(request), case=case, question=payload.question,
        to_user=payload.to_user, topic=payload.topic,
    )  # fmt: skip
    return Status(201, escalation_out(e))


@router.post(
    "/case-escalations/{escalation_id}/answer",
    response={200: CaseEscalationOut, **problems(403, 404)},
    url_name="case-escalation-answer",
)
def case_escalation_answer(
    request: HttpRequest, escalation_id: int, payload: CaseEscalationAnswerIn
):
    """The answer to an escalation's question (its expert, or whoever may change the
    case): an internal note on the case, a task for its owner. Answered once (403 after)."""
    user = user_of(request)
    found = (
        CaseEscalation.objects.select_related("case", "case__owner")
        .filter(pk=escalation_id)
        .first()
    )
    if found is None:
        permissions.require(user, "view", RecordKind.CASE)
        raise NotFound("No such escalation.")
    if found.to_user_id != getattr(user, "pk", None):
        selectors.require_case(user, "change", found.case)
    e = escalation.escalation_answer(
        actor=actor_of(request), escalation=found, answer=payload.answer
    )
    return escalation_out(e)


# --- my notifications --------------------------------------------------------------------------


@router.get(
    "/service-notifications",
    response={200: list[ServiceNotificationOut], **problems(403)},
    url_name="servicenotification-list",
)
def servicenotification_list(request: HttpRequest, unread: bool = True):
    """My notifications (warnings, breaches, escalations, answers), newest first."""
    user = user_of(request)
    permissions.require(user, "view", RecordKind.CASE)
    qs = Notification.objects.filter(recipient=user)
    if unread:
        qs = qs.filter(read_at__isnull=True)
    return [
        {"id": n.pk, "case": n.case_id, "kind": n.kind, "text": n.text,
         "created_at": n.created_at, "read_at": n.read_at}
        for n in qs.order_by("-created_at", "-id")[:100]
    ]  # fmt: skip


@router.post(
    "/service-notifications/read",
    response={200: dict[str, int], **problems(403)},
    url_name="servicenotification-read",
)
def servicenotification_read(request: HttpRequest, payload: ServiceNotificationsRead):
    """Mark my notifications read (the ones given, or all)."""
    from rapport.service.sla.notify import mark_read

    user = user_of(request)
    permissions.require(user, "view", RecordKind.CASE)
    return {"read": mark_read(user=user, ids=payload.ids)}

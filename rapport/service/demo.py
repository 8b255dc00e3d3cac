"""A year of cases on the demo contacts (``manage.py demo``, order 30).

The demo company's service desk hears inquiries, complaints, requests and incidents by
phone, e-mail, the web form, chat and social media; agents reply (the first reply is the
case's first response), leave internal notes, and resolve and close most cases within
days; the last weeks' cases are still open, some waiting on the customer. Cases are opened
and moved through the services (so the status history, the audit trail and the contacts'
timelines are what they would be), dated to when the story has them happen; replies are
written as already sent (the demo sends no e-mail). The same seed tells the same story;
dates are relative to today.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from typing import Any

from django.db import transaction
from django.utils import timezone

from rapport.core.actor import Actor, Via
from rapport.customers.models import Contact
from rapport.service import events as service_events
from rapport.service import services
from rapport.service.models import (
    Case,
    CaseMessage,
    EscalationRule,
    Notification,
    ServiceCalendar,
    ServiceExpert,
    ServicePolicy,
    ServiceTeam,
)
from rapport.service.sla import calendars
from rapport.service.sla import targets as sla
from rapport.service.sla.notices import notices_run
from rapport.timeline import events as timeline_events
from rapport.timeline.models import Department, Direction
from rapport.users.models import Team, User

DAYS = 365
CASES = 360
TEAM = "Service desk"
KINDS = (("inquiry", 40), ("complaint", 25), ("request", 20), ("incident", 15))
CHANNELS = (("phone", 40), ("email", 35), ("web_form", 15), ("chat", 5), ("social", 5))
PRIORITIES = ((1, 5), (2, 20), (3, 60), (4, 15))
TOPICS = ("Lumen Insight", "Lumen Connect", "Premium Support", "Lumen Forecast", "Invoices", "")
SUBJECTS = {
    "inquiry": ("How do I export my dashboards?", "Question about the new price list",
                "Can we add a second site to our contract?", "Where do I find last year's invoices?"),
    "complaint": ("Invoice charged twice", "Nobody called me back", "Delivery arrived damaged",
                  "The app keeps logging me out", "Support line kept me waiting an hour"),
    "request": ("Please change our billing address", "Request for a copy of the contract",
                "Add three user licences", "Cancel the training session on Friday"),
    "incident": ("Sync stopped since this morning", "Reports show no data", "Login fails with an error",
                 "Forecast page times out"),
}  # fmt: skip
DESCRIPTIONS = (
    "Could you look into this as soon as possible? Thank you.",
    "This is the second time this month. I expect an answer today.",
    "Nothing urgent, whenever you have a moment.",
    "Our team depends on this for the weekly meeting.",
)
REPLIES = (
    "Thank you for your message. We are looking into it and will come back to you today.",
    "Sorry for the trouble. We have corrected it; could you check on your side?",
    "We have sent you the document by separate mail. Anything else we can do?",
    "A technician is on it; we will update you as soon as we know more.",
)
# What a customer writes back after the first answer: the case was not resolved at the
# first contact (the service reports count these), and the next response is due.
FOLLOW_UPS = (
    "Thanks, but it still does not work on our side. Could you have another look?",
    "I tried that and get the same error. Screenshot attached in my previous mail.",
    "Could you confirm when the credit note will be sent?",
    "We checked with our IT team; they need the details you mentioned.",
)
NOTES = (
    "Customer sounded upset on the phone; account owner informed.",
    "Checked the logs: the sync job failed on a timeout.",
    "Credit note requested from finance.",
    "Same issue as last month, see the earlier case.",
)


def _pick(rng: random.Random, weighted: tuple[tuple[Any, int], ...]) -> Any:
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights=weights)[0]


def _desk(users: list[User]) -> Team:
    team, _ = Team.objects.get_or_create(name=TEAM)
    for user in users:
        user.teams.add(team)
    return team


def _say(case: Case, *, actor: Actor, direction: str, body: str, at: dt.datetime) -> None:
    """A message of the story: a reply already sent, or an internal note."""
    if direction == CaseMessage.Direction.OUTBOUND:
        subject = services.reply_subject(case)
        entry = service_events.case_replied(
            actor=actor, case=case, subject=subject, body=body, to="", at=at
        )
    else:
        subject = ""
        entry = service_events.case_noted(actor=actor, case=case, body=body, at=at)
    CaseMessage.objects.create(
        case=case,
        direction=direction,
        channel=CaseMessage.Channel.EMAIL if direction == "out" else CaseMessage.Channel.NOTE,
        author_user=actor.user,
        occurred_at=at,
        subject=subject,
        body=body,
        entry=entry,
    )


def _customer_writes(case: Case, *, body: str, at: dt.datetime) -> None:
    """The customer's answer by e-mail: on their timeline, then on the case, as the mail path
    puts it there (the next-response goal starts)."""
    subject = services.reply_subject(case)
    entry = timeline_events.record(
        kind="email",
        summary=subject,
        direction=Direction.INBOUND,
        department=Department.SERVICE,
        body=body,
        occurred_at=at,
        contacts=[case.contact_id],
        accounts=[case.account_id] if case.account_id else [],
        data={"case": case.pk, "reference": case.reference},
    )
    services.message_add_inbound(
        case=case,
        message={
            "at": at,
            "subject": subject,
            "body": body,
            "entry": entry,
            "channel": CaseMessage.Channel.EMAIL,
            "message_id": f"<demo-{case.pk}-{at:%Y%m%d%H%M}@customer.example>",
        },
        checked=True,
    )


SYSTEM = Actor(user=None, via=Via.SYSTEM, context={"path": "demo"})
# The desk works in London: weekdays with a lunch break, Saturday mornings; England's
# public holidays from the holidays package.
DESK_HOURS = [
    {"weekday": d, "start": s, "end": e}
    for d in range(5)
    for s, e in (("08:30", "12:30"), ("13:30", "17:30"))
] + [{"weekday": 5, "start": "09:00", "end": "13:00"}]
POLICIES = (
    # name, priority, first response, resolution (working minutes)
    ("Urgent", 1, 60, 8 * 60),
    ("High", 2, 4 * 60, 16 * 60),
    ("Normal", 3, 8 * 60, 40 * 60),
    ("Low", 4, 16 * 60, 80 * 60),
)


def _goals(team: Team, agents: list[User]) -> None:
    """The desk's calendar, its service goals and escalation rules (once)."""
    if ServiceCalendar.objects.filter(name="Service desk hours").exists():
        return
    calendars.calendar_create(
        actor=SYSTEM,
        data={
            "name": "Service desk hours", "time_zone": "Europe/London", "country": "GB",
            "subdivision": "ENG", "periods": DESK_HOURS, "teams": [team.pk], "is_default": True,
        },
    )  # fmt: skip
    for name, priority, first, resolution in POLICIES:
        ServicePolicy.objects.create(
            name=name, priority=priority, first_response_minutes=first,
            next_response_minutes=first * 2, resolution_minutes=resolution,
        )  # fmt: skip
    manager = next((u for u in agents if u.username == "manager"), agents[0])
    admin = User.objects.filter(username="admin").first() or manager
    ServiceTeam.objects.filter(team=team).update(lead=manager, manager=admin)
    ServiceExpert.objects.get_or_create(user=manager, topic="Invoices")
    EscalationRule.objects.create(
        name="At risk: team lead", trigger="at_risk", level=1, recipient="team_lead"
    )
    EscalationRule.objects.create(
        name="Important complaint: account owner", trigger="important_complaint", level=2,
        recipient="account_owner",
    )  # fmt: skip
    EscalationRule.objects.create(
        name="Missed: manager", trigger="breached", level=3, recipient="manager"
    )


def service_demo_load(*, seed: int = 1) -> str:
    """Cases for a year on the demo contacts; nothing when cases exist already."""
    if Case.objects.exists():
        return "cases: there already, none added"
    started = time.perf_counter()
    rng = random.Random(f"service-{seed}")
    agents = list(User.objects.filter(username__in=("service", "manager")).order_by("username"))
    contact_ids = list(Contact.objects.order_by("id").values_list("id", flat=True)[:3000])
    if not agents or not contact_ids:
        return "cases: no demo users or contacts, none added"
    team = _desk(agents)
    _goals(team, agents)
    now = timezone.now().replace(second=0, microsecond=0)
    counts = {"open": 0, "resolved": 0, "closed": 0}
    with transaction.atomic():
        for _ in range(CASES):
            agent = rng.choice(agents)
            actor = Actor(user=agent, via=Via.SYSTEM, context={"path": "demo"})
            kind = _pick(rng, KINDS)
            age_days = rng.uniform(0, DAYS) ** 1.0
            opened = now - dt.timedelta(days=age_days, hours=rng.randint(0, 9))
            case = services.case_create(
                actor=actor,
                occurred_at=opened,
                data={
                    "contact": rng.choice(contact_ids),
                    "subject": rng.choice(SUBJECTS[kind]),
                    "description": rng.choice(DESCRIPTIONS),
                    "kind": kind,
                    "channel": _pick(rng, CHANNELS),
                    "priority": _pick(rng, PRIORITIES),
                    "topic": rng.choice(TOPICS),
                    "important": kind == "complaint" and rng.random() < 0.3,
                    "team": team.pk,
                    "owner": agent.pk if rng.random() < 0.9 else None,
                },
            )
            at = opened
            if age_days > 0.2 or rng.random() < 0.5:
                at = min(now, opened + dt.timedelta(hours=rng.uniform(0.2, 30)))
                notices_run(now=at, case_ids=[case.pk])  # what the clock said before the reply
                _say(case, actor=actor, direction="out", body=rng.choice(REPLIES), at=at)
                Case.objects.filter(pk=case.pk).update(first_response_at=at, last_message_at=at)
                case.first_response_at = at
                sla.targets_responded(case=case, at=at)
                case = services.case_status_change(actor=actor, case=case, status="open", at=at)
            if case.first_response_at is not None and rng.random() < 0.3:
                # Not resolved at the first contact: the customer writes back (some after
                # the case waited on them), and the agent answers again.
                if rng.random() < 0.5:
                    case = services.case_status_change(
                        actor=actor, case=case, status="waiting_customer", at=at
                    )
                at = min(now, at + dt.timedelta(hours=rng.uniform(2, 48)))
                _customer_writes(case, body=rng.choice(FOLLOW_UPS), at=at)
                if case.status == "waiting_customer":
                    case = services.case_status_change(actor=actor, case=case, status="open", at=at)
                if age_days > 3:
                    at = min(now, at + dt.timedelta(hours=rng.uniform(0.2, 20)))
                    notices_run(now=at, case_ids=[case.pk])
                    _say(case, actor=actor, direction="out", body=rng.choice(REPLIES), at=at)
                    Case.objects.filter(pk=case.pk).update(last_message_at=at)
                    sla.targets_responded(case=case, at=at)
            if rng.random() < 0.35:
                at = min(now, at + dt.timedelta(hours=rng.uniform(0.1, 8)))
                _say(case, actor=actor, direction="internal", body=rng.choice(NOTES), at=at)
            if age_days > 14 and rng.random() < 0.92:
                at = min(now, at + dt.timedelta(days=rng.uniform(0.2, 6)))
                notices_run(now=at, case_ids=[case.pk])
                case = services.case_status_change(actor=actor, case=case, status="resolved", at=at)
                if rng.random() < 0.85:
                    at = min(now, at + dt.timedelta(days=rng.uniform(1, 7)))
                    case = services.case_status_change(
                        actor=actor, case=case, status="closed", at=at
                    )
            elif case.status == "open" and rng.random() < 0.4:
                case = services.case_status_change(
                    actor=actor, case=case, status="waiting_customer", at=at
                )
            key = (
                "closed"
                if case.status == "closed"
                else "resolved"
                if case.status == "resolved"
                else "open"
            )
            counts[key] += 1
        run = notices_run(now=now)  # the open cases' goals, as the clock stands today
        # What a year of notices left unread: only the last two days' are still new.
        Notification.objects.filter(created_at__lt=now - dt.timedelta(days=2)).update(read_at=now)
    seconds = time.perf_counter() - started
    return (
        f"cases: {CASES} over {DAYS} days ({counts['open']} open, {counts['resolved']} resolved, "
        f"{counts['closed']} closed; goals: {run.warnings} warnings, {run.breaches} breaches "
        f"today, escalations on {Case.objects.filter(escalation_level__gt=0).count()} cases) "
        f"in {seconds:.1f} s"
    )

"""Service goals on real cases: targets kept by the case services, calendars changed
while cases are open, notices sent exactly once, escalation by rule and by hand."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from rapport.customers.tests.factories import make_contact
from rapport.followups.models import Task
from rapport.service import services
from rapport.service.escalation.services import escalation_answer, escalation_request
from rapport.service.models import (
    Case,
    CaseEscalation,
    CaseTarget,
    EscalationRule,
    Notification,
    ServiceExpert,
    ServicePolicy,
    ServiceTeam,
)
from rapport.service.sla import calendars
from rapport.service.sla.notices import notices_run
from rapport.service.tests.factories import SYSTEM, ensure_builtin_kinds
from rapport.timeline.models import Entry
from rapport.users.models import Team

UTC = dt.UTC
ALWAYS = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]
OFFICE = [
    {"weekday": d, "start": s, "end": e}
    for d in range(5)
    for s, e in (("09:00", "12:00"), ("13:00", "17:00"))
]


def _setup(*, periods=ALWAYS, tz="UTC", first=60, resolution=480, **policy):
    team = Team.objects.get_or_create(name="Desk")[0]
    calendar = calendars.calendar_create(
        actor=SYSTEM,
        data={"name": "Desk hours", "time_zone": tz, "periods": periods, "teams": [team.pk]},
    )
    ServicePolicy.objects.create(
        name="Default", first_response_minutes=first, resolution_minutes=resolution, **policy
    )
    return team, calendar


def _case(*, contact, occurred_at=None, **data):
    data.setdefault("subject", "Chair broke")
    for name in ("owner", "team"):
        if name in data and hasattr(data[name], "pk"):
            data[name] = data[name].pk
    return services.case_create(
        actor=SYSTEM, data={"contact": contact.pk, **data}, occurred_at=occurred_at
    )


def _target(case, kind="first_response"):
    return CaseTarget.objects.filter(case=case, kind=kind).order_by("-cycle").first()


@pytest.mark.django_db
def test_a_case_opened_on_saturday_night_is_due_on_monday_in_the_teams_time_zone(personas):
    team, _ = _setup(periods=OFFICE, tz="Europe/Berlin", first=120)
    saturday = dt.datetime(2026, 3, 7, 22, 0, tzinfo=UTC)
    case = _case(contact=make_contact(), team=team.pk, occurred_at=saturday)
    target = _target(case)
    # Monday 9 March, 09:00-11:00 Berlin (UTC+1)
    assert target.due_at == dt.datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
    assert Case.objects.get(pk=case.pk).next_due_at == target.due_at


@pytest.mark.django_db
def test_waiting_on_the_customer_pauses_and_the_reply_meets_the_first_response(personas):
    team, _ = _setup()
    case = _case(contact=make_contact(emails=["a@example.org"]), team=team.pk)
    assert _target(case).state == "running"
    case = services.case_status_change(actor=SYSTEM, case=case, status="waiting_customer")
    target = _target(case)
    assert (target.state, target.due_at) == ("paused", None)
    case = services.case_status_change(actor=SYSTEM, case=case, status="open")
    assert _target(case).due_at is not None
    services.case_call_log(actor=SYSTEM, case=case, inbound=False)
    target = _target(case)
    assert target.state == "met" and not target.breached


@pytest.mark.django_db
def test_reply_and_resolve_in_one_save_meet_both_goals(personas):
    team, _ = _setup()
    case = _case(contact=make_contact(emails=["b@example.org"]), team=team.pk)
    services.case_reply(actor=SYSTEM, case=case, body="Fixed it", status="resolved")
    assert _target(case).state == "met"
    assert _target(case, "resolution").state == "met"
    assert Case.objects.get(pk=case.pk).next_due_at is None


@pytest.mark.django_db
def test_a_holiday_added_while_a_case_is_open_moves_its_deadline_and_keeps_the_time_used(personas):
    team, calendar = _setup(first=2 * 24 * 60)
    opened = timezone.now().replace(microsecond=0) - dt.timedelta(hours=3)
    case = _case(contact=make_contact(), team=team.pk, occurred_at=opened)
    before = _target(case).due_at
    assert before == opened + dt.timedelta(days=2)
    tomorrow = (timezone.now() + dt.timedelta(days=1)).date()
    yesterday = opened.date() - dt.timedelta(days=1)
    changed = calendars.calendar_days_add(
        actor=SYSTEM,
        calendar=calendar,
        days=[
            {"date": tomorrow.isoformat(), "name": "Company day"},
            {"date": yesterday.isoformat()},
        ],
    )
    assert changed == 2
    target = _target(case)
    assert target.due_at == before + dt.timedelta(days=1)  # tomorrow no longer counts
    assert 3 * 3600 <= target.used_seconds < 3 * 3600 + 120  # the hours used stay used


@pytest.mark.django_db
def test_a_case_moved_to_another_team_counts_with_that_teams_calendar(personas):
    team, _ = _setup()
    night = Team.objects.create(name="Night shift")
    other = calendars.calendar_create(
        actor=SYSTEM, data={"name": "Never", "time_zone": "UTC", "periods": [], "teams": [night.pk]}
    )
    assert other.teams.count() == 1
    case = _case(contact=make_contact(), team=team.pk)
    services.case_assign(actor=SYSTEM, case=case, team=night.pk)
    target = _target(case)
    assert target.calendar_id == other.pk and target.due_at is None


@pytest.mark.django_db
def test_ics_import_adds_company_days(personas):
    _, calendar = _setup()
    ics = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\n"
        b"BEGIN:VEVENT\r\nUID:1\r\nDTSTART;VALUE=DATE:20261224\r\nDTEND;VALUE=DATE:20261226\r\n"
        b"SUMMARY:Christmas break\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    assert calendars.calendar_import_ics(actor=SYSTEM, calendar=calendar, raw=ics) == 2
    assert list(calendar.days.values_list("date", "source")) == [
        (dt.date(2026, 12, 24), "ical"),
        (dt.date(2026, 12, 25), "ical"),
    ]


def test_public_holidays_come_from_the_holidays_package():
    assert dt.date(2026, 10, 3) in calendars.public_holidays("DE", "", 2026, 2026)


@pytest.mark.django_db
def test_warning_and_breach_are_sent_once_each_within_a_minute(personas):
    team, _ = _setup(first=10)
    bob = personas["bob"]
    opened = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=9)
    case = _case(contact=make_contact(), team=team.pk, owner=bob, occurred_at=opened)
    target = _target(case)
    assert target.warn_at == opened + dt.timedelta(minutes=8)
    assert notices_run(now=target.warn_at - dt.timedelta(seconds=1)).warnings == 0
    assert notices_run(now=target.warn_at + dt.timedelta(seconds=30)).warnings == 1
    assert notices_run(now=target.warn_at + dt.timedelta(seconds=60)).warnings == 0
    run = notices_run(now=target.due_at + dt.timedelta(seconds=30))
    assert (run.warnings, run.breaches) == (0, 1)
    assert notices_run(now=target.due_at + dt.timedelta(minutes=5)).breaches == 0
    kinds = list(Notification.objects.filter(recipient=bob).values_list("kind", flat=True))
    assert sorted(kinds) == ["breach", "warning"]
    assert Entry.objects.filter(kind="case_sla").count() == 2
    assert Case.objects.get(pk=case.pk).sla_state == "breached"


@pytest.mark.django_db(transaction=True)
def test_two_runners_at_once_send_each_notice_once(personas):
    ensure_builtin_kinds()
    team, _ = _setup(first=10)
    bob = personas["bob"]
    opened = timezone.now() - dt.timedelta(hours=1)
    for _ in range(20):
        _case(contact=make_contact(), team=team.pk, owner=bob, occurred_at=opened)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def runner() -> None:
        try:
            barrier.wait()
            notices_run()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors and connection.vendor == "sqlite":
        notices_run()  # SQLite lets one writer in: the loser's run simply runs later
    elif errors:
        raise errors[0]
    assert Notification.objects.filter(kind="warning").count() == 20
    assert Notification.objects.filter(kind="breach").count() == 20
    assert (
        CaseTarget.objects.filter(kind="first_response", breach_noticed_at__isnull=True).count()
        == 0
    )


@pytest.mark.django_db
def test_escalation_rules_fire_once_each_level_by_level(personas):
    team, _ = _setup(first=10)
    lead, manager = personas["mo"], personas["alice"]
    ServiceTeam.objects.filter(team=team).update(lead=lead, manager=manager)
    EscalationRule.objects.create(name="Lead", trigger="at_risk", level=1, recipient="team_lead")
    EscalationRule.objects.create(name="Manager", trigger="breached", level=2, recipient="manager")
    opened = timezone.now() - dt.timedelta(hours=2)
    case = _case(contact=make_contact(), team=team.pk, owner=personas["bob"], occurred_at=opened)
    notices_run()
    escalations = list(CaseEscalation.objects.filter(case=case).order_by("level"))
    assert [(e.level, e.to_user_id) for e in escalations] == [(1, lead.pk), (2, manager.pk)]
    assert Case.objects.get(pk=case.pk).escalation_level == 2
    notices_run(now=timezone.now() + dt.timedelta(days=2))
    assert CaseEscalation.objects.filter(case=case).count() == 2


@pytest.mark.django_db
def test_an_important_complaint_goes_to_the_account_owner(personas):
    ensure_builtin_kinds()
    _setup()
    EscalationRule.objects.create(
        name="Owner",
        trigger="important_complaint",
        level=1,
        recipient="person",
        person=personas["brenda"],
    )
    case = _case(contact=make_contact(), kind="complaint")
    assert not CaseEscalation.objects.filter(case=case).exists()
    services.case_update(actor=SYSTEM, case=case, data={"important": True})
    escalation = CaseEscalation.objects.get(case=case)
    assert escalation.to_user == personas["brenda"] and "important" in escalation.reason
    services.case_update(actor=SYSTEM, case=case, data={"important": False})
    services.case_update(actor=SYSTEM, case=case, data={"important": True})
    assert CaseEscalation.objects.filter(case=case).count() == 1


@pytest.mark.django_db
def test_a_question_to_an_expert_comes_back_to_the_owner(personas):
    from rapport.core.actor import Actor

    _setup()
    bob, expert = personas["bob"], personas["sam"]
    ServiceExpert.objects.create(user=expert, topic="Invoices")
    case = _case(contact=make_contact(owner=bob), owner=bob, topic="Invoices")
    escalation = escalation_request(
        actor=SYSTEM, case=case, topic="invoices", question="Was the credit note sent?"
    )
    assert escalation.to_user == expert and escalation.task_id
    assert Notification.objects.filter(recipient=expert, kind="question").exists()
    escalation_answer(
        actor=Actor(user=expert, via="web"), escalation=escalation, answer="Yes, on Monday"
    )
    assert Task.objects.get(pk=escalation.task_id).status == "done"
    assert case.messages.filter(direction="internal", body__contains="Yes, on Monday").exists()
    assert Task.objects.filter(
        assignee=bob, subject_kind="case", subject_id=case.pk, status="open"
    ).exists()
    assert Notification.objects.filter(recipient=bob, kind="answer").exists()


@pytest.mark.django_db
def test_the_demo_year_has_goals_breaches_and_escalations_and_nothing_in_the_future(monkeypatch):
    from rapport.customers.demo import demo_users_ensure
    from rapport.service import demo

    monkeypatch.setattr(demo, "CASES", 60)
    demo_users_ensure()
    for i in range(10):
        make_contact(full_name=f"Demo Person {i}")
    line = demo.service_demo_load(seed=3)
    assert "goals:" in line
    assert CaseTarget.objects.filter(state="met", breached=False).exists()
    assert CaseTarget.objects.filter(breached=True).exists()
    assert CaseEscalation.objects.exists()
    now = timezone.now()
    assert not Entry.objects.filter(
        kind__in=["case_sla", "case_escalated"], occurred_at__gt=now
    ).exists()
    assert not Notification.objects.filter(created_at__gt=now).exists()

"""The service reports page: each figure computed on a small known set of cases (the
expected numbers are worked out in the fixture's docstring), what an agent of one team
sees of another's (nothing), the CSV made inert for spreadsheets, the page for each
breakdown in a fixed number of queries."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rapport.customers.tests.factories import make_contact
from rapport.service import services
from rapport.service.models import Case, CaseTarget
from rapport.service.reports import figures
from rapport.service.tests.factories import SYSTEM, make_case
from rapport.surveys.models import Invitation, Question, SurveyResponse
from rapport.surveys.tests.factories import make_csat_survey
from rapport.users.models import Role, Team, User

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _resolve(case: Case, at: dt.datetime, *, first_response: dt.datetime | None = None) -> None:
    if first_response is not None:
        Case.objects.filter(pk=case.pk).update(first_response_at=first_response)
        case.refresh_from_db()
    services.case_status_change(actor=SYSTEM, case=case, status="resolved", at=at)


def _csat(survey, case: Case, score: int, at: dt.datetime) -> None:
    question = survey.questions.get(kind=Question.Kind.CSAT)
    invitation = Invitation.objects.create(
        survey=survey, contact=case.contact, touchpoint="case_resolved", object_kind="case",
        object_id=case.pk, department="service", occurred_at=at, sent_at=at,
        status=Invitation.Status.INVITED, answered_at=at,
    )  # fmt: skip
    response = SurveyResponse.objects.create(
        invitation=invitation, survey=survey, contact=case.contact, touchpoint="case_resolved",
        object_kind="case", object_id=case.pk, department="service", submitted_at=at, score=score,
    )  # fmt: skip
    response.answers.create(question=question, number=score)


def _target(case: Case, kind: str, *, state: str, due: dt.datetime, met=None, breached=False):
    return CaseTarget.objects.create(
        case=case, kind=kind, target_seconds=3600, warn_seconds=2880, started_at=ago(90),
        counted_at=ago(90), state=state, due_at=due, met_at=met, breached=breached,
    )  # fmt: skip


@pytest.fixture
def world(personas):
    """Two teams. Desk (sam): d1 phone/inquiry/Lamps resolved 2 days ago at first contact
    (CSAT 5); d2 e-mail/complaint/Lamps, the customer wrote again after the first response
    (CSAT 2); d3 e-mail/inquiry/Chairs, reopened then resolved (CSAT 4); d4 open 10 days;
    d5 open 2 hours; d6 resolved 60 days ago at first contact (CSAT 5, outside the last
    30 days). Field (sue): f1 phone resolved with no response (CSAT 1); f2 open 40 days; f3 chat,
    waiting on the customer once, then resolved.

    Targets: d1 two met in time; d2 first response met late (breached); d4 resolution
    running past its deadline (breached); d5 running, due tomorrow (not decided); f1 met
    in time; f2 breached 35 days ago (outside the period).

    By team over the last 30 days: CSAT Desk 3 answers, 2 satisfied (66.7 %), average
    3.67; Field 1 answer, 0 satisfied, average 1.00. FCR Desk 1 of 3, Field 1 of 2. Goals
    Desk 2 met 2 breached, Field 1 met. Backlog Desk: one under a day, one 7–29 days;
    Field one 30 days or more."""
    desk, field = Team.objects.create(name="Desk"), Team.objects.create(name="Field")
    sam = personas["sam"]
    sam.teams.add(desk)
    sue = User.objects.create_user(username="sue", password="sue-password-1", role=Role.SERVICE)
    sue.teams.add(field)
    nora = make_contact(owner=personas["bob"], full_name="Nora North")
    survey = make_csat_survey()

    def case(team, owner, days, **data):
        data = {"contact": nora.pk, "team": team.pk, "owner": owner.pk, "subject": "Q", **data}
        data.setdefault("kind", "inquiry")
        return services.case_create(actor=SYSTEM, data=data, occurred_at=ago(days))

    d1 = case(desk, sam, 4, channel="phone", topic="Lamps")
    _resolve(d1, ago(2), first_response=ago(3))
    d2 = case(desk, sam, 6, channel="email", kind="complaint", topic="Lamps")
    Case.objects.filter(pk=d2.pk).update(first_response_at=ago(5))
    services.message_add_inbound(case=d2, message={"body": "Still broken", "at": ago(4)})
    d2.refresh_from_db()
    _resolve(d2, ago(3))
    d3 = case(desk, sam, 5, channel="email", topic="Chairs")
    _resolve(d3, ago(4), first_response=ago(4.5))
    d3.refresh_from_db()
    services.case_status_change(actor=SYSTEM, case=d3, status="open", at=ago(3))
    d3.refresh_from_db()
    _resolve(d3, ago(1))
    d4 = case(desk, sam, 10, channel="phone")
    d5 = case(desk, sam, 2 / 24, channel="email")
    d6 = case(desk, sam, 62, channel="phone")
    _resolve(d6, ago(60), first_response=ago(61))
    f1 = case(field, sue, 2, channel="phone")
    _resolve(f1, ago(1))
    f2 = case(field, sue, 40, channel="email")
    f3 = case(field, sue, 3, channel="chat")
    services.case_status_change(actor=SYSTEM, case=f3, status="waiting_customer", at=ago(2.5))
    f3.refresh_from_db()
    _resolve(f3, ago(2))

    for c, score, days in ((d1, 5, 1.5), (d2, 2, 2.5), (d3, 4, 0.5), (d6, 5, 59), (f1, 1, 0.5)):
        _csat(survey, c, score, ago(days))
    K, S = CaseTarget.Kind, CaseTarget.State
    _target(d1, K.FIRST_RESPONSE, state=S.MET, due=ago(3.5), met=ago(3))
    _target(d1, K.RESOLUTION, state=S.MET, due=ago(1), met=ago(2))
    _target(d2, K.FIRST_RESPONSE, state=S.MET, due=ago(5.5), met=ago(5), breached=True)
    _target(d4, K.RESOLUTION, state=S.RUNNING, due=ago(1))
    _target(d5, K.RESOLUTION, state=S.RUNNING, due=ago(-1))
    _target(f1, K.FIRST_RESPONSE, state=S.MET, due=ago(1), met=ago(1.5))
    _target(f2, K.RESOLUTION, state=S.MET, due=ago(35), met=ago(34), breached=True)
    return {"sam": sam, "sue": sue, "mo": personas["mo"], "desk": desk, "field": field}


def _window() -> figures.Window:
    return figures.Window("30d", "Last 30 days", ago(30), NOW + dt.timedelta(seconds=1))


def _report(user, by="team") -> figures.Report:
    return figures.Report(actor=user, window=_window(), by=by, now=NOW)


def _rows(figure: figures.Figure) -> dict[str, list]:
    return {row[0]: row[1:] for row in figure.rows}


def test_csat_counts_the_answers_about_cases_in_the_period_by_team(world):
    rows = _rows(_report(world["mo"]).csat())
    # answers, satisfied, % satisfied, average
    assert rows["Desk"] == [3, 2, Decimal("66.7"), Decimal("3.67")]
    assert rows["Field"] == [1, 0, Decimal("0.0"), Decimal("1.00")]
    assert rows["All"] == [4, 2, Decimal("50.0"), Decimal("3.00")]


def test_first_contact_resolution_leaves_out_cases_that_took_another_round(world):
    rows = _rows(_report(world["mo"]).fcr())
    # resolved, at first contact, %
    assert rows["Desk"] == [3, 1, Decimal("33.3")]
    assert rows["Field"] == [2, 1, Decimal("50.0")]
    assert rows["All"] == [5, 2, Decimal("40.0")]


def test_service_goals_count_targets_met_in_time_against_breached_and_overdue(world):
    rows = _rows(_report(world["mo"]).goals())
    assert rows["Desk"] == [2, 2, Decimal("50.0")]
    assert rows["Field"] == [1, 0, Decimal("100.0")]
    assert rows["All"] == [3, 2, Decimal("60.0")]


def test_the_backlog_sorts_open_cases_by_age(world):
    figure = _report(world["mo"]).backlog()
    assert figure.headers == [
        "Team", "under 1 day", "1–2 days", "3–6 days", "7–29 days", "30 days or more", "Open",
    ]  # fmt: skip
    rows = _rows(figure)
    assert rows["Desk"] == [1, 0, 0, 1, 0, 2]
    assert rows["Field"] == [0, 0, 0, 0, 1, 1]
    assert rows["All"] == [1, 0, 0, 1, 1, 3]


def test_each_breakdown_groups_by_its_column(world):
    mo = world["mo"]
    assert _rows(_report(mo, "channel").fcr()) == {
        "Phone": [2, 2, Decimal("100.0")],
        "E-mail": [2, 0, Decimal("0.0")],
        "Chat": [1, 0, Decimal("0.0")],
        "All": [5, 2, Decimal("40.0")],
    }
    assert _rows(_report(mo, "topic").csat())["Lamps"] == [2, 1, Decimal("50.0"), Decimal("3.50")]
    assert _rows(_report(mo, "topic").csat())["(no topic)"][0] == 1
    assert _rows(_report(mo, "agent").backlog())["sue"][-1] == 1
    kinds = _rows(_report(mo, "kind").goals())
    assert kinds["Complaint"] == [0, 1, Decimal("0.0")]
    assert kinds["Inquiry"] == [3, 1, Decimal("75.0")]


def test_a_longer_period_takes_in_older_cases(world):
    report = figures.Report(
        actor=world["mo"],
        window=figures.Window("x", "x", ago(90), NOW + dt.timedelta(seconds=1)),
        by="team",
        now=NOW,
    )
    assert _rows(report.fcr())["Desk"] == [4, 2, Decimal("50.0")]
    assert _rows(report.csat())["Desk"][:2] == [4, 3]
    assert _rows(report.goals())["Field"] == [1, 1, Decimal("50.0")]


def test_an_agent_sees_only_the_figures_of_their_teams_cases(world):
    sam = world["sam"]
    report = _report(sam)
    for figure in (report.csat(), report.fcr(), report.goals(), report.backlog()):
        rows = _rows(figure)
        assert "Field" not in rows, figure.key
        assert rows["All"] == rows["Desk"], figure.key
    body = _client(sam).get(reverse("service:reports"), {"by": "agent", "period": "30d"})
    assert body.status_code == 200
    assert b"sue" not in body.content and b"sam" in body.content


def test_an_agent_may_not_export_and_a_manager_gets_the_csv(world):
    url = reverse("service:reports")
    query = {"period": "30d", "by": "team", "format": "csv", "figure": "fcr"}
    assert _client(world["sam"]).get(url, query).status_code == 403
    response = _client(world["mo"]).get(url, query)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["Team", "Resolved", "At first contact", "% at first contact"]
    assert ["Field", "2", "1", "50.0"] in rows
    assert _client(world["mo"]).get(url, {**query, "figure": "nope"}).status_code == 404


def test_the_csv_makes_a_formula_in_a_topic_inert(world):
    nora = Case.objects.first().contact
    evil = make_case(
        contact=nora, team=world["desk"].pk, owner=world["sam"].pk,
        topic='=HYPERLINK("http://evil.example","x")',
    )  # fmt: skip
    assert evil.is_open
    response = _client(world["mo"]).get(
        reverse("service:reports"), {"by": "topic", "format": "csv", "figure": "backlog"}
    )
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    labels = [row[0] for row in csv.reader(io.StringIO(text))]
    assert '\'=HYPERLINK("http://evil.example","x")' in labels
    assert not any(label.startswith("=") for label in labels)


@pytest.mark.parametrize("by", list(figures.DIMENSIONS))
def test_the_page_renders_each_breakdown_in_few_queries(world, by, django_assert_max_num_queries):
    client = _client(world["mo"])
    with django_assert_max_num_queries(20):
        response = client.get(reverse("service:reports"), {"by": by, "period": "12m"})
    assert response.status_code == 200
    html = response.content.decode()
    for key in figures.FIGURES:
        assert f'id="chart-{key}"' in html
    assert "CSV" in html


def test_the_page_needs_a_login():
    response = Client().get(reverse("service:reports"))
    assert response.status_code == 302


def test_periods_are_named_and_unknown_ones_fall_back_to_90_days():
    today = dt.date(2026, 3, 15)
    names = [w.name for w in figures.windows(today)]
    assert names[:3] == ["30d", "90d", "12m"]
    assert names[3:5] == ["2026-03", "2026-02"] and names[-1] == "2025-04"
    january = figures.window_of("2026-01", today)
    assert (january.start.date(), january.end.date()) == (dt.date(2026, 1, 1), dt.date(2026, 2, 1))
    assert figures.window_of("garbage", today).name == "90d"
    year = figures.window_of("12m", today)
    assert year.start.date() == dt.date(2025, 4, 1) and year.end.date() == dt.date(2026, 3, 16)

"""The three touchpoint call sites, end to end: the service, sales and follow-up apps reach
a touchpoint, the listener queues the task after commit, the invitation goes through the
consent gate to a real SMTP server, and its link opens the answer page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from conftest import actor
from rapport.consent.tests.factories import withdraw
from rapport.customers.tests.factories import make_contact
from rapport.followups import services as followups
from rapport.followups.tests.factories import make_task
from rapport.sales import services as sales
from rapport.sales.tests.factories import make_deal, stage
from rapport.service import services as service
from rapport.service.tests.factories import make_case
from rapport.surveys.models import Invitation, SurveyResponse
from rapport.surveys.tests.factories import make_csat_survey, make_survey
from rapport.timeline.models import Entry

LINK = re.compile(r"http://[^\s]+/s/([^\s/?]+)/")


def _resolve(case, by, capture):
    with capture(execute=True):
        return service.case_status_change(actor=actor(by), case=case, status="resolved")


def _link(arrived) -> str:
    found = LINK.search(arrived.message.get_content())
    assert found, arrived.message.get_content()
    return found.group(0).split("http://localhost:8000")[-1]


@pytest.mark.django_db
def test_resolving_a_case_sends_one_csat_invitation_once(
    smtp, personas, django_capture_on_commit_callbacks
):
    survey = make_csat_survey()
    ann = make_contact(full_name="Ann Case", emails=["ann@example.com"], owner=personas["sam"])
    case = make_case(contact=ann, subject="Lamp flickers", owner=personas["sam"])
    case = _resolve(case, personas["sam"], django_capture_on_commit_callbacks)

    (arrived,) = smtp.arrived
    assert arrived.recipients == ["ann@example.com"]
    msg = arrived.message
    assert msg["Subject"] == survey.subject
    text = msg.get_content()
    assert "Hello Ann," in text and case.reference in text and "Lamp flickers" in text
    # A survey is marketing for the gate: the one-click unsubscribe headers are there.
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    inv = Invitation.objects.get()
    assert (inv.touchpoint, inv.object_kind, inv.object_id, inv.department, inv.staff_id) == (
        "case_resolved", "case", case.pk, "service", personas["sam"].pk,
    )  # fmt: skip
    assert inv.message is not None and inv.message.status == "sent"

    # Reopened and resolved again: no second invitation for the same case.
    with django_capture_on_commit_callbacks(execute=True):
        case = service.case_status_change(actor=actor(personas["sam"]), case=case, status="open")
    _resolve(case, personas["sam"], django_capture_on_commit_callbacks)
    assert Invitation.objects.count() == 1 and len(smtp.arrived) == 1

    # The link in the message opens the page and takes the answer, with the CSRF token.
    client = Client(enforce_csrf_checks=True)
    page = client.get(_link(arrived))
    assert page.status_code == 200 and b"How satisfied are you" in page.content
    token = page.cookies["csrftoken"].value
    q1, q2 = survey.questions.all()
    done = client.post(
        _link(arrived),
        {f"q{q1.pk}": "5", f"q{q2.pk}": "Fixed in a day", "csrfmiddlewaretoken": token},
    )
    assert done.status_code == 200 and b"Thank you" in done.content
    response = SurveyResponse.objects.get()
    assert (response.score, response.comment, response.object_id) == (5, "Fixed in a day", case.pk)
    entry = Entry.objects.get(kind="survey_answer")
    assert entry.department == "service" and entry.data["touchpoint"] == "case_resolved"
    assert entry.data["case"] == case.pk and "Fixed in a day" in entry.summary


@pytest.mark.django_db
def test_a_won_deal_invites_its_primary_contact(smtp, personas, django_capture_on_commit_callbacks):
    make_survey(name="Why did you choose us?", trigger="deal_won", department="sales")
    bob = personas["bob"]
    ben = make_contact(full_name="Ben Buyer", emails=["ben@example.com"], owner=bob)
    deal = make_deal(owner=bob, name="Desks for Ben", primary_contact=ben.pk)
    with django_capture_on_commit_callbacks(execute=True):
        sales.deal_stage_change(actor=actor(bob), deal=deal, stage=stage("Won"))
    (arrived,) = smtp.arrived
    assert arrived.recipients == ["ben@example.com"]
    assert "Desks for Ben" in arrived.message.get_content()
    inv = Invitation.objects.get()
    assert (inv.touchpoint, inv.object_kind, inv.object_id, inv.department) == (
        "deal_won", "deal", deal.pk, "sales",
    )  # fmt: skip


@pytest.mark.django_db
def test_a_meeting_done_invites_the_person_met(smtp, personas, django_capture_on_commit_callbacks):
    make_survey(name="How was our meeting?", trigger="meeting_held", department="sales")
    bob = personas["bob"]
    mel = make_contact(full_name="Mel Meet", emails=["mel@example.com"], owner=bob)
    task = make_task(
        assignee=bob, contact=mel, kind="meeting", title="Demo of the new range",
        starts_at=timezone.now() - dt.timedelta(hours=2),
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        followups.task_complete(actor=actor(bob), task=task)
    (arrived,) = smtp.arrived
    assert arrived.recipients == ["mel@example.com"]
    assert "Demo of the new range" in arrived.message.get_content()
    inv = Invitation.objects.get()
    assert (inv.touchpoint, inv.object_kind, inv.object_id, inv.department) == (
        "meeting_held", "task", task.pk, "sales",
    )  # fmt: skip


@pytest.mark.django_db
def test_no_consent_means_no_invitation_and_the_reason_is_kept(
    smtp, personas, django_capture_on_commit_callbacks
):
    make_csat_survey()
    ann = make_contact(emails=["ann@example.com"])
    withdraw(ann, "surveys")
    case = make_case(contact=ann, owner=personas["sam"])
    _resolve(case, personas["sam"], django_capture_on_commit_callbacks)
    assert smtp.arrived == []
    inv = Invitation.objects.get()
    assert inv.status == "skipped" and inv.skip_reason == "consent" and inv.token is None
    assert "withdrawn" in inv.skip_detail


@pytest.mark.django_db
def test_the_cap_stops_a_second_survey_in_the_month(
    smtp, personas, django_capture_on_commit_callbacks
):
    make_csat_survey(cap_count=1, cap_days=30)
    ann = make_contact(emails=["ann@example.com"])
    first = make_case(contact=ann, owner=personas["sam"])
    second = make_case(contact=ann, owner=personas["sam"])
    _resolve(first, personas["sam"], django_capture_on_commit_callbacks)
    _resolve(second, personas["sam"], django_capture_on_commit_callbacks)
    assert len(smtp.arrived) == 1
    skipped = Invitation.objects.get(object_id=second.pk)
    assert skipped.status == "skipped" and skipped.skip_reason == "cap"
    assert "at most 1" in skipped.skip_detail


@pytest.mark.django_db
def test_a_withdrawal_after_the_invitation_is_queued_is_honoured_by_the_gate(
    smtp, personas, django_capture_on_commit_callbacks
):
    make_csat_survey()
    ann = make_contact(emails=["ann@example.com"])
    case = make_case(contact=ann, owner=personas["sam"])
    # Queued but not yet sent: the gate checks again when it sends.
    service.case_status_change(actor=actor(personas["sam"]), case=case, status="resolved")
    from rapport.surveys.services import touchpoint_invite

    with django_capture_on_commit_callbacks(execute=False) as queued:
        touchpoint_invite(kind="case_resolved", contact_id=ann.pk, department="service",
                          object_kind="case", object_id=case.pk)  # fmt: skip
    withdraw(ann, "surveys")
    for callback in queued:
        callback()
    assert smtp.arrived == []
    assert Invitation.objects.get().message.status == "blocked"


@pytest.mark.django_db
def test_an_inactive_survey_sends_nothing(smtp, personas, django_capture_on_commit_callbacks):
    make_csat_survey(active=False)
    case = make_case(contact=make_contact(emails=["ann@example.com"]), owner=personas["sam"])
    _resolve(case, personas["sam"], django_capture_on_commit_callbacks)
    assert smtp.arrived == [] and not Invitation.objects.exists()

"""The surveys part of the demo: CSAT after the demo cases, NPS after won and lost deals,
decided by the same rules as real use, answered in the past, never in the future."""

from __future__ import annotations

import pytest
from django.utils import timezone

from rapport.customers.demo import demo_load
from rapport.sales.demo import sales_demo_load
from rapport.service.demo import service_demo_load
from rapport.surveys.demo import CSAT_NAME, NPS_NAME, surveys_demo_load
from rapport.surveys.models import Invitation, Survey, SurveyResponse
from rapport.timeline.models import Entry

pytestmark = pytest.mark.django_db


def _story() -> list[tuple]:
    return list(
        Invitation.objects.order_by("object_kind", "object_id").values_list(
            "object_kind",
            "object_id",
            "status",
            "skip_reason",
            "response__score",
            "response__comment",
        )
    )


def test_the_demo_surveys_cases_and_deals_by_the_rules_and_never_in_the_future():
    demo_load(accounts=8, contacts=60, seed=3, progress=False, history_contacts=0)
    sales_demo_load(seed=3)
    service_demo_load(seed=3)
    line = surveys_demo_load(seed=3)
    assert line.startswith("Surveys:") and "answers" in line
    csat, nps = Survey.objects.get(name=CSAT_NAME), Survey.objects.get(name=NPS_NAME)
    case_rows = Invitation.objects.filter(survey=csat)
    assert (
        case_rows.filter(status="invited").exists() and case_rows.filter(skip_reason="cap").exists()
    )
    assert set(Invitation.objects.filter(survey=nps).values_list("touchpoint", flat=True)) == {
        "deal_won",
        "deal_lost",
    }
    answers = SurveyResponse.objects.all()
    assert answers.filter(survey=csat).exclude(comment="").exists()
    assert (
        answers.filter(survey=nps, score__lte=6).exists()
        and answers.filter(survey=nps, score__gte=9).exists()
    )
    now = timezone.now()
    assert not Entry.objects.filter(occurred_at__gt=now).exists()
    assert not answers.filter(submitted_at__gt=now).exists()
    assert not Invitation.objects.filter(sent_at__gt=now).exists()
    # The cap as the rows tell it: never two invitations of the CSAT survey to one person in 30 days.
    sent = sorted(case_rows.filter(status="invited").values_list("contact_id", "sent_at"))
    for (a, at), (b, bt) in zip(sent, sent[1:], strict=False):
        assert a != b or (bt - at).days >= 30
    assert surveys_demo_load(seed=3) == "Surveys: already there, nothing added."
    first = _story()
    Entry.objects.filter(kind="survey_answer").delete()
    SurveyResponse.objects.all().delete()
    Invitation.objects.all().delete()
    Survey.objects.all().delete()
    surveys_demo_load(seed=3)
    assert _story() == first

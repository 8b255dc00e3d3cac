"""Surveys for tests, made through the services as users and touchpoints make them."""

from __future__ import annotations

import itertools
from typing import Any

from django.utils import timezone

from rapport.core.actor import Actor
from rapport.surveys import services
from rapport.surveys.models import Invitation, Question, Survey, SurveyResponse

SYSTEM = Actor(user=None, via="system")
_seq = itertools.count(1)


def make_survey(*, questions: list[dict[str, Any]] | None = None, **data: Any) -> Survey:
    data.setdefault("name", f"Survey {next(_seq)}")
    data["questions"] = questions or [
        {"kind": "csat", "text": "How satisfied are you with how we handled it?", "required": True},
        {"kind": "text", "text": "Anything we could do better?"},
    ]
    return services.survey_create(actor=SYSTEM, data=data)


def make_csat_survey(**data: Any) -> Survey:
    data.setdefault("name", "After your case")
    data.setdefault("trigger", "case_resolved")
    data.setdefault("department", "service")
    return make_survey(**data)


def make_nps_survey(**data: Any) -> Survey:
    data.setdefault("name", "Would you recommend us?")
    return make_survey(
        questions=[
            {
                "kind": "nps",
                "text": "How likely are you to recommend us to a colleague?",
                "required": True,
            },
            {
                "kind": "single",
                "text": "What matters most?",
                "choices": ["Price", "Quality", "Service"],
            },
            {
                "kind": "multiple",
                "text": "What do you use?",
                "choices": ["Lamps", "Desks", "Chairs"],
            },
            {"kind": "text", "text": "Why?"},
        ],
        **data,
    )


def invite(survey: Survey, contact: Any, **target: Any) -> Invitation:
    """An invitation decided now, without sending (consent and the cap still apply)."""
    services.invite_at(
        survey=survey, targets=[services.Target(contact_id=contact.pk, **target)], at=timezone.now()
    )
    return Invitation.objects.filter(survey=survey, contact=contact).latest("pk")


def answer(
    invitation: Invitation, score: int | None = None, comment: str = "", **values: Any
) -> SurveyResponse:
    questions = list(invitation.survey.questions.all())
    data: dict[str, Any] = dict(values)
    for q in questions:
        if q.scale and score is not None and f"q{q.pk}" not in data:
            data[f"q{q.pk}"] = str(score)
            score = None
        elif q.kind == Question.Kind.TEXT and comment and f"q{q.pk}" not in data:
            data[f"q{q.pk}"] = comment
            comment = ""
    response, _ = services.response_submit(invitation=invitation, values=data)
    return response

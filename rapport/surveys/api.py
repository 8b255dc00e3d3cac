"""Surveys endpoints of the REST API (mounted by rapport/api_urls.py): defining surveys
and their questions, sending one to a list of contacts, its results (counts, CSAT, NPS with
95% intervals, distributions, by department, touchpoint and month), its answers, and the
free-text comments for the voice of the customer. The same services and selectors as the
pages. The person's answer page (``/s/<signed link>/``) is a web page without a login."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from rapport.api.auth import actor_of
from rapport.api.common import data_of, problems
from rapport.surveys import selectors, services
from rapport.surveys.models import Department, Question, Survey, SurveyResponse, Trigger
from rapport.surveys.stats import Estimate

router = Router(tags=["Surveys"])


class SurveyQuestionIn(Schema):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(description=", ".join(Question.Kind.values))
    text: str = Field(max_length=500)
    required: bool = False
    choices: list[str] = Field(default_factory=list, max_length=30)


class SurveyQuestionOut(Schema):
    id: int
    order: int
    kind: str
    text: str
    required: bool
    choices: list[str]


class SurveyIn(Schema):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200)
    intro: str = Field("", max_length=5000)
    trigger: str = Field(Trigger.MANUAL, description=", ".join(Trigger.values))
    department: str = Field(Department.SERVICE, description=", ".join(Department.values))
    active: bool = True
    cap_count: int = Field(1, ge=0, le=366, description="At most this many invitations (0: no cap)")
    cap_days: int = Field(30, ge=1, le=366, description="… in this many days")
    cap_scope: str = Field(
        Survey.CapScope.SURVEY, description="survey: this survey's invitations; all: any survey's"
    )
    valid_days: int = Field(30, ge=1, le=366)
    subject: str = Field("How did we do?", max_length=200)
    message: str = Field("", max_length=5000)
    questions: list[SurveyQuestionIn] = Field(min_length=1, max_length=50)


class SurveyPatch(Schema):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=200)
    intro: str | None = Field(None, max_length=5000)
    trigger: str | None = None
    department: str | None = None
    active: bool | None = None
    cap_count: int | None = Field(None, ge=0, le=366)
    cap_days: int | None = Field(None, ge=1, le=366)
    cap_scope: str | None = None
    valid_days: int | None = Field(None, ge=1, le=366)
    subject: str | None = Field(None, max_length=200)
    message: str | None = Field(None, max_length=5000)
    questions: list[SurveyQuestionIn] | None = Field(
        None, min_length=1, max_length=50, description="Replaces them; only before any answer"
    )


class SurveyOut(Schema):
    id: int
    name: str
    intro: str
    trigger: str
    department: str
    active: bool
    cap_count: int
    cap_days: int
    cap_scope: str
    valid_days: int
    subject: str
    message: str
    questions: list[SurveyQuestionOut]


class SurveySendIn(Schema):
    model_config = ConfigDict(extra="forbid")
    contact_ids: list[int] = Field(min_length=1, max_length=10000)


class SurveySendOut(Schema):
    invited: int
    skipped: dict[str, int] = Field(description="Reason -> people not invited")


class SurveyEstimateOut(Schema):
    value: float | None
    low: float | None = Field(description="95% confidence interval")
    high: float | None
    n: int


class SurveyQuestionResultOut(Schema):
    question_id: int
    kind: str
    text: str
    answered: int
    distribution: dict[str, int]
    average: SurveyEstimateOut
    satisfied_percent: SurveyEstimateOut = Field(description="CSAT: share of 4–5")
    nps: SurveyEstimateOut
    promoters: int
    passives: int
    detractors: int


class SurveyBreakdownOut(Schema):
    label: str
    answered: int
    average: float | None
    headline: SurveyEstimateOut = Field(description="% satisfied (CSAT), NPS, or the average")


class SurveyResultsOut(Schema):
    survey_id: int
    invited: int
    skipped: dict[str, int]
    answered: int
    response_rate: float | None
    headline_kind: str
    questions: list[SurveyQuestionResultOut]
    by_department_touchpoint: list[SurveyBreakdownOut]
    by_month: list[SurveyBreakdownOut]


class SurveyResultsQuery(Schema):
    department: str = Field("", description=", ".join(Department.values))
    touchpoint: str = Field("", description=", ".join(Trigger.values))
    since: dt.date | None = None
    until: dt.date | None = None


class SurveyAnswersQuery(SurveyResultsQuery):
    before: int | None = Field(None, ge=1, le=2**63 - 1, description="Older than this response id")
    size: int = Field(50, ge=1, le=200)
    with_comment: bool = False


class SurveyAnswerItemOut(Schema):
    question_id: int
    number: int | None
    choices: list[str]
    text: str


class SurveyAnswerOut(Schema):
    id: int
    survey_id: int
    contact_id: int
    contact_name: str
    touchpoint: str
    department: str
    object_kind: str
    object_id: int | None
    submitted_at: dt.datetime
    score: int | None
    comment: str
    answers: list[SurveyAnswerItemOut]


class SurveyCommentsQuery(SurveyResultsQuery):
    contact_id: int | None = Field(None, ge=1, le=2**63 - 1)
    survey_id: int | None = Field(None, ge=1, le=2**63 - 1)
    size: int = Field(100, ge=1, le=500)


class SurveyCommentOut(Schema):
    answer_id: int
    survey_id: int
    question: str
    text: str
    contact_id: int
    contact_name: str
    touchpoint: str
    department: str
    object_kind: str
    object_id: int | None
    submitted_at: dt.datetime
    score: int | None


def _survey_out(s: Survey) -> dict[str, Any]:
    return {
        **{k: getattr(s, k) for k in ("id", "name", "intro", "trigger", "department", "active",
                                      "cap_count", "cap_days", "cap_scope", "valid_days",
                                      "subject", "message")},
        "questions": [
            {"id": q.pk, "order": q.order, "kind": q.kind, "text": q.text,
             "required": q.required, "choices": q.choices}
            for q in s.questions.all()
        ],
    }  # fmt: skip


def _est(e: Estimate) -> dict[str, Any]:
    return {"value": e.value, "low": e.low, "high": e.high, "n": e.n}


def _filters(query: SurveyResultsQuery) -> selectors.Filters:
    return selectors.Filters.parse(query.model_dump())


def _answer_out(r: SurveyResponse) -> dict[str, Any]:
    return {
        "id": r.pk, "survey_id": r.survey_id, "contact_id": r.contact_id,
        "contact_name": r.contact.full_name, "touchpoint": r.touchpoint,
        "department": r.department, "object_kind": r.object_kind, "object_id": r.object_id,
        "submitted_at": r.submitted_at, "score": r.score, "comment": r.comment,
        "answers": [
            {"question_id": a.question_id, "number": a.number, "choices": a.choices, "text": a.text}
            for a in r.answers.all()
        ],
    }  # fmt: skip


@router.get("/surveys", response={200: list[SurveyOut], **problems(403)}, url_name="survey-list")
def survey_list(request: HttpRequest):
    """Every survey with its questions."""
    return [_survey_out(s) for s in selectors.survey_definitions(actor=request.auth)]  # type: ignore[attr-defined]


@router.post("/surveys", response={201: SurveyOut, **problems(403)}, url_name="survey-create")
def survey_create(request: HttpRequest, payload: SurveyIn):
    """Define a survey: when it is sent (a touchpoint, or ``manual``), its cap per person,
    and its questions (rating, nps, csat, single, multiple, text)."""
    survey = services.survey_create(actor=actor_of(request), data=payload.model_dump())
    return Status(201, _survey_out(selectors.survey_get(actor=request.auth, pk=survey.pk)))  # type: ignore[attr-defined]


@router.get(
    "/surveys/{survey_id}", response={200: SurveyOut, **problems(403, 404)}, url_name="survey-get"
)
def survey_get(request: HttpRequest, survey_id: int):
    return _survey_out(selectors.survey_get(actor=request.auth, pk=survey_id))  # type: ignore[attr-defined]


@router.patch(
    "/surveys/{survey_id}",
    response={200: SurveyOut, **problems(403, 404)},
    url_name="survey-update",
)
def survey_update(request: HttpRequest, survey_id: int, payload: SurveyPatch):
    """Change a survey; ``questions`` replaces them, only while nobody has answered."""
    actor = actor_of(request)
    survey = selectors.survey_get(actor=actor.user, pk=survey_id, action="change")
    data = {k: v for k, v in data_of(payload).items() if v is not None}
    services.survey_update(actor=actor, survey=survey, data=data)
    return _survey_out(selectors.survey_get(actor=actor.user, pk=survey_id))


@router.post(
    "/surveys/{survey_id}/send", response={200: SurveySendOut, **problems(403, 404)},
    url_name="survey-send",
)  # fmt: skip
def survey_send(request: HttpRequest, survey_id: int, payload: SurveySendIn):
    """Invite these contacts; each one without consent, over the cap, without an address,
    with an open invitation, or not visible to you is skipped, with the reason counted."""
    actor = actor_of(request)
    survey = selectors.survey_get(actor=actor.user, pk=survey_id, action="add")
    result = services.survey_send_to(actor=actor, survey=survey, contact_ids=payload.contact_ids)
    return {"invited": result.invited_count, "skipped": result.skipped}


@router.get(
    "/surveys/{survey_id}/results", response={200: SurveyResultsOut, **problems(403, 404)},
    url_name="survey-results",
)  # fmt: skip
def survey_results(request: HttpRequest, survey_id: int, query: Query[SurveyResultsQuery]):
    """Counts, CSAT average and % satisfied, NPS with 95% intervals, distributions, by
    department and touchpoint and by month; filtered by department, touchpoint and dates."""
    user = request.auth  # type: ignore[attr-defined]
    survey = selectors.survey_get(actor=user, pk=survey_id)
    r = selectors.survey_results(actor=user, survey=survey, filters=_filters(query))
    return {
        "survey_id": survey.pk, "invited": r.invited, "skipped": r.skipped, "answered": r.answered,
        "response_rate": r.response_rate, "headline_kind": r.headline_kind,
        "questions": [
            {"question_id": q.question.pk, "kind": q.question.kind, "text": q.question.text,
             "answered": q.answered, "distribution": dict(q.distribution),
             "average": _est(q.average), "satisfied_percent": _est(q.satisfied), "nps": _est(q.nps),
             "promoters": q.promoters, "passives": q.passives, "detractors": q.detractors}
            for q in r.questions
        ],
        "by_department_touchpoint": [
            {"label": b.label, "answered": b.answered, "average": b.average, "headline": _est(b.headline)}
            for b in r.by_group
        ],
        "by_month": [
            {"label": b.label, "answered": b.answered, "average": b.average, "headline": _est(b.headline)}
            for b in r.by_month
        ],
    }  # fmt: skip


@router.get(
    "/surveys/{survey_id}/answers", response={200: list[SurveyAnswerOut], **problems(403, 404)},
    url_name="survey-answers",
)  # fmt: skip
def survey_answers(request: HttpRequest, survey_id: int, query: Query[SurveyAnswersQuery]):
    """Answers newest first, of the contacts you may see; ``before`` pages on."""
    user = request.auth  # type: ignore[attr-defined]
    survey = selectors.survey_get(actor=user, pk=survey_id)
    rows = selectors.survey_answers(
        actor=user, survey=survey, filters=_filters(query), before=query.before,
        limit=query.size, with_text=query.with_comment,
    )  # fmt: skip
    return [_answer_out(r) for r in rows]


@router.get(
    "/survey-comments", response={200: list[SurveyCommentOut], **problems(403)},
    url_name="survey-comments",
)  # fmt: skip
def survey_comments(request: HttpRequest, query: Query[SurveyCommentsQuery]):
    """The free-text answers of every survey (the voice of the customer), newest first,
    with the person, touchpoint, department, object and date; of the contacts you may see."""
    rows = selectors.free_text_answers(
        actor=request.auth,  # type: ignore[attr-defined]
        contact_id=query.contact_id, survey_id=query.survey_id, filters=_filters(query),
    )[: query.size]  # fmt: skip
    return [
        {"answer_id": a.pk, "survey_id": a.response.survey_id, "question": a.question.text,
         "text": a.text, "contact_id": a.response.contact_id,
         "contact_name": a.response.contact.full_name, "touchpoint": a.response.touchpoint,
         "department": a.response.department, "object_kind": a.response.object_kind,
         "object_id": a.response.object_id, "submitted_at": a.response.submitted_at,
         "score": a.response.score}
        for a in rows
    ]  # fmt: skip

"""Reading surveys: the list, one survey's results (counts, CSAT, NPS with intervals,
distributions, by department, touchpoint and month), its answers, the free text for the
voice of the customer, and a contact's or a case's surveys.

Results count every answer (the survey right is seen by all who hold it); the answers
list and the export name people, so they show only the answers of contacts the reader
may see.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Avg, CharField, Count, Q, QuerySet
from django.db.models.functions import Cast, Substr, TruncMonth
from django.utils import timezone

from rapport.core.errors import NotFound, ValidationFailed
from rapport.customers.models import Contact
from rapport.surveys import stats
from rapport.surveys.models import (
    Answer,
    Department,
    Invitation,
    Question,
    Survey,
    SurveyResponse,
    Trigger,
)
from rapport.users import permissions
from rapport.users.models import RecordKind

KIND = RecordKind.SURVEY


@dataclass(frozen=True)
class Filters:
    department: str = ""
    touchpoint: str = ""
    since: dt.date | None = None
    until: dt.date | None = None  # inclusive

    @classmethod
    def parse(cls, data: Any) -> Filters:
        """From a query string or a schema; a bad value names its field."""
        errors: dict[str, list[str]] = {}
        department = str(data.get("department") or "")
        touchpoint = str(data.get("touchpoint") or "")
        if department and department not in Department.values:
            errors["department"] = [f"One of {', '.join(Department.values)}."]
        if touchpoint and touchpoint not in Trigger.values:
            errors["touchpoint"] = [f"One of {', '.join(Trigger.values)}."]
        dates: dict[str, dt.date | None] = {}
        for name in ("since", "until"):
            raw = data.get(name) or None
            if isinstance(raw, dt.date) or raw is None:
                dates[name] = raw
                continue
            try:
                dates[name] = dt.date.fromisoformat(str(raw))
            except ValueError:
                errors[name] = ["A date as YYYY-MM-DD."]
                dates[name] = None
        if dates["since"] and dates["until"] and dates["since"] > dates["until"]:
            errors["until"] = ["Not before the start."]
        if errors:
            raise ValidationFailed("The filters have problems.", errors=errors)
        return cls(department, touchpoint, dates["since"], dates["until"])

    def _bounds(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        tz = timezone.get_current_timezone()
        start = dt.datetime.combine(self.since, dt.time.min, tz) if self.since else None
        end = (
            dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time.min, tz)
            if self.until
            else None
        )
        return start, end

    def q(self, moment: str, prefix: str = "") -> Q:
        q = Q()
        if self.department:
            q &= Q(**{f"{prefix}department": self.department})
        if self.touchpoint:
            q &= Q(**{f"{prefix}touchpoint": self.touchpoint})
        start, end = self._bounds()
        if start:
            q &= Q(**{f"{prefix}{moment}__gte": start})
        if end:
            q &= Q(**{f"{prefix}{moment}__lt": end})
        return q

    def query(self) -> dict[str, str]:
        return {
            k: v
            for k, v in (
                ("department", self.department),
                ("touchpoint", self.touchpoint),
                ("since", self.since.isoformat() if self.since else ""),
                ("until", self.until.isoformat() if self.until else ""),
            )
            if v
        }


def survey_list(*, actor: Any) -> list[Survey]:
    """Every survey with its invited, skipped and answered counts (three grouped queries)."""
    permissions.require(actor, "view", KIND)
    surveys = list(Survey.objects.all())
    inv = Counter[tuple[int, str]]()
    for row in Invitation.objects.values("survey_id", "status").annotate(n=Count("id")):
        inv[(row["survey_id"], row["status"])] = row["n"]
    answered = dict(
        SurveyResponse.objects.values("survey_id")
        .annotate(n=Count("id"))
        .values_list("survey_id", "n")
    )
    for s in surveys:
        s.invited_count = inv[(s.pk, Invitation.Status.INVITED)]  # type: ignore[attr-defined]
        s.skipped_count = inv[(s.pk, Invitation.Status.SKIPPED)]  # type: ignore[attr-defined]
        s.answered_count = answered.get(s.pk, 0)  # type: ignore[attr-defined]
    return surveys


def survey_definitions(*, actor: Any) -> QuerySet[Survey]:
    """Every survey with its questions (two queries)."""
    permissions.require(actor, "view", KIND)
    return Survey.objects.prefetch_related("questions").order_by("name", "id")


def survey_get(*, actor: Any, pk: int, action: str = "view") -> Survey:
    permissions.require(actor, "view", KIND)
    survey = Survey.objects.filter(pk=pk).prefetch_related("questions").first()
    if survey is None:
        raise NotFound("No such survey.")
    if action != "view":
        permissions.require(actor, action, KIND)
    return survey


# --- Results --------------------------------------------------------------------------


@dataclass
class QuestionResult:
    question: Question
    answered: int = 0
    distribution: list[tuple[str, int]] = field(default_factory=list)  # label, count
    average: stats.Estimate = stats.NONE
    satisfied: stats.Estimate = stats.NONE  # CSAT: % of 4–5
    nps: stats.Estimate = stats.NONE
    promoters: int = 0
    passives: int = 0
    detractors: int = 0


@dataclass
class Breakdown:
    label: str
    answered: int
    average: float | None
    headline: stats.Estimate  # % satisfied for CSAT, NPS for NPS, average otherwise


@dataclass
class Results:
    survey: Survey
    filters: Filters
    invited: int
    skipped: dict[str, int]
    answered: int
    headline_kind: str
    questions: list[QuestionResult]
    by_group: list[Breakdown]
    by_month: list[Breakdown]

    @property
    def response_rate(self) -> float | None:
        return 100 * self.answered / self.invited if self.invited else None

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


def _headline(kind: str, n: int, low: int, high: int, total: int) -> stats.Estimate:
    """The headline figure of a group from its counts: ``low``/``high`` are detractors and
    promoters for NPS, and ``high`` the satisfied for CSAT."""
    if kind == Question.Kind.NPS:
        return stats.nps(high, low, n)
    if kind == Question.Kind.CSAT:
        return stats.wilson(high, n)
    return stats.Estimate(total / n if n else None, None, None, n)


def _group_counts(kind: str) -> dict[str, Any]:
    if kind == Question.Kind.NPS:
        return {
            "low": Count("id", filter=Q(score__lte=6)),
            "high": Count("id", filter=Q(score__gte=9)),
        }
    return {"low": Count("id", filter=Q(score__lte=2)), "high": Count("id", filter=Q(score__gte=4))}


def _breakdowns(
    kind: str, responses: QuerySet[SurveyResponse], keys: list[str]
) -> list[dict[str, Any]]:
    return list(
        responses.filter(score__isnull=False)
        .values(*keys)
        .annotate(n=Count("id"), avg=Avg("score"), **_group_counts(kind))
        .order_by(*keys)
    )


def _month(name: str) -> Any:
    """A moment's month. SQLite keeps moments as UTC text, so in UTC the month is its first
    seven characters, read by SQLite itself: Django's TruncMonth there is a Python function
    called for every row (seconds at 100,000 answers)."""
    if connection.vendor == "sqlite" and settings.TIME_ZONE == "UTC":
        return Substr(Cast(name, CharField()), 1, 7)
    return TruncMonth(name)


def survey_results(*, actor: Any, survey: Survey, filters: Filters) -> Results:
    """A survey's figures for the filters: one grouped query per question and per breakdown."""
    permissions.require(actor, "view", KIND)
    responses = SurveyResponse.objects.filter(survey=survey).filter(filters.q("submitted_at"))
    invitations = Invitation.objects.filter(survey=survey).filter(filters.q("sent_at"))
    by_status: dict[str, int] = {}
    skipped: dict[str, int] = {}
    for row in invitations.values("status", "skip_reason").annotate(n=Count("id")):
        by_status[row["status"]] = by_status.get(row["status"], 0) + row["n"]
        if row["status"] == Invitation.Status.SKIPPED:
            skipped[row["skip_reason"]] = row["n"]
    questions = list(survey.questions.all())
    # Unfiltered, a question's answers are the survey's: read them by their own index.
    filtered = bool(filters.query())
    answers = Answer.objects.filter(response__in=responses) if filtered else Answer.objects.all()
    results: list[QuestionResult] = []
    for q in questions:
        res = QuestionResult(question=q)
        mine = answers.filter(question=q)
        if q.scale:
            low, high = q.scale
            counts: dict[int, int] = {
                k: n
                for k, n in mine.values("number").annotate(n=Count("id")).values_list("number", "n")
                if k is not None
            }
            res.distribution = [(str(k), counts.get(k, 0)) for k in range(low, high + 1)]
            res.answered = sum(counts.values())
            res.average = stats.mean(counts)
            if q.kind == Question.Kind.CSAT:
                res.satisfied = stats.wilson(counts.get(4, 0) + counts.get(5, 0), res.answered)
            if q.kind == Question.Kind.NPS:
                res.promoters = counts.get(9, 0) + counts.get(10, 0)
                res.detractors = sum(v for k, v in counts.items() if k <= 6)
                res.passives = res.answered - res.promoters - res.detractors
                res.nps = stats.nps(res.promoters, res.detractors, res.answered)
        elif q.kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
            tally: Counter[str] = Counter()
            for picked in mine.values_list("choices", flat=True).iterator(chunk_size=5000):
                res.answered += 1
                tally.update(picked or [])
            res.distribution = [(c, tally.get(c, 0)) for c in q.choices]
        else:
            res.answered = mine.exclude(text="").count()
        results.append(res)
    head = next((q for q in questions if q.scale), None)
    kind = head.kind if head else ""
    by_group: list[Breakdown] = []
    by_month: list[Breakdown] = []
    if head is not None:
        dept = dict(Department.choices)
        touch = dict(Trigger.choices)
        for row in _breakdowns(kind, responses, ["department", "touchpoint"]):
            by_group.append(
                Breakdown(
                    f"{dept.get(row['department'], row['department'])} · {touch.get(row['touchpoint'], row['touchpoint'])}",
                    row["n"],
                    row["avg"],
                    _headline(kind, row["n"], row["low"], row["high"], row["avg"] * row["n"]),
                )  # fmt: skip
            )
        monthly = (
            responses.filter(score__isnull=False)
            .annotate(month=_month("submitted_at"))
            .values("month")
            .annotate(n=Count("id"), avg=Avg("score"), **_group_counts(kind))
            .order_by("month")
        )
        for row in monthly:
            by_month.append(
                Breakdown(
                    row["month"]
                    if isinstance(row["month"], str)
                    else row["month"].strftime("%Y-%m"),
                    row["n"],
                    row["avg"],
                    _headline(kind, row["n"], row["low"], row["high"], row["avg"] * row["n"]),
                )  # fmt: skip
            )
    return Results(
        survey=survey, filters=filters, invited=by_status.get(Invitation.Status.INVITED, 0),
        skipped=skipped, answered=responses.count(), headline_kind=kind, questions=results,
        by_group=by_group, by_month=by_month,
    )  # fmt: skip


# --- Answers and free text --------------------------------------------------------------


def _visible_contact_ids(actor: Any) -> QuerySet[Any] | None:
    """None when the actor sees every contact; else the ids they may see, as a subquery."""
    if permissions.visibility_q(actor, RecordKind.CONTACT) is None:
        return None
    return permissions.visible(actor, RecordKind.CONTACT, Contact.objects.all()).values("pk")


def survey_answers(
    *,
    actor: Any,
    survey: Survey,
    filters: Filters,
    before: int | None = None,
    limit: int = 50,
    with_text: bool = False,
) -> QuerySet[SurveyResponse]:
    """Answers, newest first, each with its person and its answers (three queries), of the
    contacts the reader may see; ``before`` an id for the next page; ``with_text`` only
    those with a comment."""
    permissions.require(actor, "view", KIND)
    qs = SurveyResponse.objects.filter(survey=survey).filter(filters.q("submitted_at"))
    visible = _visible_contact_ids(actor)
    if visible is not None:
        qs = qs.filter(contact_id__in=visible)
    if with_text:
        qs = qs.exclude(comment="")
    if before:
        qs = qs.filter(pk__lt=before)
    return qs.select_related("contact", "staff").prefetch_related("answers").order_by("-pk")[:limit]


def free_text_answers(
    *,
    actor: Any,
    contact_id: int | None = None,
    survey_id: int | None = None,
    filters: Filters = Filters(),
) -> QuerySet[Answer]:
    """The free-text answers (the voice of the customer's input), with their person,
    touchpoint, department, object and date, for the contacts the reader may see."""
    permissions.require(actor, "view", KIND)
    qs = Answer.objects.filter(question__kind=Question.Kind.TEXT).exclude(text="")
    qs = qs.filter(filters.q("submitted_at", prefix="response__"))
    if contact_id is not None:
        qs = qs.filter(response__contact_id=contact_id)
    if survey_id is not None:
        qs = qs.filter(response__survey_id=survey_id)
    visible = _visible_contact_ids(actor)
    if visible is not None:
        qs = qs.filter(response__contact_id__in=visible)
    return qs.select_related("response", "response__contact", "question").order_by("-response_id")


def export_rows(
    *, actor: Any, survey: Survey, filters: Filters
) -> tuple[list[str], Iterator[list[Any]]]:
    """Headers and rows of the answers' CSV: one row per answer, questions as columns."""
    permissions.require(actor, "export", KIND)
    questions = list(survey.questions.all())
    headers = [
        "response_id", "submitted_at", "contact_id", "contact", "department", "touchpoint",
        "object_kind", "object_id", "score", *[q.text for q in questions],
    ]  # fmt: skip
    qs = SurveyResponse.objects.filter(survey=survey).filter(filters.q("submitted_at"))
    visible = _visible_contact_ids(actor)
    if visible is not None:
        qs = qs.filter(contact_id__in=visible)

    def rows() -> Iterator[list[Any]]:
        last = 0
        while True:
            page = list(
                qs.filter(pk__gt=last).select_related("contact").prefetch_related("answers")
                .order_by("pk")[:1000]
            )  # fmt: skip
            if not page:
                return
            for r in page:
                by_q = {a.question_id: a for a in r.answers.all()}
                cells: list[Any] = []
                for q in questions:
                    a = by_q.get(q.pk)
                    if a is None:
                        cells.append("")
                    elif a.number is not None:
                        cells.append(a.number)
                    elif a.choices:
                        cells.append("; ".join(a.choices))
                    else:
                        cells.append(a.text)
                yield [
                    r.pk, r.submitted_at.isoformat(), r.contact_id, r.contact.full_name,
                    r.department, r.touchpoint, r.object_kind, r.object_id or "",
                    "" if r.score is None else r.score, *cells,
                ]  # fmt: skip
            last = page[-1].pk

    return headers, rows()


# --- A contact's and a case's surveys ----------------------------------------------------


def contact_surveys(*, actor: Any, pk: int) -> tuple[Contact, list[Invitation]]:
    """The contact (404 if the reader may not see it) and its 30 latest invitations, each
    with its survey and answer."""
    contact = Contact.objects.filter(pk=pk).first()
    if contact is None:
        permissions.require(actor, "view", RecordKind.CONTACT)
        raise NotFound("No such contact.")
    permissions.require_record(actor, "view", RecordKind.CONTACT, contact)
    permissions.require(actor, "view", KIND)
    invitations = list(
        Invitation.objects.filter(contact=contact)
        .select_related("survey", "response", "message")
        .order_by("-sent_at", "-pk")[:30]
    )
    return contact, invitations


def object_invitations(*, actor: Any, object_kind: str, object_id: int) -> list[Invitation]:
    """The invitations that followed one case, deal or meeting, with their answers; the
    caller checked the reader may see the object."""
    permissions.require(actor, "view", KIND)
    return list(
        Invitation.objects.filter(object_kind=object_kind, object_id=object_id)
        .select_related("survey", "response", "message")
        .prefetch_related("response__answers__question")
        .order_by("-sent_at", "-pk")
    )

"""Survey pages: the list, one survey's results (with filters, charts, answers, CSV), the
panels on a contact's page and a case's page, and the person's answer page, reached from
a signed link without a login."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from rapport.core.charts import Chart, Series
from rapport.core.errors import NotFound, ValidationFailed
from rapport.core.htmx import render_page
from rapport.core.web import user_of, web_view
from rapport.customers.export import csv_chunks
from rapport.surveys import selectors, services
from rapport.surveys.models import Department, Question, Trigger
from rapport.users import permissions
from rapport.users.models import RecordKind

PAGE = 50


@require_GET
@web_view
def home(request: HttpRequest) -> HttpResponse:
    surveys = selectors.survey_list(actor=user_of(request))
    return render_page(request, "surveys/home.html", {"surveys": surveys})


def _charts(results: selectors.Results) -> list[Chart]:
    charts: list[Chart] = []
    for i, res in enumerate(results.questions):
        if res.distribution:
            charts.append(
                Chart(
                    key=f"q{i}",
                    title=res.question.text[:80],
                    labels=[label for label, _ in res.distribution],
                    series=[Series("Answers", [n for _, n in res.distribution])],
                    horizontal=res.question.kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE),
                )  # fmt: skip
            )
    if results.by_month:
        name = _headline_name(results.headline_kind)
        charts.append(
            Chart(
                key="month",
                title=f"{name} by month",
                kind="line",
                labels=[b.label for b in results.by_month],
                series=[Series(name, [_round(b.headline.value) for b in results.by_month])],
                unit="%" if results.headline_kind == Question.Kind.CSAT else "",
            )  # fmt: skip
        )
    return charts


def _headline_name(kind: str) -> str:
    return {Question.Kind.CSAT: "% satisfied", Question.Kind.NPS: "NPS"}.get(kind, "Average")  # type: ignore[call-overload]


def _round(value: float | None, places: int = 1) -> float | None:
    return None if value is None else round(value, places)


@require_GET
@web_view
def survey_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    survey = selectors.survey_get(actor=user, pk=pk)
    try:
        filters = selectors.Filters.parse(request.GET)
        errors: dict[str, list[str]] = {}
    except ValidationFailed as exc:
        filters, errors = selectors.Filters(), exc.errors
    before = request.GET.get("before", "")
    results = selectors.survey_results(actor=user, survey=survey, filters=filters)
    answers = list(
        selectors.survey_answers(
            actor=user,
            survey=survey,
            filters=filters,
            before=int(before) if before.isdigit() else None,
            limit=PAGE + 1,
        )  # fmt: skip
    )
    more = len(answers) > PAGE
    answers = answers[:PAGE]
    questions = {q.pk: q for q in survey.questions.all()}
    next_url = ""
    if more:
        next_url = "?" + urlencode({**filters.query(), "before": answers[-1].pk})
    context: dict[str, Any] = {
        "survey": survey,
        "results": results,
        "charts": _charts(results),
        "headline_name": _headline_name(results.headline_kind),
        "answers": [
            (r, [(questions.get(a.question_id), a) for a in r.answers.all()]) for r in answers
        ],
        "next_url": next_url,
        "filters": filters,
        "query": urlencode(filters.query()),
        "errors": errors,
        "departments": Department.choices,
        "touchpoints": Trigger.choices,
        "can_export": permissions.can(user, "export", RecordKind.SURVEY),
    }
    return render_page(request, "surveys/detail.html", context, status=422 if errors else 200)


@require_GET
@web_view
def survey_export(request: HttpRequest, pk: int) -> HttpResponse | StreamingHttpResponse:
    user = user_of(request)
    survey = selectors.survey_get(actor=user, pk=pk, action="export")
    filters = selectors.Filters.parse(request.GET)
    headers, rows = selectors.export_rows(actor=user, survey=survey, filters=filters)
    response = StreamingHttpResponse(
        csv_chunks(headers, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="survey-{survey.pk}-answers.csv"'
    return response


@require_GET
@web_view
def contact_panel(request: HttpRequest, pk: int) -> HttpResponse:
    contact, invitations = selectors.contact_surveys(actor=user_of(request), pk=pk)
    context = {"contact": contact, "invitations": invitations}
    return render_page(
        request, "surveys/contact_panel.html", context, fragment="surveys/_contact_panel.html"
    )


@require_GET
@web_view
def case_panel(request: HttpRequest, pk: int) -> HttpResponse:
    from rapport.service.selectors import case_get

    user = user_of(request)
    case = case_get(actor=user, pk=pk)
    invitations = selectors.object_invitations(actor=user, object_kind="case", object_id=case.pk)
    context = {"case": case, "invitations": invitations}
    return render_page(
        request, "surveys/case_panel.html", context, fragment="surveys/_case_panel.html"
    )


# --- The person's own page: a signed link, no login ------------------------------------


def _public(request: HttpRequest, title: str, message: str, status: int) -> HttpResponse:
    return render_page(
        request, "surveys/public_message.html", {"title": title, "message": message}, status=status
    )


@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, link: str) -> HttpResponse:
    """GET shows the questions (a score in the query string, from the e-mail's one-click
    links, is preselected but not recorded: link scanners follow GETs); the POST, with
    Django's CSRF token, records the answer once. A second submit changes nothing."""
    try:
        invitation = services.invitation_from_link(link)
    except NotFound as exc:
        return _public(request, "Link not valid", exc.message, 404)
    survey = invitation.survey
    done = invitation.answer
    if done is not None:
        return _public(
            request, "Thank you",
            f"You answered on {done.submitted_at:%d %B %Y}. Your answer is recorded; it cannot be changed.",
            200,
        )  # fmt: skip
    questions = list(survey.questions.all())
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    source = request.POST if request.method == "POST" else request.GET
    for q in questions:
        name = f"q{q.pk}"
        values[name] = (
            source.getlist(name) if q.kind == Question.Kind.MULTIPLE else source.get(name, "")
        )
    if request.method == "POST":
        try:
            services.response_submit(invitation=invitation, values=values)
            return _public(
                request, "Thank you", "Your answer is recorded. It helps us do better.", 200
            )
        except services.SurveyClosed:
            return _public(
                request,
                "This survey has closed",
                "The time to answer it is over. Thank you all the same.",
                410,
            )
        except NotFound as exc:
            return _public(request, "Link not valid", exc.message, 404)
        except ValidationFailed as exc:
            errors = exc.errors
    elif invitation.expires_at is not None and invitation.expires_at <= timezone.now():
        return _public(
            request,
            "This survey has closed",
            "The time to answer it is over. Thank you all the same.",
            410,
        )
    items = [
        {
            "q": q, "name": f"q{q.pk}", "value": values[f"q{q.pk}"], "errors": errors.get(f"q{q.pk}", []),
            "range": list(range(q.scale[0], q.scale[1] + 1)) if q.scale else [],
        }
        for q in questions
    ]  # fmt: skip
    context = {
        "survey": survey,
        "items": items,
        "general": errors.get("general", []),
        "errors": errors,
    }
    return render_page(request, "surveys/answer.html", context, status=422 if errors else 200)

"""The sales reports page (``sales:reports``): the forecast of a period by rep, team and
company with quotas and the manager's adjustments (live, or as it stood on a past date),
and the charts of ``reports.Report``, each with its table and CSV.

Filters: period (a quarter or a month), team, rep, and a past date (``as_of``). What a
reader sees follows the deal rules: a manager every team, a rep their own team."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from rapport.core.errors import NotFound, ValidationFailed
from rapport.core.htmx import render_page
from rapport.core.web import actor_of, user_of, web_view
from rapport.customers.export import csv_chunks
from rapport.sales import selectors
from rapport.sales.forecasting import reports as charts
from rapport.sales.forecasting import services as forecast_services
from rapport.sales.forecasting.periods import Period, month_of, period_or_current, quarter_of
from rapport.sales.forecasting.selectors import forecast_report, visible_rep_ids
from rapport.users import permissions
from rapport.users.models import RecordKind, Role, Team, User

FORECAST_COLUMNS = (
    "Level", "Name", "Currency", "Open deals", "Pipeline", "Best case", "Commit", "Weighted",
    "Closed won", "Quota", "Manager's figure",
)  # fmt: skip


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _periods(today: dt.date) -> list[Period]:
    """Six quarters (two back, three ahead) and the last twelve months and the next."""
    q = quarter_of(today)
    quarters = [q]
    for _ in range(2):
        quarters.insert(0, quarter_of(quarters[0].start - dt.timedelta(days=1)))
    for _ in range(3):
        quarters.append(quarter_of(quarters[-1].after))
    months = [month_of(month_of(today).after)]
    for _ in range(13):
        months.append(month_of(months[-1].start - dt.timedelta(days=1)))
    return quarters + months


def _choices(user: User) -> tuple[list[Team], list[User]]:
    reps = visible_rep_ids(user)
    teams = Team.objects.order_by("name")
    people = User.objects.filter(is_active=True, role__in=[Role.SALES, Role.MANAGER])
    if reps is not None:
        teams = teams.filter(members__in=reps).distinct()
        people = people.filter(pk__in=reps)
    return list(teams), list(people.order_by("username"))


def _as_of(value: str | None, today: dt.date) -> dt.datetime | None:
    """The end of a past day (``as_of=2026-06-30``): the forecast as it stood then."""
    try:
        day = dt.date.fromisoformat(value or "")
    except ValueError:
        return None
    if day >= today:
        return None
    return timezone.make_aware(dt.datetime.combine(day, dt.time.max))


def _csv(name: str, headers: list[str], rows: Any) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_chunks(headers, rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


@web_view
def reports(request: HttpRequest) -> HttpResponseBase:
    """The forecast with quotas and adjustments, then the charts; ``format=csv`` gives the
    forecast table's CSV, with ``chart=KEY`` one chart's (the export right on deals)."""
    user = user_of(request)
    permissions.require(user, "view", RecordKind.DEAL)
    today = timezone.localdate()
    period = period_or_current(request.GET.get("period", ""), today)
    teams, people = _choices(user)
    team = _int(request.GET.get("team"))
    owner = _int(request.GET.get("rep"))
    team = team if team in {t.pk for t in teams} else None
    owner = owner if owner in {p.pk for p in people} else None
    pipeline = selectors.pipeline_get(_int(request.GET.get("pipeline")))
    scope = selectors.Scope(pipeline=pipeline.pk, owner=owner, team=team)
    as_of = _as_of(request.GET.get("as_of"), today)
    report = charts.Report(
        actor=user, period=period, scope=scope, currency=pipeline.currency, pipeline=pipeline
    )
    if request.GET.get("format") == "csv":
        permissions.require(user, "export", RecordKind.DEAL)
        key = request.GET.get("chart", "")
        if key:
            if key not in charts.KEYS:
                raise NotFound("No such chart.")
            headers, rows = getattr(report, charts.KEYS[key])().csv_rows()
            return _csv(f"{key}-{period.name}", headers, rows)
        rows = forecast_report(actor=user, period=period, as_of=as_of, scope=scope)
        body = (
            [r.level, r.label, r.currency, r.open_deals, r.pipeline, r.best_case, r.commit,
             r.weighted, r.closed, r.quota, r.adjusted]
            for r in rows
        )  # fmt: skip
        suffix = f"-as-of-{as_of:%Y-%m-%d}" if as_of else ""
        return _csv(f"forecast-{period.name}{suffix}", list(FORECAST_COLUMNS), body)
    query = request.GET.copy()
    query.pop("format", None)
    query.pop("chart", None)
    key = request.GET.get("chart", "")
    if key:
        # One chart (the page loads each when it scrolls into view, so the table comes
        # first and a slow chart holds up only itself).
        if key not in charts.KEYS:
            raise NotFound("No such chart.")
        context = {
            "c": getattr(report, charts.KEYS[key])(), "period": period, "query": query.urlencode(),
            "can_export": permissions.can(user, "export", RecordKind.DEAL),
        }  # fmt: skip
        return render_page(
            request, "sales/report_chart.html", context, fragment="sales/_report_chart.html"
        )
    rows = forecast_report(actor=user, period=period, as_of=as_of, scope=scope)
    context = {
        "rows": rows, "period": period, "periods": _periods(today), "teams": teams,
        "people": people, "team": team, "rep": owner, "as_of": as_of,
        "pipeline": pipeline, "pipelines": selectors.pipelines(),
        "charts": [(key, charts.TITLES[key]) for key in charts.KEYS],
        "query": query.urlencode(),
        "can_export": permissions.can(user, "export", RecordKind.DEAL),
        "can_adjust": permissions.can(user, "change", RecordKind.SALES_SETUP) and not as_of,
        "next": request.get_full_path(),
    }  # fmt: skip
    return render_page(request, "sales/reports.html", context)


@require_POST
@web_view
def adjust(request: HttpRequest) -> HttpResponseBase:
    """A manager's figure for a rep's forecast of a period, with the reason."""
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("sales:reports")
    data = {k: request.POST.get(k, "") for k in ("user", "period", "amount", "reason", "currency")}
    try:
        forecast_services.adjustment_add(actor=actor_of(request), data=data)
    except ValidationFailed as exc:
        details = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
        messages.error(request, f"{exc.message} {details}")
    else:
        messages.success(request, "The adjusted figure is kept beside the rep's forecast.")
    return redirect(back)

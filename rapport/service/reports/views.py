"""The service reports page (``service:reports``): the four figures of
``figures.Report`` for the period and breakdown chosen, each a chart with its table and a
CSV (``?format=csv&figure=KEY``). Who may see it: whoever may view cases, over the cases
they may see (a manager every team's, an agent their teams'); the CSV needs the export
right on cases, as the case list's does."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone

from rapport.core.errors import NotFound
from rapport.core.htmx import render_page
from rapport.core.web import user_of, web_view
from rapport.customers.export import csv_chunks
from rapport.service.reports import figures
from rapport.users import permissions
from rapport.users.models import RecordKind


def _csv(name: str, headers: list[str], rows: list[list[Any]]) -> StreamingHttpResponse:
    # csv_chunks makes every cell inert for spreadsheets (=, +, -, @ … are quoted away).
    response = StreamingHttpResponse(csv_chunks(headers, rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


@web_view
def reports(request: HttpRequest) -> HttpResponseBase:
    user = user_of(request)
    permissions.require(user, "view", RecordKind.CASE)
    today = timezone.localdate()
    window = figures.window_of(request.GET.get("period", ""), today)
    report = figures.Report(actor=user, window=window, by=request.GET.get("by", ""))
    if request.GET.get("format") == "csv":
        permissions.require(user, "export", RecordKind.CASE)
        key = request.GET.get("figure", "")
        if key not in figures.FIGURES:
            raise NotFound("No such figure.")
        figure = report.figure(key)
        return _csv(f"service-{key}-by-{report.by}-{window.name}", figure.headers, figure.rows)
    query = f"period={window.name}&by={report.by}"
    context = {
        "report": report,
        "window": window,
        "windows": figures.windows(today),
        "dimensions": [(key, label) for key, (_, label, _) in figures.DIMENSIONS.items()],
        "figures": [report.figure(key) for key in figures.FIGURES],
        "titles": figures.TITLES,
        "query": query,
        "can_export": permissions.can(user, "export", RecordKind.CASE),
    }
    return render_page(request, "service/reports.html", context)

"""The figures of the service reports page, from the cases the reader may see
(``selectors.visible_cases``: a manager every team's, an agent their teams' and their
own). Each figure is a few grouped aggregate queries, whatever the number of cases; the
breakdown ("by") is one column of the case: channel, team, agent (the owner), kind or
topic.

The definitions (docs/service.md, "Reports"):

- **CSAT**: the answers (1–5) to CSAT questions of survey responses tied to a case
  (``SurveyResponse.object_kind == "case"``), submitted in the period. "% satisfied" is
  the share of answers of 4 or 5; the average is shown beside it.
- **First-contact resolution**: of the cases resolved in the period (``resolved_at``),
  the share resolved at the first contact, in one exchange: no message from the
  customer between the first response to them and the resolution, never put waiting on
  the customer (the agent had to ask them something first), and never reopened (no
  status change out of resolved or closed back to an open status). A case resolved with
  no response at all (solved during the call that opened it) counts as first-contact
  resolved.
- **Service-goal attainment**: the targets (first response, next response, resolution,
  update) decided in the period: met in time (``met_at`` in the period, not breached),
  or breached (flagged breached, or still running past their deadline, with the deadline
  in the period). Stopped targets that were never breached are left out.
- **Backlog and ageing**: the cases open now, by calendar age since they were opened
  (not working time; the period does not apply).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from rapport.core.charts import Chart, Series
from rapport.service import selectors
from rapport.service.models import Case, CaseMessage, CaseStatusChange, CaseTarget

# by key -> (the Case field grouped on, its label, the label of a blank value)
DIMENSIONS: dict[str, tuple[str, str, str]] = {
    "channel": ("channel", "Channel", "(no channel)"),
    "team": ("team__name", "Team", "(no team)"),
    "agent": ("owner__username", "Agent", "(no owner)"),
    "kind": ("kind__name", "Kind", "(no kind)"),
    "topic": ("topic", "Topic", "(no topic)"),
}
DEFAULT_BY = "team"
# Above this many groups the smallest are summed into one "Other" row.
MAX_GROUPS = 20

# (from, to, label) in days of calendar age
AGE_BUCKETS: tuple[tuple[int, int | None, str], ...] = (
    (0, 1, "under 1 day"),
    (1, 3, "1–2 days"),
    (3, 7, "3–6 days"),
    (7, 30, "7–29 days"),
    (30, None, "30 days or more"),
)

FIGURES = ("csat", "fcr", "goals", "backlog")
TITLES = {
    "csat": "Satisfaction (CSAT)",
    "fcr": "First-contact resolution",
    "goals": "Service goals met",
    "backlog": "Backlog by age",
}


# --- periods ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The period of the figures: [start, end) in the server's time zone."""

    name: str
    label: str
    start: dt.datetime
    end: dt.datetime


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _month_start(day: dt.date, back: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def windows(today: dt.date) -> list[Window]:
    """The periods one may choose: the last 30 and 90 days and twelve months (up to and
    including today), then each of the last twelve calendar months."""
    after = _midnight(today + dt.timedelta(days=1))
    rolling = [
        Window("30d", "Last 30 days", after - dt.timedelta(days=30), after),
        Window("90d", "Last 90 days", after - dt.timedelta(days=90), after),
        Window("12m", "Last 12 months", _midnight(_month_start(today, 11)), after),
    ]
    months = []
    for back in range(12):
        first = _month_start(today, back)
        months.append(
            Window(
                f"{first:%Y-%m}",
                f"{first:%B %Y}",
                _midnight(first),
                _midnight(_month_start(today, back - 1)),
            )
        )
    return rolling + months


DEFAULT_WINDOW = "90d"


def window_of(name: str, today: dt.date) -> Window:
    """The period named (``30d``, ``90d``, ``12m`` or a month ``2026-05``); the last 90
    days for anything else."""
    choices = {w.name: w for w in windows(today)}
    return choices.get(name or "", choices[DEFAULT_WINDOW])


# --- the groups ---------------------------------------------------------------------------


def _pct(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.1")) if whole else None


def _label(by: str, value: Any) -> str:
    field, _, blank = DIMENSIONS[by]
    if value in (None, ""):
        return blank
    if by == "channel":
        try:
            return str(Case.Channel(value).label)
        except ValueError:
            return str(value)
    return str(value)


def _groups(
    by: str, rows: Iterable[dict[str, Any]], counts: tuple[str, ...], size: str
) -> list[tuple[str, dict[str, int]]]:
    """(label, counts) per group, the largest first (by ``size``); past MAX_GROUPS the
    rest summed into "Other". Blank and equal labels are added together."""
    merged: dict[str, dict[str, int]] = {}
    for row in rows:
        label = _label(by, row["dim"])
        into = merged.setdefault(label, dict.fromkeys(counts, 0))
        for name in counts:
            into[name] += int(row[name] or 0)
    ordered = sorted(merged.items(), key=lambda item: (-item[1][size], item[0]))
    if len(ordered) <= MAX_GROUPS:
        return ordered
    kept, rest = ordered[: MAX_GROUPS - 1], ordered[MAX_GROUPS - 1 :]
    other = {name: sum(r[name] for _, r in rest) for name in counts}
    return [*kept, (f"Other ({len(rest)})", other)]


def _total(groups: list[tuple[str, dict[str, int]]], counts: tuple[str, ...]) -> dict[str, int]:
    return {name: sum(g[name] for _, g in groups) for name in counts}


@dataclass(frozen=True)
class Figure:
    """One figure: its chart (with the table beside it) and its CSV (more columns: the
    counts behind each share, and an "All" row)."""

    key: str
    chart: Chart
    headers: list[str]
    rows: list[list[Any]]


class Report:
    """The figures of one reader, period and breakdown; each computed when asked."""

    def __init__(
        self, *, actor: Any, window: Window, by: str, now: dt.datetime | None = None
    ) -> None:
        self.actor, self.window = actor, window
        self.by = by if by in DIMENSIONS else DEFAULT_BY
        self.now = now or timezone.now()

    @property
    def by_label(self) -> str:
        return DIMENSIONS[self.by][1]

    def cases(self) -> QuerySet[Case]:
        return selectors.visible_cases(self.actor)

    def figure(self, key: str) -> Figure:
        if key not in FIGURES:
            raise KeyError(key)
        return getattr(self, key)()

    def _period_note(self) -> str:
        last = self.window.end - dt.timedelta(seconds=1)
        return f"{self.window.start:%d %b %Y} to {timezone.localtime(last):%d %b %Y}"

    # --- CSAT ---------------------------------------------------------------------------

    def csat(self) -> Figure:
        from rapport.surveys.models import Answer, Question

        field = DIMENSIONS[self.by][0]
        case_value = Case.objects.filter(pk=OuterRef("response__object_id")).values(field)[:1]
        rows = (
            Answer.objects.filter(
                question__kind=Question.Kind.CSAT,
                number__isnull=False,
                response__object_kind="case",
                response__object_id__in=self.cases().values("pk"),
                response__submitted_at__gte=self.window.start,
                response__submitted_at__lt=self.window.end,
            )
            .order_by()
            .values(dim=Subquery(case_value))
            .annotate(
                answers=Count("id"),
                points=Sum("number"),
                satisfied=Count("id", filter=Q(number__gte=4)),
            )
        )
        counts = ("answers", "points", "satisfied")
        groups = _groups(self.by, rows, counts, "answers")
        total = _total(groups, counts)

        def avg(g: dict[str, int]) -> Decimal | None:
            if not g["answers"]:
                return None
            return (Decimal(g["points"]) / g["answers"]).quantize(Decimal("0.01"))

        chart = Chart(
            key="csat",
            title=f"CSAT by {self.by_label.lower()}",
            labels=[f"{label} ({g['answers']})" for label, g in groups],
            series=[Series("% satisfied (4–5)", [_pct(g["satisfied"], g["answers"]) for _, g in groups])],
            unit="%",
            horizontal=True,
            note=(
                f"CSAT answers (1–5) about cases, submitted {self._period_note()}; the number "
                f"of answers in brackets. All: {_pct(total['satisfied'], total['answers']) or '–'} % "
                f"satisfied, average {avg(total) or '–'}, {total['answers']} answers."
            ),
        )  # fmt: skip
        headers = [self.by_label, "Answers", "Satisfied (4–5)", "% satisfied", "Average (1–5)"]
        body = [
            [label, g["answers"], g["satisfied"], _pct(g["satisfied"], g["answers"]), avg(g)]
            for label, g in [*groups, ("All", total)]
        ]
        return Figure("csat", chart, headers, body)

    # --- first-contact resolution -------------------------------------------------------

    def fcr(self) -> Figure:
        field = DIMENSIONS[self.by][0]
        customer_again = CaseMessage.objects.filter(
            case=OuterRef("pk"),
            direction=CaseMessage.Direction.INBOUND,
            occurred_at__gt=OuterRef("first_response_at"),
            occurred_at__lte=OuterRef("resolved_at"),
        )
        # Another round: reopened after a resolution, or put waiting on the customer (the
        # agent had to ask them something before it could be solved).
        another_round = CaseStatusChange.objects.filter(
            Q(
                from_status__in=[Case.Status.RESOLVED, Case.Status.CLOSED],
                to_status__in=Case.OPEN_STATUSES,
            )
            | Q(to_status=Case.Status.WAITING_CUSTOMER),
            case=OuterRef("pk"),
        )
        rows = (
            self.cases()
            .filter(resolved_at__gte=self.window.start, resolved_at__lt=self.window.end)
            .order_by()
            .values(dim=F(field))
            .annotate(
                resolved=Count("id"),
                first=Count("id", filter=~Q(Exists(customer_again)) & ~Q(Exists(another_round))),
            )
        )
        counts = ("resolved", "first")
        groups = _groups(self.by, rows, counts, "resolved")
        total = _total(groups, counts)
        chart = Chart(
            key="fcr",
            title=f"First-contact resolution by {self.by_label.lower()}",
            labels=[f"{label} ({g['first']} of {g['resolved']})" for label, g in groups],
            series=[Series("% resolved at first contact", [_pct(g["first"], g["resolved"]) for _, g in groups])],
            unit="%",
            horizontal=True,
            note=(
                f"Cases resolved {self._period_note()}: no message from the customer after "
                "the first response, never waiting on the customer, never reopened. "
                f"All: {_pct(total['first'], total['resolved']) or '–'} % "
                f"({total['first']} of {total['resolved']})."
            ),
        )  # fmt: skip
        headers = [self.by_label, "Resolved", "At first contact", "% at first contact"]
        body = [
            [label, g["resolved"], g["first"], _pct(g["first"], g["resolved"])]
            for label, g in [*groups, ("All", total)]
        ]
        return Figure("fcr", chart, headers, body)

    # --- service goals ------------------------------------------------------------------

    def goals(self) -> Figure:
        field = DIMENSIONS[self.by][0]
        start, end = self.window.start, self.window.end
        s = CaseTarget.State
        met = Q(state=s.MET, breached=False, met_at__gte=start, met_at__lt=end)
        breached = (Q(breached=True) | Q(state__in=CaseTarget.LIVE, due_at__lt=self.now)) & Q(
            due_at__gte=start, due_at__lt=end
        )
        rows = (
            CaseTarget.objects.filter(case__in=self.cases().values("pk"))
            .filter(met | breached)
            .order_by()
            .values(dim=F(f"case__{field}"))
            .annotate(met=Count("id", filter=met), breached=Count("id", filter=breached))
        )
        counts = ("met", "breached")
        groups = _groups(self.by, rows, counts, "met")
        groups.sort(key=lambda item: (-(item[1]["met"] + item[1]["breached"]), item[0]))
        total = _total(groups, counts)

        def share(g: dict[str, int]) -> Decimal | None:
            return _pct(g["met"], g["met"] + g["breached"])

        chart = Chart(
            key="goals",
            title=f"Service goals by {self.by_label.lower()}",
            labels=[f"{label} ({share(g) if share(g) is not None else '–'} % met)" for label, g in groups],
            series=[
                Series("Met", [g["met"] for _, g in groups], tone="good"),
                Series("Breached", [g["breached"] for _, g in groups], tone="bad"),
            ],
            unit="targets",
            stacked=True,
            horizontal=True,
            note=(
                f"Targets (first response, next response, resolution, update) met in time or "
                f"breached {self._period_note()}. All: {share(total) if share(total) is not None else '–'} % "
                f"met ({total['met']} met, {total['breached']} breached)."
            ),
        )  # fmt: skip
        headers = [self.by_label, "Met", "Breached", "% met"]
        body = [
            [label, g["met"], g["breached"], share(g)] for label, g in [*groups, ("All", total)]
        ]
        return Figure("goals", chart, headers, body)

    # --- backlog ------------------------------------------------------------------------

    def backlog(self) -> Figure:
        field = DIMENSIONS[self.by][0]
        names = tuple(f"age{i}" for i in range(len(AGE_BUCKETS)))
        buckets = {}
        for name, (lo, hi, _) in zip(names, AGE_BUCKETS, strict=True):
            q = Q(created_at__lte=self.now - dt.timedelta(days=lo))
            if hi is not None:
                q &= Q(created_at__gt=self.now - dt.timedelta(days=hi))
            buckets[name] = Count("id", filter=q)
        rows = (
            self.cases()
            .filter(is_open=True)
            .order_by()
            .values(dim=F(field))
            .annotate(open=Count("id"), **buckets)
        )
        counts = ("open", *names)
        groups = _groups(self.by, rows, counts, "open")
        total = _total(groups, counts)
        chart = Chart(
            key="backlog",
            title=f"Open cases by age and {self.by_label.lower()}",
            labels=[f"{label} ({g['open']})" for label, g in groups],
            series=[
                Series(label, [g[name] for _, g in groups])
                for name, (_, _, label) in zip(names, AGE_BUCKETS, strict=True)
            ],
            unit="cases",
            stacked=True,
            horizontal=True,
            note=(
                f"The cases open now ({total['open']}), by calendar time since they were "
                "opened; the period does not apply."
            ),
        )
        headers = [self.by_label, *(label for _, _, label in AGE_BUCKETS), "Open"]
        body = [
            [label, *(g[name] for name in names), g["open"]]
            for label, g in [*groups, ("All", total)]
        ]
        return Figure("backlog", chart, headers, body)

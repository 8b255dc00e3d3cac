"""Reads of sales: lists, the pipeline board, a deal with its people and history.

Every read applies the record rules: a deal or lead the reader may not see (another team's,
for a sales rep) is NotFound, never a 403, and never in a list. A lead is also visible to
the person who raised it (a contact-center agent sees the leads they passed on).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone

from rapport.core.errors import NotFound
from rapport.core.pagination import Page, keyset_page
from rapport.sales.models import Deal, DealRole, DealStageChange, Lead, LostReason, Pipeline, Stage
from rapport.timeline.events import OpenItem
from rapport.users import permissions
from rapport.users.models import RecordKind, Visibility

BOARD_LIMIT = 25  # cards shown per stage; the count and total cover them all


# --- visibility -------------------------------------------------------------------------


def lead_visibility_q(user: Any) -> Q | None:
    q = permissions.visibility_q(user, RecordKind.LEAD)
    if q is None:
        return None
    p = permissions.policy(user, RecordKind.LEAD)
    if p.can_view and p.visibility != Visibility.NONE and getattr(user, "pk", None):
        q |= Q(created_by_id=user.pk)
    return q


def visible_leads(user: Any) -> QuerySet[Lead]:
    q = lead_visibility_q(user)
    qs = Lead.objects.all()
    return qs if q is None else qs.filter(q)


def can_see_lead(user: Any, lead: Lead) -> bool:
    if permissions.can_see_record(user, RecordKind.LEAD, lead):
        return True
    p = permissions.policy(user, RecordKind.LEAD)
    return (
        p.can_view
        and p.visibility != Visibility.NONE
        and lead.created_by_id is not None
        and lead.created_by_id == getattr(user, "pk", None)
    )


def visible_deals(user: Any) -> QuerySet[Deal]:
    return permissions.visible(user, RecordKind.DEAL, Deal.objects.all())


# --- leads ------------------------------------------------------------------------------


@dataclass
class LeadFilters:
    q: str = ""
    status: str = ""
    owner: int | None = None
    cursor: str | None = None
    size: int = 50


def lead_list(*, actor: Any, filters: LeadFilters) -> Page:
    permissions.require(actor, "view", RecordKind.LEAD)
    qs = visible_leads(actor).select_related("owner", "contact", "account")
    if filters.status in Lead.Status.values:
        qs = qs.filter(status=filters.status)
    if filters.owner:
        qs = qs.filter(owner_id=filters.owner)
    if filters.q:
        qs = qs.filter(
            Q(name__icontains=filters.q)
            | Q(email__icontains=filters.q)
            | Q(company_name__icontains=filters.q)
        )
    return keyset_page(
        qs, order=["-id"], cursor=filters.cursor, size=max(1, min(filters.size, 200))
    )


def lead_get(*, actor: Any, pk: int, for_action: str = "view") -> Lead:
    """A lead the actor may see (NotFound otherwise) and may act on (PermissionDenied)."""
    permissions.require(actor, "view", RecordKind.LEAD)
    lead = (
        Lead.objects.select_related("owner", "team", "contact", "account", "converted_deal")
        .filter(pk=pk)
        .first()
    )
    if lead is None or not can_see_lead(actor, lead):
        raise NotFound("No such lead.")
    permissions.require(actor, for_action, RecordKind.LEAD)
    return lead


# --- deals ------------------------------------------------------------------------------


@dataclass
class DealFilters:
    q: str = ""
    status: str = ""
    stage: int | None = None
    pipeline: int | None = None
    owner: int | None = None
    account: int | None = None
    closing: str = ""  # YYYY-MM
    contact: int | None = None  # deals where this person ...
    role: str = ""  # ... has this role (any role if empty)
    cursor: str | None = None
    size: int = 50


def month_bounds(month: str) -> tuple[dt.date, dt.date] | None:
    try:
        first = dt.date.fromisoformat(f"{month}-01")
    except ValueError:
        return None
    nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, nxt


def deal_queryset(*, actor: Any, filters: DealFilters) -> QuerySet[Deal]:
    permissions.require(actor, "view", RecordKind.DEAL)
    qs = visible_deals(actor).select_related("account", "stage", "owner", "primary_contact")
    if filters.status in Deal.Status.values:
        qs = qs.filter(status=filters.status)
    if filters.stage:
        qs = qs.filter(stage_id=filters.stage)
    if filters.pipeline:
        qs = qs.filter(pipeline_id=filters.pipeline)
    if filters.owner:
        qs = qs.filter(owner_id=filters.owner)
    if filters.account:
        qs = qs.filter(account_id=filters.account)
    if filters.closing:
        bounds = month_bounds(filters.closing)
        if bounds is not None:
            qs = qs.filter(expected_close__gte=bounds[0], expected_close__lt=bounds[1])
    if filters.contact:
        roles = DealRole.objects.filter(contact_id=filters.contact)
        if filters.role in DealRole.Role.values:
            roles = roles.filter(role=filters.role)
        qs = qs.filter(pk__in=roles.values("deal_id"))
    if filters.q:
        qs = qs.filter(Q(name__icontains=filters.q) | Q(account__name__icontains=filters.q))
    return qs


def deal_list(*, actor: Any, filters: DealFilters) -> Page:
    qs = deal_queryset(actor=actor, filters=filters)
    return keyset_page(
        qs, order=["-id"], cursor=filters.cursor, size=max(1, min(filters.size, 200))
    )


def deal_get(*, actor: Any, pk: int, for_action: str = "view") -> Deal:
    permissions.require(actor, "view", RecordKind.DEAL)
    deal = (
        Deal.objects.select_related(
            "account", "stage", "pipeline", "owner", "team", "primary_contact", "lost_reason"
        )
        .filter(pk=pk)
        .first()
    )
    if deal is None or not permissions.can_see_record(actor, RecordKind.DEAL, deal):
        raise NotFound("No such deal.")
    permissions.require(actor, for_action, RecordKind.DEAL)
    return deal


def deal_roles(*, deal: Deal) -> list[DealRole]:
    return list(
        DealRole.objects.filter(deal=deal).select_related("contact").order_by("-is_primary", "id")
    )


def role_get(*, actor: Any, deal: Deal, pk: int) -> DealRole:
    role = DealRole.objects.select_related("deal").filter(pk=pk, deal=deal).first()
    if role is None:
        raise NotFound("No such role.")
    return role


@dataclass
class HistoryRow:
    change: DealStageChange
    duration: dt.timedelta
    current: bool = False


def stage_history(*, deal: Deal, now: dt.datetime | None = None) -> list[HistoryRow]:
    """Every move, oldest first, with the time spent in the stage it moved to."""
    now = now or timezone.now()
    changes = list(
        DealStageChange.objects.filter(deal=deal)
        .select_related("from_stage", "to_stage", "by")
        .order_by("at", "id")
    )
    rows = []
    for i, change in enumerate(changes):
        last = i == len(changes) - 1
        end = deal.closed_at if last and deal.closed_at else (now if last else changes[i + 1].at)
        rows.append(HistoryRow(change, max(end - change.at, dt.timedelta(0)), current=last))
    return rows


def sales_cycle(deal: Deal) -> dt.timedelta | None:
    """Created to closed, for a won or lost deal."""
    return deal.closed_at - deal.created_at if deal.closed_at else None


# --- the board --------------------------------------------------------------------------


@dataclass
class Column:
    stage: Stage
    deals: list[Deal] = field(default_factory=list)
    count: int = 0
    total: Decimal = Decimal(0)


def pipelines() -> list[Pipeline]:
    return list(Pipeline.objects.filter(is_active=True))


def pipeline_get(pk: int | None) -> Pipeline:
    qs = Pipeline.objects.filter(is_active=True)
    pipeline = (
        qs.filter(pk=pk).first() if pk else (qs.filter(is_default=True).first() or qs.first())
    )
    if pipeline is None:
        raise NotFound("No such pipeline.")
    return pipeline


def board(*, actor: Any, pipeline: Pipeline, owner: int | None = None) -> list[Column]:
    """The open stages of a pipeline with their open deals (soonest closing first, up to
    ``BOARD_LIMIT`` a stage) and each stage's count and total: four queries, whatever
    the number of deals. Won and lost stages are drop targets without cards."""
    permissions.require(actor, "view", RecordKind.DEAL)
    stages = list(pipeline.stages.filter(is_active=True).order_by("order", "id"))
    qs = visible_deals(actor).filter(pipeline=pipeline, status=Deal.Status.OPEN)
    if owner:
        qs = qs.filter(owner_id=owner)
    columns = {s.pk: Column(stage=s) for s in stages}
    for row in qs.order_by().values("stage_id").annotate(n=Count("id"), total=Sum("amount")):
        if row["stage_id"] in columns:
            columns[row["stage_id"]].count = row["n"]
            columns[row["stage_id"]].total = row["total"] or Decimal(0)
    open_ids = [s.pk for s in stages if s.kind == Stage.Kind.OPEN]
    # Each stage's first BOARD_LIMIT cards, numbered by a window function over the ids
    # only (numbering whole rows with their joins cost three times more), then those rows.
    first = (
        qs.filter(stage_id__in=open_ids)
        .annotate(
            n=Window(
                RowNumber(),
                partition_by=[F("stage_id")],
                order_by=[F("expected_close").asc(nulls_last=True), F("id")],
            )
        )
        .filter(n__lte=BOARD_LIMIT)
        .values_list("id", flat=True)
    )
    numbered = (
        Deal.objects.filter(pk__in=list(first))
        .select_related("account", "owner")
        .order_by(F("expected_close").asc(nulls_last=True), "id")
    )
    for deal in numbered:
        columns[deal.stage_id].deals.append(deal)
    return [columns[s.pk] for s in stages]


# --- contacts and accounts ----------------------------------------------------------------


def deals_for_contact(*, actor: Any, contact_id: int) -> list[tuple[Deal, list[str]]]:
    """The deals the person has a role on (or is the primary contact of), newest first,
    with their roles."""
    permissions.require(actor, "view", RecordKind.DEAL)
    qs = (
        visible_deals(actor)
        .filter(Q(roles__contact_id=contact_id) | Q(primary_contact_id=contact_id))
        .distinct()
        .select_related("account", "stage", "owner")
        .prefetch_related(
            Prefetch(
                "roles",
                queryset=DealRole.objects.filter(contact_id=contact_id),
                to_attr="their_roles",
            )
        )
        .order_by("-id")[:50]
    )
    return [(d, [r.get_role_display() for r in d.their_roles]) for d in qs]  # type: ignore[attr-defined]


def deals_for_account(*, actor: Any, account_id: int) -> list[Deal]:
    permissions.require(actor, "view", RecordKind.DEAL)
    return list(
        visible_deals(actor)
        .filter(account_id=account_id)
        .select_related("stage", "owner", "primary_contact")
        .prefetch_related(Prefetch("roles", queryset=DealRole.objects.select_related("contact")))
        .order_by("status", "-id")[:50]
    )


def open_deals(actor: Any, contact_ids: list[int]) -> dict[int, list[OpenItem]]:
    """The screen pop's open deals of these callers (roles and primary contact), one query."""
    found: dict[int, list[OpenItem]] = {}
    if not permissions.can(actor, "view", RecordKind.DEAL):
        return found
    rows = (
        DealRole.objects.filter(contact_id__in=contact_ids, deal__status=Deal.Status.OPEN)
        .select_related("deal", "deal__stage")
        .order_by("deal__expected_close", "deal_id")
    )
    q = permissions.visibility_q(actor, RecordKind.DEAL, "deal__owner")
    if q is not None:
        rows = rows.filter(q)
    seen: set[tuple[int, int]] = set()
    for role in rows[:200]:
        key = (role.contact_id, role.deal_id)
        if key in seen:
            continue
        seen.add(key)
        deal = role.deal
        found.setdefault(role.contact_id, []).append(
            OpenItem(
                kind="deal",
                label="Deal",
                title=f"{deal.name} · {deal.stage.name} · {deal.amount:,.0f} {deal.currency}",
                url=reverse("sales:deal-detail", args=[deal.pk]),
                due=deal.expected_close,
            )
        )
    return found


def deals_closing(*, actor: Any, day: dt.date, limit: int = 20) -> list[Deal]:
    """The actor's own open deals expected to close in ``day``'s month ("My day")."""
    if not permissions.can(actor, "view", RecordKind.DEAL):
        return []
    first = day.replace(day=1)
    nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return list(
        Deal.objects.filter(
            owner_id=actor.pk,
            status=Deal.Status.OPEN,
            expected_close__gte=first,
            expected_close__lt=nxt,
        )
        .select_related("account", "stage", "primary_contact")
        .order_by("expected_close", "id")[:limit]
    )


def lost_reasons() -> list[LostReason]:
    return list(LostReason.objects.filter(is_active=True))


# --- forecast ---------------------------------------------------------------------------


@dataclass
class ForecastRow:
    """One rep's (or a team's, or the company's) figures for a period, in one currency.
    ``quota`` and ``adjusted`` (the manager's figure, beside the rep's, never over it)
    are filled by ``forecasting.selectors.forecast_report``."""

    label: str
    currency: str
    level: str = "rep"  # rep, team, company
    open_deals: int = 0
    pipeline: Decimal = Decimal(0)  # open, not omitted, expected to close in the period
    best_case: Decimal = Decimal(0)  # best case + commit
    commit: Decimal = Decimal(0)
    weighted: Decimal = Decimal(0)  # amount × the stage's probability
    closed: Decimal = Decimal(0)  # won in the period
    user_id: int | None = None
    team_id: int | None = None
    quota: Decimal | None = None
    adjusted: Decimal | None = None  # the manager's figure (for a team: reps' adjusted or commit)
    adjustment: Any = None  # the ForecastAdjustment shown, for a rep

    FIGURES = ("open_deals", "pipeline", "best_case", "commit", "weighted", "closed")

    def add(self, other: ForecastRow) -> None:
        for name in self.FIGURES:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def attainment(self) -> Decimal | None:
        """Closed won as a share of the quota, in per cent."""
        if not self.quota:
            return None
        return (self.closed * 100 / self.quota).quantize(Decimal("0.1"))


def _cents(value: Any) -> Decimal:
    """A sum as money: SQLite gives back Decimal("1000"), PostgreSQL Decimal("1000.00")."""
    return Decimal(value or 0).quantize(Decimal("0.01"))


def period_bounds(period: str, today: dt.date) -> tuple[str, dt.date, dt.date]:
    """``2026-Q4`` or ``2026-11`` (the current quarter otherwise): its name, first day and
    the day after its last."""
    from rapport.sales.forecasting.periods import period_or_current

    p = period_or_current(period, today)
    return p.name, p.start, p.after


def forecast_sums(
    *, open_q: Q, won_q: Q, amount: str, probability: str, category: str
) -> dict[str, Any]:
    """The aggregates of a forecast over rows (deals, or stage-history rows for a past
    date) whose amount, probability and category are in the named fields."""
    from django.db.models import DecimalField, ExpressionWrapper

    best = Q(**{f"{category}__in": [Deal.ForecastCategory.BEST_CASE, Deal.ForecastCategory.COMMIT]})
    return {
        "n": Count("id", filter=open_q),
        "pipeline": Sum(amount, filter=open_q),
        "best": Sum(amount, filter=open_q & best),
        "commit": Sum(amount, filter=open_q & Q(**{category: Deal.ForecastCategory.COMMIT})),
        "weighted": Sum(
            ExpressionWrapper(
                F(amount) * F(probability),
                output_field=DecimalField(max_digits=20, decimal_places=5),
            ),
            filter=open_q,
        ),
        "closed": Sum(amount, filter=won_q),
    }


def forecast_rollup(rows: Any) -> list[ForecastRow]:
    """Rows by rep (dicts of ``rep_id``, ``rep``, ``team_pk``, ``team_name``, ``cur`` and
    the ``forecast_sums``), rolled up to team and company per currency."""
    reps: list[tuple[str, int | None, ForecastRow]] = []
    for r in rows:
        row = ForecastRow(
            label=r["rep"] or "(no owner)", currency=r["cur"], open_deals=r["n"],
            pipeline=_cents(r["pipeline"]), best_case=_cents(r["best"]), commit=_cents(r["commit"]),
            weighted=_cents(r["weighted"]), closed=_cents(r["closed"]),
            user_id=r["rep_id"], team_id=r["team_pk"],
        )  # fmt: skip
        reps.append((r["team_name"] or "(no team)", r["team_pk"], row))
    out: list[ForecastRow] = []
    company: dict[str, ForecastRow] = {}
    for team, team_id in sorted({(t, i) for t, i, _ in reps}, key=lambda x: (x[0], x[1] or 0)):
        for currency in sorted({r.currency for t, i, r in reps if (t, i) == (team, team_id)}):
            total = ForecastRow(label=team, currency=currency, level="team", team_id=team_id)
            for t, i, row in sorted(reps, key=lambda x: x[2].label):
                if (t, i, row.currency) == (team, team_id, currency):
                    out.append(row)
                    total.add(row)
            out.append(total)
            company.setdefault(
                currency, ForecastRow(label="Company", currency=currency, level="company")
            ).add(total)
    out.extend(company[c] for c in sorted(company))
    return out


def forecast_group(prefix: str = "") -> dict[str, F]:
    """What a forecast groups by: the rep, their team (of the deal) and the currency."""
    return {
        "rep_id": F(f"{prefix}owner_id"), "rep": F(f"{prefix}owner__username"),
        "team_pk": F(f"{prefix}team_id"), "team_name": F(f"{prefix}team__name"),
        "cur": F("currency"),
    }  # fmt: skip


@dataclass(frozen=True)
class Scope:
    """Which deals a forecast or report covers, beyond what the reader may see."""

    pipeline: int | None = None
    owner: int | None = None
    team: int | None = None

    def apply(self, qs: QuerySet[Any], prefix: str = "") -> QuerySet[Any]:
        for name in ("pipeline", "owner", "team"):
            if value := getattr(self, name):
                qs = qs.filter(**{f"{prefix}{name}_id": value})
        return qs


EVERYTHING = Scope()  # every deal the reader may see


def forecast(
    *, actor: Any, first: dt.date, after: dt.date, scope: Scope = EVERYTHING
) -> list[ForecastRow]:
    """The period's forecast by rep, rolled up to team and company, per currency (one
    aggregate query): pipeline, best case, commit, weighted and closed won. Only the deals
    the actor may see count."""
    return forecast_rollup(forecast_by_rep(actor=actor, first=first, after=after, scope=scope))


def forecast_by_rep(
    *, actor: Any, first: dt.date, after: dt.date, scope: Scope = EVERYTHING
) -> list[dict[str, Any]]:
    """``forecast``'s rows by rep, before the roll-up (see ``forecast_rollup``)."""
    permissions.require(actor, "view", RecordKind.DEAL)
    start = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(after, dt.time.min))
    open_q = Q(status=Deal.Status.OPEN) & ~Q(forecast_category=Deal.ForecastCategory.OMITTED)
    won_q = Q(status=Deal.Status.WON)
    qs = scope.apply(
        visible_deals(actor).filter(
            (open_q & Q(expected_close__gte=first, expected_close__lt=after))
            | (won_q & Q(closed_at__gte=start, closed_at__lt=end))
        )
    )
    sums = forecast_sums(
        open_q=open_q, won_q=won_q, amount="amount", probability="stage__probability",
        category="forecast_category",
    )  # fmt: skip
    return list(qs.order_by().values(**forecast_group()).annotate(**sums))

"""Two years of sales on the demo records (``manage.py demo``, order 20).

The demo company's reps work leads (from the web form, events, the contact center,
referrals); a good half are converted into deals on the demo accounts, with the people
around each deal in their roles; deals move through the default pipeline's stages over
weeks, and are won or lost (with a reason) or still open. Leads that went nowhere are
disqualified, or still new or being worked.

Rows are written in bulk (a few inserts a table), not deal by deal through the services,
so that the first ``rapport up`` stays quick; what the services would add is added the
same way: the stage history with each move's amount, probability and category, the
timeline entries of the account and of each person in a role (through
``timeline.events.record_many``) and the audit entries, all dated to when the story has
them happen. The same seed tells the same story; dates are relative to today.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

from rapport.audit.models import AuditEntry, Via
from rapport.customers.models import Account, AccountMembership, Contact
from rapport.sales import events as sales_events
from rapport.sales.models import Deal, DealRole, DealStageChange, Lead, LostReason, Stage
from rapport.sales.services import default_pipeline
from rapport.timeline import events
from rapport.users.models import Role, User

DAYS = 730
DEMO_CURRENCY = "EUR"
DEALS = 480
LOOSE_LEADS = 320  # leads that were never converted
SOURCES = (
    ("Web form", 30),
    ("Referral", 20),
    ("Event", 15),
    ("Contact center", 15),
    ("Outbound", 20),
)
PRODUCTS = ("Lumen Insight", "Lumen Connect", "Premium Support", "Lumen Forecast")
SIZES = (4_800, 9_600, 12_000, 18_000, 24_000, 36_000, 48_000, 75_000, 120_000)
ROLES = [r for r in DealRole.Role.values]
NEEDS = (
    "Wants one view of their customers across the shops",
    "Replacing spreadsheets for the monthly forecast",
    "Needs dashboards for 40 store managers",
    "Asked for a quote for the Connect add-on",
    "Their current contract ends in the autumn",
    "Looking for support in German and French",
)
BUDGETS = ("", "about 10k", "20-30k", "50k approved", "not set yet")
TIMINGS = ("", "this quarter", "next quarter", "after the summer", "next year")
DISQUALIFY = ("Student project", "No budget this year", "Went with a competitor", "Not reachable")


def _weighted(rng: random.Random, pairs: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]


def _moment(day: dt.date, rng: random.Random) -> dt.datetime:
    """A working-hours moment of `day`, never later than now (a deal moved today before
    08:00 would otherwise sit on the timeline in the future)."""
    naive = dt.datetime.combine(day, dt.time(8 + rng.randrange(10), rng.randrange(60)))
    at = timezone.make_aware(naive, timezone.get_current_timezone())
    return min(at, timezone.now() - dt.timedelta(minutes=1))


def sales_demo_load(*, seed: int) -> str:
    """Leads, deals, roles and stage history on the demo accounts (once: a second run
    adds nothing)."""
    if Deal.objects.exists() or Lead.objects.exists():
        return "Sales: deals are there already, none added."
    reps = list(User.objects.filter(role=Role.SALES, is_active=True).order_by("username"))
    accounts = list(Account.objects.order_by("id").values_list("id", "owner_id", "name")[:600])
    if not reps or not accounts:
        return "Sales: no sales reps or accounts, no deals added."
    rng = random.Random(f"sales-{seed}")
    pipeline = default_pipeline()
    stages = list(pipeline.stages.filter(is_active=True).order_by("order", "id"))
    open_stages = [s for s in stages if s.kind == Stage.Kind.OPEN]
    won = next(s for s in stages if s.kind == Stage.Kind.WON)
    lost = next(s for s in stages if s.kind == Stage.Kind.LOST)
    reasons = list(LostReason.objects.filter(is_active=True))
    people: dict[int, list[int]] = {}
    for contact_id, account_id in AccountMembership.objects.filter(
        account_id__in=[a[0] for a in accounts]
    ).values_list("contact_id", "account_id"):
        people.setdefault(account_id, []).append(contact_id)
    names = dict(
        Contact.objects.filter(pk__in=[c for cs in people.values() for c in cs]).values_list(
            "pk", "full_name"
        )
    )
    rep_ids = {u.pk: u for u in reps}
    teams = {u.pk: u.teams.order_by("name").first() for u in reps}
    today = timezone.localdate()
    start = today - dt.timedelta(days=DAYS)
    drafts: list[events.Draft] = []
    plans: list[dict[str, Any]] = []

    with transaction.atomic():
        for _ in range(DEALS):
            account_id, account_owner, account_name = rng.choice(accounts)
            owner = rep_ids.get(account_owner) or rng.choice(reps)
            # One deal in six is recent: the board has a pipeline to work.
            recent = rng.random() < 0.17
            created = (
                (today - dt.timedelta(days=rng.randrange(75)))
                if recent
                else start + dt.timedelta(days=rng.randrange(DAYS - 10))
            )
            amount = Decimal(rng.choice(SIZES)) * Decimal(rng.choice(("1", "1", "1", "1.5", "2")))
            product = rng.choice(PRODUCTS)
            moves: list[tuple[Stage, dt.date]] = [(open_stages[0], created)]
            day = created
            outcome = Stage.Kind.OPEN
            for stage in open_stages[1:] + [won]:
                day = day + dt.timedelta(days=rng.randint(4, 35))
                if day > today:
                    break
                # Each step forward is likelier the further the deal got.
                if rng.random() < 0.55 + 0.08 * len(moves):
                    moves.append((stage, day))
                    if stage == won:
                        outcome = Stage.Kind.WON
                        break
                else:
                    if rng.random() < 0.75:
                        moves.append((lost, day))
                        outcome = Stage.Kind.LOST
                        break
            last_stage, last_day = moves[-1]
            if outcome == Stage.Kind.OPEN:
                expected = max(today, last_day) + dt.timedelta(days=rng.randint(5, 120))
            else:
                expected = last_day
            plans.append(
                {
                    "deal": Deal(
                        name=f"{account_name}: {product}",
                        account_id=account_id,
                        amount=amount.quantize(Decimal("0.01")),
                        currency=pipeline.currency,
                        expected_close=expected,
                        owner=owner,
                        team=teams.get(owner.pk),
                        source=_weighted(rng, SOURCES),
                        pipeline=pipeline,
                        stage=last_stage,
                        status=outcome,
                        forecast_category=(
                            Deal.ForecastCategory.CLOSED
                            if outcome == Stage.Kind.WON
                            else Deal.ForecastCategory.OMITTED
                            if outcome == Stage.Kind.LOST
                            else rng.choice(
                                (
                                    Deal.ForecastCategory.PIPELINE,
                                    Deal.ForecastCategory.BEST_CASE,
                                    Deal.ForecastCategory.COMMIT,
                                )
                            )
                        ),  # fmt: skip
                        stage_entered_at=_moment(last_day, rng),
                        closed_at=_moment(last_day, rng) if outcome != Stage.Kind.OPEN else None,
                        lost_reason=rng.choice(reasons)
                        if outcome == Stage.Kind.LOST and reasons
                        else None,
                        created_by=owner,
                    ),
                    "moves": [(s, _moment(d, rng)) for s, d in moves],
                    "created": _moment(created, rng),
                    "people": rng.sample(
                        people.get(account_id, []),
                        k=min(len(people.get(account_id, [])), rng.randint(1, 3)),
                    ),
                    "lead": rng.random() < 0.6,
                }
            )
        deals = Deal.objects.bulk_create([p["deal"] for p in plans])
        changes: list[DealStageChange] = []
        roles: list[DealRole] = []
        leads: list[Lead] = []
        for plan, deal in zip(plans, deals, strict=True):
            previous = None
            for stage, at in plan["moves"]:
                last_move = stage == deal.stage
                # A rep's close date of the moment: a guess some weeks ahead, which slips;
                # the last move has the deal's own (the day it closed, for a closed one).
                guess = at.date() + dt.timedelta(days=rng.randint(15, 75))
                changes.append(
                    DealStageChange(
                        deal=deal, from_stage=previous, to_stage=stage, at=at, by=deal.owner,
                        amount=deal.amount, currency=deal.currency, probability=stage.probability,
                        forecast_category=deal.forecast_category if last_move else Deal.ForecastCategory.PIPELINE,
                        expected_close=deal.expected_close if last_move else guess,
                    )
                )  # fmt: skip
                kind = (
                    sales_events.DEAL_CREATED.name if previous is None
                    else sales_events.DEAL_WON.name if stage.kind == Stage.Kind.WON
                    else sales_events.DEAL_LOST.name if stage.kind == Stage.Kind.LOST
                    else sales_events.DEAL_STAGE.name
                )  # fmt: skip
                summary = (
                    f"Deal {deal.name} opened at {stage.name}" if previous is None
                    else f"Deal {deal.name}: {previous.name} → {stage.name}"
                )  # fmt: skip
                drafts.append(
                    events.Draft(
                        kind=kind, summary=summary[:300], contacts=plan["people"], accounts=[deal.account_id],
                        occurred_at=at, department="sales", staff=deal.owner,
                        data={"deal": deal.pk, "to": stage.pk},
                    )
                )  # fmt: skip
                previous = stage
            for i, contact_id in enumerate(plan["people"]):
                role = DealRole.Role.DECISION_MAKER if i == 0 else rng.choice(ROLES)
                roles.append(
                    DealRole(deal=deal, contact_id=contact_id, role=role, is_primary=i == 0)
                )
            if plan["people"]:
                deal.primary_contact_id = plan["people"][0]
            if plan["lead"]:
                person = plan["people"][0] if plan["people"] else None
                leads.append(
                    Lead(
                        contact_id=person, account_id=deal.account_id, name=names.get(person, "") if person else "",
                        company_name=deal.name.split(":")[0], source=deal.source,
                        status=Lead.Status.QUALIFIED, owner=deal.owner, score=rng.randrange(10, 90),
                        role=rng.choice(("CFO", "Head of IT", "Operations director", "Buyer")),
                        need=rng.choice(NEEDS), budget=rng.choice(BUDGETS), timing=rng.choice(TIMINGS),
                        converted_deal=deal, converted_at=plan["moves"][0][1], created_by=deal.owner,
                    )
                )  # fmt: skip
        Deal.objects.bulk_update([d for d in deals if d.primary_contact_id], ["primary_contact"])
        DealStageChange.objects.bulk_create(changes)
        # Unique per deal, person and role: a person drawn twice for one role keeps one.
        unique = {(r.deal_id, r.contact_id, r.role): r for r in reversed(roles)}
        DealRole.objects.bulk_create(list(reversed(unique.values())))
        for _ in range(LOOSE_LEADS):
            account_id, account_owner, account_name = rng.choice(accounts)
            members = people.get(account_id, [])
            person = rng.choice(members) if members and rng.random() < 0.7 else None
            status = rng.choice(
                (
                    Lead.Status.NEW,
                    Lead.Status.WORKING,
                    Lead.Status.DISQUALIFIED,
                    Lead.Status.DISQUALIFIED,
                )
            )
            owner = rep_ids.get(account_owner) or rng.choice(reps)
            created_day = start + dt.timedelta(days=rng.randrange(DAYS))
            if status in (Lead.Status.NEW, Lead.Status.WORKING):
                created_day = today - dt.timedelta(days=rng.randrange(45))
            leads.append(
                Lead(
                    contact_id=person, account_id=account_id if person else None,
                    name=names.get(person, "") if person else f"Visitor {rng.randrange(1000, 9999)}",
                    email="" if person else f"visitor{rng.randrange(10**6)}@mail.example",
                    company_name=account_name, source=_weighted(rng, SOURCES), status=status,
                    disqualify_reason=rng.choice(DISQUALIFY) if status == Lead.Status.DISQUALIFIED else "",
                    owner=owner, score=rng.randrange(0, 60), need=rng.choice(NEEDS), budget=rng.choice(BUDGETS),
                    timing=rng.choice(TIMINGS),
                    follow_up_on=today + dt.timedelta(days=rng.randrange(-3, 14)) if status != Lead.Status.DISQUALIFIED else None,
                    created_by=owner,
                )
            )  # fmt: skip
            leads[-1]._demo_created = _moment(created_day, rng)  # type: ignore[attr-defined]
        made = Lead.objects.bulk_create(leads)
        # Stamps as the story has them: a few set-based updates (bulk_update is slow).
        loose = [lead for lead in made if getattr(lead, "_demo_created", None)]
        for lead in loose:
            lead.created_at = lead.updated_at = lead._demo_created  # type: ignore[attr-defined]
        Lead.objects.bulk_update(loose, ["created_at", "updated_at"], batch_size=500)
        Lead.objects.filter(converted_at__isnull=False).update(
            created_at=F("converted_at"), updated_at=F("converted_at")
        )
        history = DealStageChange.objects.filter(deal=OuterRef("pk"))
        Deal.objects.update(
            created_at=Subquery(history.order_by("at", "id").values("at")[:1]),
            updated_at=Subquery(history.order_by("-at", "-id").values("at")[:1]),
        )
        events.record_many(drafts)
        audits = [
            AuditEntry(
                actor=c.by, actor_name=c.by.username if c.by else "system", via=Via.WEB,
                action=AuditEntry.Action.CREATE if c.from_stage is None else AuditEntry.Action.UPDATE,
                entity_kind="deal", entity_id=c.deal_id, object_kind="dealstagechange",
                object_id=c.pk, object_repr=c.deal.name[:300],
                changes={"stage": [c.from_stage_id, c.to_stage_id]}, context={"demo": True},
            )
            for c in changes
        ]  # fmt: skip
        stamped = AuditEntry.objects.bulk_create(audits)
        AuditEntry.objects.filter(pk__gte=stamped[0].pk, object_kind="dealstagechange").update(
            at=Subquery(DealStageChange.objects.filter(pk=OuterRef("object_id")).values("at")[:1])
        )
    forecasting = _forecasting_demo(rng=rng, reps=reps, teams=teams, plans=plans, today=today)
    won_count = sum(1 for p in plans if p["deal"].status == Stage.Kind.WON)
    lost_count = sum(1 for p in plans if p["deal"].status == Stage.Kind.LOST)
    return (
        f"Sales: {len(deals)} deals over two years ({won_count} won, {lost_count} lost, "
        f"{len(deals) - won_count - lost_count} open), {len(changes)} stage changes, "
        f"{len(roles)} roles, {len(made)} leads; {forecasting}."
    )


def _forecasting_demo(
    *,
    rng: random.Random,
    reps: list[User],
    teams: dict[int, Any],
    plans: list[dict[str, Any]],
    today: dt.date,
) -> str:
    """Quotas for the reps (the last four quarters, this one with its months, and the
    next) and the teams (this quarter and the next, set by the manager), two manager's
    adjustments of this quarter, and a year of weekly snapshots rebuilt from the stage
    history (this week's from the deals as they are now)."""
    from rapport.sales.forecasting.periods import quarter_of, week_of
    from rapport.sales.forecasting.services import snapshot_take
    from rapport.sales.models import ForecastAdjustment, Quota

    manager = User.objects.filter(role=Role.MANAGER, is_active=True).order_by("username").first()
    won: dict[int, Decimal] = {u.pk: Decimal(0) for u in reps}
    for p in plans:
        if p["deal"].status == Stage.Kind.WON and p["deal"].owner_id in won:
            won[p["deal"].owner_id] += p["deal"].amount
    current = quarter_of(today)
    quarters = [current]
    for _ in range(4):
        quarters.insert(0, quarter_of(quarters[0].start - dt.timedelta(days=1)))
    quarters.append(quarter_of(current.after))
    quotas: list[Quota] = []
    team_totals: dict[int, Decimal] = {}
    for rep in reps:
        # About what they won a quarter over the two years, stretched by a tenth.
        base = won[rep.pk] / 8 * Decimal("1.1")
        for q in quarters:
            amount = (base * Decimal(rng.choice(("0.9", "1", "1.1"))) / 1000).quantize(Decimal("1")) * 1000
            quotas.append(Quota(user=rep, period_kind="quarter", period_start=q.start,
                                amount=amount, currency=DEMO_CURRENCY, set_by=manager))  # fmt: skip
            if q == current:
                for m in q.months():
                    quotas.append(Quota(user=rep, period_kind="month", period_start=m.start,
                                        amount=(amount / 3).quantize(Decimal("0.01")),
                                        currency=DEMO_CURRENCY, set_by=manager))  # fmt: skip
                team = teams.get(rep.pk)
                if team is not None:
                    team_totals[team.pk] = team_totals.get(team.pk, Decimal(0)) + amount
    for team_id, total in team_totals.items():
        for q in (current, quarters[-1]):
            # The manager's team quota: a little under the sum of the reps'.
            quotas.append(Quota(team_id=team_id, period_kind="quarter", period_start=q.start,
                                amount=(total * Decimal("0.95")).quantize(Decimal("1")),
                                currency=DEMO_CURRENCY, set_by=manager))  # fmt: skip
    Quota.objects.bulk_create(quotas, ignore_conflicts=True)  # a second story keeps the first's
    now = timezone.now()
    adjustments = [
        ForecastAdjustment(
            user=rep, period_kind="quarter", period_start=current.start, currency=DEMO_CURRENCY,
            amount=(won[rep.pk] / 8).quantize(Decimal("1")), reason=reason, by=manager,
            at=min(now, timezone.make_aware(dt.datetime.combine(max(current.start, today - dt.timedelta(days=3)), dt.time(9)))),
        )
        for rep, reason in zip(
            reps[:2],
            ("Two renewals signed early in the quarter", "Their big proposal slips to next quarter"),
            strict=False,
        )
    ]  # fmt: skip
    if manager is not None:
        ForecastAdjustment.objects.bulk_create(adjustments)
    else:
        adjustments = []
    week = week_of(today)
    snapshots = 0
    for back in range(52, -1, -1):
        snapshots += snapshot_take(week=week - dt.timedelta(weeks=back), now=now)
    return (
        f"{len(quotas)} quotas, {len(adjustments)} manager's adjustments, "
        f"{snapshots} weekly forecast snapshots"
    )

"""Marketing reads: segments and their preview, campaigns, what each variant achieved
("which messages work"), events and the people met there. Each applies the reader's
rights; contacts are always only those the reader may see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from rapport.consent.models import ConsentEvent, Source, Status
from rapport.core.errors import NotFound
from rapport.customers.models import Contact
from rapport.marketing import rules, stats
from rapport.marketing.models import (
    Campaign,
    CampaignRecipient,
    CampaignVariant,
    Event,
    EventContact,
    Segment,
    SegmentMember,
)
from rapport.users import permissions
from rapport.users.models import RecordKind

KIND = RecordKind.CAMPAIGN
SAMPLE = 20
RATES = (
    ("opens", "Opens"),
    ("clicks", "Clicks"),
    ("replies", "Replies"),
    ("unsubscribes", "Unsubscribes"),
)


def _visible(user: Any, qs: QuerySet) -> QuerySet:
    permissions.require(user, "view", KIND)
    return permissions.visible(user, KIND, qs)


def segment_list(*, actor: Any) -> QuerySet[Segment]:
    return _visible(actor, Segment.objects.all())


def segment_get(*, actor: Any, pk: int) -> Segment:
    found = segment_list(actor=actor).filter(pk=pk).first()
    if found is None:
        raise NotFound("No such segment.")
    return found


def segment_contacts(*, actor: Any, segment: Segment) -> QuerySet[Contact]:
    """Who is in the segment now, of the contacts ``actor`` may see: the frozen list of a
    static segment, the rules evaluated now for a dynamic one."""
    if segment.frozen_at:
        members = SegmentMember.objects.filter(segment=segment).values("contact_id")
        return permissions.visible(
            actor, RecordKind.CONTACT, Contact.objects.filter(pk__in=members)
        )
    return rules.contacts_matching(user=actor, rules=segment.rules)


@dataclass
class Preview:
    count: int
    sample: list[Contact]
    words: str


def segment_preview(
    *, actor: Any, rules_data: Any = None, segment: Segment | None = None
) -> Preview:
    """How many contacts the rules (or the segment) select now, and the first few."""
    permissions.require(actor, "view", KIND)
    if segment is not None:
        qs = segment_contacts(actor=actor, segment=segment)
        words = rules.describe(segment.rules)
    else:
        cleaned = rules.validate(user=actor, rules=rules_data)
        qs = rules.contacts_matching(user=actor, rules=cleaned)
        words = rules.describe(cleaned)
    sample = list(
        qs.order_by("sort_name", "id").only(
            "id", "full_name", "sort_name", "lifecycle", "job_title"
        )[:SAMPLE]
    )
    count = len(sample) if len(sample) < SAMPLE else qs.count()
    return Preview(count=count, sample=sample, words=words)


def campaign_list(*, actor: Any) -> QuerySet[Campaign]:
    return _visible(actor, Campaign.objects.select_related("segment", "purpose", "winner"))


def campaign_get(*, actor: Any, pk: int) -> Campaign:
    found = campaign_list(actor=actor).filter(pk=pk).first()
    if found is None:
        raise NotFound("No such campaign.")
    return found


def variant_get(*, actor: Any, campaign: Campaign, pk: int) -> CampaignVariant:
    found = campaign.variants.filter(pk=pk).first()
    if found is None:
        raise NotFound("No such variant.")
    return found


@dataclass
class Outcome:
    """What one variant (or a whole campaign) achieved."""

    label: str
    subject: str
    recipients: int = 0
    delivered: int = 0
    skipped: int = 0  # no consent at send time
    no_address: int = 0
    failed: int = 0
    opens: int = 0
    clicks: int = 0
    replies: int = 0
    unsubscribes: int = 0
    influenced: Decimal = Decimal("0")
    won: Decimal = Decimal("0")
    influenced_deals: int = 0
    won_deals: int = 0
    variant: Any = None
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)

    def rate(self, name: str) -> float:
        return getattr(self, name) / self.delivered if self.delivered else 0.0

    @property
    def cells(self) -> list[tuple[str, str, tuple[float, float]]]:
        """Each rate as "count · rate % (low–high)", the 95 % Wilson interval."""
        out = []
        for name, label in RATES:
            low, high = self.intervals.get(name, (0.0, 0.0))
            text = f"{getattr(self, name)} · {100 * self.rate(name):.1f} % ({100 * low:.1f}–{100 * high:.1f})"
            out.append((label, text, (low, high)))
        return out

    def finish(self) -> Outcome:
        for name in ("opens", "clicks", "replies", "unsubscribes"):
            self.intervals[name] = stats.wilson(getattr(self, name), self.delivered)
        return self

    def add(self, other: Outcome) -> None:
        for name in (
            "recipients", "delivered", "skipped", "no_address", "failed", "opens", "clicks",
            "replies", "unsubscribes", "influenced", "won", "influenced_deals", "won_deals",
        ):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _revenue(campaign: Campaign, actor: Any, outcomes: dict[int, Outcome]) -> None:
    """Attribution (decision 0024): a deal on the account of a recipient, created within
    ``attribution_days`` after the first message of the campaign sent to that account, is
    *influenced* by that message's variant; one of its deals won (closed as won) within
    that window counts as *won* revenue. Each deal counts once per campaign, for the
    earliest recipient at its account; only deals in the campaign's currency."""
    from rapport.sales.models import Deal

    if actor is not None and not permissions.can(actor, "view", RecordKind.DEAL):
        return
    first: dict[int, tuple[int, dt.datetime]] = {}
    for account_id, variant_id, sent_at in (
        CampaignRecipient.objects.filter(
            campaign=campaign,
            status=CampaignRecipient.Status.SENT,
            account_id__isnull=False,
            sent_at__isnull=False,
        )
        .order_by("sent_at", "id")
        .values_list("account_id", "variant_id", "sent_at")
    ):
        if sent_at is not None:
            first.setdefault(account_id, (variant_id, sent_at))
    if not first:
        return
    window = dt.timedelta(days=campaign.attribution_days)
    earliest = min(s for _, s in first.values())
    deals = permissions.visible(
        actor, RecordKind.DEAL,
        Deal.objects.filter(account_id__in=list(first), currency=campaign.currency).filter(
            Q(created_at__gte=earliest) | Q(closed_at__gte=earliest)
        ),
    ).values_list("account_id", "amount", "status", "created_at", "closed_at")  # fmt: skip
    for account_id, amount, status, created_at, closed_at in deals:
        variant_id, sent_at = first[account_id]
        outcome = outcomes.get(variant_id)
        if outcome is None:
            continue
        if sent_at <= created_at <= sent_at + window:
            outcome.influenced += amount
            outcome.influenced_deals += 1
        if status == Deal.Status.WON and closed_at and sent_at <= closed_at <= sent_at + window:
            outcome.won += amount
            outcome.won_deals += 1


def variant_outcomes(*, campaign: Campaign, actor: Any = None) -> list[Outcome]:
    """Per variant: recipients, delivered, skipped, opens, clicks, replies, unsubscribes
    (a withdrawal of the campaign's purpose through the unsubscribe link after the send,
    within the attribution window), influenced and won revenue; each rate with its
    Wilson interval."""
    window = dt.timedelta(days=campaign.attribution_days)
    unsubscribed = ConsentEvent.objects.filter(
        contact_id=OuterRef("contact_id"), purpose_id=campaign.purpose_id, source=Source.UNSUBSCRIBE,
        status=Status.WITHDRAWN, effective_at__gte=OuterRef("sent_at"),
        effective_at__lte=OuterRef("sent_at") + window,
    )  # fmt: skip
    S = CampaignRecipient.Status
    rows = (
        CampaignRecipient.objects.filter(campaign=campaign)
        .annotate(unsub=Exists(unsubscribed))
        .values("variant_id")
        .annotate(
            recipients=Count("id"),
            delivered=Count("id", filter=Q(status=S.SENT)),
            skipped=Count("id", filter=Q(status=S.BLOCKED)),
            no_address=Count("id", filter=Q(status=S.NO_ADDRESS)),
            failed=Count("id", filter=Q(status__in=(S.FAILED, S.BOUNCED))),
            opens=Count("id", filter=Q(status=S.SENT, opened_at__isnull=False)),
            clicks=Count("id", filter=Q(status=S.SENT, clicked_at__isnull=False)),
            replies=Count("id", filter=Q(status=S.SENT, replied_at__isnull=False)),
            unsubscribes=Count("id", filter=Q(status=S.SENT, unsub=True)),
        )
    )
    by_variant = {r["variant_id"]: r for r in rows}
    outcomes: dict[int, Outcome] = {}
    for variant in campaign.variants.order_by("id"):
        row = by_variant.get(variant.pk, {})
        outcomes[variant.pk] = Outcome(
            label=variant.label, subject=variant.subject, variant=variant,
            **{k: v for k, v in row.items() if k != "variant_id"},
        )  # fmt: skip
    _revenue(campaign, actor, outcomes)
    return [o.finish() for o in outcomes.values()]


@dataclass
class CampaignReport:
    campaign: Campaign
    variants: list[Outcome]
    total: Outcome
    test: stats.WinnerResult


def campaign_report(*, actor: Any, campaign: Campaign) -> CampaignReport:
    variants = variant_outcomes(campaign=campaign, actor=actor)
    total = Outcome(label="All", subject=campaign.name)
    for outcome in variants:
        total.add(outcome)
    test = stats.pick_winner([(o.variant.pk, o.clicks, o.delivered) for o in variants])
    return CampaignReport(campaign=campaign, variants=variants, total=total.finish(), test=test)


def which_messages_work(*, actor: Any, limit: int = 50) -> list[CampaignReport]:
    """Every sent campaign (newest first), each variant's outcomes beside the others'."""
    campaigns = (
        campaign_list(actor=actor)
        .filter(status__in=(Campaign.Status.SENT, Campaign.Status.SENDING))
        .order_by("-started_at", "-id")[:limit]
    )
    return [campaign_report(actor=actor, campaign=c) for c in campaigns]


def contact_campaigns(*, actor: Any, contact: Contact) -> QuerySet[CampaignRecipient]:
    permissions.require_record(actor, "view", RecordKind.CONTACT, contact)
    permissions.require(actor, "view", KIND)
    return (
        CampaignRecipient.objects.filter(contact=contact)
        .select_related("campaign", "variant")
        .order_by("-sent_at", "-id")
    )


def event_list(*, actor: Any) -> QuerySet[Event]:
    return _visible(
        actor, Event.objects.select_related("purpose").annotate(people_count=Count("people"))
    )


def event_get(*, actor: Any, pk: int) -> Event:
    found = _visible(actor, Event.objects.select_related("purpose")).filter(pk=pk).first()
    if found is None:
        raise NotFound("No such event.")
    return found


def event_people(*, actor: Any, event: Event) -> QuerySet[EventContact]:
    contacts = permissions.visible(actor, RecordKind.CONTACT, Contact.objects.all())
    return (
        EventContact.objects.filter(event=event, contact__in=contacts.values("pk"))
        .select_related("contact", "consent_event")
        .order_by("id")
    )

"""Marketing endpoints of the REST API (mounted by rapport/api_urls.py): segments (rules,
preview, freeze), campaigns and their variants, sending, the winner, the per-variant
report, events and the people met there. The same services and selectors as the pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from rapport.api.auth import actor_of
from rapport.api.common import data_of, problems, user_of
from rapport.core.errors import NotFound
from rapport.core.pagination import keyset_page
from rapport.customers.models import Contact
from rapport.marketing import rules, selectors, services
from rapport.marketing.models import Campaign, CampaignVariant, Event, EventContact, Segment

router = Router(tags=["Marketing"])
MAX_PAGE_SIZE = 100
RULES_HELP = (
    'A group {"op": "and"|"or"|"not", "rules": [...]} of rules {"field", "op", "value", '
    '"within_days"}; GET /segment-fields lists the fields and their operators.'
)


class In(Schema):
    model_config = ConfigDict(extra="forbid")


class MarketingPageQuery(Schema):
    cursor: str | None = None
    size: int = Field(25, ge=1, le=MAX_PAGE_SIZE)


# --- Segments -------------------------------------------------------------------------


class SegmentOut(Schema):
    id: int
    name: str
    description: str
    kind: str = Field(description="dynamic (follows the records) or static (frozen)")
    rules: dict[str, Any]
    rules_text: str
    frozen_at: dt.datetime | None
    last_count: int | None
    counted_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class SegmentPage(Schema):
    items: list[SegmentOut]
    next_cursor: str | None


class SegmentCreate(In):
    name: str = Field(max_length=200)
    description: str = Field("", max_length=2000)
    kind: str = Field("dynamic", description="dynamic or static (frozen at once)")
    rules: dict[str, Any] = Field(default_factory=dict, description=RULES_HELP)


class SegmentPatch(In):
    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=2000)
    rules: dict[str, Any] | None = Field(None, description=RULES_HELP)


class SegmentPreviewIn(In):
    rules: dict[str, Any] = Field(default_factory=dict, description=RULES_HELP)


class SegmentContactOut(Schema):
    id: int
    full_name: str


class SegmentPreviewOut(Schema):
    count: int
    rules_text: str
    sample: list[SegmentContactOut]


class SegmentFieldOut(Schema):
    name: str
    label: str
    type: str
    operators: list[str]
    choices: list[str] | None
    within_days: bool


def segment_out(s: Segment) -> dict[str, Any]:
    return {
        "id": s.pk, "name": s.name, "description": s.description, "kind": s.kind,
        "rules": s.rules or {}, "rules_text": rules.describe(s.rules or {}), "frozen_at": s.frozen_at,
        "last_count": s.last_count, "counted_at": s.counted_at, "created_at": s.created_at,
        "updated_at": s.updated_at,
    }  # fmt: skip


def _preview_out(preview: selectors.Preview) -> dict[str, Any]:
    return {
        "count": preview.count,
        "rules_text": preview.words,
        "sample": [{"id": c.pk, "full_name": c.full_name} for c in preview.sample],
    }


@router.get(
    "/segment-fields",
    response={200: list[SegmentFieldOut], **problems(403)},
    url_name="segment-fields",
)
def segment_fields(request: HttpRequest):
    """The fields you may segment on, with their operators (and values for a choice)."""
    user = user_of(request)
    selectors.segment_list(actor=user)  # the right to view campaigns and segments
    return [
        {
            "name": f.name,
            "label": f.label,
            "type": f.type,
            "operators": list(rules.OPERATORS[f.type]),
            "choices": [k for k, _ in f.choices()] if f.choices else None,
            "within_days": f.windowed,
        }  # fmt: skip
        for f in rules.available_fields(user)
    ]


@router.get("/segments", response={200: SegmentPage, **problems(403)}, url_name="segment-list")
def segment_list(request: HttpRequest, query: Query[MarketingPageQuery]):
    qs = selectors.segment_list(actor=user_of(request))
    page = keyset_page(qs, order=["-id"], cursor=query.cursor, size=query.size)
    return {"items": [segment_out(s) for s in page.items], "next_cursor": page.next_cursor}


@router.post("/segments", response={201: SegmentOut, **problems(403)}, url_name="segment-create")
def segment_create(request: HttpRequest, payload: SegmentCreate, response: HttpResponse):
    """A segment; its rules are checked (422 names each bad rule, its field and why)."""
    segment = services.segment_create(actor=actor_of(request), data=data_of(payload))
    response["Location"] = reverse("api:segment-detail", kwargs={"segment_id": segment.pk})
    return Status(201, segment_out(segment))


@router.post(
    "/segments/preview",
    response={200: SegmentPreviewOut, **problems(403)},
    url_name="segment-preview",
)
def segment_preview(request: HttpRequest, payload: SegmentPreviewIn):
    """How many contacts these rules select now, and the first 20 (nothing is saved)."""
    return _preview_out(selectors.segment_preview(actor=user_of(request), rules_data=payload.rules))


@router.get(
    "/segments/{segment_id}",
    response={200: SegmentOut, **problems(403, 404)},
    url_name="segment-detail",
)
def segment_read(request: HttpRequest, segment_id: int):
    return segment_out(selectors.segment_get(actor=user_of(request), pk=segment_id))


@router.patch(
    "/segments/{segment_id}",
    response={200: SegmentOut, **problems(403, 404)},
    url_name="segment-update",
)
def segment_update(request: HttpRequest, segment_id: int, payload: SegmentPatch):
    segment = selectors.segment_get(actor=user_of(request), pk=segment_id)
    return segment_out(
        services.segment_update(actor=actor_of(request), segment=segment, data=data_of(payload))
    )


@router.delete(
    "/segments/{segment_id}", response={204: None, **problems(403, 404)}, url_name="segment-delete"
)
def segment_delete(request: HttpRequest, segment_id: int):
    """Delete a segment no campaign uses (422 when one does)."""
    segment = selectors.segment_get(actor=user_of(request), pk=segment_id)
    services.segment_delete(actor=actor_of(request), segment=segment)
    return Status(204, None)


@router.get(
    "/segments/{segment_id}/count",
    response={200: SegmentPreviewOut, **problems(403, 404)},
    url_name="segment-count",
)
def segment_count(request: HttpRequest, segment_id: int):
    """Who is in the segment now (dynamic: the rules evaluated now; static: the frozen list)."""
    user = user_of(request)
    segment = selectors.segment_get(actor=user, pk=segment_id)
    preview = selectors.segment_preview(actor=user, segment=segment)
    return _preview_out(preview)


@router.post(
    "/segments/{segment_id}/freeze",
    response={200: SegmentOut, **problems(403, 404)},
    url_name="segment-freeze",
)
def segment_freeze(request: HttpRequest, segment_id: int):
    """Freeze the current members into a static segment."""
    segment = selectors.segment_get(actor=user_of(request), pk=segment_id)
    return segment_out(services.segment_freeze(actor=actor_of(request), segment=segment))


# --- Campaigns ------------------------------------------------------------------------


class CampaignVariantOut(Schema):
    id: int
    label: str
    subject: str
    body: str
    weight: int


class CampaignOut(Schema):
    id: int
    name: str
    goal: str
    segment: int | None
    channel: str
    purpose: str = Field(description="A consent purpose's key")
    scheduled_at: dt.datetime | None
    budget: Decimal
    cost: Decimal
    currency: str
    status: str = Field(description=", ".join(Campaign.Status.values))
    attribution_days: int
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    counts: dict[str, int]
    winner: int | None
    winner_note: str
    variants: list[CampaignVariantOut]


class CampaignPage(Schema):
    items: list[CampaignOut]
    next_cursor: str | None


class CampaignCreate(In):
    name: str = Field(max_length=200)
    goal: str = Field("", max_length=2000)
    segment: int | None = Field(None, ge=1, le=2**63 - 1)
    channel: str = Field("email", description="email")
    purpose: str = Field(
        description="A consent purpose's key (newsletter, product_news…)", max_length=50
    )
    scheduled_at: dt.datetime | None = None
    budget: Decimal = Field(Decimal("0"), ge=0, lt=Decimal("1e12"), decimal_places=2)
    cost: Decimal = Field(Decimal("0"), ge=0, lt=Decimal("1e12"), decimal_places=2)
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$")
    attribution_days: int = Field(30, ge=1, le=365)
    seed: int | None = Field(None, ge=0, lt=2**31, description="The split's seed (default: random)")


class CampaignPatch(In):
    name: str | None = Field(None, max_length=200)
    goal: str | None = Field(None, max_length=2000)
    segment: int | None = Field(None, ge=1, le=2**63 - 1)
    purpose: str | None = Field(None, max_length=50)
    scheduled_at: dt.datetime | None = None
    budget: Decimal | None = Field(None, ge=0, lt=Decimal("1e12"), decimal_places=2)
    cost: Decimal | None = Field(None, ge=0, lt=Decimal("1e12"), decimal_places=2)
    attribution_days: int | None = Field(None, ge=1, le=365)


class CampaignVariantIn(In):
    label: str = Field(max_length=40)
    subject: str = Field(max_length=300)
    body: str = Field(max_length=50000)
    weight: int = Field(1, ge=1, le=100)


class CampaignVariantPatch(In):
    label: str | None = Field(None, max_length=40)
    subject: str | None = Field(None, max_length=300)
    body: str | None = Field(None, max_length=50000)
    weight: int | None = Field(None, ge=1, le=100)


class CampaignSendIn(In):
    at: dt.datetime | None = Field(None, description="When to send; now when empty or past")


class CampaignWinnerIn(In):
    variant: int | None = Field(
        None, ge=1, le=2**63 - 1, description="Pick this one; empty: the test decides"
    )


class CampaignRateOut(Schema):
    count: int
    rate: float
    low: float = Field(description="95 % Wilson interval")
    high: float


class CampaignOutcomeOut(Schema):
    variant: int
    label: str
    recipients: int
    delivered: int
    skipped_no_consent: int
    no_address: int
    failed: int
    opens: CampaignRateOut
    clicks: CampaignRateOut
    replies: CampaignRateOut
    unsubscribes: CampaignRateOut
    influenced_revenue: Decimal
    influenced_deals: int
    won_revenue: Decimal
    won_deals: int


class CampaignReportOut(Schema):
    campaign: int
    currency: str
    variants: list[CampaignOutcomeOut]
    test: str
    test_winner: int | None
    winner: int | None


def campaign_out(c: Campaign) -> dict[str, Any]:
    return {
        "id": c.pk, "name": c.name, "goal": c.goal, "segment": c.segment_id, "channel": c.channel,
        "purpose": c.purpose.key, "scheduled_at": c.scheduled_at, "budget": c.budget, "cost": c.cost,
        "currency": c.currency, "status": c.status, "attribution_days": c.attribution_days,
        "started_at": c.started_at, "finished_at": c.finished_at,
        "counts": {k: int(v) for k, v in (c.counts or {}).items()}, "winner": c.winner_id,
        "winner_note": c.winner_note,
        "variants": [variant_out(v) for v in c.variants.order_by("id")],
    }  # fmt: skip


def variant_out(v: CampaignVariant) -> dict[str, Any]:
    return {"id": v.pk, "label": v.label, "subject": v.subject, "body": v.body, "weight": v.weight}


def _campaign(request: HttpRequest, campaign_id: int) -> Campaign:
    return selectors.campaign_get(actor=user_of(request), pk=campaign_id)


@router.get("/campaigns", response={200: CampaignPage, **problems(403)}, url_name="campaign-list")
def campaign_list(request: HttpRequest, query: Query[MarketingPageQuery]):
    qs = selectors.campaign_list(actor=user_of(request)).prefetch_related("variants")
    page = keyset_page(qs, order=["-id"], cursor=query.cursor, size=query.size)
    return {"items": [campaign_out(c) for c in page.items], "next_cursor": page.next_cursor}


@router.post("/campaigns", response={201: CampaignOut, **problems(403)}, url_name="campaign-create")
def campaign_create(request: HttpRequest, payload: CampaignCreate, response: HttpResponse):
    """A draft campaign: add variants, then send it (now or at a time)."""
    data = data_of(payload)
    if data.get("seed") is None:
        data.pop("seed", None)
    campaign = services.campaign_create(actor=actor_of(request), data=data)
    response["Location"] = reverse("api:campaign-detail", kwargs={"campaign_id": campaign.pk})
    return Status(201, campaign_out(campaign))


@router.get(
    "/campaigns/{campaign_id}",
    response={200: CampaignOut, **problems(403, 404)},
    url_name="campaign-detail",
)
def campaign_read(request: HttpRequest, campaign_id: int):
    return campaign_out(_campaign(request, campaign_id))


@router.patch(
    "/campaigns/{campaign_id}",
    response={200: CampaignOut, **problems(403, 404)},
    url_name="campaign-update",
)
def campaign_update(request: HttpRequest, campaign_id: int, payload: CampaignPatch):
    """Change a draft or scheduled campaign (once sent, only its goal and cost)."""
    campaign = services.campaign_update(
        actor=actor_of(request), campaign=_campaign(request, campaign_id), data=data_of(payload)
    )
    return campaign_out(campaign)


@router.delete(
    "/campaigns/{campaign_id}",
    response={204: None, **problems(403, 404)},
    url_name="campaign-delete",
)
def campaign_delete(request: HttpRequest, campaign_id: int):
    """Delete a draft or cancelled campaign (422 for one sent: its results are kept)."""
    services.campaign_delete(actor=actor_of(request), campaign=_campaign(request, campaign_id))
    return Status(204, None)


@router.post(
    "/campaigns/{campaign_id}/variants",
    response={201: CampaignVariantOut, **problems(403, 404)},
    url_name="campaign-variant-create",
)
def campaign_variant_create(request: HttpRequest, campaign_id: int, payload: CampaignVariantIn):
    variant = services.variant_create(
        actor=actor_of(request), campaign=_campaign(request, campaign_id), data=data_of(payload)
    )
    return Status(201, variant_out(variant))


@router.patch(
    "/campaigns/{campaign_id}/variants/{variant_id}",
    response={200: CampaignVariantOut, **problems(403, 404)},
    url_name="campaign-variant-update",
)
def campaign_variant_update(
    request: HttpRequest, campaign_id: int, variant_id: int, payload: CampaignVariantPatch
):
    campaign = _campaign(request, campaign_id)
    variant = selectors.variant_get(actor=user_of(request), campaign=campaign, pk=variant_id)
    return variant_out(
        services.variant_update(actor=actor_of(request), variant=variant, data=data_of(payload))
    )


@router.delete(
    "/campaigns/{campaign_id}/variants/{variant_id}",
    response={204: None, **problems(403, 404)},
    url_name="campaign-variant-delete",
)
def campaign_variant_delete(request: HttpRequest, campaign_id: int, variant_id: int):
    campaign = _campaign(request, campaign_id)
    variant = selectors.variant_get(actor=user_of(request), campaign=campaign, pk=variant_id)
    services.variant_delete(actor=actor_of(request), variant=variant)
    return Status(204, None)


@router.post(
    "/campaigns/{campaign_id}/send",
    response={202: CampaignOut, **problems(403, 404)},
    url_name="campaign-send",
)
def campaign_send(request: HttpRequest, campaign_id: int, payload: CampaignSendIn):
    """Send the campaign (a background job), now or at `at`; 422 without an audience or variants."""
    campaign = services.campaign_schedule(
        actor=actor_of(request), campaign=_campaign(request, campaign_id), at=payload.at
    )
    return Status(202, campaign_out(selectors.campaign_get(actor=user_of(request), pk=campaign.pk)))


@router.post(
    "/campaigns/{campaign_id}/winner",
    response={200: CampaignOut, **problems(403, 404)},
    url_name="campaign-winner",
)
def campaign_winner(request: HttpRequest, campaign_id: int, payload: CampaignWinnerIn):
    """Record the winner: the variant the test finds better on clicks (422 while none is),
    or the one you name."""
    campaign = _campaign(request, campaign_id)
    variant = None
    if payload.variant is not None:
        variant = selectors.variant_get(
            actor=user_of(request), campaign=campaign, pk=payload.variant
        )
    services.campaign_choose_winner(actor=actor_of(request), campaign=campaign, variant=variant)
    return campaign_out(_campaign(request, campaign_id))


def _rate(o: selectors.Outcome, name: str) -> dict[str, Any]:
    low, high = o.intervals[name]
    return {"count": getattr(o, name), "rate": o.rate(name), "low": low, "high": high}


@router.get(
    "/campaigns/{campaign_id}/report",
    response={200: CampaignReportOut, **problems(403, 404)},
    url_name="campaign-report",
)
def campaign_report(request: HttpRequest, campaign_id: int):
    """Per variant: delivered, skipped for consent, opens, clicks, replies, unsubscribes
    (each with its 95 % Wilson interval), influenced and won revenue."""
    campaign = _campaign(request, campaign_id)
    report = selectors.campaign_report(actor=user_of(request), campaign=campaign)
    return {
        "campaign": campaign.pk,
        "currency": campaign.currency,
        "variants": [
            {
                "variant": o.variant.pk,
                "label": o.label,
                "recipients": o.recipients,
                "delivered": o.delivered,
                "skipped_no_consent": o.skipped,
                "no_address": o.no_address,
                "failed": o.failed,
                "opens": _rate(o, "opens"),
                "clicks": _rate(o, "clicks"),
                "replies": _rate(o, "replies"),
                "unsubscribes": _rate(o, "unsubscribes"),
                "influenced_revenue": o.influenced,
                "influenced_deals": o.influenced_deals,
                "won_revenue": o.won,
                "won_deals": o.won_deals,
            }  # fmt: skip
            for o in report.variants
        ],
        "test": report.test.reason,
        "test_winner": report.test.winner,
        "winner": campaign.winner_id,
    }


# --- Events ---------------------------------------------------------------------------


class CampaignEventOut(Schema):
    id: int
    name: str
    starts_on: dt.date
    ends_on: dt.date | None
    place: str
    purpose: str | None
    consent_text: str
    people: int


class CampaignEventIn(In):
    name: str = Field(max_length=200)
    starts_on: dt.date
    ends_on: dt.date | None = None
    place: str = Field("", max_length=200)
    purpose: str | None = Field(None, max_length=50, description="The consent purpose asked there")
    consent_text: str = Field("", max_length=2000)


class CampaignEventPersonIn(In):
    contact: int = Field(ge=1, le=2**63 - 1)
    consent: bool = Field(False, description="They agreed to the event's purpose (by e-mail)")
    note: str = Field("", max_length=300)


class CampaignEventPersonOut(Schema):
    id: int
    contact: int
    consent_event: int | None
    note: str


def event_out(e: Event) -> dict[str, Any]:
    return {
        "id": e.pk, "name": e.name, "starts_on": e.starts_on, "ends_on": e.ends_on, "place": e.place,
        "purpose": e.purpose.key if e.purpose else None, "consent_text": e.consent_text,
        "people": e.people.count(),
    }  # fmt: skip


def person_out(p: EventContact) -> dict[str, Any]:
    return {
        "id": p.pk,
        "contact": p.contact_id,
        "consent_event": p.consent_event_id,
        "note": p.note,
    }


@router.get(
    "/marketing-events",
    response={200: list[CampaignEventOut], **problems(403)},
    url_name="marketing-event-list",
)
def event_list(request: HttpRequest):
    return [event_out(e) for e in selectors.event_list(actor=user_of(request))[:200]]


@router.post(
    "/marketing-events",
    response={201: CampaignEventOut, **problems(403)},
    url_name="marketing-event-create",
)
def event_create(request: HttpRequest, payload: CampaignEventIn):
    return Status(
        201, event_out(services.event_create(actor=actor_of(request), data=data_of(payload)))
    )


@router.get(
    "/marketing-events/{event_id}/people",
    response={200: list[CampaignEventPersonOut], **problems(403, 404)},
    url_name="marketing-event-people",
)
def event_people(request: HttpRequest, event_id: int):
    user = user_of(request)
    event = selectors.event_get(actor=user, pk=event_id)
    return [person_out(p) for p in selectors.event_people(actor=user, event=event)[:1000]]


@router.post(
    "/marketing-events/{event_id}/people",
    response={201: CampaignEventPersonOut, **problems(403, 404)},
    url_name="marketing-event-person-add",
)
def event_person_add(request: HttpRequest, event_id: int, payload: CampaignEventPersonIn):
    """A person met at the event; with `consent`, the event's purpose is recorded as
    granted in person, with the event's wording as evidence."""
    user = user_of(request)
    event = selectors.event_get(actor=user, pk=event_id)
    contact = Contact.objects.filter(pk=payload.contact).first()
    if contact is None:
        raise NotFound("No such contact.")
    person = services.event_person_add(
        actor=actor_of(request),
        event=event,
        contact=contact,
        consent=payload.consent,
        note=payload.note,
    )
    return Status(201, person_out(person))

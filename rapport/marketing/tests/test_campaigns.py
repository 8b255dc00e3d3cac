"""Campaigns: the seeded split, sending through the consent gate with each recipient's
consent checked at send time, the touchpoint per message sent, and the report."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.core import mail
from django.utils import timezone

from rapport.consent.models import OutboundMessage
from rapport.core import touchpoints
from rapport.core.errors import ValidationFailed
from rapport.customers.tests.factories import make_account, make_contact
from rapport.marketing import selectors, services
from rapport.marketing.models import Campaign, CampaignRecipient
from rapport.marketing.tests.factories import SYSTEM, grant, make_campaign, make_segment, withdraw
from rapport.sales import services as sales_services
from rapport.sales.tests.factories import make_deal, stage

pytestmark = pytest.mark.django_db
EVERYONE = {"op": "and", "rules": []}


def audience(n: int, *, consent: bool = True, account=None):
    people = [make_contact(account=account) for _ in range(n)]
    for p in people:
        if consent:
            grant(p)
    return people


def send(campaign, capture):
    with capture(execute=True):
        services.campaign_schedule(actor=SYSTEM, campaign=campaign)
    campaign.refresh_from_db()
    return campaign


def test_the_split_is_seeded_recorded_and_follows_the_weights():
    people = audience(200, consent=False)
    campaign = make_campaign(segment=make_segment(rules=EVERYONE), variants=2)
    variants = list(campaign.variants.order_by("id"))
    first = services.assign_variants(
        seed=7, campaign_id=campaign.pk, contact_ids=[p.pk for p in people], variants=variants
    )
    again = services.assign_variants(
        seed=7,
        campaign_id=campaign.pk,
        contact_ids=[p.pk for p in reversed(people)],
        variants=variants,
    )
    other = services.assign_variants(
        seed=8, campaign_id=campaign.pk, contact_ids=[p.pk for p in people], variants=variants
    )
    assert [(pk, v.pk, d) for pk, v, d in first] == [(pk, v.pk, d) for pk, v, d in again]
    assert [v.pk for _, v, _ in first] != [v.pk for _, v, _ in other]
    shares = Counter(v.label for _, v, _ in first)
    assert 70 <= shares["A"] <= 130  # 1:1 weights, 200 people
    variants[0].weight = 3
    weighted = Counter(
        v.label
        for _, v, _ in services.assign_variants(
            seed=7, campaign_id=campaign.pk, contact_ids=[p.pk for p in people], variants=variants
        )
    )
    assert weighted["A"] > 120
    assert all(d < 0.5 for _, v, d in first if v.label == "A")


def test_a_campaign_goes_through_the_gate_and_skips_whoever_has_no_consent(
    django_capture_on_commit_callbacks,
):
    allowed = audience(3)
    never_asked = audience(1, consent=False)[0]
    withdrawn = audience(1)[0]
    withdraw(withdrawn)
    campaign = send(
        make_campaign(segment=make_segment(rules=EVERYONE)), django_capture_on_commit_callbacks
    )

    assert campaign.status == Campaign.Status.SENT
    assert campaign.counts["sent"] == 3
    assert campaign.counts["blocked"] == 2
    sent_to = sorted(m.to[0] for m in mail.outbox)
    assert sent_to == sorted(p.emails.get().email for p in allowed)
    rows = {r.contact_id: r for r in CampaignRecipient.objects.filter(campaign=campaign)}
    assert rows[never_asked.pk].status == CampaignRecipient.Status.BLOCKED
    assert "never asked" in rows[never_asked.pk].reason
    assert rows[withdrawn.pk].status == CampaignRecipient.Status.BLOCKED
    message = mail.outbox[0]
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "https://crm.example.com/m/c/" in message.body  # links go through the redirect
    html = message.alternatives[0][0]
    assert "https://crm.example.com/m/o/" in html  # the open pixel
    assert OutboundMessage.objects.filter(related_kind="campaign").count() == 5


def test_a_withdrawal_after_queueing_stops_that_message(django_capture_on_commit_callbacks):
    people = audience(4)
    campaign = make_campaign(segment=make_segment(rules=EVERYONE))
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SCHEDULED)
    campaign.refresh_from_db()
    services._prepare(campaign)  # the batch is queued with the gate...
    withdraw(people[2])  # ...and then the person withdraws, before it goes
    counts = services.campaign_send_run(campaign_id=campaign.pk)
    assert counts["sent"] == 3 and counts["blocked"] == 1
    assert (
        CampaignRecipient.objects.get(contact=people[2]).status == CampaignRecipient.Status.BLOCKED
    )
    assert people[2].emails.get().email not in [m.to[0] for m in mail.outbox]
    # Run again: nothing is sent twice.
    services.campaign_send_run(campaign_id=campaign.pk)
    assert len(mail.outbox) == 3


def test_every_message_sent_reaches_the_campaign_sent_touchpoint(
    django_capture_on_commit_callbacks,
):
    heard: list[touchpoints.Touchpoint] = []
    touchpoints.register_listener(heard.append)
    try:
        people = audience(2)
        audience(1, consent=False)
        campaign = send(
            make_campaign(segment=make_segment(rules=EVERYONE)), django_capture_on_commit_callbacks
        )
    finally:
        touchpoints._listeners.remove(heard.append)
    sent = [p for p in heard if p.kind == "campaign_sent"]
    assert sorted(p.contact_id for p in sent) == sorted(p.pk for p in people)
    assert {(p.department, p.object_kind, p.object_id) for p in sent} == {
        ("marketing", "campaign", campaign.pk)
    }


def test_a_campaign_without_audience_or_variants_cannot_be_sent():
    with pytest.raises(ValidationFailed) as caught:
        services.campaign_schedule(actor=SYSTEM, campaign=make_campaign(variants=0))
    assert set(caught.value.errors) == {"segment", "variants"}


def test_a_scheduled_campaign_waits_for_its_time(django_capture_on_commit_callbacks):
    audience(1)
    campaign = make_campaign(segment=make_segment(rules=EVERYONE))
    later = timezone.now() + dt.timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_schedule(actor=SYSTEM, campaign=campaign, at=later)
    assert not mail.outbox
    assert services.campaigns_due() == []
    assert services.campaigns_due(now=later + dt.timedelta(minutes=1)) == [campaign.pk]


def test_marketing_runs_campaigns_and_sales_only_reads_them(personas):
    from rapport.core.actor import Actor
    from rapport.core.errors import PermissionDenied

    mia, bob = Actor(user=personas["mia"], via="web"), Actor(user=personas["bob"], via="web")
    campaign = services.campaign_create(actor=mia, data={"name": "Mine", "purpose": "product_news"})
    with pytest.raises(PermissionDenied):
        services.campaign_create(actor=bob, data={"name": "His", "purpose": "product_news"})
    with pytest.raises(PermissionDenied):
        services.variant_create(
            actor=bob, campaign=campaign, data={"label": "A", "subject": "s", "body": "b"}
        )
    assert selectors.campaign_get(actor=personas["bob"], pk=campaign.pk) == campaign


def test_a_sent_campaign_keeps_its_audience_and_variants(django_capture_on_commit_callbacks):
    audience(1)
    campaign = send(
        make_campaign(segment=make_segment(rules=EVERYONE)), django_capture_on_commit_callbacks
    )
    with pytest.raises(ValidationFailed):
        services.campaign_update(actor=SYSTEM, campaign=campaign, data={"name": "Other"})
    with pytest.raises(ValidationFailed):
        services.variant_create(
            actor=SYSTEM, campaign=campaign, data={"label": "C", "subject": "s", "body": "b"}
        )
    assert (
        services.campaign_update(actor=SYSTEM, campaign=campaign, data={"cost": "120.50"}).cost
        == 120.5
    )


def test_revenue_is_attributed_to_the_variant_of_the_first_message_to_the_account(
    django_capture_on_commit_callbacks,
):
    acme = make_account()
    audience(1, account=acme)
    before = make_deal(account=acme, amount="999")  # before the send: not influenced
    campaign = send(
        make_campaign(segment=make_segment(rules=EVERYONE), variants=1, attribution_days=30),
        django_capture_on_commit_callbacks,
    )
    influenced = make_deal(account=acme, amount="1000")
    won = make_deal(account=acme, amount="500")
    sales_services.deal_stage_change(actor=SYSTEM, deal=won, stage=stage("Won"))
    late = make_deal(account=acme, amount="70")
    from rapport.sales.models import Deal

    Deal.objects.filter(pk=late.pk).update(created_at=timezone.now() + dt.timedelta(days=40))
    (outcome,) = selectors.variant_outcomes(campaign=campaign)
    assert outcome.influenced == 1500  # the two deals created in the window
    assert outcome.won == 500
    assert outcome.influenced_deals == 2 and outcome.won_deals == 1
    assert before.pk and influenced.pk


def test_the_report_gives_rates_with_wilson_intervals(django_capture_on_commit_callbacks):
    audience(4)
    campaign = send(
        make_campaign(segment=make_segment(rules=EVERYONE), variants=1),
        django_capture_on_commit_callbacks,
    )
    rows = list(CampaignRecipient.objects.filter(campaign=campaign, status="sent"))
    services.record_open(token=services.open_token(rows[0].pk))
    services.record_click(token=services.click_token(rows[1].pk, 0))
    report = selectors.campaign_report(actor=None, campaign=campaign)
    (outcome,) = report.variants
    assert (outcome.delivered, outcome.opens, outcome.clicks) == (4, 2, 1)  # a click is an open
    low, high = outcome.intervals["clicks"]
    assert low < 0.25 < high and low > 0
    assert report.test.winner is None  # one variant: nothing to test

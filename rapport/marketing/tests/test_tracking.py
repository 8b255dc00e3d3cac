"""What recipients did: the open pixel, the signed click redirect (never an open redirect),
replies learned from incoming mail, and unsubscribes through the consent app's link."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from rapport.consent.delivery import unsubscribe_token
from rapport.consent.models import OutboundMessage
from rapport.consent.services import consent_unsubscribe
from rapport.core.actor import Actor
from rapport.customers.tests.factories import make_contact
from rapport.marketing import selectors, services
from rapport.marketing.models import CampaignRecipient
from rapport.marketing.tests.factories import SYSTEM, grant, make_campaign, make_segment
from rapport.timeline.models import Entry

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    people = [make_contact() for _ in range(2)]
    for p in people:
        grant(p)
    campaign = make_campaign(
        segment=make_segment(rules={}), variants=1,
        body="See https://shop.example.com/spring and https://shop.example.com/terms.",
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_schedule(actor=SYSTEM, campaign=campaign)
    campaign.refresh_from_db()
    return campaign, list(CampaignRecipient.objects.filter(campaign=campaign).order_by("id"))


def test_the_pixel_counts_opens_and_always_answers_a_gif(client, sent):
    _, (first, _) = sent
    url = reverse("marketing:open", args=[services.open_token(first.pk)])
    assert client.get(url)["Content-Type"] == "image/gif"
    client.get(url)
    first.refresh_from_db()
    assert first.open_count == 2 and first.opened_at is not None
    forged = client.get(reverse("marketing:open", args=[f"{first.pk}:forged"]))
    assert forged.status_code == 200 and forged["Content-Type"] == "image/gif"
    assert forged["Cache-Control"] == "no-store, private"


def test_a_click_goes_to_the_variants_link_and_is_counted(client, sent):
    _, (first, _) = sent
    response = client.get(reverse("marketing:click", args=[services.click_token(first.pk, 1)]))
    assert response.status_code == 302
    assert response["Location"] == "https://shop.example.com/terms"
    first.refresh_from_db()
    assert first.click_count == 1 and first.clicked_at and first.opened_at
    entry = Entry.objects.get(kind="campaign_click")
    assert entry.data["url"] == "https://shop.example.com/terms"
    client.get(reverse("marketing:click", args=[services.click_token(first.pk, 1)]))
    assert Entry.objects.filter(kind="campaign_click").count() == 1  # the first click only


def test_a_click_link_cannot_be_pointed_anywhere_else(client, sent):
    _, (first, _) = sent
    for token in (
        services.click_token(first.pk, 7),  # no such link
        f"{first.pk}.0:forgedsignature",
        services.open_token(first.pk),  # another salt
        "evil.example.com",
    ):
        assert client.get(reverse("marketing:click", args=[token])).status_code == 404


def test_the_message_text_carries_the_tracked_links_not_the_raw_ones(sent):
    body = mail.outbox[0].body
    assert "https://shop.example.com/spring" not in body
    assert body.count("https://crm.example.com/m/c/") == 2
    assert "/c/preferences/" in body  # the preference centre in the footer


def test_a_reply_to_a_campaign_message_counts_for_its_variant(sent):
    from rapport.ingest.mail.services import receive

    campaign, (first, second) = sent
    raw = (
        f"From: Someone <{first.address}>\r\nTo: news@rapport.example\r\n"
        f"Subject: Re: Subject A\r\nMessage-ID: <reply-1@example.com>\r\n"
        f"In-Reply-To: <{first.message_id}>\r\nDate: Mon, 1 Dec 2026 10:00:00 +0000\r\n\r\nTell me more.\r\n"
    )
    receive(raw.encode(), actor=Actor(user=None, via="system"))
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.replied_at is not None and second.replied_at is None
    assert Entry.objects.filter(kind="campaign_reply").count() == 1
    (outcome,) = selectors.variant_outcomes(campaign=campaign)
    assert outcome.replies == 1


def test_someone_else_quoting_the_message_id_is_not_a_reply(sent):
    _, (first, _) = sent
    services.record_replies(
        message_ids=[first.message_id],
        contact_ids=[],
        from_address="stranger@example.net",
        at=first.sent_at,
    )
    first.refresh_from_db()
    assert first.replied_at is None


def test_an_unsubscribe_through_the_consent_link_counts_for_the_variant(sent):
    campaign, (first, _) = sent
    message = OutboundMessage.objects.get(pk=first.outbound_id)
    consent_unsubscribe(token=unsubscribe_token(message))
    (outcome,) = selectors.variant_outcomes(campaign=campaign)
    assert outcome.unsubscribes == 1

"""Marketing in the shared registries (merge, export and erasure, timeline kinds, demo)
and the event contacts with the consent captured there."""

from __future__ import annotations

import pytest
from django.utils import timezone

from conftest import actor
from rapport.consent.check import consent_allows
from rapport.consent.models import ConsentEvent, Source, Status
from rapport.core import privacy
from rapport.customers.tests.factories import make_contact
from rapport.identity import services as identity
from rapport.marketing import services
from rapport.marketing.demo import marketing_demo_load
from rapport.marketing.models import Campaign, CampaignRecipient, EventContact, SegmentMember
from rapport.marketing.tests.factories import SYSTEM, grant, make_campaign, make_segment
from rapport.timeline.models import Entry

pytestmark = pytest.mark.django_db


def _sent_to(contact, django_capture_on_commit_callbacks):
    grant(contact)
    campaign = make_campaign(
        segment=make_segment(rules={"field": "contact.email_domain", "op": "not_empty"}), variants=1
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_schedule(actor=SYSTEM, campaign=campaign)
    return campaign


def test_a_merge_moves_the_recipient_rows_and_an_unmerge_puts_them_back(
    personas, django_capture_on_commit_callbacks
):
    stella = actor(personas["stella"])
    keep = make_contact(full_name="Dana Doe", emails=["dana@a.example"])
    gone = make_contact(full_name="Dana Doe", emails=["dana@b.example"])
    grant(keep)
    campaign = _sent_to(gone, django_capture_on_commit_callbacks)
    row = CampaignRecipient.objects.get(campaign=campaign, contact=gone)
    merge = identity.records_merge(
        actor=stella, kind="contact", survivor_id=keep.pk, merged_ids=[gone.pk]
    )
    # Both had received it: the survivor's row stays, the merged one's is folded into it.
    assert list(
        CampaignRecipient.objects.filter(campaign=campaign).values_list("contact_id", flat=True)
    ) == [keep.pk]
    identity.merge_undo(actor=stella, merge=merge)
    assert CampaignRecipient.objects.get(pk=row.pk).contact_id == gone.pk


def test_export_holds_the_campaign_messages_and_erasure_removes_them(
    django_capture_on_commit_callbacks,
):
    person = make_contact(full_name="Erin Example")
    campaign = _sent_to(person, django_capture_on_commit_callbacks)
    static = make_segment(rules={"field": "contact.email_domain", "op": "not_empty"}, kind="static")
    exported = privacy.export_all(contact_id=person.pk)["marketing"]
    assert exported["campaign_messages"][0]["campaign__name"] == campaign.name
    assert exported["campaign_messages"][0]["status"] == "sent"
    assert exported["segments"] == [static.name]
    privacy.erase_all(actor=SYSTEM, contact_id=person.pk)
    assert not CampaignRecipient.objects.filter(contact_id=person.pk).exists()
    assert not SegmentMember.objects.filter(contact_id=person.pk).exists()


def test_a_person_met_at_an_event_with_their_consent(personas):
    mia = actor(personas["mia"])
    event = services.event_create(
        actor=mia,
        data={
            "name": "Fair",
            "starts_on": "2026-03-01",
            "purpose": "product_news",
            "consent_text": "Send me product news.",
        },
    )
    person = make_contact()
    met = services.event_person_add(
        actor=mia, event=event, contact=person, consent=True, note="Stand 12"
    )
    consent = ConsentEvent.objects.get(pk=met.consent_event_id)
    assert (consent.status, consent.source, consent.evidence_text) == (
        Status.GRANTED,
        Source.IN_PERSON,
        "Send me product news.",
    )
    assert consent_allows(
        contact_id=person.pk,
        address=person.emails.get().email,
        channel="email",
        purpose="product_news",
    ).allowed
    assert Entry.objects.filter(kind="event_met").count() == 1
    again = services.event_person_add(actor=mia, event=event, contact=person, consent=True)
    assert again.pk == met.pk and ConsentEvent.objects.filter(contact=person).count() == 1
    assert EventContact.objects.filter(event=event).count() == 1


def test_sales_reads_events_but_does_not_add_people(personas):
    from rapport.core.errors import PermissionDenied

    event = services.event_create(
        actor=actor(personas["mia"]), data={"name": "Fair", "starts_on": "2026-03-01"}
    )
    with pytest.raises(PermissionDenied):
        services.event_person_add(
            actor=actor(personas["bob"]), event=event, contact=make_contact(owner=personas["bob"])
        )


def test_the_demo_adds_campaigns_with_variants_and_nothing_in_the_future():
    for _ in range(30):
        make_contact(lifecycle="customer")
    message = marketing_demo_load(seed=1)
    assert "4 campaigns" in message
    now = timezone.now()
    assert Campaign.objects.filter(status="sent").count() == 4
    assert not CampaignRecipient.objects.filter(sent_at__gt=now).exists()
    assert not CampaignRecipient.objects.filter(opened_at__gt=now).exists()
    assert not CampaignRecipient.objects.filter(clicked_at__gt=now).exists()
    assert not Entry.objects.filter(occurred_at__gt=now).exists()
    assert CampaignRecipient.objects.filter(clicked_at__isnull=False).exists()
    assert marketing_demo_load(seed=1).endswith("none added")

"""Marketing: segments over the customer master, campaigns with message variants, the
people who received them and what they did, and the people met at events."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from rapport.core.models import TimestampedModel
from rapport.sales.models import DEFAULT_CURRENCY


class Segment(TimestampedModel):
    """A set of contacts described by rules (``rapport.marketing.rules``).

    Dynamic: the rules are evaluated whenever the segment is read (counted, previewed, sent
    to), so membership follows the records as they change (decision 0024). Static: the
    membership was frozen into ``SegmentMember`` rows when the segment was frozen."""

    class Kind(models.TextChoices):
        DYNAMIC = "dynamic", "Dynamic (follows the records)"
        STATIC = "static", "Static (frozen list)"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.DYNAMIC)
    rules = models.JSONField(default=dict, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    frozen_at = models.DateTimeField(null=True, blank=True)
    # The last count shown (a list page does not evaluate every segment's rules).
    last_count = models.PositiveIntegerField(null=True, blank=True)
    counted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class SegmentMember(models.Model):
    """A contact frozen into a static segment."""

    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, related_name="members", db_index=False
    )
    contact = models.ForeignKey(
        "customers.Contact", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "contact"], name="unique_segment_member")
        ]
        indexes = [models.Index(fields=["contact"], name="segment_member_contact_idx")]

    def __str__(self) -> str:
        # No name: the member list is read only by those who may see the contacts.
        return f"member {self.contact_id} of segment {self.segment_id}"


class Campaign(TimestampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        CANCELLED = "cancelled", "Cancelled"

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"

    name = models.CharField(max_length=200)
    goal = models.TextField(blank=True)
    segment = models.ForeignKey(
        Segment, null=True, blank=True, on_delete=models.PROTECT, related_name="campaigns"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    purpose = models.ForeignKey("consent.Purpose", on_delete=models.PROTECT, related_name="+")
    scheduled_at = models.DateTimeField(null=True, blank=True)
    budget = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    cost = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The split's seed: the same seed and contacts give the same variants.
    seed = models.PositiveIntegerField(default=0)
    attribution_days = models.PositiveSmallIntegerField(default=30)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    batch_id = models.BigIntegerField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    winner = models.ForeignKey(
        "CampaignVariant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    winner_note = models.CharField(max_length=300, blank=True)
    winner_chosen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "scheduled_at"], name="campaign_due_idx")]

    def __str__(self) -> str:
        return self.name


class CampaignVariant(models.Model):
    """One version of the message (subject and body); recipients are split among them."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="variants")
    label = models.CharField(max_length=40)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    weight = models.PositiveSmallIntegerField(default=1)
    # The links of the body, frozen when the campaign is sent: a click names an index
    # into this list, never a URL, so the redirect cannot be pointed anywhere else.
    links = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["campaign", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "label"], name="unique_variant_label")
        ]

    def __str__(self) -> str:
        return f"{self.label}: {self.subject}"


class CampaignRecipient(models.Model):
    """A contact the campaign was sent to: the variant drawn, what became of the message,
    and what the person did with it."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        BLOCKED = "blocked", "Skipped: no consent at send time"
        FAILED = "failed", "Failed"
        BOUNCED = "bounced", "Bounced"
        NO_ADDRESS = "no_address", "Skipped: no e-mail address"

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="recipients", db_index=False
    )
    variant = models.ForeignKey(
        CampaignVariant, on_delete=models.CASCADE, related_name="recipients", db_index=False
    )
    contact = models.ForeignKey(
        "customers.Contact", null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    account = models.ForeignKey(
        "customers.Account", null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    address = models.CharField(max_length=254, blank=True)
    # The seeded draw in [0, 1) that chose the variant (recorded: the split can be audited).
    draw = models.FloatField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    reason = models.CharField(max_length=300, blank=True)
    message_id = models.CharField(max_length=250, blank=True)
    outbound_id = models.BigIntegerField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    open_count = models.PositiveIntegerField(default=0)
    clicked_at = models.DateTimeField(null=True, blank=True)
    click_count = models.PositiveIntegerField(default=0)
    replied_at = models.DateTimeField(null=True, blank=True)
    # Unsubscribes are the consent app's (its one-click link): read from its history.

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "contact"], name="unique_campaign_recipient"
            )
        ]
        indexes = [
            models.Index(fields=["campaign", "variant", "status"], name="recipient_variant_idx"),
            models.Index(fields=["contact", "-sent_at"], name="recipient_contact_idx"),
            models.Index(fields=["message_id"], name="recipient_message_idx"),
        ]

    def __str__(self) -> str:
        return f"recipient {self.contact_id} of campaign {self.campaign_id}"


class Event(TimestampedModel):
    """A trade fair, a meetup, a seminar: where people were met."""

    name = models.CharField(max_length=200)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    place = models.CharField(max_length=200, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What the people met there are asked to agree to (e.g. "events" or "product_news").
    purpose = models.ForeignKey(
        "consent.Purpose", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    consent_text = models.TextField(blank=True, help_text="The words shown to the person")

    class Meta:
        ordering = ["-starts_on", "-id"]

    def __str__(self) -> str:
        return self.name


class EventContact(TimestampedModel):
    """A person met at an event, with the consent they gave there (if any)."""

    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="people", db_index=False
    )
    contact = models.ForeignKey(
        "customers.Contact", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # The business card's timeline entry, when the person came from a card.
    card_entry = models.ForeignKey(
        "timeline.Entry", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    consent_event = models.ForeignKey(
        "consent.ConsentEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    met_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["event", "id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "contact"], name="unique_event_contact")
        ]
        indexes = [models.Index(fields=["contact"], name="event_contact_idx")]

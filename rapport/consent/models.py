"""Consent per channel and purpose, the one gate every outbound message passes, privacy requests.

``ConsentEvent`` is the history: append-only, one row per grant, withdrawal or pending
double opt-in, with its evidence. ``ConsentState`` is the current state derived from it,
one row per contact, channel, purpose and address, kept by the services (and combined by a
merge) so the send gate reads one indexed row per message. "Never asked" is the absence of
a row. ``Suppression`` keeps addresses that must never be mailed again as peppered hashes.
``OutboundMessage`` is one e-mail queued through the gate, with its fate.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from rapport.core.models import TimestampedModel


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    PHONE = "phone", "Phone"
    SMS = "sms", "SMS"
    POST = "post", "Post"
    MESSAGING = "messaging", "Messaging"


class LawfulBasis(models.TextChoices):
    CONSENT = "consent", "Consent"
    CONTRACT = "contract", "Contract"
    LEGITIMATE_INTEREST = "legitimate_interest", "Legitimate interest"
    LEGAL_OBLIGATION = "legal_obligation", "Legal obligation"


class Status(models.TextChoices):
    GRANTED = "granted", "Granted"
    WITHDRAWN = "withdrawn", "Withdrawn"
    # A grant waiting for the person to confirm it (double opt-in): not yet a consent.
    PENDING = "pending", "Pending confirmation"


class Source(models.TextChoices):
    FORM = "form", "Web form"
    IMPORT = "import", "Import"
    CALL = "call", "Call"
    EMAIL = "email", "E-mail"
    IN_PERSON = "in_person", "In person"
    PREFERENCE_CENTRE = "preference_centre", "Preference centre"
    UNSUBSCRIBE = "unsubscribe", "Unsubscribe link"
    CONFIRMATION = "confirmation", "Double opt-in confirmation"
    BOUNCE = "bounce", "Bounce or complaint"
    API = "api", "API"
    MERGE = "merge", "Merge"
    OTHER = "other", "Other"


class Purpose(TimestampedModel):
    """What a message is for (admin-defined). Its lawful basis decides whether an opt-in is
    needed: contract and legal obligation need none, legitimate interest stops at an
    objection, consent needs a grant."""

    key = models.SlugField(max_length=50, unique=True)
    label = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    lawful_basis = models.CharField(
        max_length=20, choices=LawfulBasis.choices, default=LawfulBasis.CONSENT
    )
    double_opt_in = models.BooleanField(
        default=False, help_text="An e-mail grant counts only once the person confirms it."
    )
    # Marketing messages carry one-click unsubscribe headers; service messages do not.
    is_marketing = models.BooleanField(default=True)
    active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "key"]

    def __str__(self) -> str:
        return self.label

    @property
    def needs_opt_in(self) -> bool:
        return self.lawful_basis == LawfulBasis.CONSENT


class ConsentEvent(models.Model):
    """One change of consent, as it happened. Never updated or deleted (but by an erasure)."""

    contact = models.ForeignKey(
        "customers.Contact", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # Where the consent is for one address or number rather than the whole contact.
    email = models.ForeignKey(
        "customers.ContactEmail", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    phone = models.ForeignKey(
        "customers.ContactPhone", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The normalised address or number ("" for the whole contact): kept when the row it
    # came from goes (a merge folds duplicates), and the key of the current state.
    address = models.CharField(max_length=254, blank=True)
    channel = models.CharField(max_length=12, choices=Channel.choices)
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="+")
    lawful_basis = models.CharField(max_length=20, choices=LawfulBasis.choices)
    status = models.CharField(max_length=10, choices=Status.choices)
    source = models.CharField(max_length=20, choices=Source.choices)
    evidence_text = models.TextField(blank=True, help_text="The words shown to the person")
    evidence_version = models.CharField(max_length=50, blank=True)
    note = models.CharField(max_length=300, blank=True)
    effective_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=20)

    class Meta:
        indexes = [
            models.Index(
                fields=["contact", "-effective_at", "-id"], name="consent_event_contact_idx"
            ),
            models.Index(fields=["-recorded_at", "-id"], name="consent_event_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel}/{self.purpose_id}: {self.status}"


class ConsentState(models.Model):
    """The current state for one contact, channel, purpose and address ("" = the contact)."""

    contact = models.ForeignKey(
        "customers.Contact", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    channel = models.CharField(max_length=12, choices=Channel.choices)
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="+")
    address = models.CharField(max_length=254, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    lawful_basis = models.CharField(max_length=20, choices=LawfulBasis.choices)
    event = models.ForeignKey(ConsentEvent, null=True, on_delete=models.SET_NULL, related_name="+")
    effective_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "channel", "purpose", "address"], name="one_consent_state"
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel}/{self.purpose_id}/{self.address or '*'}: {self.status}"


class Suppression(TimestampedModel):
    """An address never to be contacted again on a channel, kept only as a peppered hash
    (``rapport.consent.suppression``), so it outlives the erasure of the person."""

    class Reason(models.TextChoices):
        ERASURE = "erasure", "Erased and asked not to be contacted"
        BOUNCE = "bounce", "Hard bounce"
        COMPLAINT = "complaint", "Spam complaint"
        MANUAL = "manual", "Added by staff"

    channel = models.CharField(max_length=12, choices=Channel.choices, default=Channel.EMAIL)
    address_hash = models.CharField(max_length=64)
    reason = models.CharField(max_length=12, choices=Reason.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "address_hash"], name="one_suppression")
        ]


class SendBatch(TimestampedModel):
    """Many messages sent by one job (a campaign's audience, a survey wave)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        DONE = "done", "Done"

    name = models.CharField(max_length=200)
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class OutboundMessage(models.Model):
    """One e-mail through the gate: what to send, and what became of it."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        # Claimed by a worker that is handing it to the mail server right now.
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        BLOCKED = "blocked", "Blocked by consent"
        FAILED = "failed", "Failed"
        BOUNCED = "bounced", "Bounced"

    contact = models.ForeignKey(
        "customers.Contact", null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    batch = models.ForeignKey(
        SendBatch, null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=12, choices=Channel.choices, default=Channel.EMAIL)
    to_address = models.CharField(max_length=254)
    from_address = models.CharField(max_length=254)
    reply_to = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=300)
    text = models.TextField()
    html = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    message_id = models.CharField(max_length=250, unique=True)
    in_reply_to = models.CharField(max_length=250, blank=True)
    references = models.JSONField(default=list, blank=True)
    related_kind = models.CharField(max_length=30, blank=True)
    related_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    reason = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    provider_message_id = models.CharField(max_length=250, blank=True)
    queued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=20, blank=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["contact", "-id"], name="outbound_contact_idx"),
            models.Index(fields=["batch", "status", "id"], name="outbound_batch_idx"),
            models.Index(fields=["related_kind", "related_id"], name="outbound_related_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to_address}"


class PrivacyRequest(TimestampedModel):
    """A person's request about their data (export, erasure, rectification), with its
    deadline (one month after it was received) and what became of it.

    ``contact_ref`` keeps the contact's id after an erasure deletes the contact (``contact``
    follows a merge to the survivor; ``person_id`` is whichever is current); the
    person's name is kept (``subject_label``) only while the request is open or their
    record exists: an erasure replaces it with the contact's number.
    """

    class Kind(models.TextChoices):
        EXPORT = "export", "Export (subject access)"
        ERASURE = "erasure", "Erasure"
        RECTIFICATION = "rectification", "Rectification"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        REFUSED = "refused", "Refused"

    kind = models.CharField(max_length=15, choices=Kind.choices)
    contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact_ref = models.BigIntegerField(db_index=True)
    subject_label = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField()
    due_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    # How the person asked and what they asked for; an erasure empties it (it is about them).
    details = models.TextField(blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True)
    # What the erasure did and kept, handler by handler (no values of the person).
    record = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["status", "due_at"], name="privacy_request_due_idx")]

    def __str__(self) -> str:
        # No name: the label shows in the audit trail, which outlives the person.
        return f"{self.get_kind_display()} request {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.RECEIVED, self.Status.IN_PROGRESS)

    @property
    def person_id(self) -> int:
        """The contact the request is about now (a merge moves it), else the one it named."""
        return self.contact_id or self.contact_ref

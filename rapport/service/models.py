"""Service: cases, their messages and their status history; the mailboxes and web forms
that open them.

A ``Case`` is a contact's question, complaint, request or incident, worked by a team until
it is resolved and closed. Its reference (``C-000123``) is its primary key, so it never
changes, also through a merge. What a service goal (SLA) clock needs later is kept from
the start: every status change with its moment (``CaseStatusChange``, append-only), when
the first response went out, and the case's kind, priority, channel and account tier.
"""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from rapport.core.models import TimestampedModel, VersionedModel

REFERENCE_PREFIX = "C-"
# "C-000123", "c-123", "[C-000123]" in a subject; the digits are the case's id.
REFERENCE_RE = re.compile(r"\bC-(\d{1,12})\b", re.IGNORECASE)


def reference_of(pk: int) -> str:
    return f"{REFERENCE_PREFIX}{pk:06d}"


def new_form_token() -> str:
    return secrets.token_urlsafe(24)


def pk_of_reference(text: str) -> int | None:
    """The case id a reference names ("C-000123" -> 123), or None when there is none."""
    found = REFERENCE_RE.search(text or "")
    return int(found.group(1)) if found else None


class CaseKind(TimestampedModel):
    """What a case is about: the built-in inquiry, complaint, request and incident, and the
    kinds an admin adds. A built-in kind can be renamed or retired, never deleted."""

    key = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    builtin = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    order = models.PositiveSmallIntegerField(default=50)

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class Case(VersionedModel):
    class Channel(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "E-mail"
        WEB_FORM = "web_form", "Web form"
        SOCIAL = "social", "Social media"
        CHAT = "chat", "Chat"
        IN_PERSON = "in_person", "In person"

    class Priority(models.IntegerChoices):
        # Lower is more urgent, so the queue sorts by it ascending.
        URGENT = 1, "Urgent"
        HIGH = 2, "High"
        NORMAL = 3, "Normal"
        LOW = 4, "Low"

    class Status(models.TextChoices):
        NEW = "new", "New"
        OPEN = "open", "Open"
        WAITING_CUSTOMER = "waiting_customer", "Waiting on customer"
        WAITING_THIRD_PARTY = "waiting_third_party", "Waiting on a third party"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"

    contact = models.ForeignKey(
        "customers.Contact", on_delete=models.CASCADE, related_name="cases", db_index=False
    )
    account = models.ForeignKey(
        "customers.Account",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
        db_index=False,
    )
    kind = models.ForeignKey(CaseKind, on_delete=models.PROTECT, related_name="cases")
    channel = models.CharField(max_length=12, choices=Channel.choices, default=Channel.PHONE)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    # status in OPEN_STATUSES, kept by the services: what the queue's indexes start with.
    is_open = models.BooleanField(default=True)
    subject = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    topic = models.CharField(max_length=100, blank=True, help_text="Product or topic")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    team = models.ForeignKey(
        "users.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    important = models.BooleanField(default=False)
    # The account's service tier when the case was opened ("gold", "standard"…; from the
    # account's data-dictionary field "tier"), for service goals by tier.
    tier = models.CharField(max_length=40, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    OPEN_STATUSES = (
        Status.NEW,
        Status.OPEN,
        Status.WAITING_CUSTOMER,
        Status.WAITING_THIRD_PARTY,
    )

    class Meta:
        indexes = [
            # The agent's queue: a team's (and a person's) open cases by priority, then
            # age, read in index order however many cases there are (is_open rather than
            # a partial index on status: SQLite uses a partial index only for literal
            # values, never for the bound parameters the ORM sends).
            models.Index(
                fields=["team", "is_open", "priority", "created_at", "id"],
                name="case_team_queue_idx",
            ),
            models.Index(
                fields=["owner", "is_open", "priority", "created_at", "id"],
                name="case_owner_queue_idx",
            ),
            models.Index(fields=["contact", "status"], name="case_contact_idx"),
            models.Index(fields=["account", "status"], name="case_account_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    @property
    def reference(self) -> str:
        return reference_of(self.pk) if self.pk else ""


class CaseMessage(TimestampedModel):
    """One message of a case: from the customer, to them, or an internal note (which never
    leaves the company). Each is an entry on the contact's timeline (``entry``)."""

    class Direction(models.TextChoices):
        INBOUND = "in", "From the customer"
        OUTBOUND = "out", "To the customer"
        INTERNAL = "internal", "Internal note"

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        PHONE = "phone", "Phone call"
        WEB_FORM = "web_form", "Web form"
        NOTE = "note", "Note"
        OTHER = "other", "Other"

    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    direction = models.CharField(max_length=10, choices=Direction.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    occurred_at = models.DateTimeField()
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    # E-mail threading, ids without their angle brackets.
    message_id = models.CharField(max_length=250, blank=True)
    in_reply_to = models.CharField(max_length=250, blank=True)
    references = models.JSONField(default=list, blank=True)
    to_address = models.CharField(max_length=254, blank=True)
    # The consent gate's stored outbound message, for a reply (its status says if it went).
    outbound_id = models.BigIntegerField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    entry = models.ForeignKey(
        "timeline.Entry", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["case", "occurred_at", "id"], name="case_message_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["message_id"],
                condition=~Q(message_id=""),
                name="unique_case_message_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.get_direction_display()}"


class CaseStatusChange(models.Model):
    """One move of a case from a status to another, with its moment: append-only, so a
    service-goal clock can replay a case's history."""

    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="status_changes", db_index=False
    )
    from_status = models.CharField(max_length=20, choices=Case.Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Case.Status.choices)
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    entry = models.ForeignKey(
        "timeline.Entry", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["case", "at", "id"], name="case_status_change_idx")]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.from_status or '-'} -> {self.to_status}"


class ServiceMailbox(TimestampedModel):
    """An address whose incoming mail opens and threads cases (support@…), optionally tied
    to the IMAP mailbox that polls it. Set up by an admin (Django admin)."""

    name = models.CharField(max_length=100)
    address = models.EmailField(unique=True, help_text="Lower case; mail to it opens cases")
    mailbox = models.OneToOneField(
        "ingest.Mailbox",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="service",
        help_text="The polled mailbox whose messages all go to this service address",
    )
    team = models.ForeignKey(
        "users.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.ForeignKey(
        CaseKind, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    priority = models.PositiveSmallIntegerField(
        choices=Case.Priority.choices, default=Case.Priority.NORMAL
    )
    # A sender no contact has becomes a new contact (else the message waits as a proposal).
    create_contacts = models.BooleanField(default=True)
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = "service mailboxes"

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>"


class WebForm(TimestampedModel):
    """A public form on the company's site that opens cases; its token is in its URL."""

    name = models.CharField(max_length=100)
    token = models.CharField(max_length=64, unique=True, default=new_form_token, editable=False)
    team = models.ForeignKey(
        "users.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.ForeignKey(
        CaseKind, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    active = models.BooleanField(default=True)
    thanks = models.CharField(
        max_length=300, default="Thank you. We have received your message and will reply by e-mail."
    )

    def __str__(self) -> str:
        return self.name

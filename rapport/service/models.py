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
    # Service goals: the earliest deadline of the case's running targets (the queue sorts
    # by it), whether one is at risk or breached, and the escalation level reached.
    next_due_at = models.DateTimeField(null=True, blank=True)
    sla_state = models.CharField(max_length=10, blank=True, default="")
    escalation_level = models.PositiveSmallIntegerField(default=0)

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
            models.Index(fields=["team", "is_open", "next_due_at", "id"], name="case_team_due_idx"),
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


# --- service goals: calendars, policies, targets -----------------------------------------------


class ServiceCalendar(TimestampedModel):
    """When a team works: a time zone, periods per weekday (several: split shifts, lunch),
    the public holidays of a country (the ``holidays`` package) and the company's own days
    (``CalendarDay``, typed in or imported from iCalendar). The team's calendar counts, not
    the customer's time zone."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    country = models.CharField(
        max_length=2, blank=True, help_text="ISO 3166 code whose public holidays are days off"
    )
    subdivision = models.CharField(max_length=10, blank=True, help_text="State or region code")
    is_default = models.BooleanField(
        default=False, help_text="For cases whose team has no calendar of its own"
    )
    # Grows on every change of the calendar: deadlines computed with another one are stale.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_calendar"
            )
        ]

    def __str__(self) -> str:
        return self.name


class WorkingPeriod(models.Model):
    """One working period of a weekday, in the calendar's local time, in minutes of the day
    (09:00 is 540; the end may be 1440, midnight)."""

    calendar = models.ForeignKey(ServiceCalendar, on_delete=models.CASCADE, related_name="periods")
    weekday = models.PositiveSmallIntegerField(help_text="0 Monday … 6 Sunday")
    start_minute = models.PositiveSmallIntegerField()
    end_minute = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["weekday", "start_minute"]
        constraints = [
            models.CheckConstraint(
                condition=Q(weekday__lte=6)
                & Q(start_minute__lt=models.F("end_minute"))
                & Q(end_minute__lte=1440),
                name="working_period_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.weekday}: {self.start_minute}-{self.end_minute}"


class CalendarDay(models.Model):
    """A day the company does not work (beyond the country's public holidays)."""

    class Source(models.TextChoices):
        MANUAL = "manual", "Typed in"
        ICAL = "ical", "iCalendar import"

    calendar = models.ForeignKey(ServiceCalendar, on_delete=models.CASCADE, related_name="days")
    date = models.DateField()
    name = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="unique_calendar_day")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class ServiceTeam(models.Model):
    """A team's service settings: its calendar, its lead and its manager (escalation)."""

    team = models.OneToOneField("users.Team", on_delete=models.CASCADE, related_name="service")
    calendar = models.ForeignKey(
        ServiceCalendar, null=True, blank=True, on_delete=models.SET_NULL, related_name="teams"
    )
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return str(self.team)


def default_pause_statuses() -> list[str]:
    return [Case.Status.WAITING_CUSTOMER, Case.Status.WAITING_THIRD_PARTY]


class ServicePolicy(TimestampedModel):
    """Service goals for the cases it matches (kind, priority, channel, account tier; empty
    is any): targets in working minutes of the team's calendar, the share of a target at
    which a warning goes out, and the statuses that stop the clock. The most specific
    active policy matches (most criteria given, then ``order``)."""

    name = models.CharField(max_length=100)
    active = models.BooleanField(default=True)
    order = models.PositiveSmallIntegerField(default=50)
    kind = models.ForeignKey(
        CaseKind, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    priority = models.PositiveSmallIntegerField(
        choices=Case.Priority.choices, null=True, blank=True
    )
    channel = models.CharField(max_length=12, choices=Case.Channel.choices, blank=True)
    tier = models.CharField(max_length=40, blank=True)
    first_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    next_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    update_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="An update to the customer at least this often"
    )
    warn_percent = models.PositiveSmallIntegerField(default=80)
    pause_statuses = models.JSONField(default=default_pause_statuses, blank=True)

    class Meta:
        ordering = ["order", "name"]
        verbose_name_plural = "service policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(warn_percent__gte=1) & Q(warn_percent__lte=99),
                name="policy_warn_percent_range",
            )
        ]

    def __str__(self) -> str:
        return self.name


class CaseTarget(models.Model):
    """One service goal of a case, for one cycle (the first response; each customer
    message awaiting an answer; the resolution; each period between updates). The clock
    is kept as a running total: ``used_seconds`` counted up to ``counted_at``, paused or
    not since; ``due_at``/``warn_at`` follow from it and the calendar. ``warned_at`` and
    ``breach_noticed_at`` are set once, by the notice run that sends them."""

    class Kind(models.TextChoices):
        FIRST_RESPONSE = "first_response", "First response"
        NEXT_RESPONSE = "next_response", "Next response"
        RESOLUTION = "resolution", "Resolution"
        UPDATE = "update", "Periodic update"

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        MET = "met", "Met"
        STOPPED = "stopped", "Stopped"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="targets", db_index=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    cycle = models.PositiveIntegerField(default=1)
    policy = models.ForeignKey(
        ServicePolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    calendar = models.ForeignKey(
        ServiceCalendar, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_seconds = models.PositiveIntegerField()
    warn_seconds = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    used_seconds = models.PositiveIntegerField(default=0)
    counted_at = models.DateTimeField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.RUNNING)
    due_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    met_at = models.DateTimeField(null=True, blank=True)
    breached = models.BooleanField(default=False)
    warned_at = models.DateTimeField(null=True, blank=True)
    breach_noticed_at = models.DateTimeField(null=True, blank=True)

    LIVE = (State.RUNNING, State.PAUSED)

    class Meta:
        ordering = ["case", "kind", "cycle"]
        constraints = [
            models.UniqueConstraint(fields=["case", "kind", "cycle"], name="unique_case_target")
        ]
        indexes = [
            # The notice run: running targets whose warning or breach moment has passed.
            models.Index(fields=["state", "warn_at"], name="case_target_warn_idx"),
            models.Index(fields=["state", "due_at"], name="case_target_due_idx"),
            models.Index(fields=["calendar", "state"], name="case_target_calendar_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} #{self.cycle}"


class Notification(models.Model):
    """An in-app notice for a person: a warning, a breach, an escalation, an answer."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=20)
    text = models.CharField(max_length=500)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["recipient", "read_at", "created_at"], name="notification_idx"),
            models.Index(fields=["case"], name="notification_case_idx"),
        ]

    def __str__(self) -> str:
        return self.text


# --- escalation -------------------------------------------------------------------------------


class ServiceExpert(models.Model):
    """A person who answers questions on a topic or product (a skill)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    topic = models.CharField(max_length=100)

    class Meta:
        ordering = ["topic", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "topic"], name="unique_service_expert")
        ]

    def __str__(self) -> str:
        return f"{self.topic}: {self.user}"


class EscalationRule(TimestampedModel):
    """When a case goes to the next level: a target at risk or breached, or a complaint
    marked important; to whom (the team lead, the expert on the case's topic, the
    account's owner in sales, the team's manager, or a named person). Each rule fires at
    most once per case."""

    class Trigger(models.TextChoices):
        AT_RISK = "at_risk", "A target is at risk"
        BREACHED = "breached", "A target is breached"
        IMPORTANT_COMPLAINT = "important_complaint", "A complaint is marked important"

    class Recipient(models.TextChoices):
        TEAM_LEAD = "team_lead", "The team lead"
        EXPERT = "expert", "The expert on the case's topic"
        ACCOUNT_OWNER = "account_owner", "The account's owner"
        MANAGER = "manager", "The team's manager"
        PERSON = "person", "A named person"

    name = models.CharField(max_length=100)
    active = models.BooleanField(default=True)
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    target_kind = models.CharField(
        max_length=16, choices=CaseTarget.Kind.choices, blank=True, help_text="Empty: any target"
    )
    team = models.ForeignKey(
        "users.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    level = models.PositiveSmallIntegerField(default=1)
    recipient = models.CharField(max_length=16, choices=Recipient.choices)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reassign = models.BooleanField(default=False, help_text="Make the recipient the case's owner")

    class Meta:
        ordering = ["level", "id"]

    def __str__(self) -> str:
        return self.name


class CaseEscalation(models.Model):
    """A case sent to a higher level, by a rule or by hand (with the question to answer);
    the answer comes back to the case's owner."""

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for an answer"
        ANSWERED = "answered", "Answered"
        NOTIFIED = "notified", "Notified"

    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="escalations", db_index=False
    )
    rule = models.ForeignKey(
        EscalationRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    level = models.PositiveSmallIntegerField()
    trigger = models.CharField(max_length=20)  # a rule's trigger, or "manual"
    reason = models.CharField(max_length=500)
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    topic = models.CharField(max_length=100, blank=True)
    question = models.TextField(blank=True)
    answer = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NOTIFIED)
    task_id = models.BigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["case", "created_at"], name="case_escalation_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "rule"], condition=Q(rule__isnull=False), name="rule_fires_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id} level {self.level}"

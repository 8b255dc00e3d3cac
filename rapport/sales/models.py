"""Sales: leads, deals, pipelines and stages, the people around a deal, stage history.

Money is a ``Decimal`` amount with an ISO 4217 currency code beside it, never a float
(decision 0015). Every stage change is kept (``DealStageChange``, append-only) with the
amount, probability and forecast category of that moment, so time in stage, the sales
cycle and what the forecast said on a past date can be rebuilt from the rows.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from rapport.core.models import TimestampedModel, VersionedModel

DEFAULT_CURRENCY = "EUR"


class Pipeline(VersionedModel):
    """A sales process with its own ordered stages (new business, renewals…)."""

    name = models.CharField(max_length=100, unique=True)
    is_default = models.BooleanField(default=False)
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY, help_text="ISO 4217")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_pipeline"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Stage(VersionedModel):
    class Kind(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    order = models.PositiveSmallIntegerField(default=0)
    # The chance a deal in this stage is won, 0 to 1 (configured; learned ones come later).
    probability = models.DecimalField(max_digits=4, decimal_places=3, default=Decimal("0"))
    kind = models.CharField(max_length=4, choices=Kind.choices, default=Kind.OPEN)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["pipeline", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "name"], name="unique_stage_name"),
            models.CheckConstraint(
                condition=Q(probability__gte=0) & Q(probability__lte=1),
                name="stage_probability_0_1",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class LostReason(TimestampedModel):
    name = models.CharField(max_length=100, unique=True)
    order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class Deal(VersionedModel):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    class ForecastCategory(models.TextChoices):
        PIPELINE = "pipeline", "Pipeline"
        BEST_CASE = "best_case", "Best case"
        COMMIT = "commit", "Commit"
        CLOSED = "closed", "Closed"
        OMITTED = "omitted", "Omitted"

    name = models.CharField(max_length=200)
    account = models.ForeignKey("customers.Account", on_delete=models.CASCADE, related_name="deals")
    primary_contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY, help_text="ISO 4217")
    expected_close = models.DateField(null=True, blank=True)
    # Not indexed alone: the (owner, status, expected_close) index starts with it.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", db_index=False,
    )  # fmt: skip
    team = models.ForeignKey(
        "users.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=100, blank=True)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="deals")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="deals")
    # Copied from the stage's kind on every change, so lists filter without a join.
    status = models.CharField(max_length=4, choices=Status.choices, default=Status.OPEN)
    forecast_category = models.CharField(
        max_length=10, choices=ForecastCategory.choices, default=ForecastCategory.PIPELINE
    )
    stage_entered_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True, help_text="When won or lost")
    lost_reason = models.ForeignKey(
        LostReason, null=True, blank=True, on_delete=models.PROTECT, related_name="deals"
    )
    lost_note = models.CharField(max_length=500, blank=True)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="deal_amount_not_negative"),
            models.CheckConstraint(
                condition=~Q(status="lost") | Q(lost_reason__isnull=False),
                name="deal_lost_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status", "expected_close"], name="deal_owner_idx"),
            models.Index(fields=["status", "expected_close"], name="deal_closing_idx"),
            models.Index(fields=["stage", "status"], name="deal_stage_idx"),
            # Historical forecasts: the deals still open on a past date (closed after it).
            models.Index(fields=["closed_at"], name="deal_closed_idx"),
            # The forecast's won half: won deals closed in the period, not the lost ones too.
            models.Index(fields=["status", "closed_at"], name="deal_status_closed_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class DealRole(TimestampedModel):
    """A person around a deal and the part they play in the decision."""

    class Role(models.TextChoices):
        DECISION_MAKER = "decision_maker", "Decision maker"
        ECONOMIC_BUYER = "economic_buyer", "Economic buyer"
        INFLUENCER = "influencer", "Influencer"
        CHAMPION = "champion", "Champion"
        USER = "user", "User"
        GATEKEEPER = "gatekeeper", "Gatekeeper"
        BLOCKER = "blocker", "Blocker"

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="roles", db_index=False)
    contact = models.ForeignKey(
        "customers.Contact", on_delete=models.CASCADE, related_name="deal_roles", db_index=False
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    is_primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(fields=["deal", "contact", "role"], name="unique_deal_role"),
            models.UniqueConstraint(
                fields=["deal"], condition=Q(is_primary=True), name="one_primary_deal_role"
            ),
        ]
        indexes = [models.Index(fields=["contact", "role"], name="dealrole_contact_idx")]

    def __str__(self) -> str:
        return f"{self.get_role_display()} on deal {self.deal_id}"


class DealStageChange(models.Model):
    """One move of a deal from a stage to another (the first row has no ``from_stage``).
    Append-only: written by ``deal_create`` and ``deal_stage_change``, never changed."""

    deal = models.ForeignKey(
        Deal, on_delete=models.CASCADE, related_name="stage_changes", db_index=False
    )
    from_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What the deal was worth and how likely, at that moment: for historical forecasts.
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    probability = models.DecimalField(max_digits=4, decimal_places=3)
    forecast_category = models.CharField(max_length=10, choices=Deal.ForecastCategory.choices)
    # The expected close date of that moment (empty on rows older than the column: the
    # deal's current one stands in), so a past forecast puts the deal in the right period.
    expected_close = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["deal", "at"], name="stagechange_deal_idx"),
            models.Index(fields=["at"], name="stagechange_at_idx"),
        ]

    def __str__(self) -> str:
        return f"deal {self.deal_id}: {self.from_stage_id} -> {self.to_stage_id}"


class LeadForm(VersionedModel):
    """A public web form that posts leads to the API, with its own token.

    Only the token's SHA-256 is stored (shown once, when made or rotated); the form page
    embeds the token, ``allowed_origins`` limits the sites that may post, a hidden
    ``honeypot`` field catches robots, and each form and each address has a rate limit."""

    name = models.CharField(max_length=100, unique=True)
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    allowed_origins = models.JSONField(default=list, blank=True)
    honeypot = models.CharField(max_length=50, default="website")
    source = models.CharField(max_length=100, default="Web form")
    team = models.ForeignKey(
        "users.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    per_address_per_hour = models.PositiveIntegerField(default=5)
    per_form_per_hour = models.PositiveIntegerField(default=200)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LeadFormPost(models.Model):
    """A post to a lead form, kept for its rate limits (the address only as a hash)."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        SPAM = "spam", "Caught as spam"
        LIMITED = "limited", "Over the rate limit"
        INVALID = "invalid", "Invalid"

    form = models.ForeignKey(
        LeadForm, on_delete=models.CASCADE, related_name="posts", db_index=False
    )
    address_hash = models.CharField(max_length=64)
    at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)

    class Meta:
        indexes = [
            models.Index(fields=["form", "at"], name="leadformpost_form_idx"),
            models.Index(fields=["form", "address_hash", "at"], name="leadformpost_addr_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.outcome} post to form {self.form_id}"


class Lead(VersionedModel):
    """A person (and company) not yet qualified. ``contact`` is set as soon as the person
    is known: a lead on an existing contact uses it, never a second record."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        WORKING = "working", "Working"
        QUALIFIED = "qualified", "Qualified"
        DISQUALIFIED = "disqualified", "Disqualified"

    contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    account = models.ForeignKey(
        "customers.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    # As captured: the person's details until conversion makes or finds their contact.
    name = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    company_name = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    source = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    disqualify_reason = models.CharField(max_length=300, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", db_index=False,
    )  # fmt: skip
    team = models.ForeignKey(
        "users.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    score = models.IntegerField(default=0)
    follow_up_on = models.DateField(null=True, blank=True)
    # Qualification: who they are in the decision, what they need, money and timing.
    role = models.CharField(max_length=200, blank=True)
    need = models.TextField(blank=True)
    budget = models.CharField(max_length=200, blank=True)
    timing = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    form = models.ForeignKey(
        LeadForm, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    converted_deal = models.ForeignKey(
        Deal, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    converted_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["owner", "status"], name="lead_owner_idx"),
            models.Index(fields=["status", "id"], name="lead_status_idx"),
        ]

    def __str__(self) -> str:
        return self.name or self.email or f"Lead {self.pk}"


class AssignmentRule(VersionedModel):
    """Who gets a new lead: the first active rule (by ``order``) that applies decides."""

    class Kind(models.TextChoices):
        ACCOUNT_OWNER = "account_owner", "The owner of the lead's account, when it is known"
        COUNTRY = "country", "By country (territory)"
        ROUND_ROBIN = "round_robin", "Round robin within a team"

    name = models.CharField(max_length=100)
    order = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=15, choices=Kind.choices)
    countries = models.JSONField(default=list, blank=True, help_text="ISO codes, for by country")
    team = models.ForeignKey(
        "users.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # By country: a named rep, or round robin in ``team`` when empty.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # Round robin's place: who had the last lead.
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class ScoreRule(VersionedModel):
    """Points for a lead: a captured field equals or contains a value (fit), or the
    lead's person has timeline entries in the last ``days`` days (activity)."""

    class Kind(models.TextChoices):
        EQUALS = "equals", "Field equals"
        CONTAINS = "contains", "Field contains"
        ACTIVITY = "activity", "Timeline entries in the last N days"

    FIELDS = ("source", "country", "company_name", "email", "role", "need", "budget", "timing")

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    field = models.CharField(max_length=20, blank=True)
    value = models.CharField(max_length=200, blank=True)
    days = models.PositiveSmallIntegerField(default=30)
    min_entries = models.PositiveSmallIntegerField(default=1)
    points = models.IntegerField(default=10)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


# --- forecasting: quotas, the manager's adjustments, weekly snapshots ----------------------


class PeriodKind(models.TextChoices):
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"


class Quota(VersionedModel):
    """A rep's or a team's target for a month or a quarter, in one currency.

    Exactly one of ``user`` and ``team``. A team's own quota (set by its manager) stands
    for the team; without one the team's is the sum of its reps'. A quarter without its
    own quota is the sum of its months'."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    team = models.ForeignKey(
        "users.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    period_kind = models.CharField(max_length=7, choices=PeriodKind.choices)
    period_start = models.DateField(help_text="The first day of the month or quarter")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY, help_text="ISO 4217")
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["period_start", "period_kind", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(team__isnull=True))
                | (Q(user__isnull=True) & Q(team__isnull=False)),
                name="quota_user_or_team",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="quota_amount_not_negative"),
            models.UniqueConstraint(
                fields=["user", "period_kind", "period_start", "currency"],
                condition=Q(user__isnull=False),
                name="unique_user_quota",
            ),
            models.UniqueConstraint(
                fields=["team", "period_kind", "period_start", "currency"],
                condition=Q(team__isnull=False),
                name="unique_team_quota",
            ),
        ]
        indexes = [models.Index(fields=["period_start", "period_kind"], name="quota_period_idx")]

    def __str__(self) -> str:
        who = f"user {self.user_id}" if self.user_id else f"team {self.team_id}"
        return f"{who} {self.period_kind} {self.period_start}: {self.amount} {self.currency}"


class ForecastAdjustment(models.Model):
    """A manager's own figure for a rep's forecast of a period, kept beside the rep's
    (never over it): who, when and why. Append-only; the newest of a rep, period and
    currency is the one shown."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    period_kind = models.CharField(max_length=7, choices=PeriodKind.choices)
    period_start = models.DateField()
    currency = models.CharField(max_length=3, default=DEFAULT_CURRENCY)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    reason = models.CharField(max_length=500)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="adjustment_amount_not_negative"
            ),
        ]
        indexes = [
            models.Index(
                fields=["user", "period_kind", "period_start", "at"], name="adjustment_user_idx"
            ),
            models.Index(fields=["period_start", "period_kind"], name="adjustment_period_idx"),
        ]

    def __str__(self) -> str:
        return f"adjustment of user {self.user_id} {self.period_start}: {self.amount}"


class ForecastSnapshot(models.Model):
    """What one rep's forecast of a quarter said in one week (one row per week, rep,
    quarter and currency; the first taking of a week stands)."""

    week = models.DateField(help_text="The Monday of the week")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    team = models.ForeignKey(
        "users.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    period_start = models.DateField(help_text="The first day of the quarter forecast")
    currency = models.CharField(max_length=3)
    open_deals = models.PositiveIntegerField(default=0)
    pipeline = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    best_case = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    commit = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    weighted = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    closed = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    taken_at = models.DateTimeField()

    class Meta:
        ordering = ["week", "user_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["week", "user", "period_start", "currency"], name="unique_week_snapshot"
            ),
        ]
        indexes = [models.Index(fields=["period_start", "week"], name="snapshot_period_idx")]

    def __str__(self) -> str:
        return f"snapshot {self.week} user {self.user_id}"


class ForecastSnapshotWeek(models.Model):
    """One row per week whose snapshots were queued (so the worker queues them once)."""

    week = models.DateField(unique=True)
    queued_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    rows = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-week"]

    def __str__(self) -> str:
        return f"snapshots of {self.week}"

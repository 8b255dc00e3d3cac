"""Duplicate candidates, the steward's review queue, merges and what undoing them needs.

Records are referred to by kind ("contact" or "account") and id rather than by foreign
key: a candidate or a merge outlives the records it names (a merged-away record is
deleted, and an unmerge brings it back under the same id).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Kind(models.TextChoices):
    CONTACT = "contact", "Contact"
    ACCOUNT = "account", "Account"


class Rule(models.TextChoices):
    """How a merge picks a field's value among the records (survivorship)."""

    SURVIVOR = "survivor", "The survivor's value (filled from the others if empty)"
    MOST_RECENT = "most_recent", "The most recently updated record's value"
    MOST_COMPLETE = "most_complete", "The most complete (longest) value"
    TRUSTED_SOURCE = "trusted_source", "The value from the most trusted source"


class MatchSettings(models.Model):
    """The one row of matching settings an admin tunes, and the fitted models.

    Probabilities at or above ``upper`` are near-certain matches (merged automatically if
    ``auto_merge`` is on); between ``lower`` and ``upper`` they go to review; below
    ``lower`` they are not kept.
    """

    upper = models.FloatField(default=0.98)
    lower = models.FloatField(default=0.5)
    auto_merge = models.BooleanField(default=False)
    # field name -> Rule value, per kind; fields not listed follow Rule.SURVIVOR.
    contact_rules = models.JSONField(default=dict, blank=True)
    account_rules = models.JSONField(default=dict, blank=True)
    # Sources (the records' ``source`` field) from most to least trusted.
    source_ranking = models.JSONField(default=list, blank=True)
    # Comparison fields the admin turned off, per kind.
    disabled_fields = models.JSONField(default=list, blank=True)
    # The Fellegi–Sunter models fitted by the last full scan of each kind (JSON).
    contact_model = models.JSONField(null=True, blank=True)
    account_model = models.JSONField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "match settings"

    def __str__(self) -> str:
        return "Match settings"


class Scan(models.Model):
    """One run of duplicate detection over a kind of record, with its progress."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Mode(models.TextChoices):
        FULL = "full", "Full"
        INCREMENTAL = "incremental", "Changes since the last scan"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.FULL)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Moves while a worker runs the scan; a running scan silent for long was abandoned.
    heartbeat = models.DateTimeField(null=True, blank=True)
    # Records changed after this moment are compared by an incremental scan.
    since = models.DateTimeField(null=True, blank=True)
    phase = models.CharField(max_length=30, blank=True)
    records = models.PositiveIntegerField(default=0)
    pairs_compared = models.PositiveBigIntegerField(default=0)
    candidates = models.PositiveIntegerField(default=0)
    clusters = models.PositiveIntegerField(default=0)
    auto_merged = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "state", "-id"], name="identity_scan_idx")]

    def __str__(self) -> str:
        return f"{self.kind} scan {self.pk}"


class Cluster(models.Model):
    """Records the scan believes are one customer: a unit of the steward's queue."""

    class Status(models.TextChoices):
        OPEN = "open", "To review"
        SKIPPED = "skipped", "Skipped"
        DONE = "done", "Done"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    record_ids = models.JSONField(default=list)
    size = models.PositiveIntegerField(default=2)
    score = models.FloatField(default=0.0)  # the highest pair probability inside
    value = models.FloatField(default=0.0)  # the customers' value, for ordering the queue
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["kind", "status", "-value", "-score", "id"], name="identity_queue_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} cluster {self.pk}"


class Candidate(models.Model):
    """A pair of records that may be one customer, with the evidence field by field."""

    class Status(models.TextChoices):
        OPEN = "open", "To review"
        MERGED = "merged", "Merged"
        DISMISSED = "dismissed", "Not a duplicate"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    left_id = models.BigIntegerField()  # always the lower id
    right_id = models.BigIntegerField()
    probability = models.FloatField()
    score = models.FloatField()  # the evidence in bits
    vector = models.JSONField(default=list)  # one level per comparison field
    cluster = models.ForeignKey(
        Cluster, null=True, blank=True, on_delete=models.SET_NULL, related_name="pairs"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    found_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "left_id", "right_id"], name="unique_candidate_pair"
            ),
            models.CheckConstraint(
                condition=Q(left_id__lt=models.F("right_id")), name="candidate_ordered"
            ),
        ]
        indexes = [
            models.Index(fields=["kind", "right_id"], name="identity_candidate_right_idx"),
            models.Index(fields=["kind", "status", "-probability"], name="identity_candidate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.left_id}~{self.right_id} ({self.probability:.2f})"


class NotDuplicate(models.Model):
    """A steward's decision that two records are different customers: never proposed again."""

    kind = models.CharField(max_length=10, choices=Kind.choices)
    left_id = models.BigIntegerField()
    right_id = models.BigIntegerField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "left_id", "right_id"], name="unique_not_duplicate"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.left_id} ≠ {self.right_id}"


class Merge(models.Model):
    """One merge of records into a survivor, with everything an unmerge needs.

    ``records`` holds each merged-away record's row as it was; ``survivor_before`` and
    ``survivor_after`` the survivor's fields the merge changed; ``journal`` what each
    registered relation moved, folded or flagged (see ``registry``).
    """

    kind = models.CharField(max_length=10, choices=Kind.choices)
    survivor_id = models.BigIntegerField()
    merged_ids = models.JSONField(default=list)
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    via = models.CharField(max_length=20, blank=True)
    choices = models.JSONField(default=dict, blank=True)  # field -> the record id the steward chose
    records = models.JSONField(default=dict)
    survivor_before = models.JSONField(default=dict)
    survivor_after = models.JSONField(default=dict)
    journal = models.JSONField(default=list)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What the unmerge could not put back (changed or deleted since), shown to the steward.
    conflicts = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "survivor_id", "-id"], name="identity_merge_idx")]

    def __str__(self) -> str:
        return f"merge {self.pk}: {self.kind} {self.merged_ids} into {self.survivor_id}"


class MergedId(models.Model):
    """A merged-away record's id and the record it now lives on: old links keep working."""

    kind = models.CharField(max_length=10, choices=Kind.choices)
    old_id = models.BigIntegerField()
    survivor_id = models.BigIntegerField()
    merge = models.ForeignKey(Merge, on_delete=models.CASCADE, related_name="aliases")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "old_id"], name="unique_merged_id")]
        indexes = [models.Index(fields=["kind", "survivor_id"], name="identity_alias_survivor_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.old_id} -> {self.survivor_id}"

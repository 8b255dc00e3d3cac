"""Imports of customer files: the job and its stored state, what it rejected and what it
wrote (so it can be resumed after a crash, and undone)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from rapport.core.models import TimestampedModel


class ImportKind(models.TextChoices):
    """The engine's own kinds; apps register more (``ingest.imports.kinds``: deals, leads),
    so the ``kind`` columns below take any registered name, checked by the services."""

    CONTACTS = "contacts", "Contacts"
    ACCOUNTS = "accounts", "Accounts"


class OnMatch(models.TextChoices):
    FILL_EMPTY = "fill_empty", "Update empty fields only"
    OVERWRITE = "overwrite", "Overwrite with the file's values"
    SKIP = "skip", "Skip the row"


class OnDuplicate(models.TextChoices):
    """What a row that matches no contact by id, external id or e-mail does when it looks
    like an existing contact (the duplicate check of the identity app)."""

    REVIEW = "review", "Create it; queue the likely duplicates for a data steward"
    MATCH = "match", "Update the existing contact when the match is near-certain"


class SavedMapping(TimestampedModel):
    """A named column mapping, reused for files of the same shape."""

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10)
    # header -> target ("given_name", "email", "account.name", "custom.vat", "" to ignore)
    columns = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["kind", "name"], name="unique_mapping_name")]

    def __str__(self) -> str:
        return self.name


class ImportJob(TimestampedModel):
    """One file's import, from upload to done (or undone).

    ``rows_done`` is the number of the last file row whose effects are committed: it is
    written in the same transaction as those effects, so a resumed run starts right after
    it and never applies a row twice.
    """

    class State(models.TextChoices):
        NEW = "new", "Waiting for a mapping"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        UNDOING = "undoing", "Undoing"
        UNDONE = "undone", "Undone"

    kind = models.CharField(max_length=10)
    state = models.CharField(max_length=10, choices=State.choices, default=State.NEW)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_name = models.CharField(max_length=255)
    file_path = models.CharField(max_length=500, editable=False)
    file_size = models.BigIntegerField(default=0)
    checksum = models.CharField(max_length=64, db_index=True, help_text="SHA-256 of the file")
    file_format = models.CharField(max_length=10, blank=True)
    encoding = models.CharField(max_length=20, blank=True)
    delimiter = models.CharField(max_length=2, blank=True)
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict)
    mapping_name = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=2, default="GB", help_text="Phone numbers without +code")
    source = models.CharField(max_length=100, help_text="External ids belong to this system")
    on_match = models.CharField(max_length=12, choices=OnMatch.choices, default=OnMatch.FILL_EMPTY)
    on_duplicate = models.CharField(max_length=10, choices=OnDuplicate.choices, default=OnDuplicate.REVIEW)
    create_accounts = models.BooleanField(default=True)

    total_rows = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=1, help_text="Last committed file row (1 = header)")
    rows_seen = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    accounts_created = models.PositiveIntegerField(default=0)
    # Imported rows with a field left empty because its value could not be read (a date):
    # how many, and the first ones as [row, column, reason] (engine.FIELD_PROBLEMS_KEPT).
    field_problems = models.PositiveIntegerField(default=0)
    field_problem_rows = models.JSONField(default=list, blank=True)
    undone = models.PositiveIntegerField(default=0)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undo_refused = models.PositiveIntegerField(default=0)

    cancel_requested = models.BooleanField(default=False)
    # The run that owns the job; a run that finds another token here stops at once.
    run_token = models.CharField(max_length=32, blank=True, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    run_seconds = models.FloatField(default=0, help_text="Time spent working, across resumes")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["created_by", "-id"], name="import_owner_idx")]

    def __str__(self) -> str:
        return f"import {self.pk} of {self.file_name}"

    @property
    def is_active(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING, self.State.UNDOING)

    @property
    def rows_per_second(self) -> float:
        return self.rows_seen / self.run_seconds if self.run_seconds > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        rate = self.rows_per_second
        if not self.total_rows or rate <= 0:
            return None
        return max(0.0, (self.total_rows - self.rows_seen) / rate)

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.state == self.State.DONE else 0
        return min(100, int(100 * self.rows_seen / self.total_rows))


class ImportRejection(models.Model):
    """A row that was not imported: where, which field, why, and the cells as read."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rejections", db_index=False)  # a unique or composite index starts with it
    row = models.PositiveIntegerField()
    field = models.CharField(max_length=100, blank=True)
    reason = models.TextField()
    cells = models.JSONField(default=list)

    class Meta:
        ordering = ["row"]
        constraints = [models.UniqueConstraint(fields=["job", "row"], name="unique_rejected_row")]

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


class ImportRecord(models.Model):
    """A record the import created or changed, with what undo needs to put it back.

    ``version`` is the record's version right after the import wrote it: if the record's
    version has moved on, someone changed it since, and undo leaves it alone.
    """

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="records", db_index=False)  # a unique or composite index starts with it
    row = models.PositiveIntegerField()
    entity_kind = models.CharField(max_length=10)  # "contact", "account", or a registered kind's ("deal")
    object_id = models.BigIntegerField()
    action = models.CharField(max_length=10, choices=Action.choices)
    version = models.PositiveIntegerField()
    # For updates: the old values of changed fields and the parts added.
    before = models.JSONField(null=True, blank=True)
    undo_status = models.CharField(max_length=10, blank=True)  # "", "undone" or "refused"
    undo_reason = models.CharField(max_length=300, blank=True)
    # A row with no e-mail, id or external id: the person it describes (clean.person_key),
    # so a later row of the file describing the same person, or a resumed run, finds the
    # contact this row made.
    # For a registered kind's row with an external id: ``kinds.external_key(source, id)``,
    # so a later import of the same source finds the record (``Lookup.by_external_id``).
    key = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["job", "entity_kind", "object_id"], name="import_record_idx"),
            models.Index(
                fields=["job", "key"], name="import_record_key_idx", condition=~models.Q(key="")
            ),
            models.Index(
                fields=["entity_kind", "key"], name="import_record_kind_key_idx", condition=~models.Q(key="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.entity_kind} {self.object_id}"


# --- Mailboxes (IMAP) ----------------------------------------------------------------------


class Mailbox(TimestampedModel):
    """An IMAP mailbox that Rapport polls for mail: one person's (``owner``) or shared
    (no owner, e.g. sales@). The password is stored encrypted (``rapport.ingest.mail.secrets``);
    ``version`` guards concurrent edits of the settings."""

    class Security(models.TextChoices):
        SSL = "ssl", "SSL/TLS (port 993)"
        STARTTLS = "starttls", "STARTTLS (port 143)"
        NONE = "none", "None (loopback or a trusted network only)"

    name = models.CharField(max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="mailboxes"
    )
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(default=993)
    security = models.CharField(max_length=10, choices=Security.choices, default=Security.SSL)
    username = models.CharField(max_length=255)
    password_encrypted = models.TextField(blank=True)
    folders = models.JSONField(default=list)  # folder names to poll, e.g. ["INBOX", "Sent"]
    poll_minutes = models.PositiveIntegerField(default=5)
    enabled = models.BooleanField(default=True)
    # A shared sales mailbox: each message from outside opens a sales lead (``sales.mail``).
    # ``address`` (sales@…) also routes mail that reaches Rapport another way (the webhook,
    # a file) when it is addressed To or Cc to it.
    opens_leads = models.BooleanField(default=False, help_text="Mail from outside opens a sales lead")
    address = models.CharField(max_length=254, blank=True, help_text="The mailbox's own address, lower case")
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    # A poll in progress: who runs it and its last sign of life, so two workers never poll
    # one mailbox at once and a dead worker's claim expires.
    polling_since = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["host", "username"], name="unique_mailbox_login")]

    def __str__(self) -> str:
        return self.name


class MailboxFolder(models.Model):
    """Where a poll of one folder stands: the server's UIDVALIDITY and the highest UID whose
    message is stored. Written in the same transaction as each stored message, so a poll
    that stops anywhere resumes right after the last message it kept."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="folder_states", db_index=False)
    name = models.CharField(max_length=255)
    uid_validity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    messages_seen = models.PositiveIntegerField(default=0)
    messages_stored = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["mailbox_id", "name"]
        constraints = [models.UniqueConstraint(fields=["mailbox", "name"], name="unique_mailbox_folder")]

    def __str__(self) -> str:
        return f"{self.mailbox_id}:{self.name}"


# --- Proposals: facts from the channels, for a data steward --------------------------------


class FactField(models.TextChoices):
    """What a channel can tell about a contact."""

    PHONE = "phone", "Phone number"
    MOBILE = "mobile", "Mobile number"
    TITLE = "title", "Job title"
    COMPANY = "company", "Company"
    ADDRESS = "address", "Postal address"
    WEBSITE = "website", "Web site"


class FactAction(models.TextChoices):
    AUTO = "auto", "Apply automatically"
    REVIEW = "review", "Send to the data steward's review queue"
    IGNORE = "ignore", "Ignore"


class CaptureSettings(models.Model):
    """The admin's rules for facts found in incoming messages (a singleton, pk=1).

    ``rules`` maps "<field>" (a FactField) to a FactAction for a message the contact sent
    themselves; facts about a contact found in anyone else's message always go to review
    at most. ``unknown_senders``: propose a new contact for a sender no contact has, or not.
    """

    rules = models.JSONField(default=dict)
    unknown_senders = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"capture settings v{self.version}"


class Proposal(TimestampedModel):
    """Something a channel suggests and a person (or a rule) decides: a new contact for an
    unknown sender, or a fact about a known contact (a new mobile number from a signature).

    ``value`` holds the suggestion ({"number": "+447700900123"}, {"title": "CFO"}, or the
    new contact's fields); ``evidence`` holds where it was read (the entry, the line)."""

    class Kind(models.TextChoices):
        NEW_CONTACT = "new_contact", "New contact"
        FACT = "fact", "New fact"

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for review"
        APPLIED = "applied", "Applied by a rule"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        OBSOLETE = "obsolete", "No longer needed"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    field = models.CharField(max_length=10, choices=FactField.choices, blank=True)
    contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="proposals",
        db_index=False,  # proposal_contact_state_idx starts with it
    )
    account = models.ForeignKey(
        "customers.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="proposals"
    )
    value = models.JSONField(default=dict)
    # A stable key for "the same suggestion again" (the e-mail of an unknown sender, the
    # field and normalised value of a fact), so a second message adds evidence, not a row.
    key = models.CharField(max_length=255)
    entry = models.ForeignKey(
        "timeline.Entry", null=True, blank=True, on_delete=models.SET_NULL, related_name="proposals"
    )
    evidence = models.JSONField(default=dict)  # {"source": "mail", "line": "...", "subject": ...}
    sightings = models.PositiveIntegerField(default=1)
    rule = models.CharField(max_length=100, blank=True)  # why it went where it went
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict)  # what was done: {"contact": id, "phone": id, ...}
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "-created_at"], name="proposal_state_idx"),
            # "Was exactly this rejected, or applied before?" for every fact of every message.
            models.Index(fields=["key", "kind"], name="proposal_key_idx"),
            # A contact's open proposals (the screen pop, the contact page): without it
            # PostgreSQL read every pending proposal of the kind (5 ms at 2,000).
            models.Index(fields=["contact", "state"], name="proposal_contact_state_idx"),
        ]
        constraints = [
            # One open proposal per suggestion: a repeat sighting updates it.
            models.UniqueConstraint(
                fields=["kind", "key"],
                condition=models.Q(state="pending"),
                name="unique_pending_proposal",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.key}"


# --- Mail files handed to the worker ---------------------------------------------------------


class MailUpload(TimestampedModel):
    """A mail file too large to read in a web request (``MAIL_UPLOAD_INLINE_BYTES``), stored
    until the worker has read it. Its counts and first outcomes stay when the file is gone,
    for the status page; only the uploader (and admins) see it."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Reading"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    MAX_OUTCOMES = 1000

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=20, default="web")  # the uploader's path, for the audit
    file_name = models.CharField(max_length=255)  # as uploaded, shown on the page
    file_path = models.CharField(max_length=255, blank=True)  # in default storage; "" once read
    size = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    read = models.PositiveIntegerField(default=0)
    stored = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    unmatched = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    outcomes = models.JSONField(default=list)  # the first MAX_OUTCOMES messages' outcomes
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.file_name

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

"""The one timeline: every touch with a customer, from every department.

An ``Entry`` is one interaction (an e-mail, a call, a meeting, a note, later a deal's
stage change, a case, a campaign message, a survey answer…). ``EntryLink`` rows tie it to
each contact and account it concerns, and carry the entry's moment, so a record's
timeline is one index range read newest first, however long the history.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection, models
from django.db.models import Q

from rapport.core.models import TimestampedModel


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    PHONE = "phone", "Phone"
    MEETING = "meeting", "Meeting"
    WEB = "web", "Web"
    SOCIAL = "social", "Social media"
    SMS = "sms", "SMS"
    MAIL = "mail", "Post"
    IN_PERSON = "in_person", "In person"
    OTHER = "other", "Other"


class Direction(models.TextChoices):
    INBOUND = "in", "Inbound"
    OUTBOUND = "out", "Outbound"
    INTERNAL = "internal", "Internal"


class Department(models.TextChoices):
    SALES = "sales", "Sales"
    SERVICE = "service", "Contact center"
    MARKETING = "marketing", "Marketing"
    OTHER = "other", "Other"


_FROM_SOURCE = (
    "SELECT id FROM timeline_entry WHERE source = %s AND external_id = %s AND scope = %s "
    "AND NOT (external_id = '') LIMIT 1"
)


class EntryQuerySet(models.QuerySet["Entry"]):
    def from_source(self, source: str, external_id: str, scope: str = "") -> Entry | None:
        """The entry a source already delivered under this id (in ``scope``), if any. The
        condition of the partial unique index is repeated so that SQLite uses the index (it
        does not infer ``external_id <> ''`` from ``external_id = 'x'``, and scanned 10M
        rows instead)."""
        if not external_id:
            return None
        # Asked for every message received: the id first, in plain SQL (the ORM's building
        # of this query cost more than running it), the row only when there is one.
        with connection.cursor() as cursor:
            cursor.execute(_FROM_SOURCE, [source, external_id, scope])
            row = cursor.fetchone()
        return self.filter(pk=row[0]).first() if row else None


class Entry(TimestampedModel):
    objects = EntryQuerySet.as_manager()

    # The kinds are registered by the apps (see events.register_kind): not a fixed choice list.
    kind = models.CharField(max_length=40)
    occurred_at = models.DateTimeField()
    channel = models.CharField(max_length=12, choices=Channel.choices, default=Channel.OTHER)
    direction = models.CharField(
        max_length=10, choices=Direction.choices, default=Direction.INTERNAL
    )
    department = models.CharField(
        max_length=12, choices=Department.choices, default=Department.OTHER
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    # "text" or "markdown" (notes); rendered through an allow-list, never trusted as HTML.
    body_format = models.CharField(max_length=10, default="text")
    # Where it came from, and its id there: a second delivery of one message is one entry.
    source = models.CharField(max_length=100, blank=True)
    external_id = models.CharField(max_length=300, blank=True)
    # Whose ids these are: an integration's entries are keyed per poster ("user:12"), so a
    # second caller's id never tells it of an entry it may not see (decision 0011); mail is
    # keyed once for everyone ("").
    scope = models.CharField(max_length=40, blank=True, default="", db_default="")
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=100, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id", "scope"],
                condition=~Q(external_id=""),
                name="unique_entry_source_xid_scope",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.summary}"


class EntryLink(models.Model):
    """An entry on one record's timeline, with the entry's moment copied for ordering."""

    class Role(models.TextChoices):
        FROM = "from", "From"
        TO = "to", "To"
        CC = "cc", "Copied"
        ABOUT = "about", "About"
        VIA = "via", "Through one of its people"

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="links")
    contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    account = models.ForeignKey(
        "customers.Account",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.ABOUT)
    occurred_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(contact__isnull=False, account__isnull=True)
                | Q(contact__isnull=True, account__isnull=False),
                name="entry_link_one_record",
            ),
            models.UniqueConstraint(
                fields=["entry", "contact"],
                condition=Q(contact__isnull=False),
                name="unique_entry_contact",
            ),
            models.UniqueConstraint(
                fields=["entry", "account"],
                condition=Q(account__isnull=False),
                name="unique_entry_account",
            ),
        ]
        indexes = [
            # A record's timeline, newest first: one index range, whatever its length.
            models.Index(
                fields=["contact", "-occurred_at", "-entry"],
                name="timeline_contact_idx",
                condition=Q(contact__isnull=False),
            ),
            models.Index(
                fields=["account", "-occurred_at", "-entry"],
                name="timeline_account_idx",
                condition=Q(account__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"entry {self.entry_id} on {'contact' if self.contact_id else 'account'} {self.contact_id or self.account_id}"


class Attachment(TimestampedModel):
    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="timeline/%Y/%m/")
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return self.name

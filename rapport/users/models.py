from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    SALES = "sales", "Sales"
    MARKETING = "marketing", "Marketing"
    SERVICE = "service", "Service (contact center)"
    STEWARD = "steward", "Data steward"
    READONLY = "readonly", "Read-only"


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A staff member. Customers are Accounts and Contacts, never Users."""

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.READONLY)
    teams = models.ManyToManyField(Team, blank=True, related_name="members")

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class Visibility(models.TextChoices):
    ALL = "all", "All records"
    TEAM = "team", "Records owned by the user's teams"
    OWN = "own", "Records the user owns"
    NONE = "none", "No records"


class RecordKind(models.TextChoices):
    ACCOUNT = "account", "Accounts"
    CONTACT = "contact", "Contacts"
    DATAFIELD = "datafield", "Data dictionary"
    AUDIT = "audit", "History"
    DUPLICATE = "duplicate", "Duplicates"
    PROPOSAL = "proposal", "Proposed updates"
    MAILBOX = "mailbox", "Shared mailboxes"
    LEAD = "lead", "Leads"
    DEAL = "deal", "Deals"
    SALES_SETUP = "salessetup", "Pipelines, stages and sales rules"
    TASK = "task", "Tasks and follow-ups"
    CASE = "case", "Cases"
    SERVICE_SETUP = "servicesetup", "Service goals and calendars"
    CONSENT = "consent", "Consent"
    PRIVACY = "privacy", "Privacy requests"
    CAMPAIGN = "campaign", "Segments and campaigns"
    SURVEY = "survey", "Surveys and answers"


class RolePolicy(models.Model):
    """What one role may do with one kind of record; admins tune it in the Django admin."""

    role = models.CharField(max_length=20, choices=Role.choices)
    kind = models.CharField(max_length=20, choices=RecordKind.choices)
    can_view = models.BooleanField(default=False)
    can_add = models.BooleanField(default=False)
    can_change = models.BooleanField(default=False)
    can_delete = models.BooleanField(default=False)
    can_export = models.BooleanField(default=False)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.ALL)
    # Built-in fields this role does not see at all / sees but may not change.
    hidden_fields = models.JSONField(default=list, blank=True)
    readonly_fields = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["role", "kind"], name="unique_role_policy"),
        ]
        verbose_name_plural = "role policies"

    def __str__(self) -> str:
        return f"{self.role} on {self.kind}"


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 of the secret is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def digest_of(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()


class LoginFailure(models.Model):
    """One failed login; counted per username and per address to throttle guessing."""

    username = models.CharField(max_length=150, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, db_index=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.username} from {self.ip_address} at {self.at}"

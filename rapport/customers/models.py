"""The customer master: accounts (organisations) and contacts (people) and their parts."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from rapport.core.models import TimestampedModel, VersionedModel


class Lifecycle(models.TextChoices):
    SUBSCRIBER = "subscriber", "Subscriber"
    LEAD = "lead", "Lead"
    PROSPECT = "prospect", "Prospect"
    CUSTOMER = "customer", "Customer"
    FORMER_CUSTOMER = "former_customer", "Former customer"


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Account(VersionedModel):
    class Size(models.TextChoices):
        MICRO = "1-9", "1–9"
        SMALL = "10-49", "10–49"
        MEDIUM = "50-249", "50–249"
        LARGE = "250-999", "250–999"
        ENTERPRISE = "1000+", "1,000+"

    name = models.CharField(max_length=200)
    legal_name = models.CharField(max_length=200, blank=True)
    # Lower case, accents, punctuation and legal suffixes removed: for search and matching.
    normalized_name = models.CharField(max_length=200, db_index=True, editable=False)
    industry = models.CharField(max_length=100, blank=True)
    size = models.CharField(max_length=10, choices=Size.choices, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    phone = models.CharField(max_length=20, blank=True, db_index=True, help_text="E.164")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    # Not indexed alone: the (owner, name) index below starts with it.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False,
    )
    lifecycle = models.CharField(
        max_length=20, choices=Lifecycle.choices, default=Lifecycle.PROSPECT
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="accounts")
    notes = models.TextField(blank=True)
    custom = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["normalized_name", "id"], name="account_sort_idx"),
            models.Index(fields=["updated_at", "id"], name="account_updated_idx"),
            models.Index(fields=["owner", "normalized_name"], name="account_owner_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(VersionedModel):
    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        PHONE = "phone", "Phone"
        SMS = "sms", "SMS"
        MAIL = "mail", "Post"
        NONE = "none", "No preference"

    prefix = models.CharField(max_length=30, blank=True)
    given_name = models.CharField(max_length=100, blank=True)
    middle_name = models.CharField(max_length=100, blank=True)
    family_name = models.CharField(max_length=100, blank=True)
    suffix = models.CharField(max_length=30, blank=True)
    # The name as shown, and a lower-case "family given" key that lists sort by.
    full_name = models.CharField(max_length=300, editable=False)
    sort_name = models.CharField(max_length=300, editable=False)
    job_title = models.CharField(max_length=150, blank=True)
    department = models.CharField(max_length=150, blank=True)
    preferred_channel = models.CharField(
        max_length=10, choices=Channel.choices, default=Channel.NONE
    )
    language = models.CharField(max_length=20, blank=True, help_text="BCP 47, e.g. en or fr-CA")
    time_zone = models.CharField(max_length=60, blank=True, help_text="IANA, e.g. Europe/London")
    # Not indexed alone: the (owner, name) index below starts with it.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False,
    )
    source = models.CharField(max_length=100, blank=True, help_text="Where the contact came from")
    lifecycle = models.CharField(max_length=20, choices=Lifecycle.choices, default=Lifecycle.LEAD)
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts")
    accounts: models.ManyToManyField = models.ManyToManyField(
        Account, through="AccountMembership", related_name="contacts", blank=True
    )
    custom = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["sort_name", "id"], name="contact_sort_idx"),
            models.Index(fields=["updated_at", "id"], name="contact_updated_idx"),
            models.Index(fields=["owner", "sort_name"], name="contact_owner_idx"),
        ]

    def __str__(self) -> str:
        return self.full_name or f"Contact {self.pk}"


class Kind(models.TextChoices):
    WORK = "work", "Work"
    HOME = "home", "Home"
    MOBILE = "mobile", "Mobile"
    FAX = "fax", "Fax"
    OTHER = "other", "Other"


class ContactEmail(TimestampedModel):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="emails", db_index=False)  # a unique or composite index starts with it
    email = models.CharField(max_length=254, db_index=True, help_text="Normalised")
    domain = models.CharField(max_length=253, db_index=True, editable=False)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.WORK)
    is_primary = models.BooleanField(default=False)
    source = models.CharField(max_length=100, blank=True, help_text="Where it came from")

    class Meta:
        ordering = ["-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(fields=["contact", "email"], name="unique_contact_email"),
            models.UniqueConstraint(
                fields=["contact"], condition=Q(is_primary=True), name="one_primary_email"
            ),
        ]

    def __str__(self) -> str:
        return self.email


class ContactPhone(TimestampedModel):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="phones", db_index=False)  # a unique or composite index starts with it
    e164 = models.CharField(max_length=20, db_index=True)
    raw = models.CharField(max_length=50, blank=True, help_text="As typed")
    extension = models.CharField(max_length=10, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.WORK)
    is_primary = models.BooleanField(default=False)
    source = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(fields=["contact", "e164"], name="unique_contact_phone"),
            models.UniqueConstraint(
                fields=["contact"], condition=Q(is_primary=True), name="one_primary_phone"
            ),
        ]

    def __str__(self) -> str:
        return self.e164


class Address(TimestampedModel):
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.WORK)
    street = models.CharField(max_length=300, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    is_primary = models.BooleanField(default=False)
    source = models.CharField(max_length=100, blank=True)

    class Meta:
        abstract = True
        ordering = ["-is_primary", "id"]

    def __str__(self) -> str:
        parts = [self.street, self.postal_code, self.city, self.region, self.country]
        return ", ".join(p for p in parts if p)


class ContactAddress(Address):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="addresses")

    class Meta(Address.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["contact"], condition=Q(is_primary=True), name="one_primary_contact_addr"
            ),
        ]


class AccountAddress(Address):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="addresses")

    class Meta(Address.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=Q(is_primary=True), name="one_primary_account_addr"
            ),
        ]


class AccountDomain(TimestampedModel):
    """A web domain an organisation owns; e-mail addresses at it point to the account."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(max_length=253, unique=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class AccountMembership(TimestampedModel):
    """A contact's place at an account: primary or not, buying role and importance."""

    class BuyingRole(models.TextChoices):
        DECISION_MAKER = "decision_maker", "Decision maker"
        BUYER = "buyer", "Buyer"
        INFLUENCER = "influencer", "Influencer"
        USER = "user", "User"
        GATEKEEPER = "gatekeeper", "Gatekeeper"
        OTHER = "other", "Other"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="memberships", db_index=False)  # a unique or composite index starts with it
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships", db_index=False)  # a unique or composite index starts with it
    is_primary = models.BooleanField(default=False)
    job_title = models.CharField(max_length=150, blank=True)
    buying_role = models.CharField(max_length=20, choices=BuyingRole.choices, blank=True)
    rank = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="1 is the most important person at the account"
    )
    started_on = models.DateField(null=True, blank=True)
    ended_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(fields=["contact", "account"], name="unique_membership"),
            models.UniqueConstraint(
                fields=["contact"], condition=Q(is_primary=True), name="one_primary_account"
            ),
        ]
        indexes = [models.Index(fields=["account", "rank"], name="membership_rank_idx")]

    def __str__(self) -> str:
        # No account name: history is shown to people who may not see that account.
        return f"membership of account {self.account_id}"


class ContactExternalId(TimestampedModel):
    """The id a contact has in another system; imports and integrations update through it."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="external_ids")
    source = models.CharField(max_length=100)
    external_id = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="unique_contact_xid"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class AccountExternalId(TimestampedModel):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="external_ids")
    source = models.CharField(max_length=100)
    external_id = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="unique_account_xid"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class DataField(VersionedModel):
    """An extra field an admin adds to accounts or contacts at runtime.

    Values live in the record's ``custom`` JSON under ``key``; ``view_roles`` and
    ``edit_roles`` list the roles that may see and change it (empty: every role).
    """

    class Entity(models.TextChoices):
        ACCOUNT = "account", "Account"
        CONTACT = "contact", "Contact"

    class Type(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        DATE = "date", "Date"
        CHOICE = "choice", "Choice"
        MULTI_CHOICE = "multichoice", "Multiple choice"
        BOOLEAN = "boolean", "Yes / no"
        EMAIL = "email", "E-mail address"
        PHONE = "phone", "Phone number"
        URL = "url", "Web address"

    entity = models.CharField(max_length=10, choices=Entity.choices)
    key = models.SlugField(max_length=50, help_text="Machine name, used in the API and imports")
    label = models.CharField(max_length=100)
    help_text = models.CharField(max_length=300, blank=True)
    type = models.CharField(max_length=15, choices=Type.choices)
    choices = models.JSONField(default=list, blank=True)
    required = models.BooleanField(default=False)
    view_roles = models.JSONField(default=list, blank=True)
    edit_roles = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    # Equal values are strong evidence of one person (a date of birth, a customer number).
    is_identifying = models.BooleanField(default=False)

    class Meta:
        ordering = ["entity", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "key"], name="unique_datafield_key"),
        ]

    def __str__(self) -> str:
        return f"{self.entity}.{self.key}"


class SearchToken(models.Model):
    """One word of a contact's or an account's name, for the global search."""

    token = models.CharField(max_length=60)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # Indexed only where set (searchtoken_account_fk_idx): most rows are contacts'.
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )

    class Meta:
        indexes = [
            models.Index(
                fields=["account"], name="searchtoken_account_fk_idx", condition=Q(account__isnull=False)
            ),
            # Partial: 19 rows in 20 are contacts', so each kind scans only its own.
            models.Index(
                fields=["token", "contact"],
                name="searchtoken_contact_idx",
                condition=Q(contact__isnull=False),
            ),
            models.Index(
                fields=["token", "account"],
                name="searchtoken_account_idx",
                condition=Q(account__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.token


class SearchVariant(models.Model):
    """A known name word and each of its one-letter deletions (SymSpell), for typo search.

    The vocabulary of name words is small (tens of thousands) even for millions of people,
    so a typo is found with one indexed lookup instead of a scan of every name.
    """

    variant = models.CharField(max_length=60)
    token = models.CharField(max_length=60)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["variant", "token"], name="unique_search_variant"),
        ]

    def __str__(self) -> str:
        return f"{self.variant} -> {self.token}"

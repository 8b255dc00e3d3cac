"""Request and response shapes. Input schemas forbid unknown fields; the services do the
real validation and normalisation, so types here are only what JSON can say."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from ninja import Schema
from pydantic import ConfigDict, Field

from rapport.api.common import Problem
from rapport.customers.models import Account, AccountMembership, Contact, DataField, Kind, Lifecycle
from rapport.users.models import Role

# Literal[...] built from the model choices, so the schema lists the allowed values. Type
# checkers cannot follow a Literal made at run time, so to them these are plain strings.
if TYPE_CHECKING:
    KindT: TypeAlias = str
    LifecycleT: TypeAlias = str
    ChannelT: TypeAlias = str
    SizeT: TypeAlias = str
    BuyingRoleT: TypeAlias = str
    EntityT: TypeAlias = str
    FieldTypeT: TypeAlias = str
    RoleT: TypeAlias = str
else:
    KindT = Literal[tuple(Kind.values)]
    LifecycleT = Literal[tuple(Lifecycle.values)]
    ChannelT = Literal[tuple(Contact.Channel.values)]
    SizeT = Literal[("", *Account.Size.values)]
    BuyingRoleT = Literal[("", *AccountMembership.BuyingRole.values)]
    EntityT = Literal[tuple(DataField.Entity.values)]
    FieldTypeT = Literal[tuple(DataField.Type.values)]
    RoleT = Literal[tuple(Role.values)]
SortT = Literal["name", "-name", "newest", "oldest", "updated"]


class In(Schema):
    model_config = ConfigDict(extra="forbid")


# --- parts ------------------------------------------------------------------------------


class EmailIn(In):
    email: str
    kind: KindT | None = None
    is_primary: bool | None = None
    source: str | None = None


class EmailPatch(In):
    email: str | None = None
    kind: KindT | None = None
    is_primary: bool | None = None
    source: str | None = None


class PhoneIn(In):
    number: str = Field(description="As typed; stored in E.164")
    region: str | None = Field(None, description="ISO country to read a local number in")
    kind: KindT | None = None
    is_primary: bool | None = None
    source: str | None = None


class PhonePatch(In):
    number: str | None = None
    region: str | None = None
    kind: KindT | None = None
    is_primary: bool | None = None
    source: str | None = None


class AddressIn(In):
    street: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str = Field(description="ISO 3166-1 alpha-2, or a country name")
    kind: KindT | None = None
    is_primary: bool | None = None
    source: str | None = None


class AddressPatch(In):
    street: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    kind: KindT | None = None
    is_primary: bool | None = None
    source: str | None = None


class MembershipIn(In):
    account: int
    is_primary: bool | None = None
    job_title: str | None = None
    buying_role: BuyingRoleT | None = None
    rank: int | None = Field(None, description="1 is the most important person at the account")
    started_on: dt.date | None = None
    ended_on: dt.date | None = None


class MembershipPatch(In):
    is_primary: bool | None = None
    job_title: str | None = None
    buying_role: BuyingRoleT | None = None
    rank: int | None = None
    started_on: dt.date | None = None
    ended_on: dt.date | None = None


class ExternalIdIn(In):
    source: str
    external_id: str


class DomainIn(In):
    domain: str


class EmailOut(Schema):
    id: int
    email: str
    domain: str
    kind: str
    is_primary: bool
    source: str


class PhoneOut(Schema):
    id: int
    e164: str
    raw: str
    extension: str
    kind: str
    is_primary: bool
    source: str


class AddressOut(Schema):
    id: int
    street: str
    city: str
    region: str
    postal_code: str
    country: str
    kind: str
    is_primary: bool
    source: str


class MembershipOut(Schema):
    id: int
    account: int
    account_name: str | None = Field(None, description="Absent if you may not see the account")
    is_primary: bool
    job_title: str
    buying_role: str
    rank: int | None
    started_on: dt.date | None
    ended_on: dt.date | None


class ExternalIdOut(Schema):
    id: int
    source: str
    external_id: str


class DomainOut(Schema):
    id: int
    domain: str


class PersonOut(Schema):
    """A contact at an account, in the account's ranking."""

    membership: int
    contact: int
    full_name: str
    job_title: str
    buying_role: str
    rank: int | None
    is_primary: bool
    started_on: dt.date | None
    ended_on: dt.date | None


# --- contacts ---------------------------------------------------------------------------


class ContactFields(In):
    full_name: str | None = Field(None, description="As typed; fills name parts not given")
    prefix: str | None = None
    given_name: str | None = None
    middle_name: str | None = None
    family_name: str | None = None
    suffix: str | None = None
    job_title: str | None = None
    department: str | None = None
    preferred_channel: ChannelT | None = None
    language: str | None = Field(None, description="BCP 47, e.g. en or fr-CA")
    time_zone: str | None = Field(None, description="IANA, e.g. Europe/London")
    owner: int | None = Field(None, description="User id; only roles that may reassign")
    source: str | None = None
    lifecycle: LifecycleT | None = None
    tags: list[str] | None = None
    custom: dict[str, Any] | None = Field(None, description="Data-dictionary values by key")


class ContactPatch(ContactFields):
    pass


class ContactCreate(ContactFields):
    emails: list[EmailIn] = []
    phones: list[PhoneIn] = []
    addresses: list[AddressIn] = []
    memberships: list[MembershipIn] = []
    external_ids: list[ExternalIdIn] = []


class AccountRef(Schema):
    id: int
    name: str


class ContactSummary(Schema):
    id: int
    version: int
    full_name: str
    given_name: str | None = None
    family_name: str | None = None
    job_title: str | None = None
    lifecycle: str | None = None
    owner: int | None = None
    tags: list[str] | None = None
    custom: dict[str, Any] | None = None
    primary_email: str | None = None
    primary_phone: str | None = None
    primary_account: AccountRef | None = None
    updated_at: dt.datetime


class ContactOut(Schema):
    """A contact. Fields your role may not see are left out."""

    id: int
    version: int
    full_name: str
    prefix: str | None = None
    given_name: str | None = None
    middle_name: str | None = None
    family_name: str | None = None
    suffix: str | None = None
    job_title: str | None = None
    department: str | None = None
    preferred_channel: str | None = None
    language: str | None = None
    time_zone: str | None = None
    owner: int | None = None
    source: str | None = None
    lifecycle: str | None = None
    tags: list[str] | None = None
    custom: dict[str, Any] | None = None
    emails: list[EmailOut] | None = None
    phones: list[PhoneOut] | None = None
    addresses: list[AddressOut] | None = None
    memberships: list[MembershipOut] | None = None
    external_ids: list[ExternalIdOut] | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


class ContactPage(Schema):
    items: list[ContactSummary]
    next_cursor: str | None


# --- likely duplicates (the check before a create, and the identity API) --------------------


class EvidenceOut(Schema):
    field: str = Field(description="The comparison field, e.g. family, given, email, phone")
    level: int = Field(description="-1 missing, 0 disagrees, higher agrees more")
    weight: float = Field(description="Its evidence in bits: positive for, negative against")
    words: str = Field(description="What the level means, for a person")


class DuplicateOut(Schema):
    """A stored record that is likely the same customer, with the evidence field by field."""

    id: int
    kind: Literal["contact", "account"]
    label: str = Field(description="The contact's name or the account's name")
    detail: str = Field(description="For a contact, its primary account's name")
    probability: float = Field(description="0–1: how likely it is the same customer")
    percent: int
    score: float = Field(description="The total evidence in bits")
    evidence: list[EvidenceOut] = Field(description="Strongest evidence first")


OnDuplicateT = Literal["ignore", "report", "refuse"]


class ContactCreated(ContactOut):
    duplicates: list[DuplicateOut] | None = Field(
        None, description="With `on_duplicate=report`: likely duplicates found before creating"
    )


# --- accounts ---------------------------------------------------------------------------


class AccountFields(In):
    name: str | None = None
    legal_name: str | None = None
    industry: str | None = None
    size: SizeT | None = None
    country: str | None = Field(None, description="ISO 3166-1 alpha-2, or a country name")
    phone: str | None = Field(None, description="As typed; stored in E.164")
    parent: int | None = Field(None, description="Parent account id")
    owner: int | None = Field(None, description="User id; only roles that may reassign")
    lifecycle: LifecycleT | None = None
    tags: list[str] | None = None
    notes: str | None = None
    custom: dict[str, Any] | None = Field(None, description="Data-dictionary values by key")


class AccountPatch(AccountFields):
    pass


class AccountCreate(AccountFields):
    name: str  # type: ignore[assignment]
    domains: list[str] = []
    external_ids: list[ExternalIdIn] = []
    addresses: list[AddressIn] = []


class AccountSummary(Schema):
    id: int
    version: int
    name: str
    industry: str | None = None
    country: str | None = None
    lifecycle: str | None = None
    owner: int | None = None
    tags: list[str] | None = None
    custom: dict[str, Any] | None = None
    domains: list[str] | None = None
    updated_at: dt.datetime


class AccountOut(Schema):
    """An account. Fields your role may not see are left out."""

    id: int
    version: int
    name: str
    legal_name: str | None = None
    industry: str | None = None
    size: str | None = None
    country: str | None = None
    phone: str | None = None
    parent: int | None = None
    owner: int | None = None
    lifecycle: str | None = None
    tags: list[str] | None = None
    notes: str | None = None
    custom: dict[str, Any] | None = None
    domains: list[DomainOut] | None = None
    addresses: list[AddressOut] | None = None
    external_ids: list[ExternalIdOut] | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


class AccountPage(Schema):
    items: list[AccountSummary]
    next_cursor: str | None


class AccountCreated(AccountOut):
    duplicates: list[DuplicateOut] | None = Field(
        None, description="With `on_duplicate=report`: likely duplicates found before creating"
    )


class DuplicateProblem(Problem):
    """409 from a create with `on_duplicate=refuse`: nothing was created."""

    duplicates: list[DuplicateOut]


# --- data dictionary -----------------------------------------------------------------------


class DataFieldCreate(In):
    entity: EntityT
    key: str | None = Field(None, description="Machine name; made from the label if left out")
    label: str
    help_text: str | None = None
    type: FieldTypeT
    choices: list[str] | None = None
    required: bool | None = None
    is_identifying: bool | None = Field(
        None,
        description="Equal values mark the same person or organisation (a customer or tax "
        "number): duplicate detection takes two records sharing one as very likely the same",
    )
    view_roles: list[RoleT] | None = Field(None, description="Empty: every role")
    edit_roles: list[RoleT] | None = Field(None, description="Empty: every role")
    position: int | None = None
    is_active: bool | None = None


class DataFieldPatch(In):
    label: str | None = None
    help_text: str | None = None
    choices: list[str] | None = None
    required: bool | None = None
    is_identifying: bool | None = Field(
        None,
        description="Equal values mark the same person or organisation (a customer or tax "
        "number): duplicate detection takes two records sharing one as very likely the same",
    )
    view_roles: list[RoleT] | None = None
    edit_roles: list[RoleT] | None = None
    position: int | None = None
    is_active: bool | None = None


class DataFieldOut(Schema):
    id: int
    version: int
    entity: str
    key: str
    label: str
    help_text: str
    type: str
    choices: list[str]
    required: bool
    is_identifying: bool
    view_roles: list[str]
    edit_roles: list[str]
    position: int
    is_active: bool


# --- history, search, me -----------------------------------------------------------------


class HistoryEntryOut(Schema):
    id: int
    at: dt.datetime
    actor: str = Field(description="The username, or 'system'")
    via: str
    action: str
    object_kind: str
    object_id: int | None
    changes: dict[str, list[Any]] = Field(description="{field: [old, new]}")
    import_id: int | None = Field(
        None, description="The import that made the change (via 'import')"
    )


class SearchHitOut(Schema):
    kind: Literal["contact", "account"]
    id: int
    name: str
    score: float
    matched_on: str


class SearchOut(Schema):
    items: list[SearchHitOut]

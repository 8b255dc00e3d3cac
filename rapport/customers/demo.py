"""Demo data: realistic, reproducible fake accounts and contacts (``manage.py demo``).

The same seed gives the same people, companies, addresses and numbers. Rows are written in
chunks, each chunk in its own transaction with its search-index rows, so memory stays flat
and a million contacts load in minutes: SQLite gets one ``executemany`` per table and chunk,
PostgreSQL a ``COPY``. Demo data is the system's own work, so there is one audit entry for
the whole load rather than one per row; the values still go through the same normalisation
rules (names, e-mail addresses, E.164 numbers, search tokens) as the services.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import sys
import time
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import phonenumbers
from django.db import connection, transaction
from django.utils import timezone
from faker import Faker
from phonenumbers import PhoneNumberFormat, PhoneNumberType
from tqdm import tqdm

from rapport.audit.models import AuditEntry
from rapport.audit.services import Actor, audit_record
from rapport.core.bulk import BulkWriter
from rapport.customers import normalize, search_index, services
from rapport.customers.demo_history import HistoryResult, demo_history, random_phone
from rapport.customers.models import (
    Account,
    AccountAddress,
    AccountDomain,
    AccountMembership,
    Contact,
    ContactAddress,
    ContactEmail,
    ContactPhone,
    DataField,
    Kind,
    Lifecycle,
    SearchToken,
    Tag,
)
from rapport.users.models import Role, Team, User

DEFAULT_PASSWORD = "rapport-demo"  # noqa: S105 (the documented demo password)
SOURCE = "demo"
# Contacts of one load that get a history; a million-contact load keeps its speed.
HISTORY_CONTACTS = 5000


@dataclass(frozen=True)
class LocaleSpec:
    faker: str
    country: str
    language: str
    time_zones: tuple[str, ...]
    tld: str
    weight: int
    free_mail: tuple[str, ...]


LOCALES = (
    LocaleSpec("en_GB", "GB", "en-GB", ("Europe/London",), "co.uk", 22, ("gmail.com", "outlook.com", "yahoo.com")),
    LocaleSpec("en_US", "US", "en-US", ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"), "com", 22, ("gmail.com", "outlook.com", "yahoo.com")),
    LocaleSpec("de_DE", "DE", "de-DE", ("Europe/Berlin",), "de", 14, ("web.de", "gmail.com", "outlook.com")),
    LocaleSpec("fr_FR", "FR", "fr-FR", ("Europe/Paris",), "fr", 12, ("orange.fr", "gmail.com", "yahoo.com")),
    LocaleSpec("es_ES", "ES", "es-ES", ("Europe/Madrid",), "es", 8, ("gmail.com", "outlook.com", "yahoo.com")),
    LocaleSpec("it_IT", "IT", "it-IT", ("Europe/Rome",), "it", 7, ("gmail.com", "outlook.com", "yahoo.com")),
    LocaleSpec("nl_NL", "NL", "nl-NL", ("Europe/Amsterdam",), "nl", 6, ("gmail.com", "outlook.com")),
    LocaleSpec("ja_JP", "JP", "ja-JP", ("Asia/Tokyo",), "co.jp", 5, ("gmail.com", "yahoo.com", "outlook.com")),
    LocaleSpec("sv_SE", "SE", "sv-SE", ("Europe/Stockholm",), "se", 2, ("gmail.com", "outlook.com")),
    LocaleSpec("pl_PL", "PL", "pl-PL", ("Europe/Warsaw",), "pl", 2, ("gmail.com", "outlook.com")),
)  # fmt: skip

INDUSTRIES = (
    "Software", "Manufacturing", "Retail", "Financial services", "Insurance", "Healthcare",
    "Pharmaceuticals", "Logistics", "Construction", "Energy", "Telecommunications", "Media",
    "Education", "Hospitality", "Automotive", "Agriculture", "Consulting", "Legal services",
    "Real estate", "Public sector", "Non-profit", "Food and beverage",
)  # fmt: skip
DEPARTMENTS = (
    "Sales", "Marketing", "Finance", "Procurement", "IT", "Operations", "Human resources",
    "Legal", "Customer service", "Research and development", "Executive", "",
)  # fmt: skip
TAGS = (
    "VIP", "Newsletter", "Event 2025", "Partner", "Reference customer", "Trial", "Churn risk",
    "Key account", "Webinar", "Trade show", "Upsell", "Do not call",
)  # fmt: skip
CONTACT_SOURCES = (
    "Website",
    "Trade show",
    "Referral",
    "Webinar",
    "Purchased list",
    "Partner",
    "Import",
)
JP_COMPANY_WORDS = (("商事", "shoji"), ("工業", "kogyo"), ("電機", "denki"), ("物産", "bussan"), ("製作所", "seisakusho"), ("銀行", "bank"))  # fmt: skip
# Honorific prefixes by country: (female, male).
HONORIFICS = {
    "GB": (("Mrs", "Ms", "Miss", "Dr", "Prof"), ("Mr", "Dr", "Prof")),
    "US": (("Mrs.", "Ms.", "Dr."), ("Mr.", "Dr.")),
    "DE": (("Frau", "Dr.", "Prof. Dr."), ("Herr", "Dr.", "Prof. Dr.")),
    "FR": (("Mme", "Dr"), ("M.", "Dr")),
    "ES": (("Sra.", "Dra."), ("Sr.", "Dr.")),
    "IT": (("Sig.ra", "Dott.ssa"), ("Sig.", "Dott.")),
    "NL": (("Mevr.", "Dr."), ("Dhr.", "Dr.")),
    "PL": (("Pani",), ("Pan",)),
}
STOP_WORDS = {
    "and",
    "und",
    "et",
    "y",
    "e",
    "en",
    "of",
    "the",
    "de",
    "la",
    "le",
    "les",
    "del",
    "van",
    "der",
    "di",
}
SUFFIXES = ("Jr.", "Sr.", "III", "PhD")
ACCENTED = ("Zoë", "Chloé", "Renée", "José", "Hélène", "André", "Jürgen", "Søren", "Ángel", "Núria", "Łukasz", "Björn")  # fmt: skip


def _weighted(rng: random.Random, pairs: Sequence[tuple[Any, int]]) -> Any:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


ACCOUNT_LIFECYCLES = ((Lifecycle.CUSTOMER, 40), (Lifecycle.PROSPECT, 35), (Lifecycle.LEAD, 15), (Lifecycle.FORMER_CUSTOMER, 10))  # fmt: skip
CONTACT_LIFECYCLES = ((Lifecycle.SUBSCRIBER, 15), (Lifecycle.LEAD, 35), (Lifecycle.PROSPECT, 20), (Lifecycle.CUSTOMER, 25), (Lifecycle.FORMER_CUSTOMER, 5))  # fmt: skip
SIZES = ((Account.Size.MICRO, 25), (Account.Size.SMALL, 30), (Account.Size.MEDIUM, 25), (Account.Size.LARGE, 12), (Account.Size.ENTERPRISE, 8))  # fmt: skip
ROLES = ((AccountMembership.BuyingRole.DECISION_MAKER, 10), (AccountMembership.BuyingRole.BUYER, 10), (AccountMembership.BuyingRole.INFLUENCER, 20), (AccountMembership.BuyingRole.USER, 35), (AccountMembership.BuyingRole.GATEKEEPER, 5), (AccountMembership.BuyingRole.OTHER, 5), ("", 15))  # fmt: skip
CHANNELS = ((Contact.Channel.EMAIL, 40), (Contact.Channel.PHONE, 20), (Contact.Channel.SMS, 5), (Contact.Channel.MAIL, 5), (Contact.Channel.NONE, 30))  # fmt: skip

# Demo staff: (username, role, teams, first name, last name)
STAFF = (
    ("admin", Role.ADMIN, (), "Ada", "Admin"),
    ("manager", Role.MANAGER, ("North", "South"), "Morgan", "Manager"),
    ("north-rep-1", Role.SALES, ("North",), "Nora", "Northcott"),
    ("north-rep-2", Role.SALES, ("North",), "Niall", "Norberg"),
    ("south-rep-1", Role.SALES, ("South",), "Sofia", "Southall"),
    ("south-rep-2", Role.SALES, ("South",), "Samir", "Sotelo"),
    ("marketing", Role.MARKETING, (), "Mia", "Marketer"),
    ("service", Role.SERVICE, (), "Sam", "Service"),
    ("steward", Role.STEWARD, (), "Stella", "Steward"),
    ("readonly", Role.READONLY, (), "Rory", "Reader"),
)
OWNER_USERNAMES = ("north-rep-1", "north-rep-2", "south-rep-1", "south-rep-2", "manager")


@dataclass
class DemoResult:
    accounts: int = 0
    contacts: int = 0
    emails: int = 0
    phones: int = 0
    memberships: int = 0
    tokens: int = 0
    variants_vocabulary: int = 0
    seconds: float = 0.0
    users_created: list[str] = field(default_factory=list)
    users_existing: list[str] = field(default_factory=list)
    skipped: bool = False
    history: HistoryResult | None = None


# --- users -----------------------------------------------------------------------------------


def demo_users_ensure(
    *, password: str = DEFAULT_PASSWORD
) -> tuple[dict[str, User], list[str], list[str]]:
    """The demo staff users by username; creates the missing ones (existing ones are untouched)."""
    teams = {name: Team.objects.get_or_create(name=name)[0] for name in ("North", "South")}
    users: dict[str, User] = {}
    created: list[str] = []
    existing: list[str] = []
    for username, role, team_names, first, last in STAFF:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_user(
                username=username,
                email=f"{username}@rapport.example",
                password=password,
                role=role,
                first_name=first,
                last_name=last,
                is_staff=role == Role.ADMIN,
                is_superuser=role == Role.ADMIN,
            )
            user.teams.set([teams[t] for t in team_names])
            created.append(username)
        else:
            existing.append(username)
        users[username] = user
    return users, created, existing


# --- value pools (built once from Faker, then combined with a seeded Random: fast) -----------


def _ascii(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", normalize.fold(text))


@dataclass
class _Pool:
    spec: LocaleSpec
    given_f: list[tuple[str, str]]  # (name, ascii form for e-mail addresses)
    given_m: list[tuple[str, str]]
    family: list[tuple[str, str]]
    prefix_f: list[str]
    prefix_m: list[str]
    jobs: list[str]
    companies: list[tuple[str, str, str]]  # (name, legal name, ascii stem for the domain)
    addresses: list[tuple[str, str, str, str]]  # street, city, region, postal code
    phone_stems: dict[int, list[phonenumbers.PhoneNumber]]  # number type -> example numbers


@lru_cache(maxsize=32)
def _faker_pool(spec: LocaleSpec, seed: int) -> _Pool:
    """Names, companies, addresses and number ranges of one locale (cached: they never change)."""
    fake = Faker(spec.faker)
    fake.seed_instance(seed)
    jp = spec.country == "JP"

    def pairs(method: str, n: int) -> list[tuple[str, str]]:
        out = []
        for _ in range(n):
            if jp:
                kanji, _kana, roman = getattr(fake, method + "_pair")()
                out.append((kanji, _ascii(roman)))
            else:
                name = getattr(fake, method)()
                out.append((name, _ascii(name)))
        return [p for p in out if p[1]]

    given_f = pairs("first_name_female", 1500)
    given_m = pairs("first_name_male", 1500)
    family = pairs("last_name", 4000)
    if spec.country in {"GB", "US", "FR", "ES"}:  # a few accented given names everywhere
        given_f += [(n, _ascii(n)) for n in ACCENTED[:6]]
        given_m += [(n, _ascii(n)) for n in ACCENTED[6:]]

    companies = []
    for _ in range(3000):
        if jp:
            kanji, _kana, roman = fake.last_name_pair()
            word, word_roman = fake.random_element(JP_COMPANY_WORDS)
            name = kanji + word
            companies.append((name, "株式会社" + name, f"{_ascii(roman)}-{word_roman}"))
        else:
            name = fake.company()
            stem = "".join(
                [w for w in normalize.normalize_org_name(name).split() if w not in STOP_WORDS][:2]
            )
            stem = re.sub(r"[^a-z0-9]", "", stem)
            if stem:
                companies.append((name, name, stem[:40]))
    addresses = []
    for _ in range(800):
        street = fake.street_address().replace("\n", ", ")
        region = ""
        for method in ("state", "administrative_unit", "region", "prefecture"):
            if hasattr(fake, method):
                try:
                    region = getattr(fake, method)()
                    break
                except (AttributeError, TypeError):
                    continue
        addresses.append((street[:300], fake.city()[:100], region[:100], fake.postcode()[:20]))
    stems = {
        t: _stems(spec.country, t, seed)
        for t in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE)
    }
    return _Pool(
        spec=spec,
        given_f=given_f,
        given_m=given_m,
        family=family,
        prefix_f=list(HONORIFICS.get(spec.country, ((), ()))[0]),
        prefix_m=list(HONORIFICS.get(spec.country, ((), ()))[1]),
        jobs=[fake.job()[:150] for _ in range(400)],
        companies=companies,
        addresses=addresses,
        phone_stems=stems,
    )


def _stems(region: str, number_type: int, seed: int) -> list[phonenumbers.PhoneNumber]:
    """Valid numbers of a type, varied in all but their first two digits: random_phone then
    varies the last six digits of one of them, so numbers spread over the real ranges."""
    example = phonenumbers.example_number_for_type(region, number_type)
    example = example or phonenumbers.example_number(region)
    assert example is not None, region  # every LOCALES country has example numbers
    rng = random.Random(f"{seed}-{region}-{number_type}")
    nsn = phonenumbers.national_significant_number(example)
    found: list[phonenumbers.PhoneNumber] = [example]
    for _ in range(3000):
        digits = nsn[:2] + "".join(rng.choices("0123456789", k=len(nsn) - 2))
        number = phonenumbers.PhoneNumber(
            country_code=example.country_code,
            national_number=int(digits),
            italian_leading_zero=True if digits.startswith("0") else None,
        )
        if phonenumbers.number_type(number) in (number_type, PhoneNumberType.FIXED_LINE_OR_MOBILE):
            found.append(number)
            if len(found) >= 200:
                break
    return found


# --- phone numbers ---------------------------------------------------------------------------


def _typed(rng: random.Random, number: phonenumbers.PhoneNumber) -> str:
    """The number as a person might have typed it."""
    style = rng.random()
    if style < 0.35:
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    if style < 0.65:
        return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    if style < 0.75:
        return phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if style < 0.85:  # digits only, national
        return re.sub(r"\D", "", phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL))
    if style < 0.93:  # 00 instead of +
        return "00" + phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)[1:]
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return re.sub(r"[\s\-()]+", ".", national).strip(".")  # 01.23.45.67.89


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return f"+{number.country_code}{phonenumbers.national_significant_number(number)}"


# --- writing rows ----------------------------------------------------------------------------


_Writer = BulkWriter


ACCOUNT_FIELDS = ("id", "created_at", "updated_at", "version", "name", "legal_name", "normalized_name", "industry", "size", "country", "phone", "parent", "owner", "lifecycle", "notes", "custom")  # fmt: skip
CONTACT_FIELDS = ("id", "created_at", "updated_at", "version", "prefix", "given_name", "middle_name", "family_name", "suffix", "full_name", "sort_name", "job_title", "department", "preferred_channel", "language", "time_zone", "owner", "source", "lifecycle", "custom")  # fmt: skip
EMAIL_FIELDS = (
    "created_at",
    "updated_at",
    "contact",
    "email",
    "domain",
    "kind",
    "is_primary",
    "source",
)
PHONE_FIELDS = ("created_at", "updated_at", "contact", "e164", "raw", "extension", "kind", "is_primary", "source")  # fmt: skip
ADDRESS_FIELDS = ("created_at", "updated_at", "kind", "street", "city", "region", "postal_code", "country", "is_primary", "source")  # fmt: skip
MEMBERSHIP_FIELDS = ("created_at", "updated_at", "contact", "account", "is_primary", "job_title", "buying_role", "rank", "started_on", "ended_on")  # fmt: skip
TOKEN_FIELDS = ("token", "contact", "account")


@dataclass
class _DemoAccount:
    pk: int
    pool: int  # index into the locale pools
    domain: str
    owner_id: int | None


@dataclass
class _Chunk:
    """The rows of one chunk, table by table."""

    main: list[tuple] = field(default_factory=list)
    emails: list[tuple] = field(default_factory=list)
    phones: list[tuple] = field(default_factory=list)
    addresses: list[tuple] = field(default_factory=list)
    memberships: list[tuple] = field(default_factory=list)
    domains: list[tuple] = field(default_factory=list)
    tags: list[tuple] = field(default_factory=list)
    tokens: list[tuple] = field(default_factory=list)


@dataclass
class _Household:
    """People at one home address sharing a family name: partners and grown children,
    each with a given name and a date of birth of their own."""

    family: str
    family_ascii: str
    address: tuple[str, str, str, str]
    born: dt.date | None
    givens: set[str] = field(default_factory=set)


# Share of contacts with a date of birth, and of private contacts who join the latest
# household of their country (a partner or a grown child).
BIRTH_DATE_RATE = 0.85
HOUSEHOLD_RATE = 0.2
BIRTH_DATE_FIELD = "date_of_birth"


def _given_key(name: str) -> str:
    # 'Christopher' and 'Chris', 'Anna' and 'Ann': too alike for two people of one home.
    return normalize.fold(name)[:3]


class DemoGenerator:
    """Generates demo rows from a seed; the same seed always gives the same rows."""

    def __init__(
        self,
        *,
        seed: int,
        owner_ids: list[int],
        tag_ids: list[int],
        writer: _Writer,
        now: dt.datetime,
        birth_key: str = "",
    ):
        self.rng = random.Random(seed)
        self.pools = [_faker_pool(spec, seed + i) for i, spec in enumerate(LOCALES)]
        self.weights = [spec.weight for spec in LOCALES]
        self.owner_ids = owner_ids
        self.tag_ids = tag_ids
        self.w = writer
        self.now = now
        # A fixed pool of timestamps, adapted once: adapting a datetime per row is slow.
        rng = random.Random(seed + 1000)
        self.stamps = []
        for _ in range(4096):
            created = now - dt.timedelta(seconds=rng.randrange(3 * 365 * 86400))
            updated = min(now, created + dt.timedelta(seconds=rng.randrange(400 * 86400)))
            self.stamps.append((writer.stamp(created), writer.stamp(updated)))
        self.days = [(now - dt.timedelta(days=d)).date() for d in range(0, 12 * 365, 7)]
        self.accounts: list[_DemoAccount] = []
        self.accounts_by_pool: dict[int, list[_DemoAccount]] = {}
        self.vocabulary: set[str] = set()
        # Dates of birth and households from a stream of their own: the names, e-mails and
        # numbers of a seed stay what they were before people had them.
        self.birth_rng = random.Random(f"birth-{seed}")
        self.today = now.date()
        self.birth_key = birth_key
        self.households: dict[int, _Household] = {}  # the latest household of each locale
        # Two people never share an e-mail address (a second Sean Smith at a company is
        # sean.smith2@): hashes, so a million contacts' addresses stay small.
        self.used_emails: set[int] = set()

    def _pool_index(self) -> int:
        return self.rng.choices(range(len(self.pools)), weights=self.weights)[0]

    def _phone(self, pool: _Pool, number_type: int) -> phonenumbers.PhoneNumber:
        return random_phone(self.rng, self.rng.choice(pool.phone_stems[number_type]))

    def _tags(self, obj_id: int, rate: float) -> list[tuple]:
        if not self.tag_ids or self.rng.random() >= rate:
            return []
        chosen = self.rng.sample(self.tag_ids, k=self.rng.choice((1, 1, 2)))
        return [(obj_id, t) for t in chosen]

    def _household_to_join(self, pool: _Pool, given: str) -> _Household | None:
        """The latest household of the pool's country, if this private contact joins it:
        never under a given name too like a member's."""
        household = self.households.get(self.pools.index(pool))
        if household is None or self.birth_rng.random() >= HOUSEHOLD_RATE:
            return None
        if _given_key(given) in household.givens or len(household.givens) >= 4:
            return None
        return household

    def _birth_date(self, household: _Household | None) -> dt.date | None:
        """A date of birth for most people: 20 to 70 years ago; in a household, a partner's
        within six years of the first member's, or a grown child's 22 to 35 years after."""
        rng = self.birth_rng
        if rng.random() >= BIRTH_DATE_RATE:
            return None
        latest = self.today - dt.timedelta(days=20 * 365)
        if household is not None and household.born is not None:
            if rng.random() < 0.5:
                offset = rng.randint(-6 * 365, 6 * 365)
            else:
                offset = rng.randint(22 * 365, 35 * 365)
            born = household.born + dt.timedelta(days=offset)
            if born <= latest:
                return born
        return latest - dt.timedelta(days=rng.randrange(50 * 365))

    def _unique_email(self, email: str) -> str:
        local, _, domain = email.rpartition("@")
        candidate, n = email, 2
        while hash(candidate) in self.used_emails:
            candidate = f"{local}{n}@{domain}"
            n += 1
        self.used_emails.add(hash(candidate))
        return candidate

    # --- accounts ---

    def accounts_chunk(self, ids: list[int], used_domains: set[str]) -> _Chunk:
        rng = self.rng
        chunk = _Chunk()
        for pk in ids:
            pi = self._pool_index()
            pool = self.pools[pi]
            name, legal, stem = rng.choice(pool.companies)
            domain = f"{stem}.{pool.spec.tld}"
            n = 2
            while domain in used_domains:
                domain = f"{stem}{n}.{pool.spec.tld}"
                n += 1
            used_domains.add(domain)
            created, updated = rng.choice(self.stamps)
            owner = rng.choice(self.owner_ids) if self.owner_ids and rng.random() < 0.9 else None
            phone = _e164(self._phone(pool, PhoneNumberType.FIXED_LINE))
            parent = None
            if self.accounts and rng.random() < 0.03:
                parent = rng.choice(self.accounts[-500:]).pk
            chunk.main.append((
                pk, created, updated, 1, name[:200], legal[:200], normalize.normalize_org_name(name)[:200],
                rng.choice(INDUSTRIES), _weighted(rng, SIZES), pool.spec.country, phone, parent, owner,
                _weighted(rng, ACCOUNT_LIFECYCLES), "", "{}",
            ))  # fmt: skip
            chunk.domains.append((created, updated, pk, domain))
            street, city, region, postal = rng.choice(pool.addresses)
            chunk.addresses.append((created, updated, Kind.WORK, street, city, region, postal, pool.spec.country, True, SOURCE, pk))  # fmt: skip
            chunk.tags += self._tags(pk, 0.3)
            ns = types.SimpleNamespace(name=name, legal_name=legal)
            tokens = search_index.account_tokens(ns)  # type: ignore[arg-type]
            chunk.tokens += [(t, None, pk) for t in tokens]
            self.vocabulary |= tokens
            account = _DemoAccount(pk=pk, pool=pi, domain=domain, owner_id=owner)
            self.accounts.append(account)
            self.accounts_by_pool.setdefault(pi, []).append(account)
        return chunk

    # --- contacts ---

    def _name(self, pool: _Pool) -> dict[str, Any]:
        rng = self.rng
        female = rng.random() < 0.5
        givens = pool.given_f if female else pool.given_m
        given, given_ascii = rng.choice(givens)
        family, family_ascii = rng.choice(pool.family)
        country = pool.spec.country
        if country == "ES" and rng.random() < 0.5:  # two surnames
            second, second_ascii = rng.choice(pool.family)
            family, family_ascii = f"{family} {second}", family_ascii + second_ascii
        elif country in {"GB", "FR", "DE"} and rng.random() < 0.03:
            second, second_ascii = rng.choice(pool.family)
            family, family_ascii = f"{family}-{second}", family_ascii + second_ascii
        middle = ""
        if country != "JP" and rng.random() < 0.2:
            middle = rng.choice(givens)[0]
        prefixes = pool.prefix_f if female else pool.prefix_m
        prefix = rng.choice(prefixes) if prefixes and rng.random() < 0.1 else ""
        suffix = rng.choice(SUFFIXES) if country in {"US", "GB"} and rng.random() < 0.02 else ""
        return {
            "prefix": prefix[:30],
            "given_name": given[:100],
            "middle_name": middle[:100],
            "family_name": family[:100],
            "suffix": suffix,
            "ascii": (given_ascii, family_ascii),
        }

    def _local_part(self, given: str, family: str) -> str:
        rng = self.rng
        style = rng.random()
        if style < 0.45:
            local = f"{given}.{family}"
        elif style < 0.6:
            local = f"{given[:1]}{family}"
        elif style < 0.7:
            local = f"{given}_{family}"
        elif style < 0.8:
            local = f"{family}.{given}"
        else:
            local = f"{given}.{family}{rng.randrange(1, 1000)}"
        return local[:64]

    def contacts_chunk(self, ids: list[int]) -> _Chunk:
        rng, w = self.rng, self.w
        chunk = _Chunk()
        employee_rate = 0.7 if self.accounts else 0.0
        for pk in ids:
            account = None
            if rng.random() < employee_rate:
                account = rng.choice(self.accounts)
                pool = self.pools[account.pool]
            else:
                pool = self.pools[self._pool_index()]
            spec = pool.spec
            parts = self._name(pool)
            given_ascii, family_ascii = parts.pop("ascii")
            household = None
            if account is None:
                household = self._household_to_join(pool, parts["given_name"])
                if household is not None:
                    parts["family_name"], family_ascii = household.family, household.family_ascii
                    household.givens.add(_given_key(parts["given_name"]))
            born = self._birth_date(household)
            created, updated = rng.choice(self.stamps)
            job_title = rng.choice(pool.jobs) if account or rng.random() < 0.3 else ""
            if account is not None:
                owner = (
                    account.owner_id if rng.random() < 0.85 else rng.choice([*self.owner_ids, None])
                )
            else:
                owner = (
                    rng.choice(self.owner_ids) if self.owner_ids and rng.random() < 0.6 else None
                )
            # Exactly as services._apply_names computes them.
            full_name = normalize.display_name(parts)[:300]
            sort_name = normalize.sort_key(parts)
            chunk.main.append((
                pk, created, updated, 1, parts["prefix"], parts["given_name"], parts["middle_name"],
                parts["family_name"], parts["suffix"], full_name, sort_name, job_title,
                rng.choice(DEPARTMENTS) if account else "", _weighted(rng, CHANNELS), spec.language,
                rng.choice(spec.time_zones), owner, rng.choice(CONTACT_SOURCES),
                _weighted(rng, CONTACT_LIFECYCLES),
                json.dumps({self.birth_key: born.isoformat()}) if born and self.birth_key else "{}",
            ))  # fmt: skip

            # E-mail addresses: the first is primary.
            emails: list[tuple[str, str]] = []
            if account is not None:
                emails.append(
                    (f"{self._local_part(given_ascii, family_ascii)}@{account.domain}", Kind.WORK)
                )
                if rng.random() < 0.3:
                    emails.append(
                        (
                            f"{self._local_part(given_ascii, family_ascii)}@{rng.choice(spec.free_mail)}",
                            Kind.HOME,
                        )
                    )
            else:
                emails.append(
                    (
                        f"{self._local_part(given_ascii, family_ascii)}@{rng.choice(spec.free_mail)}",
                        Kind.HOME,
                    )
                )
                if rng.random() < 0.15:
                    emails.append(
                        (
                            f"{self._local_part(given_ascii, family_ascii)}{rng.randrange(10, 100)}@{rng.choice(spec.free_mail)}",
                            Kind.OTHER,
                        )
                    )
            seen: set[str] = set()
            for i, (email, kind) in enumerate(emails):
                email = self._unique_email(email.lower())
                if email in seen:
                    continue
                seen.add(email)
                chunk.emails.append(
                    (created, updated, pk, email, email.rsplit("@", 1)[1], kind, i == 0, SOURCE)
                )

            # Phone numbers: one or two, the first primary; stored E.164, raw as typed.
            if account is not None:
                first_type = (
                    PhoneNumberType.FIXED_LINE if rng.random() < 0.6 else PhoneNumberType.MOBILE
                )
                first_kind = Kind.WORK if first_type == PhoneNumberType.FIXED_LINE else Kind.MOBILE
                phones = [(first_type, first_kind)]
                if rng.random() < 0.3:
                    phones.append((PhoneNumberType.MOBILE, Kind.MOBILE))
            else:
                phones = [(PhoneNumberType.MOBILE, Kind.MOBILE)]
                if rng.random() < 0.2:
                    phones.append((PhoneNumberType.FIXED_LINE, Kind.HOME))
            numbers: set[str] = set()
            for i, (number_type, kind) in enumerate(phones):
                number = self._phone(pool, number_type)
                e164 = _e164(number)
                if e164 in numbers:
                    continue
                numbers.add(e164)
                chunk.phones.append(
                    (created, updated, pk, e164, _typed(rng, number)[:50], "", kind, i == 0, SOURCE)
                )

            home = rng.choice(pool.addresses) if account is None and rng.random() < 0.15 else None
            if household is not None:
                home = household.address
            elif home is not None:  # a new household: the next private contacts may join it
                self.households[self.pools.index(pool)] = _Household(
                    family=parts["family_name"],
                    family_ascii=family_ascii,
                    address=home,
                    born=born,
                    givens={_given_key(parts["given_name"])},
                )
            if home is not None:
                street, city, region, postal = home
                chunk.addresses.append((created, updated, Kind.HOME, street, city, region, postal, spec.country, True, SOURCE, pk))  # fmt: skip

            if account is not None:
                started = rng.choice(self.days)
                chunk.memberships.append((
                    created, updated, pk, account.pk, True, job_title, _weighted(rng, ROLES),
                    rng.randrange(1, 11) if rng.random() < 0.4 else None, w.day(started), None,
                ))  # fmt: skip
                if len(self.accounts) > 1 and rng.random() < 0.08:  # a former employer
                    other = rng.choice(self.accounts)
                    if other.pk != account.pk:
                        ended = started - dt.timedelta(days=rng.randrange(30, 700))
                        began = ended - dt.timedelta(days=rng.randrange(180, 3000))
                        chunk.memberships.append((
                            created, updated, pk, other.pk, False, rng.choice(pool.jobs), "", None,
                            w.day(began), w.day(ended),
                        ))  # fmt: skip

            chunk.tags += self._tags(pk, 0.25)
            ns = types.SimpleNamespace(**parts)
            tokens = search_index.contact_tokens(ns)  # type: ignore[arg-type]
            chunk.tokens += [(t, pk, None) for t in tokens]
            self.vocabulary |= tokens
        return chunk


def _write_accounts(w: _Writer, chunk: _Chunk) -> None:
    w.insert(Account, ACCOUNT_FIELDS, chunk.main)
    w.insert(AccountDomain, ("created_at", "updated_at", "account", "domain"), chunk.domains)
    w.insert(AccountAddress, (*ADDRESS_FIELDS, "account"), chunk.addresses)
    w.insert(Account.tags.through, ("account", "tag"), chunk.tags)
    w.insert(SearchToken, TOKEN_FIELDS, chunk.tokens)


def _write_contacts(w: _Writer, chunk: _Chunk) -> None:
    w.insert(Contact, CONTACT_FIELDS, chunk.main)
    w.insert(ContactEmail, EMAIL_FIELDS, chunk.emails)
    w.insert(ContactPhone, PHONE_FIELDS, chunk.phones)
    w.insert(ContactAddress, (*ADDRESS_FIELDS, "contact"), chunk.addresses)
    w.insert(AccountMembership, MEMBERSHIP_FIELDS, chunk.memberships)
    w.insert(Contact.tags.through, ("contact", "tag"), chunk.tags)
    w.insert(SearchToken, TOKEN_FIELDS, chunk.tokens)


def _birth_date_field(admin: User) -> str:
    """The key of the contacts' date of birth: an identifying data-dictionary field (so the
    duplicate scan tells apart namesakes and relatives), created by the admin if missing.
    '' if an admin has since made it something else: then no dates are written."""
    found = DataField.objects.filter(entity=DataField.Entity.CONTACT, key=BIRTH_DATE_FIELD).first()
    if found is None:
        found = services.datafield_create(
            actor=Actor(admin, via="system", context={"command": "demo"}),
            data={
                "entity": DataField.Entity.CONTACT,
                "key": BIRTH_DATE_FIELD,
                "label": "Date of birth",
                "type": DataField.Type.DATE,
                "is_identifying": True,
            },
        )
    ok = found.is_active and found.type == DataField.Type.DATE
    return found.key if ok else ""


def _batches(total: int, size: int) -> Iterator[int]:
    done = 0
    while done < total:
        n = min(size, total - done)
        yield n
        done += n


def demo_load(
    *,
    accounts: int = 200,
    contacts: int = 2000,
    seed: int = 42,
    password: str = DEFAULT_PASSWORD,
    if_empty: bool = False,
    chunk_size: int = 5000,
    progress: bool = True,
    history_contacts: int = HISTORY_CONTACTS,
) -> DemoResult:
    """Fill the database with demo staff, accounts and contacts (and their search index),
    then a year of history on up to ``history_contacts`` of the new contacts and their
    accounts (``demo_history``: timeline entries, edits, a few people entered twice).

    Adds to what is there; with ``if_empty`` it does nothing when any contact exists.
    """
    result = DemoResult()
    if if_empty and Contact.objects.exists():
        result.skipped = True
        return result
    started = time.monotonic()
    with transaction.atomic():
        users, result.users_created, result.users_existing = demo_users_ensure(password=password)
        for name in TAGS:
            Tag.objects.get_or_create(name=normalize.normalize_tag(name))
    owner_ids = [users[u].pk for u in OWNER_USERNAMES]
    tag_ids = list(Tag.objects.filter(name__in=TAGS).order_by("name").values_list("id", flat=True))
    writer = _Writer()
    if writer.sqlite:
        # The indexes outgrow SQLite's default 2 MB page cache after a few hundred thousand
        # rows; then every random index insert reads pages back. 256 MB keeps them in memory.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -262144")
    gen = DemoGenerator(
        seed=seed,
        owner_ids=owner_ids,
        tag_ids=tag_ids,
        writer=writer,
        now=timezone.now(),
        birth_key=_birth_date_field(users["admin"]),
    )
    used_domains = set(AccountDomain.objects.values_list("domain", flat=True))

    bar = tqdm(
        total=accounts + contacts, unit="row", file=sys.stderr, disable=not progress, desc="demo"
    )
    # A few of the requested contacts are the known duplicates, written by the services.
    twins = min(10, contacts // 200) if history_contacts else 0
    new_accounts: list[int] = []
    new_contacts: list[int] = []
    for n in _batches(accounts, chunk_size):
        with transaction.atomic():
            ids = writer.reserve_ids(Account, n)
            new_accounts += ids[: max(0, history_contacts - len(new_accounts))]
            chunk = gen.accounts_chunk(ids, used_domains)
            _write_accounts(writer, chunk)
        result.accounts += n
        result.tokens += len(chunk.tokens)
        bar.update(n)
    # An empty chunk of accounts: use the ones already in the database, so contacts still work.
    if not gen.accounts:
        # No new accounts: employ the contacts at existing ones (one domain each is enough).
        pools = {spec.country: i for i, spec in enumerate(LOCALES)}
        seen: set[int] = set()
        rows = AccountDomain.objects.order_by("account_id", "id").values_list(
            "account_id", "domain", "account__country", "account__owner_id"
        )
        for pk, domain, country, owner_id in rows[:100_000]:
            if pk not in seen:
                seen.add(pk)
                gen.accounts.append(
                    _DemoAccount(
                        pk=pk, pool=pools.get(country, 0), domain=domain, owner_id=owner_id
                    )
                )
    for n in _batches(contacts - twins, chunk_size):
        with transaction.atomic():
            ids = writer.reserve_ids(Contact, n)
            new_contacts += ids[: max(0, history_contacts - len(new_contacts))]
            chunk = gen.contacts_chunk(ids)
            _write_contacts(writer, chunk)
        result.contacts += n
        result.emails += len(chunk.emails)
        result.phones += len(chunk.phones)
        result.memberships += len(chunk.memberships)
        result.tokens += len(chunk.tokens)
        bar.update(n)
        del chunk
    bar.close()
    with transaction.atomic():
        search_index.ensure_variants(gen.vocabulary)
        result.variants_vocabulary = len(gen.vocabulary)
    if history_contacts and new_contacts:
        result.history = demo_history(
            seed=seed,
            contact_ids=new_contacts,
            account_ids=new_accounts,
            users=users,
            now=gen.now,
            duplicates=twins,
        )
        result.contacts += len(result.history.duplicates)

    with transaction.atomic():
        result.seconds = round(time.monotonic() - started, 1)
        audit_record(
            actor=Actor(
                user=None,
                via="system",
                context={"command": "demo", "seed": seed, "seconds": result.seconds},
            ),
            action=AuditEntry.Action.CREATE,
            entity_kind="system",
            entity_id=None,
            object_kind="demo",
            changes={
                "accounts": [None, result.accounts],
                "contacts": [None, result.contacts],
                "emails": [None, result.emails],
                "phones": [None, result.phones],
                "memberships": [None, result.memberships],
                "users_created": [None, result.users_created],
                "timeline_entries": [None, result.history.entries if result.history else 0],
                "known_duplicates": [
                    None,
                    [list(p) for p in result.history.duplicates] if result.history else [],
                ],
            },
        )
    if contacts + accounts >= 50_000 and not connection.in_atomic_block:
        # Fresh statistics, so the planner picks the indexes; on PostgreSQL also VACUUM, so the
        # visibility map lets the search use index-only scans on the million new rows.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE" if writer.pg else "ANALYZE")
    return result

"""A year of a company's life on the demo records (part of ``manage.py demo``).

The demo company, Lumen Analytics, sells an analytics platform to the demo accounts. Over
the past twelve months its staff wrote and received e-mail, called and were called, met
customers, left notes and collected business cards; marketing sent a monthly newsletter;
people edited records (a lead became a customer, a title changed, a number was added);
and a few people were entered twice.

Everything goes through the code real work goes through: touches through
``rapport.timeline.events.record_many`` (one insert per batch, as a file of mail does),
edits and the duplicates through the customers services, so their audit entries are real.
Only the moment is the demo's own: audit entries are dated back to when the edit happened
in the story, and so are the edited records' "updated" stamps.

The same seed tells the same stories; dates are relative to the day the demo is loaded.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from django.db import transaction
from django.db.models import Max

from rapport.audit.models import AuditEntry
from rapport.core.actor import Actor, Via
from rapport.core.errors import RapportError
from rapport.customers import normalize, services
from rapport.customers.models import (
    Account,
    AccountMembership,
    Contact,
    ContactEmail,
    ContactPhone,
    Lifecycle,
)
from rapport.customers.services import ContactParts
from rapport.timeline import events
from rapport.timeline.models import Channel, Department, Direction
from rapport.users.models import Role, User

SOURCE = "demo"  # the timeline entries' source (their Message-IDs are in data only)
DAYS = 365
BATCH = 2000  # drafts per record_many call
OUR_COMPANY = "Lumen Analytics"
PRODUCTS = ("Lumen Insight", "Lumen Connect", "Premium Support", "Lumen Forecast")
EVENTS = (
    "Web Summit 2025",
    "Data Innovation Summit",
    "Retail Tech Expo, Birmingham",
    "CeBIT Partner Day",
    "VivaTech Paris",
    "Analytics Roadshow Madrid",
)
GREETINGS = {
    "de": "Hallo {given},",
    "fr": "Bonjour {given},",
    "es": "Hola {given}:",
    "it": "Ciao {given},",
    "nl": "Hoi {given},",
    "sv": "Hej {given},",
    "pl": "Dzień dobry {given},",
    "ja": "{family}様",
}
CALL_OUTCOMES = (
    ("Spoke", 55),
    ("Left a voicemail", 20),
    ("No answer", 12),
    ("Asked to call back", 8),
    ("Resolved on the call", 5),
)
SUPPORT_TOPICS = (
    ("Export to Excel stops at 10,000 rows", "the export stops at 10,000 rows"),
    ("Dashboard loads slowly since Monday", "our main dashboard takes a minute to load"),
    ("SSO login fails for new starters", "new colleagues cannot log in with SSO"),
    ("Invoice shows the wrong VAT number", "the last invoice has our old VAT number"),
    ("Connector to our ERP stopped syncing", "the ERP connector has not synced since Friday"),
    ("Question about user licences", "we need three more user licences"),
)
NOTES = (
    "**Budget** confirmed for next quarter.\n\n- decision by the end of the month\n- {given} signs off up to €50k",
    "Prefers short calls in the morning; *never* on Fridays.",
    "Moving to a new role in {department} next year. Ask who takes over.",
    "Uses a competitor for forecasting; unhappy with their support.\n\n> we spend more time fixing reports than reading them",
    "Met at the partner dinner. Interested in **{product}** for the regional teams.",
    "Procurement needs three quotes: send ours by the 15th.",
    "Security questionnaire returned, all green.",
    "Reference customer: happy to take a call from prospects in {industry}.",
)


def _weighted(rng: random.Random, pairs: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


@dataclass
class _Person:
    pk: int
    given: str
    family: str
    full: str
    job: str
    department: str
    language: str
    lifecycle: str
    owner_id: int | None
    created: dt.datetime
    email: str = ""
    phone: str = ""
    account_id: int | None = None
    account: str = ""


@dataclass
class HistoryResult:
    entries: int = 0
    contacts_with_entries: int = 0
    edits: int = 0
    edits_skipped: int = 0
    audit_entries: int = 0
    duplicates: list[tuple[int, int]] = field(default_factory=list)
    duplicates_skipped: int = 0


class _Story:
    """Builds the drafts of one load; ``clock`` places touches on working days."""

    def __init__(self, *, rng: random.Random, now: dt.datetime, users: dict[str, User], tag: str):
        self.rng = rng
        self.now = now
        self.users = users
        self.by_id = {u.pk: u for u in users.values()}
        self.tag = tag
        self.drafts: list[events.Draft] = []
        self.count = 0

    # --- time ---

    def moment(self, day: dt.datetime) -> dt.datetime:
        """A time in office hours on that day, or the working day before."""
        while day.weekday() >= 5:
            day -= dt.timedelta(days=1)
        minutes = self.rng.randrange(8 * 60, 18 * 60)
        return day.replace(
            hour=minutes // 60, minute=minutes % 60, second=self.rng.randrange(60), microsecond=0
        )

    def days_after(self, when: dt.datetime, low: int, high: int) -> dt.datetime:
        return self.moment(when + dt.timedelta(days=self.rng.randint(low, high)))

    # --- who ---

    def rep(self, person: _Person) -> User:
        """Who works this person: their owner when a sales rep or the manager owns them."""
        owner = self.by_id.get(person.owner_id or 0)
        if owner is not None and owner.role in (Role.SALES, Role.MANAGER):
            return owner
        return self.users["manager"]

    @staticmethod
    def department(user: User) -> str:
        roles: dict[str, str] = {
            Role.SALES: Department.SALES,
            Role.MANAGER: Department.SALES,
            Role.SERVICE: Department.SERVICE,
            Role.MARKETING: Department.MARKETING,
        }
        return roles.get(user.role, Department.OTHER)

    # --- writing ---

    def _xid(self) -> str:
        self.count += 1
        return f"<{self.tag}.{self.count}@demo.lumen.example>"

    def add(self, **kwargs: Any) -> None:
        """One touch; a story's steps that would fall after today have not happened yet."""
        if kwargs["occurred_at"] > self.now:
            return
        staff = kwargs.get("staff")
        kwargs.setdefault("department", self.department(staff) if staff is not None else None)
        self.drafts.append(events.Draft(**kwargs))

    def email(
        self,
        person: _Person,
        when: dt.datetime,
        *,
        staff: User,
        inbound: bool,
        subject: str,
        body: str,
        thread: str = "",
        reply_to: str = "",
    ) -> str:
        message_id = self._xid()
        ours = staff.email
        theirs = person.email or f"{person.given.lower()}@example.com"
        data = {
            "message_id": message_id,
            "thread_id": thread or message_id,
            "in_reply_to": reply_to,
            "from": theirs if inbound else ours,
            "from_name": person.full if inbound else staff.get_full_name(),
            "to": [ours] if inbound else [theirs],
            "cc": [],
            "subject": subject,
            "text_length": len(body),
            "attachments_skipped": [],
        }
        self.add(
            kind="email",
            summary=subject,
            contacts=[person.pk],
            occurred_at=when,
            channel=Channel.EMAIL,
            direction=Direction.INBOUND if inbound else Direction.OUTBOUND,
            staff=staff,
            body=body,
            source=SOURCE,
            data=data,
            roles={person.pk: "from" if inbound else "to"},
        )
        return message_id

    def call(
        self,
        person: _Person,
        when: dt.datetime,
        *,
        staff: User,
        inbound: bool,
        about: str,
        notes: str = "",
    ) -> str:
        outcome = "Spoke" if inbound else _weighted(self.rng, CALL_OUTCOMES)
        spoke = outcome in ("Spoke", "Resolved on the call", "Asked to call back")
        seconds = (
            self.rng.randint(3, 40) * 60 + self.rng.randrange(60)
            if spoke
            else self.rng.randint(15, 50)
        )
        summary = f"Call about {about}" if spoke else f"Call about {about}: {outcome.lower()}"
        self.add(
            kind="call",
            summary=summary,
            contacts=[person.pk],
            occurred_at=when,
            channel=Channel.PHONE,
            direction=Direction.INBOUND if inbound else Direction.OUTBOUND,
            staff=staff,
            body=notes if spoke else "",
            duration_seconds=seconds,
            outcome=outcome,
            data={"number": person.phone},
        )
        return outcome

    def meeting(
        self,
        people: list[_Person],
        when: dt.datetime,
        *,
        staff: User,
        title: str,
        notes: str,
        accounts: list[int] | None = None,
    ) -> None:
        self.add(
            kind="meeting",
            summary=title,
            contacts=[p.pk for p in people],
            accounts=accounts or [],
            occurred_at=when,
            channel=Channel.MEETING,
            direction=Direction.OUTBOUND,
            staff=staff,
            body=notes,
            duration_seconds=self.rng.choice((30, 45, 60, 60, 90)) * 60,
            outcome="Held",
        )

    def note(
        self,
        when: dt.datetime,
        *,
        staff: User,
        body: str,
        contacts: list[int] | None = None,
        accounts: list[int] | None = None,
    ) -> None:
        self.add(
            kind="note",
            # As timeline.services.note_add titles a note: its first line, as plain text.
            summary=body.splitlines()[0].replace("**", "").replace("*", "").lstrip("> ")[:300],
            contacts=contacts or [],
            accounts=accounts or [],
            occurred_at=when,
            staff=staff,
            body=body,
            body_format="markdown",
        )


def _greeting(person: _Person) -> str:
    return GREETINGS.get(person.language[:2], "Hi {given},").format(
        given=person.given, family=person.family
    )


def _signature(user: User) -> str:
    return f"Best regards,\n{user.get_full_name()}\n{OUR_COMPANY}"


def _their_signature(person: _Person) -> str:
    lines = [person.full]
    if person.job:
        lines.append(person.job)
    if person.account:
        lines.append(person.account)
    if person.phone:
        lines.append(person.phone)
    return "\n".join(lines)


# --- the stories ------------------------------------------------------------------------------


def _new_business(s: _Story, p: _Person, start: dt.datetime) -> None:
    """Introduction, discovery, demo, proposal; most leads go quiet somewhere on the way."""
    rep = s.rep(p)
    product = s.rng.choice(PRODUCTS)
    company = p.account or "your team"
    subject = f"{product} for {company}"
    when = s.moment(start)
    root = s.email(p, when, staff=rep, inbound=False, subject=subject, body=(
        f"{_greeting(p)}\n\nThank you for your interest in {product}. Teams like yours use it to "
        f"see their numbers the day they happen rather than at the end of the month.\n\n"
        f"Would you have 20 minutes next week for a short call?\n\n{_signature(rep)}"
    ))  # fmt: skip
    if s.rng.random() < 0.3:  # no answer: a follow-up call, and that is all for now
        s.call(p, s.days_after(when, 3, 9), staff=rep, inbound=False, about=product)
        return
    when = s.days_after(when, 1, 4)
    s.email(p, when, staff=rep, inbound=True, subject=f"Re: {subject}", thread=root, reply_to=root, body=(
        f"Hello {rep.first_name},\n\nThanks for getting in touch. Tuesday or Thursday afternoon "
        f"would work for me.\n\n{_their_signature(p)}"
    ))  # fmt: skip
    when = s.days_after(when, 2, 8)
    s.call(p, when, staff=rep, inbound=False, about=f"{product} (discovery)", notes=(
        f"Talked through how {company} reports today: spreadsheets sent round every Monday. "
        "Main pain: numbers disagree between departments. Agreed on a demo."
    ))  # fmt: skip
    if s.rng.random() < 0.25:
        return
    when = s.days_after(when, 5, 20)
    s.meeting([p], when, staff=rep, title=f"Demo of {product}", notes=(
        f"Showed dashboards and the {s.rng.choice(PRODUCTS)} add-on. {p.given} asked about SSO, "
        "data residency in the EU and the price per seat. Next step: proposal."
    ), accounts=[p.account_id] if p.account_id else [])  # fmt: skip
    when = s.days_after(when, 2, 10)
    proposal = f"Proposal: {product} for {company}"
    root = s.email(p, when, staff=rep, inbound=False, subject=proposal, body=(
        f"{_greeting(p)}\n\nAs promised, our proposal is attached: {s.rng.choice((25, 40, 60, 120))} "
        f"seats, a three-week onboarding and Premium Support for the first year.\n\n{_signature(rep)}"
    ))  # fmt: skip
    when = s.days_after(when, 3, 15)
    s.email(p, when, staff=rep, inbound=True, subject=f"Re: {proposal}", thread=root, reply_to=root, body=(
        f"Hello {rep.first_name},\n\nThank you. Our finance team asks whether annual billing "
        f"comes with a discount, and whether we can start with fewer seats.\n\n{_their_signature(p)}"
    ))  # fmt: skip
    when = s.days_after(when, 1, 6)
    s.call(
        p,
        when,
        staff=rep,
        inbound=False,
        about="pricing and seats",
        notes="Offered 10 % for annual billing; start with half the seats, add the rest after onboarding.",
    )
    if s.rng.random() < 0.5:
        s.note(s.days_after(when, 0, 2), staff=rep, contacts=[p.pk], body=s.rng.choice(NOTES).format(
            given=p.given, department=p.department or "another department", product=product, industry="their industry",
        ))  # fmt: skip


def _customer_life(s: _Story, p: _Person, start: dt.datetime) -> None:
    """Onboarding, support questions, a review and the renewal."""
    rep = s.rep(p)
    service = s.users["service"]
    when = s.moment(start)
    s.email(p, when, staff=rep, inbound=False, subject=f"Welcome to {OUR_COMPANY}", body=(
        f"{_greeting(p)}\n\nWelcome aboard! Your onboarding starts next week; you will find the "
        f"training calendar and your administrator login below.\n\n{_signature(rep)}"
    ))  # fmt: skip
    when = s.days_after(when, 4, 10)
    s.meeting([p], when, staff=rep, title="Onboarding kick-off", notes=(
        "Agreed the first three dashboards, the data sources (ERP, CRM export, web shop) and "
        "who gets trained first."
    ), accounts=[p.account_id] if p.account_id else [])  # fmt: skip
    for _ in range(s.rng.choice((0, 1, 1, 2, 3))):
        when = s.days_after(when, 10, 60)
        if when > s.now:
            return
        topic, sentence = s.rng.choice(SUPPORT_TOPICS)
        if s.rng.random() < 0.6:
            root = s.email(p, when, staff=service, inbound=True, subject=topic, body=(
                f"Hello,\n\nSince this morning {sentence}. Could you have a look?\n\n{_their_signature(p)}"
            ))  # fmt: skip
            s.email(p, s.days_after(when, 0, 1), staff=service, inbound=False, subject=f"Re: {topic}", thread=root, reply_to=root, body=(
                f"{_greeting(p)}\n\nThanks for letting us know. We found the cause and a fix is "
                f"live now; please tell us if it happens again.\n\n{_signature(service)}"
            ))  # fmt: skip
        else:
            s.call(
                p,
                when,
                staff=service,
                inbound=True,
                about=topic[0].lower() + topic[1:],
                notes=f"{p.given} called: {sentence}. Walked through the fix on the call.",
            )
    when = s.days_after(when, 30, 120)
    if when < s.now:
        s.meeting([p], when, staff=rep, title="Quarterly business review", notes=(
            f"Usage up {s.rng.randint(5, 60)} % since onboarding. Wish list: forecasting, "
            "a mobile view for the regional managers."
        ), accounts=[p.account_id] if p.account_id else [])  # fmt: skip
    when = s.days_after(when, 20, 90)
    if when < s.now:
        renewal = f"Your renewal with {OUR_COMPANY}"
        root = s.email(p, when, staff=rep, inbound=False, subject=renewal, body=(
            f"{_greeting(p)}\n\nYour subscription renews next month. Shall we go through the "
            f"seats you need for next year?\n\n{_signature(rep)}"
        ))  # fmt: skip
        if s.rng.random() < 0.7:
            s.email(p, s.days_after(when, 1, 5), staff=rep, inbound=True, subject=f"Re: {renewal}", thread=root, reply_to=root, body=(
                f"Hello {rep.first_name},\n\nYes, please renew; add five seats for the new team in "
                f"{s.rng.choice(('Leeds', 'Lyon', 'Hamburg', 'Valencia', 'Turin', 'Utrecht'))}.\n\n{_their_signature(p)}"
            ))  # fmt: skip


def _event(s: _Story, p: _Person, start: dt.datetime) -> None:
    """A card collected at a trade show, and the follow-up."""
    rep = s.rep(p)
    event = s.rng.choice(EVENTS)
    when = s.moment(start)
    s.add(
        kind="card",
        summary=f"Card collected at {event}",
        contacts=[p.pk],
        occurred_at=when,
        channel=Channel.IN_PERSON,
        direction=Direction.INBOUND,
        staff=rep,
        body=f"Stopped at our stand; asked about {s.rng.choice(PRODUCTS)}.",
        data={"event": event, "source": "demo", "card": 1},
    )
    s.email(p, s.days_after(when, 1, 4), staff=rep, inbound=False, subject=f"Good to meet you at {event}", body=(
        f"{_greeting(p)}\n\nIt was good to meet you at {event}. As promised, here is the case study "
        f"we talked about.\n\n{_signature(rep)}"
    ))  # fmt: skip


def _stories_for(s: _Story, p: _Person) -> None:
    rng = s.rng
    begin = max(s.now - dt.timedelta(days=DAYS), p.created)
    span = max(1, (s.now - begin).days)

    def start(share: float = 0.8) -> dt.datetime:
        return begin + dt.timedelta(days=rng.randrange(max(1, int(span * share))))

    if p.lifecycle in (Lifecycle.CUSTOMER, Lifecycle.FORMER_CUSTOMER):
        _customer_life(s, p, start(0.5))
    elif p.lifecycle in (Lifecycle.LEAD, Lifecycle.PROSPECT):
        _new_business(s, p, start())
    elif rng.random() < 0.5:  # a subscriber who once asked a question
        s.email(p, s.moment(start()), staff=s.users["marketing"], inbound=True, subject="Question about your webinar", body=(
            f"Hello,\n\nIs there a recording of last week's webinar?\n\n{_their_signature(p)}"
        ))  # fmt: skip
    if rng.random() < 0.06:
        _event(s, p, start())
    if rng.random() < 0.15:
        rep = s.rep(p)
        s.note(s.moment(start(0.95)), staff=rep, contacts=[p.pk], body=rng.choice(NOTES).format(
            given=p.given, department=p.department or "another department", product=rng.choice(PRODUCTS), industry="their industry",
        ))  # fmt: skip


def _newsletters(s: _Story, people: list[_Person]) -> None:
    """One entry a month, on the timeline of each person it went to."""
    marketing = s.users["marketing"]
    readers = [p.pk for p in people if p.lifecycle == Lifecycle.SUBSCRIBER or s.rng.random() < 0.08]
    if not readers:
        return
    for months_ago in range(12, 0, -1):
        day = s.moment(s.now - dt.timedelta(days=30 * months_ago - 3))
        month = day.strftime("%B")
        subject = f"{OUR_COMPANY} news, {month}: {s.rng.choice(('forecasting is here', 'faster dashboards', 'three customer stories', 'our spring webinar series', 'what is new in Lumen Connect'))}"
        s.add(
            kind="email",
            summary=subject,
            contacts=[pk for pk in readers if s.rng.random() < 0.9],
            occurred_at=day,
            channel=Channel.EMAIL,
            direction=Direction.OUTBOUND,
            staff=marketing,
            body=f"The {month} newsletter: product news, a customer story and the dates of next month's webinars.",
            source=SOURCE,
            data={
                "message_id": s._xid(),
                "subject": subject,
                "from": marketing.email,
                "to": [],
                "newsletter": True,
            },
        )


def _accounts_stories(
    s: _Story,
    accounts: list[tuple[int, str, Any]],
    staff_by_account: dict[int, list[_Person]],
) -> None:
    for pk, name, owner_id in accounts:
        people = staff_by_account.get(pk, [])
        owner = s.by_id.get(owner_id or 0)
        rep = (
            owner
            if owner is not None and owner.role in (Role.SALES, Role.MANAGER)
            else s.users["manager"]
        )
        if s.rng.random() < 0.5:
            s.note(s.moment(s.now - dt.timedelta(days=s.rng.randrange(DAYS))), staff=rep, accounts=[pk], body=s.rng.choice((
                f"{name}: renewal due in {s.rng.choice(('March', 'June', 'September', 'December'))}. Budget owner is in Finance.",
                f"{name} is opening two new sites next year: **upsell** opportunity for {s.rng.choice(PRODUCTS)}.",
                f"Account plan for {name} reviewed with the manager.\n\n- expand to the service team\n- reference call in Q3",
                f"{name} asked for a single invoice for all subsidiaries.",
            )))  # fmt: skip
        if people and s.rng.random() < 0.4:
            group = s.rng.sample(people, k=min(len(people), s.rng.randint(1, 3)))
            s.meeting(
                group,
                s.moment(s.now - dt.timedelta(days=s.rng.randrange(DAYS))),
                staff=rep,
                title=f"Account review with {name}",
                notes="Roadmap, open support cases and next year's seats.",
                accounts=[pk],
            )


# --- edits and duplicates, through the services -----------------------------------------------


def _backdate(since_pk: int, when: dt.datetime) -> int:
    return AuditEntry.objects.filter(pk__gt=since_pk).update(at=when)


def _last_audit_pk() -> int:
    return AuditEntry.objects.aggregate(m=Max("pk"))["m"] or 0


def _edits(
    s: _Story, people: list[_Person], accounts: list[int], result: HistoryResult, share: float
) -> None:
    """Edits by different staff over the year: each a real update through the services."""
    rng = s.rng
    mobile = phonenumbers.example_number_for_type("GB", phonenumbers.PhoneNumberType.MOBILE)
    assert mobile is not None  # phonenumbers ships an example for every type in use

    def new_phone() -> str:
        number = random_phone(rng, mobile)
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)

    users = s.users
    steps: list[
        tuple[dt.datetime, str, int, User, dict[str, Any] | None, dict[str, Any] | None]
    ] = []
    for p in people:
        if rng.random() >= share:
            continue
        rep = s.rep(p)
        base = max(s.now - dt.timedelta(days=DAYS), p.created)
        span = max(2, (s.now - base).days)
        options: list[tuple[User, dict[str, Any] | None, dict[str, Any] | None]] = []
        if p.lifecycle == Lifecycle.LEAD:
            options.append((rep, {"lifecycle": Lifecycle.PROSPECT}, None))
        if p.lifecycle == Lifecycle.PROSPECT:
            options.append((users["manager"], {"lifecycle": Lifecycle.CUSTOMER}, None))
        if p.job:
            options.append(
                (users["steward"], {"job_title": f"Head of {p.department or 'Operations'}"}, None)
            )
        options.append(
            (
                users["service"],
                {"preferred_channel": rng.choice((Contact.Channel.PHONE, Contact.Channel.EMAIL))},
                None,
            )
        )
        options.append(
            (
                users["marketing"],
                {"tags": rng.choice(("Newsletter", "Webinar", "Event 2025"))},
                None,
            )
        )
        if p.account_id:
            options.append((users["service"], None, {"number": new_phone(), "kind": "mobile"}))
        for user, data, phone in rng.sample(options, k=min(len(options), rng.randint(1, 3))):
            steps.append(
                (
                    s.moment(base + dt.timedelta(days=rng.randrange(1, span))),
                    "contact",
                    p.pk,
                    user,
                    data,
                    phone,
                )
            )
    for pk in accounts:
        if rng.random() < share:
            user = rng.choice((users["manager"], users["steward"], users["admin"]))
            data = rng.choice(
                (
                    {"size": rng.choice([c for c, _ in Account.Size.choices])},
                    {"lifecycle": Lifecycle.CUSTOMER},
                    {"industry": "Software"},
                )
            )
            steps.append(
                (
                    s.moment(s.now - dt.timedelta(days=rng.randrange(1, DAYS))),
                    "account",
                    pk,
                    user,
                    data,
                    None,
                )
            )
    steps.sort(key=lambda step: step[0])
    touched: dict[tuple[str, int], dt.datetime] = {}
    for when, kind, pk, user, data, phone in steps:
        when = min(when, s.now)
        actor = Actor(user, via=Via.WEB)
        before = _last_audit_pk()
        try:
            with transaction.atomic():
                if kind == "contact":
                    contact = Contact.objects.get(pk=pk)
                    if data is not None:
                        if "tags" in data:  # added to the tags it has
                            data = {
                                "tags": ", ".join(
                                    [*contact.tags.values_list("name", flat=True), data["tags"]]
                                )
                            }
                        services.contact_update(actor=actor, contact=contact, data=data)
                    if phone is not None:
                        services.part_add(actor=actor, parent=contact, part="phones", data=phone)
                else:
                    services.account_update(
                        actor=actor, account=Account.objects.get(pk=pk), data=data or {}
                    )
        except RapportError:
            # The story's edit is refused (a number someone else has): counted, not hidden.
            result.edits_skipped += 1
            continue
        written = _backdate(before, when)
        if written:
            result.edits += 1
            result.audit_entries += written
            touched[(kind, pk)] = when
    for (kind, pk), when in touched.items():
        (Contact if kind == "contact" else Account).objects.filter(pk=pk).update(updated_at=when)


NICKNAMES = {
    "Robert": "Bob", "William": "Bill", "Elizabeth": "Liz", "Margaret": "Maggie", "James": "Jim",
    "Katherine": "Kate", "Catherine": "Cathy", "Michael": "Mike", "Thomas": "Tom", "Richard": "Rick",
    "Jennifer": "Jen", "Christopher": "Chris", "Alexander": "Alex", "Daniel": "Dan", "Samuel": "Sam",
    "Johannes": "Hannes", "Francesco": "Checco", "José": "Pepe", "Nicholas": "Nick", "Jonathan": "Jon",
}  # fmt: skip


def _duplicates(s: _Story, people: list[_Person], result: HistoryResult, wanted: int) -> None:
    """People entered twice: from a trade-show list, with a nickname or a typo, another
    address, the same phone number typed another way. Written by marketing, through the
    same service as any new contact; a duplicate scan finds them."""
    rng = s.rng
    marketing = Actor(s.users["marketing"], via=Via.IMPORT, context={"demo": "trade-show list"})
    candidates = [
        p for p in people if p.account_id and p.phone and p.given.isascii() and len(p.family) > 4
    ]
    for p in rng.sample(candidates, k=min(wanted, len(candidates))):
        given = NICKNAMES.get(p.given, p.given)
        family = p.family
        if given == p.given:  # no nickname: two letters of the family name swapped instead
            spots = [
                i
                for i in range(1, len(family) - 1)
                if family[i] != family[i + 1] and family[i : i + 2].isalpha()
            ]
            if not spots:
                continue
            i = rng.choice(spots)
            family = family[:i] + family[i + 1] + family[i] + family[i + 2 :]
        local = re.sub(
            r"[^a-z0-9.]",
            "",
            normalize.fold(f"{given}.{family}" if given != p.given else f"{given[0]}{family}"),
        )
        if p.email.startswith(local + "@"):
            local += "2"
        national, region = _national(p.phone)
        domain = p.email.rsplit("@", 1)[1] if "@" in p.email else "example.com"
        when = s.moment(s.now - dt.timedelta(days=rng.randrange(10, 200)))
        before = _last_audit_pk()
        try:
            twin = services.contact_create(
                actor=marketing,
                data={
                    "given_name": given,
                    "family_name": family,
                    "job_title": p.job,
                    "source": "Trade show",
                    "lifecycle": Lifecycle.LEAD,
                },
                parts=ContactParts(
                    emails=[{"email": f"{local}@{domain}"}],
                    phones=[{"number": national, "region": region}],
                    memberships=[{"account": p.account_id}],
                ),
            )
        except RapportError:
            result.duplicates_skipped += 1
            continue
        _backdate(before, when)
        Contact.objects.filter(pk=twin.pk).update(created_at=when, updated_at=when)
        s.add(
            kind="card",
            summary=f"Card collected at {rng.choice(EVENTS)}",
            contacts=[twin.pk],
            occurred_at=when,
            channel=Channel.IN_PERSON,
            direction=Direction.INBOUND,
            staff=s.users["marketing"],
            data={"event": "trade show", "source": "demo", "card": 1},
        )
        result.duplicates.append((p.pk, twin.pk))


def _national(e164: str) -> tuple[str, str | None]:
    """The number as a person in its country types it, and that country (the duplicate
    check still finds the number)."""
    number = phonenumbers.parse(e164, None)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return national, phonenumbers.region_code_for_number(number)


# --- loading ----------------------------------------------------------------------------------


def _chunks(ids: list[int], size: int = 900) -> Iterator[list[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def _people(contact_ids: list[int]) -> list[_Person]:
    people: dict[int, _Person] = {}
    for ids in _chunks(contact_ids):
        for row in Contact.objects.filter(pk__in=ids).values_list(
            "pk",
            "given_name",
            "family_name",
            "full_name",
            "job_title",
            "department",
            "language",
            "lifecycle",
            "owner_id",
            "created_at",
        ):
            people[row[0]] = _Person(*row)
        for pk, email in ContactEmail.objects.filter(
            contact_id__in=ids, is_primary=True
        ).values_list("contact_id", "email"):
            people[pk].email = email
        for pk, e164 in ContactPhone.objects.filter(
            contact_id__in=ids, is_primary=True
        ).values_list("contact_id", "e164"):
            people[pk].phone = e164
        for pk, account_id, name in AccountMembership.objects.filter(
            contact_id__in=ids, is_primary=True, ended_on__isnull=True
        ).values_list("contact_id", "account_id", "account__name"):
            people[pk].account_id, people[pk].account = account_id, name
    return [people[pk] for pk in sorted(people)]


def demo_history(
    *,
    seed: int,
    contact_ids: list[int],
    account_ids: list[int],
    users: dict[str, User],
    now: dt.datetime,
    duplicates: int = 0,
    edit_share: float = 0.15,
) -> HistoryResult:
    """Tell a year of stories on these contacts and accounts (see the module's docstring)."""
    result = HistoryResult()
    rng = random.Random(f"history-{seed}")
    people = _people(contact_ids)
    story = _Story(
        rng=rng,
        now=now,
        users=users,
        tag=f"{seed}.{now:%Y%m%d%H%M%S}.{contact_ids[0] if contact_ids else 0}",
    )
    for person in people:
        _stories_for(story, person)
    _newsletters(story, people)
    accounts = (
        list(
            Account.objects.filter(pk__in=account_ids[:20_000])
            .values_list("pk", "name", "owner_id")
            .order_by("pk")
        )
        if account_ids
        else []
    )
    by_account: dict[int, list[_Person]] = {}
    for person in people:
        if person.account_id:
            by_account.setdefault(person.account_id, []).append(person)
    _accounts_stories(story, accounts, by_account)
    _edits(story, people, [a[0] for a in accounts], result, edit_share)
    _duplicates(story, people, result, duplicates)
    # Oldest first, as they happened; written in batches, each in one transaction.
    story.drafts.sort(key=lambda d: d.occurred_at or now)
    for i in range(0, len(story.drafts), BATCH):
        with transaction.atomic():
            events.record_many(story.drafts[i : i + BATCH])
    result.entries = len(story.drafts)
    result.contacts_with_entries = len(
        {
            int(c)
            for d in story.drafts
            for c in d.contacts
            if (d.data or {}).get("newsletter") is None
        }
    )
    return result


# The demo's phone numbers: demo.py draws its people's numbers with it too.
def random_phone(rng: random.Random, example: phonenumbers.PhoneNumber) -> phonenumbers.PhoneNumber:
    """A valid number of the example's kind: its leading digits, random last six digits."""
    nsn = phonenumbers.national_significant_number(example)
    keep = max(2, len(nsn) - 6)
    for _ in range(20):
        digits = nsn[:keep] + "".join(rng.choices("0123456789", k=len(nsn) - keep))
        number = phonenumbers.PhoneNumber(
            country_code=example.country_code,
            national_number=int(digits),
            italian_leading_zero=True if digits.startswith("0") else None,
        )
        if phonenumbers.is_valid_number(number):
            return number
    return example

"""Business cards into contacts: vCard 3.0 and 4.0 files, one card or many.

``parse`` reads a file into ``Card`` values and lists the cards it could not read (with
their position) without dropping the good ones. ``capture`` turns one card into a contact:
it runs the duplicate check, creates or updates the contact through the customer services,
attaches it to an account found by company name or e-mail domain, and records the capture
on the timeline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import vobject
from django.db import transaction

from rapport.audit.services import Actor
from rapport.core.errors import RapportError, ValidationFailed
from rapport.customers import normalize
from rapport.customers import services as customer_services
from rapport.customers.models import Account, AccountMembership, Contact, Kind
from rapport.customers.selectors import account_for_email
from rapport.identity import selectors as identity_selectors
from rapport.ingest.capture import events as capture_events
from rapport.ingest.capture.services import require_card_capture
from rapport.users import permissions

# Pictures, logos, sounds and keys are not kept: dropping them before vobject reads the
# card also means a damaged photo cannot cost us the card's name and numbers.
_SKIPPED = frozenset({"PHOTO", "LOGO", "SOUND", "KEY"})
_BEGIN = re.compile(r"^BEGIN:VCARD\s*$", re.IGNORECASE)
_END = re.compile(r"^END:VCARD\s*$", re.IGNORECASE)
_APPLE_LABEL = re.compile(r"^_\$!<(.*)>!\$_$")

ON_DUPLICATE = ("skip", "update", "create")


@dataclass(frozen=True)
class Typed:
    """A value as written on the card with its TYPE parameters (lower case) and label."""

    value: str
    types: tuple[str, ...] = ()
    label: str = ""


@dataclass
class Card:
    position: int  # 1 for the first card in the file
    line: int  # where its BEGIN:VCARD is
    version: str = ""
    full_name: str = ""
    prefix: str = ""
    given: str = ""
    middle: str = ""
    family: str = ""
    suffix: str = ""
    organisation: str = ""
    department: str = ""
    title: str = ""
    emails: list[Typed] = field(default_factory=list)
    phones: list[Typed] = field(default_factory=list)
    addresses: list[dict[str, str]] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def name(self) -> str:
        parts = [self.prefix, self.given, self.middle, self.family, self.suffix]
        return self.full_name or " ".join(p for p in parts if p)


@dataclass(frozen=True)
class Problem:
    position: int
    line: int
    message: str

    def __str__(self) -> str:
        return f"card {self.position} (line {self.line}): {self.message}"


# --- reading -------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    """Each card's unfolded lines, with the file line its BEGIN is on."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        if _BEGIN.match(raw):
            # A card that never ended is closed by the next BEGIN; vobject then reports it.
            current = [raw.strip()]
            blocks.append((number, current))
        elif current is None:
            continue  # text between cards
        elif raw[:1] in (" ", "\t") and len(current) > 1:
            current[-1] += raw[1:]  # a folded line (RFC 6350 3.2)
        elif raw.strip():
            current.append(raw)
            if _END.match(raw):
                current = None
    return blocks


def _property_name(line: str) -> str:
    head = re.split(r"[;:]", line, maxsplit=1)[0]
    return head.rpartition(".")[2].upper()


def _join(value: Any, sep: str = " ") -> str:
    if isinstance(value, list | tuple):
        return sep.join(_join(v, sep) for v in value if _join(v, sep))
    return " ".join(str(value or "").split())


def _country(text: str) -> str:
    """The ISO code where the name is known; otherwise the text, for the capture to report."""
    try:
        return normalize.normalize_country(text) if text else ""
    except ValueError:
        return text


def _types(line: Any) -> tuple[str, ...]:
    found: list[str] = []
    for value in line.params.get("TYPE", []):
        found += [t.strip().lower() for t in str(value).split(",") if t.strip()]
    if "PREF" in line.params:
        found.append("pref")
    return tuple(dict.fromkeys(found))


def _card(position: int, start: int, component: Any) -> Card:
    card = Card(position=position, line=start)
    labels: dict[str, str] = {}
    for line in component.getChildren():
        if line.name == "X-ABLABEL" and line.group:
            text = str(line.value)
            match = _APPLE_LABEL.match(text)
            labels[line.group] = (match.group(1) if match else text).strip()
    for line in component.getChildren():
        name = line.name
        if name == "VERSION":
            card.version = str(line.value).strip()
        elif name == "FN":
            card.full_name = _join(line.value)
        elif name == "N":
            n = line.value
            card.prefix, card.given, card.middle = (
                _join(n.prefix),
                _join(n.given),
                _join(n.additional),
            )
            card.family, card.suffix = _join(n.family), _join(n.suffix)
        elif name == "ORG":
            units = line.value if isinstance(line.value, list) else [line.value]
            # An unescaped comma inside the name splits it: ["ACME", " Inc."].
            card.organisation = _join(units[0], ", ") if units else ""
            card.department = _join(units[1:], ", ")
        elif name == "TITLE":
            card.title = _join(line.value)
        elif name == "EMAIL":
            card.emails.append(
                Typed(str(line.value).strip(), _types(line), labels.get(line.group or "", ""))
            )
        elif name == "TEL":
            number = str(line.value).strip()
            number = re.sub(r"^tel:", "", number, flags=re.IGNORECASE)
            card.phones.append(Typed(number, _types(line), labels.get(line.group or "", "")))
        elif name == "ADR":
            a = line.value
            address = {
                "street": _join([a.box, a.extended, a.street], ", "),
                "city": _join(a.city),
                "region": _join(a.region),
                "postal_code": _join(a.code),
                "country": _country(_join(a.country)),
                "kind": _kind(_types(line), labels.get(line.group or "", "")),
            }
            if any(v for k, v in address.items() if k != "kind"):
                card.addresses.append(address)
        elif name == "URL":
            card.urls.append(str(line.value).strip())
        elif name == "NOTE":
            card.note = str(line.value).strip()
    if not (card.given or card.family) and card.full_name:
        parts = normalize.parse_full_name(card.full_name)
        card.prefix, card.given, card.middle = (
            parts["prefix"],
            parts["given_name"],
            parts["middle_name"],
        )
        card.family, card.suffix = parts["family_name"], parts["suffix"]
    return card


def parse(data: bytes) -> tuple[list[Card], list[Problem]]:
    """The cards in a .vcf file and the problems of those that could not be read."""
    cards: list[Card] = []
    problems: list[Problem] = []
    blocks = _blocks(_decode(data))
    if not blocks:
        problems.append(Problem(0, 1, "No vCard in the file (expected BEGIN:VCARD)."))
    for position, (start, lines) in enumerate(blocks, start=1):
        kept = [ln for ln in lines if _property_name(ln) not in _SKIPPED]
        if not _END.match(kept[-1]):
            problems.append(Problem(position, start, "The card does not end (no END:VCARD)."))
            continue
        try:
            component = vobject.readOne("\r\n".join(kept) + "\r\n")
            card = _card(position, start, component)
        except Exception as exc:  # vobject raises many kinds on bad input
            message = getattr(exc, "message", "") or str(exc) or type(exc).__name__
            message = re.sub(r"^At line \d+: ", "", str(message))
            problems.append(Problem(position, start, f"Cannot read the card: {message}"))
            continue
        if not (card.given or card.family):
            problems.append(Problem(position, start, "The card has no name (N or FN)."))
            continue
        cards.append(card)
    return cards, problems


# --- capturing -----------------------------------------------------------------------------


@dataclass
class CaptureResult:
    card: Card
    outcome: str = ""  # "created", "updated", "skipped"
    contact_id: int | None = None
    duplicate_of: int | None = None
    duplicate_percent: int | None = None
    account_id: int | None = None
    account_how: str = ""  # "name", "domain" or ""
    proposed_account: str = ""  # a company on the card that has no account yet
    rejected: list[str] = field(default_factory=list)  # values left out, with the reason
    entry_id: int | None = None

    def describe(self) -> str:
        if self.outcome == "skipped":
            text = (
                f"skipped as duplicate of contact {self.duplicate_of} ({self.duplicate_percent}%)"
            )
        else:
            text = f"{self.outcome} contact {self.contact_id}"
        if self.account_id:
            text += f", account {self.account_id} (by {self.account_how})"
        elif self.proposed_account:
            text += f", new account proposed: {self.proposed_account}"
        return text


def _kind(types: tuple[str, ...], label: str = "") -> str:
    words = set(types) | {label.lower()}
    if "fax" in words:
        return Kind.FAX
    if words & {"cell", "mobile", "iphone"}:
        return Kind.MOBILE
    if "work" in words:
        return Kind.WORK
    if "home" in words:
        return Kind.HOME
    return Kind.OTHER


def _region(card: Card) -> str | None:
    for address in card.addresses:
        try:
            return normalize.normalize_country(address["country"])
        except ValueError:
            continue
    return None


def _clean_parts(card: Card, rejected: list[str]) -> tuple[list[dict], list[dict], list[dict]]:
    """E-mails, phones and addresses the services will accept; the rest go to ``rejected``."""
    emails: dict[str, dict] = {}
    for e in card.emails:
        try:
            address, _ = normalize.normalize_email(e.value)
        except ValueError as exc:
            rejected.append(f"e-mail {e.value!r}: {exc}")
            continue
        emails.setdefault(
            address, {"email": address, "kind": _kind(e.types, e.label), "source": "vcard"}
        )
    region = _region(card)
    phones: dict[str, dict] = {}
    for p in card.phones:
        try:
            e164, _ = normalize.normalize_phone(p.value, region)
        except ValueError as exc:
            rejected.append(f"phone {p.value!r}: {exc}")
            continue
        phones.setdefault(
            e164,
            {
                "number": p.value,
                "region": region,
                "kind": _kind(p.types, p.label),
                "source": "vcard",
            },
        )
    addresses = []
    for a in card.addresses:
        try:
            country = normalize.normalize_country(a["country"])
        except ValueError as exc:
            rejected.append(
                f"address {', '.join(v for k, v in a.items() if v and k != 'kind')!r}: {exc}"
            )
            continue
        addresses.append({**a, "country": country, "source": "vcard"})
    for phone in phones.values():
        if phone["region"] is None:
            del phone["region"]
    return list(emails.values()), list(phones.values()), addresses


def _account(card: Card, emails: list[dict], user: Any = None) -> tuple[Account | None, str]:
    """The account by company name, else by e-mail domain. With a ``user``, only accounts
    they may see count: attaching to one they may not see would fail in the services and
    showing it would reveal it."""

    def visible(account: Account | None) -> bool:
        if account is None:
            return False
        return user is None or permissions.can_see_record(user, "account", account)

    if card.organisation:
        key = normalize.normalize_org_name(card.organisation)
        found = Account.objects.filter(normalized_name=key).order_by("pk").first() if key else None
        if visible(found):
            return found, "name"
    for email in emails:
        found = account_for_email(actor=user, email=email["email"])
        if found is not None:
            return found, "domain"
    return None, ""


def account_suggestion(card: Card, *, user: Any = None) -> tuple[Account | None, str]:
    """The account ``capture`` would attach the card's contact to, and how ("name" or
    "domain"); (None, "") when there is none, so a page can show it before saving."""
    emails, _, _ = _clean_parts(card, [])
    return _account(card, emails, user)


def _names(card: Card) -> dict[str, str]:
    return {
        "prefix": card.prefix,
        "given_name": card.given,
        "middle_name": card.middle,
        "family_name": card.family,
        "suffix": card.suffix,
    }


def _update(
    *, actor: Actor, contact: Contact, card: Card, emails: list[dict], phones: list[dict]
) -> None:
    """Adds what the card has and the contact lacks; never overwrites a value."""
    have_emails = set(contact.emails.values_list("email", flat=True))
    have_phones = set(contact.phones.values_list("e164", flat=True))
    for email in emails:
        if email["email"] not in have_emails:
            customer_services.part_add(actor=actor, parent=contact, part="emails", data=email)
    for phone in phones:
        e164, _ = normalize.normalize_phone(phone["number"], phone.get("region"))
        if e164 not in have_phones:
            customer_services.part_add(actor=actor, parent=contact, part="phones", data=phone)
    if card.title and not contact.job_title:
        contact.refresh_from_db()
        customer_services.contact_update(
            actor=actor, contact=contact, data={"job_title": card.title[:150]}
        )


def capture(
    card: Card, *, actor: Actor, event: str = "", on_duplicate: str = "skip", source: str = ""
) -> CaptureResult:
    """One card into one contact, all or nothing.

    A likely duplicate is skipped (the default), updated with the e-mails and phones it
    lacks and an empty job title, or ignored ("create"). Values the services would refuse
    (a broken e-mail) are left out with the reason; the rest of the card still counts.
    """
    if on_duplicate not in ON_DUPLICATE:
        raise ValueError(f"on_duplicate must be one of {', '.join(ON_DUPLICATE)}.")
    require_card_capture(actor.user)
    result = CaptureResult(card=card)
    emails, phones, addresses = _clean_parts(card, result.rejected)
    with transaction.atomic():
        matches = identity_selectors.likely_duplicates(
            actor=actor.user,
            kind="contact",
            data=_names(card),
            parts=customer_services.ContactParts(emails=emails, phones=phones, addresses=addresses),
            organisation=card.organisation,
            limit=1,
        )
        account, how = _account(card, emails, actor.user)
        if matches and on_duplicate != "create":
            best = matches[0]
            result.duplicate_of, result.duplicate_percent = best.record_id, best.percent
            if on_duplicate == "skip":
                result.outcome = "skipped"
                return result
            contact = Contact.objects.get(pk=best.record_id)
            _update(actor=actor, contact=contact, card=card, emails=emails, phones=phones)
            if (
                account is not None
                and not AccountMembership.objects.filter(contact=contact, account=account).exists()
            ):
                customer_services.part_add(
                    actor=actor, parent=contact, part="memberships", data={"account": account.pk}
                )
            result.outcome = "updated"
        else:
            data: dict[str, Any] = {**_names(card), "source": "vcard"}
            if card.title:
                data["job_title"] = card.title[:150]
            if card.department:
                data["department"] = card.department[:150]
            memberships = [{"account": account.pk}] if account is not None else []
            parts = customer_services.ContactParts(
                emails=emails, phones=phones, addresses=addresses, memberships=memberships
            )
            contact = customer_services.contact_create(actor=actor, data=data, parts=parts)
            result.outcome = "created"
        result.contact_id = contact.pk
        if account is not None:
            result.account_id, result.account_how = account.pk, how
        elif card.organisation:
            result.proposed_account = card.organisation
        entry = capture_events.card_captured(
            actor=actor,
            contact_id=contact.pk,
            event=event,
            source=source,
            position=card.position,
            note=card.note,
        )
        result.entry_id = entry.pk
    return result


@dataclass
class FileSummary:
    results: list[CaptureResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)


def ingest_bytes(
    data: bytes, *, actor: Actor, event: str = "", on_duplicate: str = "skip", source: str = ""
) -> FileSummary:
    """Every card of a file; a card the services refuse is a problem, not the end of the file.
    A user who may not capture cards is refused before any card is read (PermissionDenied)."""
    require_card_capture(actor.user)
    cards, problems = parse(data)
    summary = FileSummary(problems=list(problems))
    for card in cards:
        try:
            summary.results.append(
                capture(card, actor=actor, event=event, on_duplicate=on_duplicate, source=source)
            )
        except ValidationFailed as exc:
            reasons = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items()) or exc.message
            summary.problems.append(
                Problem(card.position, card.line, f"{exc.message} {reasons}".strip())
            )
        except RapportError as exc:
            summary.problems.append(Problem(card.position, card.line, exc.message))
    summary.problems.sort(key=lambda p: p.position)
    return summary
